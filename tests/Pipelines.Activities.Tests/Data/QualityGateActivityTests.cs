using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Engine.Model;

namespace Pipelines.Activities.Tests.Data;

public sealed class QualityGateActivityTests
{
    private DataActivityServices _s = null!;

    [OneTimeSetUp] public async Task SetUp() => _s = await DataActivityServices.CreateAsync();
    [OneTimeTearDown] public async Task TearDown() => await _s.DisposeAsync();

    private static JsonObject LabelExpectation => new() { ["columns"] = new JsonObject { ["Y"] = new JsonObject { ["allowed"] = new JsonArray(">50K", "<=50K") } } };

    [Test]
    public async Task TestSplitLabelsWithDot_StopTheRun_AndAreNotRetried()
    {
        var ingested = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Test, ["null_tokens"] = AdultData.Nulls });
        var (run, step) = await _s.RunStepAsync("quality_gate", new JsonObject { ["data"] = ingested["table"]!.DeepClone(), ["expectations"] = LabelExpectation });
        Assert.That(run.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(run.Run.Error, Does.Contain("quality gate failed").And.Contain("Y").And.Contain(">50K."));
        Assert.That(step.Attempts, Has.Count.EqualTo(1));
        // A stopped step keeps no outputs in the run view; its artifacts are found through the registry.
        var artifacts = await _s.Registry.ListAsync(new Pipelines.Storage.Artifacts.ArtifactFilter(RunId: run.Run.Id));
        Assert.That(artifacts.Select(a => a.Name), Does.Contain("quarantine.parquet").And.Contain("quality-report.json"));
        // Lineage: the gate's attempt recorded the ingested artifact as consumed.
        var consumers = await _s.Registry.ConsumersAsync(Guid.Parse(ingested["table"]!["artifact"]!.GetValue<string>()));
        Assert.That(consumers.Select(c => (c.StepRunId, c.InputName)), Does.Contain((step.Id, "data")));
    }

    [Test]
    public async Task TestSplitLabels_Pass_WhenLabelMappingIsDeclared()
    {
        var ingested = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Test, ["null_tokens"] = AdultData.Nulls });
        var o = await _s.OkAsync("quality_gate", new JsonObject
        {
            ["data"] = ingested["table"]!.DeepClone(),
            ["expectations"] = LabelExpectation,
            ["label_mapping"] = new JsonObject { ["column"] = "Y", ["map"] = new JsonObject { [">50K."] = ">50K", ["<=50K."] = "<=50K" } },
        });
        Assert.That(o["verdict"]!.GetValue<string>(), Is.EqualTo("pass"));
        Assert.That(o["data"]!["sha256"]!.GetValue<string>(), Is.Not.EqualTo(ingested["table"]!["sha256"]!.GetValue<string>()), "the mapped table is a new artifact");
    }

    [Test]
    public async Task ShiftedAge_FailsDrift_WithReadableHtmlReport()
    {
        var reference = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Train, ["null_tokens"] = AdultData.Nulls });
        var shifted = AdultData.WriteShiftedAge(_s.TempFile("shifted.parquet"), 15);
        var (run, step) = await _s.RunStepAsync("quality_gate", new JsonObject
        {
            ["data"] = shifted,
            ["reference"] = reference["table"]!.DeepClone(),
            ["drift"] = new JsonObject { ["columns"] = new JsonArray("age"), ["psi"] = new JsonObject { ["max"] = 0.2 } },
        });
        Assert.That(run.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(run.Run.Error, Does.Contain("age"));
        var artifacts = await _s.Registry.ListAsync(new Pipelines.Storage.Artifacts.ArtifactFilter(RunId: run.Run.Id));
        var report = artifacts.Single(a => a.Name == "quality-report.html");
        var html = await File.ReadAllTextAsync(await _s.LocalAsync(new JsonObject { ["artifact"] = report.Id.ToString() }));
        Assert.That(html, Does.Contain("<html").IgnoreCase.And.Contain("age"));
    }

    [Test]
    public async Task MissingColumn_IsAViolationNamingTheColumn()
    {
        var (run, _) = await _s.RunStepAsync("quality_gate", new JsonObject
        {
            ["data"] = AdultData.Train,
            ["null_tokens"] = AdultData.Nulls,
            ["expectations"] = new JsonObject { ["columns"] = new JsonObject { ["income_bracket"] = new JsonObject { ["required"] = true } } },
        });
        Assert.That(run.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(run.Run.Error, Does.Contain("income_bracket"));
    }
}
