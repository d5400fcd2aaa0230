using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Activities.Ml;
using Pipelines.Core.Activities;

namespace Pipelines.Activities.Model.Tests.Sweeps;

/// <summary>What the sweep's other activities do with pruned trials, and how a bad <c>pruning</c> input is reported.</summary>
public sealed class PrunedResultsTests
{
    private sealed class Log : IActivityLog
    {
        public List<string> Lines { get; } = [];
        public void Write(string message) => Lines.Add(message);
    }

    private static ActivityContext Context(string step, JsonObject inputs) => new()
    {
        RunId = Guid.NewGuid(), StepRunId = Guid.NewGuid(), StepId = step, Attempt = 1, WorkerId = "t",
        Inputs = inputs, Time = TimeProvider.System, Log = new Log(),
    };

    private static JsonObject Result(int number, double value, string? state) => new()
    {
        ["number"] = number, ["value"] = value, ["state"] = state, ["model"] = new JsonObject { ["artifact"] = $"model-{number}" },
    };

    [Test]
    public async Task Leaderboard_NeverPicksAPrunedTrial_EvenWithTheBestLookingValue()
    {
        // A pruned trial's value is from an early round; here it happens to look best (lowest log loss).
        var results = new JsonArray(Result(0, 0.30, "complete"), Result(1, 0.10, "pruned"), Result(2, 0.25, null), Result(3, 0.50, "pruned"));
        var r = await new HpoLeaderboardActivity().ExecuteAsync(
            Context("board", new JsonObject { ["results"] = results, ["direction"] = "minimize", ["baseline"] = 0.28 }), CancellationToken.None);
        var o = r.Outputs;
        Assert.That(o["best"]!["number"]!.GetValue<int>(), Is.EqualTo(2), "a result without a state (before pruning existed) ran to the end");
        Assert.That(o["best_value"]!.GetValue<double>(), Is.EqualTo(0.25));
        Assert.That(o["best_model"]!["artifact"]!.GetValue<string>(), Is.EqualTo("model-2"));
        Assert.That(o["beats_baseline"]!.GetValue<bool>(), Is.True, "compared with the best complete trial");
        Assert.That(o["pruned"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { 1, 3 }));
        var board = o["leaderboard"]!.AsArray().Select(x => x!.AsObject()).ToList();
        Assert.That(board.Select(x => x["number"]!.GetValue<int>()), Is.EqualTo(new[] { 2, 0, 1, 3 }), "ranked trials first, then the pruned ones");
        Assert.That(board.Select(x => x["rank"]?.GetValue<int>()), Is.EqualTo(new int?[] { 1, 2, null, null }));
    }

    [Test]
    public void Leaderboard_WhenEveryTrialWasPruned_FailsWithAClearMessage()
    {
        var results = new JsonArray(Result(0, 0.3, "pruned"), Result(1, 0.2, "pruned"));
        var e = Assert.ThrowsAsync<ActivityException>(() => new HpoLeaderboardActivity().ExecuteAsync(
            Context("board", new JsonObject { ["results"] = results }), CancellationToken.None));
        Assert.That(e!.Message, Does.Contain("all 2 trials with a value were pruned"));
        Assert.That(e.Retryable, Is.False);
    }

    [TestCase("""{ "rule": "percentile" }""", "input 'pruning': rule 'percentile' is not supported (median)")]
    [TestCase("""{ "startup": 2 }""", "input 'pruning': unknown key 'startup' (rule, startup_trials, warmup_rounds)")]
    [TestCase("""{ "warmup_rounds": -1 }""", "input 'pruning': warmup_rounds must be between 0 and 1000000, got -1")]
    [TestCase("""{ "startup_trials": 1.5 }""", "input 'pruning': startup_trials must be a whole number, got 1.5")]
    [TestCase("true", "input 'pruning': expected an object")]
    public void PruningInput_Invalid_IsRejectedBeforeTraining_NamingTheProblem(string json, string message)
    {
        var e = Assert.Throws<ActivityException>(() => PruningSettings.Parse(JsonNode.Parse(json)));
        Assert.That(e!.Message, Does.StartWith(message));
        Assert.That(e.Retryable, Is.False);
    }

    [Test]
    public void PruningInput_Defaults_AreOptunasMedianPrunerDefaults()
    {
        Assert.That(PruningSettings.Parse(null), Is.Null, "absent: pruning is off");
        Assert.That(PruningSettings.Parse(new JsonObject()), Is.EqualTo(new PruningSettings(5, 0)));
        Assert.That(PruningSettings.Parse(JsonNode.Parse("""{ "rule": "median", "startup_trials": 2, "warmup_rounds": 5 }""")), Is.EqualTo(new PruningSettings(2, 5)));
    }

    [Test]
    public async Task Suggest_CountsPrunedHistoryAsTried_NotAsFinished()
    {
        // TPE draws at random until it has 10 finished trials. Ten earlier results that were pruned are not finished,
        // so the next wave is the random one; told as complete, the same ten would steer TPE elsewhere.
        var space = JsonNode.Parse("""{ "x": { "type": "uniform", "low": 0, "high": 1 } }""")!.AsObject();
        JsonArray History(string state) => new(Enumerable.Range(0, 10).Select(i => (JsonNode)new JsonObject
        {
            ["number"] = i, ["params"] = new JsonObject { ["x"] = i / 10.0 }, ["value"] = 1 - Math.Abs(i / 10.0 - 0.2), ["state"] = state,
        }).ToArray());
        static IEnumerable<double> Xs(IEnumerable<JsonNode?> trials) => trials.Select(t => t!["params"]!["x"]!.GetValue<double>());

        var afterPruned = await Suggest(space, "tpe", 5, History("pruned"));
        var afterComplete = await Suggest(space, "tpe", 5, History("complete"));
        // Random draws depend only on the seed and the trial number: these are numbers 10..14 of a random sweep.
        var random = (await Suggest(space, "random", 15, null)).Skip(10).ToList();
        Assert.That(afterPruned.Select(t => t!["number"]!.GetValue<int>()), Is.EqualTo(Enumerable.Range(10, 5)));
        Assert.That(Xs(afterPruned), Is.EqualTo(Xs(random)));
        Assert.That(Xs(afterComplete), Is.Not.EqualTo(Xs(random)));
    }

    private static async Task<JsonArray> Suggest(JsonObject space, string strategy, int trials, JsonArray? history)
    {
        var inputs = new JsonObject { ["space"] = space.DeepClone(), ["trials"] = trials, ["strategy"] = strategy, ["seed"] = 3 };
        if (history is not null) inputs["history"] = history;
        return (await new HpoSuggestActivity().ExecuteAsync(Context("suggest", inputs), CancellationToken.None)).Outputs["trials"]!.AsArray();
    }
}
