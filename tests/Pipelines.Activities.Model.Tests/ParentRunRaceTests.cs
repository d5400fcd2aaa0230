using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using NUnit.Framework;
using Pipelines.Activities.Hosting;
using Pipelines.Activities.Model;
using Pipelines.Core.Activities;
using Pipelines.Postgres.ActivityState;
using Pipelines.Postgres.Artifacts;
using Pipelines.Server;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Caching;
using Pipelines.Storage.Local;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests;

/// <summary>
/// The MLflow parent run of a pipeline run is created once, also when worker processes race on the first tracked
/// step. Each simulated process has what a real one has: its own connection pool to the same PostgreSQL, its own
/// HTTP client to the same tracking endpoint (the built-in one, over loopback) and its own activity services.
/// </summary>
public sealed class ParentRunRaceTests
{
    private TestDatabase _db = null!;
    private WebApplication _server = null!;
    private Uri _tracking = null!;
    private string _dir = "";
    private readonly List<IAsyncDisposable> _disposables = [];

    [SetUp]
    public async Task SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("parent-run-race-").FullName;
        _db = await TestPostgres.CreateDatabaseAsync();
        _server = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = _db.DataSource, ArtifactRoot = Path.Combine(_dir, "mlflow"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await _server.StartAsync();
        _tracking = new Uri(PipelinesServer.Addresses(_server).Single());
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var d in _disposables) await d.DisposeAsync();
        _disposables.Clear();
        await _server.StopAsync();
        await _server.DisposeAsync();
        await _db.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>What one worker process would build: its own pool, its own MLflow client, its own services.</summary>
    private sealed class WorkerProcess(ActivityServices services, MlflowClient client, CountingHandler requests, NpgsqlDataSource pool) : IAsyncDisposable
    {
        public ActivityServices Services { get; } = services;
        public MlflowClient Client { get; } = client;
        public CountingHandler Requests { get; } = requests;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await pool.DisposeAsync();
        }
    }

    private WorkerProcess StartProcess(bool withDatabase = true, Uri? tracking = null, string trackingServer = ActivityServices.BuiltInTracking)
    {
        var pool = Pipelines.Postgres.PostgresDataSource.Create(_db.ConnectionString);
        var requests = new CountingHandler();
        var client = new MlflowClient(new MlflowClientOptions { TrackingUri = tracking ?? _tracking, InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero },
            new HttpClient(requests));
        var name = Guid.NewGuid().ToString("N")[..8];
        var store = new LocalFolderStore(Path.Combine(_dir, "store"));
        var services = new ActivityServices
        {
            Artifacts = new ArtifactPublisher(store, new PostgresArtifactRegistry(pool)),
            Cache = new ArtifactCache(store, Path.Combine(_dir, "cache-" + name)),
            Tracking = new PipelineTracking(client),
            TrackingServer = trackingServer,
            WorkRoot = Path.Combine(_dir, "work-" + name),
            Once = withDatabase ? new PostgresOnceRegistry(pool) : new InProcessOnceRegistry(),
        };
        var process = new WorkerProcess(services, client, requests, pool);
        _disposables.Add(process);
        return process;
    }

    private static ActivityContext Step(WorkerProcess process, Guid runId, string stepId = "train") => new()
    {
        RunId = runId,
        StepRunId = Guid.NewGuid(),
        StepId = stepId,
        Attempt = 1,
        WorkerId = "test",
        Inputs = new JsonObject(),
        Run = new JsonObject { ["workflow"] = "race", ["params"] = new JsonObject { ["alpha"] = "0.5" }, ["created_by"] = "tester" },
        Time = TimeProvider.System,
        Log = new NullLog(),
        Services = new ServiceSet().Add(process.Services),
    };

    /// <summary>Every top-level MLflow run of the experiment tagged with this pipeline run.</summary>
    private async Task<IReadOnlyList<Run>> ParentRunsAsync(Guid runId)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = _tracking });
        var experiment = await client.GetExperimentByNameAsync("race") ?? throw new AssertionException("experiment 'race' was not created");
        var page = await client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [experiment.ExperimentId], Filter = $"tags.`{PipelineTags.RunId}` = '{runId}'", MaxResults = 1000,
        });
        return page.Items.Where(r => r.Data.Tag(MlflowTags.ParentRunId) is null).ToList();
    }

    [Test]
    public async Task ARunRetriedAgainstAnotherTrackingServer_GetsAParentRunThatServerKnows()
    {
        var runId = Guid.NewGuid();
        var first = await ModelTracking.ParentRunAsync(Step(StartProcess(), runId), CancellationToken.None);

        // Another MLflow server (its own store), as when MLFLOW_TRACKING_URI changed before `runs retry`.
        await using var otherDb = await TestPostgres.CreateDatabaseAsync();
        await using var other = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = otherDb.DataSource, ArtifactRoot = Path.Combine(_dir, "mlflow-other"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await other.StartAsync();
        var otherUri = new Uri(PipelinesServer.Addresses(other).Single());
        var retried = StartProcess(tracking: otherUri, trackingServer: ActivityServices.TrackingServerOf("http://user:secret@" + otherUri.Authority + "/"));
        var second = await ModelTracking.ParentRunAsync(Step(retried, runId, "evaluate"), CancellationToken.None);

        Assert.That(second!.RunId, Is.Not.EqualTo(first!.RunId));
        Assert.That((await retried.Client.GetRunAsync(second.RunId)).Info.RunId, Is.EqualTo(second.RunId), "the other server knows the run its steps log to");
        Assert.That(await _db.ScalarAsync<long>("SELECT count(*) FROM activity_once WHERE key LIKE '%secret%'"), Is.Zero, "no credentials in recorded keys");
        await other.StopAsync();
    }

    [Test]
    public async Task ParentRun_IsCreatedOnce_WhenTwoProcessesRaceOnTheFirstTrackedStep()
    {
        var processes = new[] { StartProcess(), StartProcess() };
        const int rounds = 8, callersPerProcess = 8;
        for (var round = 0; round < rounds; round++)
        {
            var runId = Guid.NewGuid();
            // Every caller waits for one signal, so the two processes really do start their first lookup together.
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var callers = processes.SelectMany(p => Enumerable.Range(0, callersPerProcess).Select(async _ =>
            {
                await go.Task;
                return await ModelTracking.ParentRunAsync(Step(p, runId), CancellationToken.None);
            })).ToList();
            go.SetResult();
            var got = await Task.WhenAll(callers);

            var parents = await ParentRunsAsync(runId);
            Assert.That(parents.Select(r => r.Info.RunId).ToList(), Has.Count.EqualTo(1), $"round {round}: MLflow parent runs of pipeline run {runId}");
            Assert.That(got.Select(r => r?.RunId).Distinct(), Is.EqualTo(new[] { parents[0].Info.RunId }), $"round {round}: run ids the callers got");
            Assert.That(got.Select(r => r!.ArtifactUri).Distinct().Single(), Is.EqualTo(parents[0].Info.ArtifactUri));
            // The parent run carries the workflow's parameters once, however many callers raced.
            Assert.That(parents[0].Data.Params?.Select(p => (p.Key, p.Value)), Is.EqualTo(new[] { ("alpha", "0.5") }));
        }
    }

    [Test]
    public async Task ParentRun_LaterStepInAnotherProcess_UsesTheRememberedRun_WithoutSearchingMlflow()
    {
        var first = StartProcess();
        var runId = Guid.NewGuid();
        var created = await ModelTracking.ParentRunAsync(Step(first, runId), CancellationToken.None);

        var later = StartProcess();
        var found = await ModelTracking.ParentRunAsync(Step(later, runId, "evaluate"), CancellationToken.None);

        Assert.That(found, Is.EqualTo(created));
        Assert.That(later.Requests.Paths, Is.Empty, "the later step read the parent run from PostgreSQL, not from MLflow");
        Assert.That(await ParentRunsAsync(runId), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ParentRun_CreatedByAProcessThatDiedBeforeRecordingIt_IsAdopted_NotDuplicated()
    {
        var runId = Guid.NewGuid();
        // What a process leaves when it dies between MLflow's create and the commit of its record: a tagged run, no record.
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = _tracking }))
            await new PipelineTracking(client).StartWorkflowRunAsync(new WorkflowRunStart
            {
                ExperimentName = "race", WorkflowName = "race", PipelineRunId = runId.ToString(),
            });
        var orphan = (await ParentRunsAsync(runId)).Single();

        var a = await ModelTracking.ParentRunAsync(Step(StartProcess(), runId), CancellationToken.None);
        var b = await ModelTracking.ParentRunAsync(Step(StartProcess(), runId), CancellationToken.None);

        Assert.That(a!.RunId, Is.EqualTo(orphan.Info.RunId));
        Assert.That(b!.RunId, Is.EqualTo(orphan.Info.RunId));
        Assert.That(await ParentRunsAsync(runId), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ParentRun_WhoseCreationFailed_IsNotRemembered_AndTheNextStepCreatesIt()
    {
        var failing = StartProcess();
        failing.Requests.RefuseRunCreate = true;
        var runId = Guid.NewGuid();
        Assert.ThrowsAsync<InvalidParameterValueException>(() => ModelTracking.ParentRunAsync(Step(failing, runId), CancellationToken.None));
        Assert.That(await _db.ScalarAsync<long>("SELECT count(*) FROM activity_once"), Is.Zero);

        var created = await ModelTracking.ParentRunAsync(Step(StartProcess(), runId, "evaluate"), CancellationToken.None);
        failing.Requests.RefuseRunCreate = false;
        var again = await ModelTracking.ParentRunAsync(Step(failing, runId), CancellationToken.None);

        Assert.That(again, Is.EqualTo(created));
        Assert.That((await ParentRunsAsync(runId)).Select(r => r.Info.RunId), Is.EqualTo(new[] { created!.RunId }));
    }

    [Test]
    public async Task ParentRun_WithoutDatabase_IsStillCreatedOnce_WithinOneProcess()
    {
        var process = StartProcess(withDatabase: false);
        var runId = Guid.NewGuid();
        var got = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => ModelTracking.ParentRunAsync(Step(process, runId), CancellationToken.None))));

        var parents = await ParentRunsAsync(runId);
        Assert.That(parents, Has.Count.EqualTo(1));
        Assert.That(got.Select(r => r!.RunId).Distinct(), Is.EqualTo(new[] { parents[0].Info.RunId }));
    }

    private sealed class NullLog : IActivityLog
    {
        public void Write(string message) { }
    }

    /// <summary>Records the path of every request a process sends to the tracking endpoint.</summary>
    private sealed class CountingHandler() : DelegatingHandler(new HttpClientHandler())
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _paths = new();
        public IReadOnlyCollection<string> Paths => _paths;
        /// <summary>Answers runs/create with MLflow's 400 (not retried) instead of passing it on.</summary>
        public bool RefuseRunCreate { get; set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _paths.Enqueue(request.RequestUri!.AbsolutePath);
            if (RefuseRunCreate && request.RequestUri.AbsolutePath.EndsWith("/runs/create", StringComparison.Ordinal))
                return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest)
                {
                    Content = new StringContent("""{"error_code":"INVALID_PARAMETER_VALUE","message":"refused by the test"}""", System.Text.Encoding.UTF8, "application/json"),
                });
            return base.SendAsync(request, cancellationToken);
        }
    }
}
