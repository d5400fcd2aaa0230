using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using NUnit.Framework;
using Pipelines.Activities.Hosting;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Server;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Caching;
using Pipelines.Storage.Local;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests;

/// <summary>
/// Train → evaluate → gate → promote on the real engine, real PostgreSQL, the built-in MLflow endpoint over HTTP
/// and real XGBoost, on a small synthetic binary dataset.
/// </summary>
public partial class ModelPipelineTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pipelines-model-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        Write("good.csv", 600, seed: 1, shuffleLabels: false);
        Write("noise.csv", 600, seed: 2, shuffleLabels: true);
        Write("holdout.csv", 400, seed: 3, shuffleLabels: false);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private void Write(string name, int rows, int seed, bool shuffleLabels, double shift = 0, bool label = true)
    {
        var random = new Random(seed);
        var sb = new StringBuilder(label ? "x1,x2,sex,y\n" : "x1,x2,sex\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble() + shift;
            var x2 = random.NextDouble();
            var sex = random.Next(2) == 0 ? "F" : "M";
            var positive = shuffleLabels ? random.Next(2) == 0 : x1 + 0.3 * x2 + 0.2 * random.NextDouble() > 0.8;
            sb.Append(label ? string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{sex},{(positive ? "yes" : "no")}\n") : string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{sex}\n"));
        }
        File.WriteAllText(Path.Combine(_dir, name), sb.ToString());
    }

    private sealed class Env : IAsyncDisposable
    {
        public required EngineHarness Engine { get; init; }
        public required WebApplication Server { get; init; }
        public required ActivityServices Services { get; init; }
        public required MlflowClient Client { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Engine.StopWorkersAsync();
            await Server.StopAsync();
            await Server.DisposeAsync();
            await Engine.DisposeAsync();
        }
    }

    private async Task<Env> StartAsync(Func<Pipelines.Storage.IArtifactStore, Pipelines.Storage.IArtifactStore>? wrap = null)
    {
        var engine = await EngineHarness.CreateAsync();
        var app = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = engine.Database.DataSource, ArtifactRoot = Path.Combine(_dir, "mlflow"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await app.StartAsync();
        var client = new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = new Uri(PipelinesServer.Addresses(app).Single()), InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero,
        });
        Pipelines.Storage.IArtifactStore store = new LocalFolderStore(Path.Combine(_dir, "store"));
        if (wrap is not null) store = wrap(store);
        var services = new ActivityServices
        {
            Artifacts = new ArtifactPublisher(store, new PostgresArtifactRegistry(engine.Database.DataSource)),
            Cache = new ArtifactCache(store, Path.Combine(_dir, "cache")),
            Tracking = new PipelineTracking(client),
            WorkRoot = Path.Combine(_dir, "work"),
            // The monitoring store too: shadow scoring keeps its champion/challenger series there.
            Monitoring = new Pipelines.Postgres.Monitoring.PostgresMonitorStore(engine.Database.DataSource),
        };
        await engine.StartWorkersAsync(2, services: new ServiceSet().Add(services));
        return new Env { Engine = engine, Server = app, Services = services, Client = client };
    }

    private string Nightly(string trainFile, bool approval = false) => $$$"""
        name: model-nightly
        steps:
          - id: train
            uses: train
            with:
              train: "{{{Path.Combine(_dir, trainFile)}}}"
              label: y
              positive: "yes"
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
              holdout: "{{{Path.Combine(_dir, "holdout.csv")}}}"
              slices: [sex]
              model_name: synth
              experiment: ${{ run.workflow }}
          - id: gate
            uses: evaluation_gate
            with:
              evaluation: ${{ steps.evaluate.outputs.summary }}
              min: { roc_auc: 0.4 }
              min_improvement: 0.0
              auto_approve: { min_improvement: 0.01 }
        {{{(approval ? """
          - id: review
            uses: approval@1
            with:
              summary: ${{ steps.evaluate.outputs.summary }}
              timeout: 1h
            needs: [gate]
        """ : "")}}}
          - id: promote
            uses: promote
            needs: [{{{(approval ? "review" : "gate")}}}]
            with:
              model: ${{ steps.train.outputs.model }}
              model_name: synth
              approved_by: {{{(approval ? "${{ steps.review.outputs.decided_by }}" : "tester")}}}
              reason: nightly
              experiment: ${{ run.workflow }}
        """;

    private static string Errors(RunDetails d) => d.Run.Error + " | " + string.Join(" | ", d.Steps.SelectMany(s => s.Attempts).Select(a => a.Error).Where(e => e is not null));

    private async Task<RunDetails> RunAsync(Env env, string yaml)
    {
        var id = await env.Engine.SubmitAsync(yaml);
        return await env.Engine.WaitForEndAsync(id, TimeSpan.FromMinutes(3));
    }

    [Test]
    public async Task Promote_MovesChampion_AndKeepsPreviousChampion()
    {
        await using var env = await StartAsync();
        var first = await RunAsync(env, Nightly("good.csv"));
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        var second = await RunAsync(env, Nightly("good.csv").Replace("seed: 1", "seed: 2"));
        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded), Errors(second));

        var model = await env.Client.GetRegisteredModelAsync("synth");
        Assert.That(model.VersionOf(PipelineTracking.Champion), Is.EqualTo("2"));
        Assert.That(model.VersionOf(PipelineTracking.PreviousChampion), Is.EqualTo("1"));
        var v2 = await env.Client.GetModelVersionAsync("synth", "2");
        Assert.That(v2.Tags!.Single(t => t.Key == "pipelines.promoted_by").Value, Is.EqualTo("tester"));
        // The version's source is the model directory of the MLflow run that trained it; the artifact is a tag.
        var train = env.Engine.Step(second, "train").Outputs!;
        Assert.That(v2.Source, Is.EqualTo($"runs:/{train["mlflow_run_id"]!.GetValue<string>()}/model"));
        Assert.That(v2.RunId, Is.EqualTo(train["mlflow_run_id"]!.GetValue<string>()));
        Assert.That(v2.Tags!.Single(t => t.Key == "pipelines.artifact").Value, Is.EqualTo(train["model"]!["artifact"]!.GetValue<string>()));
        Assert.That(v2.Tags!.Single(t => t.Key == "pipelines.sha256").Value, Is.EqualTo(train["model"]!["sha256"]!.GetValue<string>()));
        var files = await env.Client.ListArtifactsAsync((await env.Client.GetRunAsync(v2.RunId!)).Info.ArtifactUri!, "model");
        Assert.That(files.Select(f => f.Path), Does.Contain("MLmodel").And.Contain("code").And.Contain("input_example.json"));
        // Trials and evaluations land under one parent run per pipeline run.
        var experiment = await env.Client.GetExperimentByNameAsync("model-nightly");
        Assert.That(experiment, Is.Not.Null);
    }

    [Test]
    public async Task WorseModel_IsStoppedByTheGate_AndTheChampionIsUnchanged()
    {
        await using var env = await StartAsync();
        var first = await RunAsync(env, Nightly("good.csv"));
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        var artifactsBefore = await env.Engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifacts WHERE kind = 'model'");

        var worse = await RunAsync(env, Nightly("noise.csv"));
        Assert.That(worse.Run.State, Is.Not.EqualTo(RunState.Succeeded));
        Assert.That(env.Engine.Step(worse, "gate").State, Is.EqualTo(StepState.Stopped), Errors(worse));
        Assert.That(Errors(worse) + env.Engine.Step(worse, "gate").Attempts.Last().Error, Does.Contain("roc_auc improves on champion v1"));
        Assert.That(worse.Steps.Where(s => s.StepId == "promote").All(s => s.State != StepState.Succeeded), Is.True);

        var model = await env.Client.GetRegisteredModelAsync("synth");
        Assert.That(model.VersionOf(PipelineTracking.Champion), Is.EqualTo("1"));
        Assert.That(model.VersionOf(PipelineTracking.PreviousChampion), Is.Null);
        var versions = await env.Client.SearchModelVersionsAsync("name='synth'");
        Assert.That(versions.Items, Has.Count.EqualTo(1), "no version was registered");
        // Earlier artifacts are untouched: the first run's model still resolves with its hash.
        var firstModel = env.Engine.Step(first, "train").Outputs!["model"]!;
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(firstModel["artifact"]!.GetValue<string>()));
        Assert.That(record!.Sha256, Is.EqualTo(firstModel["sha256"]!.GetValue<string>()));
        Assert.That(artifactsBefore, Is.GreaterThan(0));
    }

    [Test]
    public async Task RejectedApproval_PromotesNothing()
    {
        await using var env = await StartAsync();
        var id = await env.Engine.SubmitAsync(Nightly("good.csv", approval: true));
        await env.Engine.WaitForStateAsync(id, r => r.Steps.Any(s => s.StepId == "review" && s.State == StepState.Waiting), TimeSpan.FromMinutes(3), "the approval to wait");
        await env.Engine.Store.DecideAsync(id, "review", ApprovalDecision.Reject, "bob", "not today");
        var done = await env.Engine.WaitForEndAsync(id, TimeSpan.FromMinutes(1));
        Assert.That(done.Run.State, Is.Not.EqualTo(RunState.Succeeded));
        Assert.That(done.Steps.Where(s => s.StepId == "promote").All(s => s.State != StepState.Succeeded), Is.True);
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => env.Client.GetRegisteredModelAsync("synth"));
    }
}
