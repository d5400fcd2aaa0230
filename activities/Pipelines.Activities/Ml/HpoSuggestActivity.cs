using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

public sealed record HpoSuggestInput(JsonObject Space, long Trials, string Strategy, long Seed, long GridPoints, string Direction, JsonArray History)
    : IActivityInput<HpoSuggestInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("space", SchemaBuilder.Any("Search space: {name: {type: uniform|log_uniform|int|choice, low, high, values}}."))
        .Required("trials", SchemaBuilder.Integer("How many trials to propose."))
        .Optional("strategy", SchemaBuilder.String("grid, random (default) or tpe."))
        .Optional("seed", SchemaBuilder.Integer("Seed; the same seed proposes the same trials."))
        .Optional("grid_points", SchemaBuilder.Integer("Points per continuous dimension for grid (default 3)."))
        .Optional("direction", SchemaBuilder.String("minimize or maximize (default), for TPE."))
        .Optional("history", SchemaBuilder.Array(SchemaBuilder.Any(), "Earlier results ({number, params, value, state}) for TPE; pruned ones count as tried, not as finished."))
        .Build();

    public static HpoSuggestInput Bind(ActivityInputs inputs) => new(
        inputs.Node("space") as JsonObject ?? throw new ActivityException("input 'space' must be an object", retryable: false),
        inputs.Integer("trials"),
        inputs.String("strategy", "random"),
        inputs.Integer("seed", 0),
        inputs.Integer("grid_points", 3),
        inputs.String("direction", "maximize"),
        inputs.OptionalArray("history") ?? []);
}

/// <summary>
/// Proposes a batch of trials for a for_each fan-out. Grid and random batches are fixed by the seed; TPE uses
/// <c>history</c> (results of earlier waves) and falls back to random draws until it has enough finished trials.
/// </summary>
public sealed class HpoSuggestActivity : Activity<HpoSuggestInput>, IActivityDefinition<HpoSuggestInput>
{
    public static ActivityInfo Info { get; } = new("hpo.suggest", "1", "Proposes hyperparameter trials (grid, random or TPE) from a search space; feeds a for_each of train.trial.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object()
        .Required("trials", SchemaBuilder.Array(SchemaBuilder.Any(), "[{number, params}]"))
        .Build();

    public static IActivity Create(IServiceProvider? services) => new HpoSuggestActivity();

    protected override Task<ActivityResult> ExecuteAsync(HpoSuggestInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var space = SearchSpace.FromJson(input.Space);
        var n = (int)input.Trials;
        if (n is < 1 or > 10_000) throw new ActivityException($"input 'trials' must be between 1 and 10000, got {n}", retryable: false);
        var seed = (int)input.Seed;
        var direction = input.Direction == "minimize" ? Direction.Minimize : Direction.Maximize;
        var history = input.History.Select(h => h as JsonObject).Where(h => h is not null).Select(h =>
        {
            var t = new Trial((int)(JsonNumber.Long(h!["number"]) ?? 0), (JsonObject)h["params"]!.DeepClone());
            return (Trial: t, Value: JsonNumber.Double(h["value"]), Pruned: h["state"]?.GetValue<string>() == Model.TrialEnd.Pruned);
        }).ToList();
        ISampler sampler = input.Strategy switch
        {
            "grid" => new GridSampler((int)input.GridPoints),
            "random" => new RandomSampler(seed),
            "tpe" => new TpeSampler(seed),
            var s => throw new ActivityException($"unknown strategy '{s}' (grid, random, tpe)", retryable: false),
        };
        // Replay the history into a study so TPE sees finished trials; new trials are numbered after them.
        var study = new Study(space, new ReplaySampler(history.Select(h => h.Trial.Parameters).ToList(), sampler), direction);
        foreach (var (_, value, pruned) in history)
        {
            var t = study.Ask();
            // A pruned trial's value was measured before its last round: TPE must not learn from it as if it had finished.
            if (pruned) study.Prune(t);
            else if (value is { } v) study.Tell(t, v);
            else study.Fail(t);
        }
        if (sampler is GridSampler g) n = Math.Min(n, g.Size(space) - history.Count);
        var trials = new JsonArray();
        for (var i = 0; i < n; i++)
        {
            var t = study.Ask();
            trials.Add(new JsonObject { ["number"] = t.Number, ["params"] = t.Parameters.DeepClone() });
        }
        context.Log.Write($"proposed {trials.Count} trials ({input.Strategy}, seed {seed}, {history.Count} earlier results)");
        return Task.FromResult(ActivityResult.Success(new JsonObject { ["trials"] = trials }));
    }

    /// <summary>Returns the recorded parameters for the first trials, then defers to the real sampler.</summary>
    private sealed class ReplaySampler(IReadOnlyList<JsonObject> recorded, ISampler next) : ISampler
    {
        public JsonObject Suggest(SearchSpace space, int number, IReadOnlyList<Trial> finished, Direction direction) =>
            number < recorded.Count ? (JsonObject)recorded[number].DeepClone() : next.Suggest(space, number, finished, direction);
    }
}
