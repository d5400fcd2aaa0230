using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Tracking.Tests.Pipeline;

public class PipelineTrackingTests
{
    private TrackingServerHarness _server = null!;
    private MlflowClient _client = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await TrackingServerHarness.StartAsync();
        _client = _server.Client();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task WorkflowRun_IsAParentRun_WithNestedTrials()
    {
        var tracking = new PipelineTracking(_client);
        var parent = await tracking.StartWorkflowRunAsync(new WorkflowRunStart
        {
            ExperimentName = "nightly", WorkflowName = "income", PipelineRunId = "run-42", SourceVersion = "abc123", User = "ana",
            Parameters = new Dictionary<string, string> { ["min_auc"] = "0.8" },
        });
        for (var t = 0; t < 3; t++)
            await tracking.LogTrialAsync(parent, new TrialResult
            {
                Name = $"trial-{t}",
                Parameters = new Dictionary<string, string> { ["max_depth"] = (4 + t).ToString() },
                IterationMetrics = new Dictionary<string, IReadOnlyList<double>> { ["logloss"] = [0.6, 0.5, 0.4 - t / 100.0] },
                FinalMetrics = new Dictionary<string, double> { ["auc"] = 0.8 + t / 100.0 },
            });
        var hash = "sha256:" + new string('a', 64);
        await tracking.LogInputAsync(parent, "train", "file:///data/train.parquet", hash, context: "training", schema: "{\"columns\":[\"age\"]}");
        await tracking.FinishAsync(parent);

        var run = await _client.GetRunAsync(parent.RunId);
        Assert.That(run.Info.Status, Is.EqualTo(RunStatus.Finished));
        Assert.That(run.Data.Param("min_auc"), Is.EqualTo("0.8"));
        Assert.That(run.Data.Tag(MlflowTags.User), Is.EqualTo("ana"));
        Assert.That(run.Data.Tag(MlflowTags.SourceName), Is.EqualTo("income"));
        Assert.That(run.Data.Tag(MlflowTags.SourceGitCommit), Is.EqualTo("abc123"));
        Assert.That(run.Data.Tag(PipelineTags.RunId), Is.EqualTo("run-42"));
        var input = run.Inputs!.DatasetInputs!.Single();
        Assert.That(input.Dataset.Name, Is.EqualTo("train"));
        Assert.That(input.Dataset.Digest, Is.EqualTo(new string('a', 36)));
        Assert.That(input.Dataset.SourceType, Is.EqualTo("local"), "a source type MLflow recognises (mlflow.data.get_source)");
        Assert.That(input.Dataset.Source, Does.Contain("\"uri\":\"file:///data/train.parquet\""));
        Assert.That(run.Info.UserId, Is.EqualTo("ana"));
        Assert.That(input.Dataset.Source, Does.Contain("file:///data/train.parquet").And.Contain(hash));
        Assert.That(input.Dataset.Schema, Is.EqualTo("{\"columns\":[\"age\"]}"));
        Assert.That(input.Tags, Is.EqualTo(new[] { new Tag(PipelineTags.DatasetContext, "training") }));
        Assert.That(run.Data.Tags!.Select(t => t.Key), Has.None.StartsWith("pipelines.input."), "inputs are datasets, not tags");

        var trials = await _client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [parent.ExperimentId], Filter = $"tags.mlflow.parentRunId = '{parent.RunId}'", OrderBy = ["metrics.auc DESC"],
        });
        Assert.That(trials.Items.Select(r => r.Info.RunName), Is.EqualTo(new[] { "trial-2", "trial-1", "trial-0" }));
        var best = trials.Items[0];
        Assert.That(best.Info.Status, Is.EqualTo(RunStatus.Finished));
        Assert.That((await _client.GetMetricHistoryAsync(best.Info.RunId, "logloss")).Select(m => m.Step), Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    [Test]
    public async Task Promote_MovesChampion_KeepsPrevious_AndRollbackRestoresIt()
    {
        var tracking = new PipelineTracking(_client);
        var parent = await tracking.StartWorkflowRunAsync(new WorkflowRunStart { ExperimentName = "promo", WorkflowName = "w", PipelineRunId = "r1" });
        await using (var s = new MemoryStream("{}"u8.ToArray())) await tracking.UploadArtifactAsync(parent, "model/MLmodel", s);
        var v1 = await tracking.RegisterModelAsync("churn", parent);
        var v2 = await tracking.RegisterModelAsync("churn", parent);
        Assert.That(v1.Source, Is.EqualTo($"runs:/{parent.RunId}/model"));
        Assert.That(v1.RunId, Is.EqualTo(parent.RunId));

        var first = await tracking.PromoteAsync("churn", v1.Version, "ana", "first model");
        Assert.That(first.PreviousChampion, Is.Null);
        var second = await tracking.PromoteAsync("churn", v2.Version, "bob", "auc +2%");
        Assert.That(second.PreviousChampion, Is.EqualTo(v1.Version));
        var model = await _client.GetRegisteredModelAsync("churn");
        Assert.That((model.VersionOf(PipelineTracking.Champion), model.VersionOf(PipelineTracking.PreviousChampion)), Is.EqualTo(("2", "1")));
        var promoted = await _client.GetModelVersionAsync("churn", "2");
        Assert.That(promoted.Tags, Does.Contain(new Tag("pipelines.promoted_by", "bob")).And.Contain(new Tag("pipelines.promoted_reason", "auc +2%")));
        Assert.That(promoted.Tags!.Any(t => t.Key == "pipelines.promoted_at"));

        var back = await tracking.RollbackAsync("churn", "carol", "drift");
        Assert.That((back.PreviousChampion, back.Champion), Is.EqualTo(("2", "1")));
        model = await _client.GetRegisteredModelAsync("churn");
        Assert.That(model.VersionOf(PipelineTracking.Champion), Is.EqualTo("1"));
        Assert.That(model.VersionOf(PipelineTracking.PreviousChampion), Is.Null);
        Assert.That((await _client.GetModelVersionAsync("churn", "2")).Tags, Does.Contain(new Tag("pipelines.rolled_back_by", "carol")));
        Assert.ThrowsAsync<InvalidOperationException>(() => tracking.RollbackAsync("churn", "carol", "again"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => tracking.PromoteAsync("churn", "9", "x", "y"));
    }
}
