using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Packaging;
using Pipelines.Testing;

namespace Pipelines.Ml.Tests.Activities;

/// <summary>A small sweep through the real engine: hpo.suggest fans out train.trial over two workers, hpo.leaderboard fans in.</summary>
public class SweepOnEngineTests
{
    private static string Sweep(string strategy, int trials) => $$$"""
        name: adult-sweep
        steps:
          - id: suggest
            uses: hpo.suggest
            with:
              space:
                max_depth: { type: int, low: 2, high: 6 }
                eta: { type: log_uniform, low: 0.05, high: 0.5 }
                min_child_weight: { type: choice, values: [1, 5] }
              trials: {{{trials}}}
              strategy: {{{strategy}}}
              seed: 7
          - id: baseline
            uses: train.trial
            with:
              train: "{{{TestData.AdultFile("adult.data")}}}"
              valid: "{{{TestData.AdultFile("adult.test")}}}"
              null_tokens: ["", "?"]
              label: "Y"
              positive: ">50K"
              label_mapping: { ">50K.": ">50K", "<=50K.": "<=50K" }
              trainer: logistic
              pipeline:
                - { op: impute, columns: [workclass, occupation, native-country], strategy: MostFrequent }
                - { op: one_hot, columns: [workclass, education, marital-status, occupation, relationship, race, sex, native-country], min_frequency: 20 }
                - { op: log1p, columns: [capital-gain, capital-loss] }
          - id: trials
            uses: train.trial
            for_each: { items: "${{ steps.suggest.outputs.trials }}", max_parallel: 2 }
            with:
              train: "{{{TestData.AdultFile("adult.data")}}}"
              valid: "{{{TestData.AdultFile("adult.test")}}}"
              null_tokens: ["", "?"]
              label: "Y"
              positive: ">50K"
              label_mapping: { ">50K.": ">50K", "<=50K.": "<=50K" }
              trial: "${{ item }}"
              rounds: 20
              threads: 1
              seed: 3
              pipeline:
                - { op: one_hot, columns: [workclass, education, marital-status, occupation, relationship, race, sex, native-country], min_frequency: 20 }
          - id: board
            uses: hpo.leaderboard
            with:
              results: "${{ steps.trials.outputs.result }}"
              baseline: "${{ steps.baseline.outputs.value }}"
        """;

