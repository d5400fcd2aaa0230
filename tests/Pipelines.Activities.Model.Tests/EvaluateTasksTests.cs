using System.Globalization;
using System.Text;
using NUnit.Framework;
using Pipelines.Engine.Model;

namespace Pipelines.Activities.Model.Tests;

/// <summary>evaluate on regression and multiclass models; per-slice thresholds and the auto-approve output of the gate.</summary>
public partial class ModelPipelineTests
{
    /// <summary>y = 3·x1 + x2 with little noise for sex M and heavy noise for sex F (so slice F has a poor r2).</summary>
    private void WriteRegression(string name, int rows, int seed)
    {
        var random = new Random(seed);
        var sb = new StringBuilder("x1,x2,sex,y\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble();
            var x2 = random.NextDouble();
            var female = random.Next(2) == 0;
            var y = 3 * x1 + x2 + (female ? 4 * (random.NextDouble() - 0.5) : 0.05 * random.NextDouble());
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{(female ? "F" : "M")},{y:F4}\n"));
        }
        File.WriteAllText(Path.Combine(_dir, name), sb.ToString());
    }

    private void WriteMulticlass(string name, int rows, int seed)
    {
        var random = new Random(seed);
        var sb = new StringBuilder("x1,x2,sex,y\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble();
            var x2 = random.NextDouble();
            var c = x1 < 0.33 ? "low" : x1 < 0.66 ? "mid" : "high";
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{(random.Next(2) == 0 ? "F" : "M")},{c}\n"));
        }
        File.WriteAllText(Path.Combine(_dir, name), sb.ToString());
    }

    private string EvalFlow(string task, string train, string holdout, string gate) => $$$"""
        name: model-{{{task}}}
        steps:
          - id: train
            uses: train
            with:
              train: "{{{Path.Combine(_dir, train)}}}"
              label: y
              task: {{{task}}}
              rounds: 20
              threads: 1
              seed: 1
              pipeline:
                - { op: one_hot, columns: [sex] }
              experiment: ${{ run.workflow }}
          - id: evaluate
            uses: evaluate
            with:
              model: ${{ steps.train.outputs.model }}
              holdout: "{{{Path.Combine(_dir, holdout)}}}"
              slices: [sex]
              experiment: ${{ run.workflow }}
          - id: gate
            uses: evaluation_gate
            with:
              evaluation: ${{ steps.evaluate.outputs.summary }}
        {{{gate}}}
        """;

    [Test]
    public async Task Regression_IsEvaluatedWithRmse_AndASliceBelowItsThresholdStopsTheGateNamingTheSlice()
    {
        WriteRegression("reg-train.csv", 500, 11);
        WriteRegression("reg-holdout.csv", 300, 12);
        await using var env = await StartAsync();
        var run = await RunAsync(env, EvalFlow("regression", "reg-train.csv", "reg-holdout.csv", """
                  max: { rmse: 2.0 }
                  slice_min: { r2: 0.5 }
            """));
        var summary = env.Engine.Step(run, "evaluate").Outputs!["summary"]!;
        Assert.That(summary["task"]!.GetValue<string>(), Is.EqualTo("Regression"));
        Assert.That(summary["primary_metric"]!.GetValue<string>(), Is.EqualTo("rmse"));
        Assert.That(summary["maximize"]!.GetValue<bool>(), Is.False);
        Assert.That(summary["metrics"]!["rmse"]!.GetValue<double>(), Is.GreaterThan(0));
        var slices = summary["slices"]!.AsArray();
        var m = slices.Single(s => s!["value"]!.ToString() == "M")!["metrics"]!["r2"]!.GetValue<double>();
        var f = slices.Single(s => s!["value"]!.ToString() == "F")!["metrics"]!["r2"]!.GetValue<double>();
        Assert.That(m, Is.GreaterThan(0.5));
        Assert.That(f, Is.LessThan(0.5));

        Assert.That(env.Engine.Step(run, "gate").State, Is.EqualTo(StepState.Stopped), Errors(run));
        var error = Errors(run);
        Assert.That(error, Does.Contain("slice sex=F: r2"));
        Assert.That(error, Does.Not.Contain("slice sex=M"));
        Assert.That(error, Does.Not.Contain("rmse"), "the absolute bound held");
    }

    [Test]
    public async Task Multiclass_IsEvaluatedWithAccuracy_PerSlice_AndPassesTheGate()
    {
        WriteMulticlass("mc-train.csv", 600, 21);
        WriteMulticlass("mc-holdout.csv", 300, 22);
        await using var env = await StartAsync();
        var run = await RunAsync(env, EvalFlow("multiclass", "mc-train.csv", "mc-holdout.csv", """
                  min: { accuracy: 0.8 }
                  slice_min: { accuracy: 0.8 }
            """));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        var summary = env.Engine.Step(run, "evaluate").Outputs!["summary"]!;
        Assert.That(summary["task"]!.GetValue<string>(), Is.EqualTo("MulticlassClassification"));
        Assert.That(summary["primary_metric"]!.GetValue<string>(), Is.EqualTo("accuracy"));
        Assert.That(summary["metrics"]!["accuracy"]!.GetValue<double>(), Is.GreaterThan(0.8));
        Assert.That(summary["slices"]!.AsArray().Select(s => s!["value"]!.ToString()), Is.EquivalentTo(new[] { "F", "M" }));
        Assert.That(env.Engine.Step(run, "gate").Outputs!["passed"]!.GetValue<bool>(), Is.True);

        // A bound the model cannot reach stops the gate with the slice named.
        var strict = await RunAsync(env, EvalFlow("multiclass", "mc-train.csv", "mc-holdout.csv", """
                  slice_min: { accuracy: 1.01 }
            """));
        Assert.That(env.Engine.Step(strict, "gate").State, Is.EqualTo(StepState.Stopped));
        Assert.That(Errors(strict), Does.Contain("slice sex=F: accuracy").And.Contain("slice sex=M: accuracy"));
    }

    [Test]
    public async Task AutoApprove_IsFalseWithoutAChampion_TrueForAClearImprovement()
    {
        await using var env = await StartAsync();
        var first = await RunAsync(env, Nightly("noise.csv"));
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        var gate1 = env.Engine.Step(first, "gate").Outputs!;
        Assert.That(gate1["auto_approve"]!.GetValue<bool>(), Is.False);
        Assert.That(gate1["auto_approve_reason"]!.GetValue<string>(), Does.Contain("no champion"));
        Assert.That(gate1["improvement"], Is.Null);

        var second = await RunAsync(env, Nightly("good.csv"));
        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded), Errors(second));
        var gate2 = env.Engine.Step(second, "gate").Outputs!;
        Assert.That(gate2["improvement"]!.GetValue<double>(), Is.GreaterThan(0.01));
        Assert.That(gate2["auto_approve"]!.GetValue<bool>(), Is.True, gate2["auto_approve_reason"]!.GetValue<string>());
    }
}
