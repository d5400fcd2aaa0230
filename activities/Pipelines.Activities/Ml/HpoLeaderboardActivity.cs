using Pipelines.Activities.Model;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

public sealed record HpoLeaderboardInput(JsonArray Results, string Direction, JsonNode? Baseline, bool StopIfNotBeaten)
    : IActivityInput<HpoLeaderboardInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("results", SchemaBuilder.Array(SchemaBuilder.Any(), "train.trial results, e.g. ${{ steps.trials.outputs.result }}."))
        .Optional("direction", SchemaBuilder.String("maximize (default, e.g. AUC) or minimize (e.g. log loss)."))
        .Optional("baseline", SchemaBuilder.Any("A baseline the best trial must beat: its value, or its train.trial result (then it is listed on the board)."))
        .Optional("stop_if_not_beaten", SchemaBuilder.Boolean("Stop the run (a verdict) when no trial beats the baseline (default false)."))
        .Build();

    // A results value that is not a list ranks nothing, as before: "no results to rank".
    public static HpoLeaderboardInput Bind(ActivityInputs inputs) => new(
        inputs.Node("results") as JsonArray ?? [],
        inputs.String("direction", "maximize"),
        inputs.Node("baseline"),
        inputs.Boolean("stop_if_not_beaten", false));
}

/// <summary>
/// Fan-in of a sweep: ranks the trial results and checks the winner against a baseline. Pruned trials (stopped by
/// the median rule, <c>state: pruned</c>) are listed after the ranked ones, without a rank: their last value was
/// measured before their final round, so it is not comparable, and a pruned trial is never the best.
/// </summary>
public sealed class HpoLeaderboardActivity : Activity<HpoLeaderboardInput>, IActivityDefinition<HpoLeaderboardInput>
{
    public static ActivityInfo Info { get; } = new("hpo.leaderboard", "1", "Ranks sweep results (fan-in of train.trial) and reports the best trial and whether it beats the baseline; pruned trials are listed but never best.");

    public static IActivity Create(IServiceProvider? services) => new HpoLeaderboardActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("leaderboard", SchemaBuilder.Array(SchemaBuilder.Any(), "Results, best first."))
            .Required("best", SchemaBuilder.Any("The best result."))
            .Required("best_value", SchemaBuilder.Number())
            .Required("beats_baseline", SchemaBuilder.Boolean())
            .Optional("best_model", SchemaBuilder.Any("The best trial's model artifact reference (null without artifact services)."))
            .Optional("pruned", SchemaBuilder.Array(SchemaBuilder.Integer(), "Numbers of the trials the median rule pruned."))
            .Build();

    protected override Task<ActivityResult> ExecuteAsync(HpoLeaderboardInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var results = input.Results.OfType<JsonObject>().ToList();
        if (results.Count == 0) throw new ActivityException("no results to rank", retryable: false);
        var maximize = input.Direction != "minimize";
        double Value(JsonObject r) => JsonNumber.Double(r["value"]) ?? double.NaN;
        // Results of train.trial before pruning existed carry no state: they ran to the end.
        static bool Pruned(JsonObject r) => r["state"]?.GetValue<string>() == TrialEnd.Pruned;
        List<JsonObject> Order(IEnumerable<JsonObject> rows) => rows.Where(r => !double.IsNaN(Value(r)))
            .OrderBy(r => maximize ? -Value(r) : Value(r)).ThenBy(r => JsonNumber.Long(r["number"]) ?? 0).ToList();
        var ranked = Order(results.Where(r => !Pruned(r)));
        var pruned = Order(results.Where(Pruned));
        if (ranked.Count == 0)
            throw new ActivityException(pruned.Count > 0 ? $"all {pruned.Count} trials with a value were pruned; none ran to the end to be picked" : "every result lacks a value",
                retryable: false);
        var best = ranked[0];
        var baselineResult = input.Baseline as JsonObject;
        var baseline = baselineResult is not null ? JsonNumber.Double(baselineResult["value"]) : JsonNumber.Double(input.Baseline);
        var beats = baseline is not { } b || (maximize ? Value(best) > b : Value(best) < b);
        var board = new JsonArray(ranked.Select((r, i) =>
        {
            var copy = (JsonObject)r.DeepClone();
            copy["rank"] = i + 1;
            return (JsonNode)copy;
        }).ToArray());
        foreach (var r in pruned) board.Add(r.DeepClone());
        if (baselineResult is not null)
        {
            var row = (JsonObject)baselineResult.DeepClone();
            row["baseline"] = true;
            board.Add(row);
        }
        context.Log.Write($"best: trial {best["number"]} = {Value(best)}" + (baseline is { } bl ? $" (baseline {bl}: {(beats ? "beaten" : "NOT beaten")})" : "") +
                          (pruned.Count > 0 ? $"; pruned: {string.Join(", ", pruned.Select(r => r["number"]?.ToJsonString()))}" : ""));
        if (!beats && input.StopIfNotBeaten)
            return Task.FromResult(ActivityResult.Stop($"no trial beats the baseline: best {Value(best)}, baseline {baseline}"));
        return Task.FromResult(ActivityResult.Success(new JsonObject
        {
            ["best_model"] = best["model"]?.DeepClone(),
            ["leaderboard"] = board,
            ["best"] = best.DeepClone(),
            ["best_value"] = Value(best),
            ["beats_baseline"] = beats,
            ["pruned"] = new JsonArray(pruned.Select(r => (JsonNode?)r["number"]?.DeepClone()).ToArray()),
        }));
    }
}