    [Test]
    public async Task Trials_FanOutOverWorkers_AndFanInToALeaderboard()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(Sweep("random", 4));
        // One job at a time per worker: while one trains, the other must take the next ready step.
        await h.StartWorkersAsync(2, new Pipelines.Engine.Workers.WorkerOptions { Concurrency = 1 });
        var details = await h.WaitForEndAsync(run, TimeSpan.FromMinutes(5));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + string.Join("\n", details.Steps.SelectMany(s => s.Attempts).Select(a => a.Error)));

        var proposed = h.Step(details, "suggest").Outputs!["trials"]!.AsArray();
        var items = details.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex).ToList();
        Assert.That(items, Has.Count.EqualTo(4));
        Assert.That(items.All(s => s.State == StepState.Succeeded && s.Attempts.Count == 1), Is.True, "each trial ran once");
        TestContext.Out.WriteLine("trial workers: " + string.Join(", ", items.Select(s => s.Attempts[0].WorkerId)));
        Assert.That(details.Steps.SelectMany(s => s.Attempts).Select(a => a.WorkerId).Distinct().Count(), Is.EqualTo(2), "both workers ran steps");

        // Each item trained the parameters it was given.
        for (var i = 0; i < 4; i++)
            Assert.That(JsonNode.DeepEquals(items[i].Outputs!["result"]!["params"], proposed[i]!["params"]), Is.True, $"trial {i}");

        var board = h.Step(details, "board").Outputs!;
        var ranked = board["leaderboard"]!.AsArray().Select(r => r!["value"]!.GetValue<double>()).ToList();
        Assert.That(ranked, Is.EqualTo(items.Select(s => s.Outputs!["value"]!.GetValue<double>()).OrderByDescending(v => v)));
        Assert.That(board["best_value"]!.GetValue<double>(), Is.EqualTo(ranked[0]));
        var baseline = h.Step(details, "baseline").Outputs!["value"]!.GetValue<double>();
        Assert.That(board["beats_baseline"]!.GetValue<bool>(), Is.EqualTo(ranked[0] > baseline));
        TestContext.Out.WriteLine($"best AUC {ranked[0]:F4}, logistic baseline {baseline:F4}");

        // The best trial's model directory reproduces its reported AUC from raw rows.
        using var best = MlflowModel.Load(board["best"]!["model_dir"]!.GetValue<string>());
        var labels = best.Pipeline.Labels(TestData.AdultTest);
        Assert.That(Metric.RocAuc(labels, best.Predict(TestData.AdultTest).Values), Is.EqualTo(ranked[0]).Within(1e-12));
    }

    [Test]
    public async Task OneSweep_ComparesTrainerKinds_AndTheWinnersDirectoryReproducesItsScore()
    {
        // The trainer is a dimension of the search space, so each trial trains one kind on the same data.
        var workflow = Sweep("grid", 4)
            .Replace("""
                        max_depth: { type: int, low: 2, high: 6 }
                        eta: { type: log_uniform, low: 0.05, high: 0.5 }
                        min_child_weight: { type: choice, values: [1, 5] }
                """, """
                        trainer: { type: choice, values: [xgboost, lightgbm, fasttree, sdca] }
                """);
        Assert.That(workflow, Does.Contain("trainer: { type: choice"));
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(workflow);
        await h.StartWorkersAsync(1);
        var details = await h.WaitForEndAsync(run, TimeSpan.FromMinutes(10));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + string.Join("\n", details.Steps.SelectMany(s => s.Attempts).Select(a => a.Error)));

        var items = details.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex).ToList();
        var results = items.Select(s => s.Outputs!["result"]!).ToList();
        Assert.That(results.Select(r => r["trainer"]!.GetValue<string>()), Is.EquivalentTo(new[] { "xgboost", "lightgbm", "fasttree", "sdca" }));
        foreach (var r in results)
        {
            TestContext.Out.WriteLine($"{r["trainer"]}: AUC {r["value"]}");
            Assert.That(r["value"]!.GetValue<double>(), Is.GreaterThan(0.85), r["trainer"]!.ToString());
            Assert.That(r["model_dir"]!.GetValue<string>(), Is.Not.Empty, "every kind is packaged as a model directory");
        }
        var baseline = h.Step(details, "baseline").Outputs!["result"]!;
        Assert.That(baseline["trainer"]!.GetValue<string>(), Is.EqualTo("logistic"));
        Assert.That(baseline["model_dir"]!.GetValue<string>(), Is.Not.Empty, "the ML.NET logistic baseline is a model like any other");

        var board = h.Step(details, "board").Outputs!;
        using var best = MlflowModel.Load(board["best"]!["model_dir"]!.GetValue<string>());
        var labels = best.Pipeline.Labels(TestData.AdultTest);
        Assert.That(Metric.RocAuc(labels, best.Predict(TestData.AdultTest).Values), Is.EqualTo(board["best_value"]!.GetValue<double>()).Within(1e-12));
    }

    [Test]
    public async Task BadColumn_FailsTheTrial_WithTheColumnName()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(Sweep("grid", 1).Replace("columns: [workclass, education,", "columns: [no-such-column, education,"));
        await h.StartWorkersAsync(1);
        var details = await h.WaitForEndAsync(run, TimeSpan.FromMinutes(5));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed));
        var error = details.Steps.Where(s => s.StepId is "trials" or "baseline").SelectMany(s => s.Attempts).Select(a => a.Error).FirstOrDefault(e => e is not null);
        Assert.That(error, Does.Contain("'no-such-column'"));
    }
}
