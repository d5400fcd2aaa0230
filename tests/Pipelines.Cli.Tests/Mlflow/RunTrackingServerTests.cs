using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Cli.Tests.Workflows;
using Pipelines.Server;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Cli.Tests.Mlflow;

/// <summary>
/// Issue 11, item 8: a run records its tracking server when it is submitted, and every step tracks there, whichever
/// <c>pipelines worker</c> process claims it. Train and evaluate are put on different queues, each served by its own
/// worker process, so they always run in different processes.
/// </summary>
public partial class RunTrackingServerTests
{
    private string _home = "";

    [SetUp]
    public void SetUp()
    {
        _home = Directory.CreateTempSubdirectory("pipelines-tracking-").FullName;
        Write("train.csv", 400, seed: 1);
        Write("holdout.csv", 200, seed: 2);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }

    private void Write(string name, int rows, int seed) => SyntheticCsv.WriteBinary(Path.Combine(_home, name), rows, seed);

    /// <summary>A small train → evaluate workflow; evaluate looks up the champion by alias (tracking needed).</summary>
    private string WorkflowFile(string name)
    {
        var path = Path.Combine(_home, name + ".yaml");
        File.WriteAllText(path, $$$"""
            name: {{{name}}}
            steps:
              - id: train
                uses: train
                queue: train
                with:
                  train: "{{{Path.Combine(_home, "train.csv")}}}"
                  label: y
                  positive: "yes"
                  rounds: 5
                  threads: 1
                  seed: 1
                  experiment: ${{ run.workflow }}
              - id: evaluate
                uses: evaluate
                queue: evaluate
                with:
                  model: ${{ steps.train.outputs.model }}
                  holdout: "{{{Path.Combine(_home, "holdout.csv")}}}"
                  model_name: {{{name}}}
                  explain: false
                  experiment: ${{ run.workflow }}
            """);
        return path;
    }

    private Dictionary<string, string> Env(string? trackingUri) => new()
    {
        ["PIPELINES_HOME"] = _home,
        ["MLFLOW_TRACKING_URI"] = trackingUri ?? "",
    };

    private CliProcess Worker(TestDatabase db, string queue, string? trackingUri) =>
        CliProcess.Start(Env(trackingUri), null, "worker", "--db", db.ConnectionString, "--queues", queue, "--concurrency", "2",
            "--lease", "30s", "--heartbeat", "500ms", "--leader-interval", "200ms", "--poll", "500ms");

    private static Task WorkersRegisteredAsync(TestDatabase db, int count) =>
        Eventually.WaitAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM workers WHERE stopped_at IS NULL"), n => n >= count,
            TimeSpan.FromSeconds(120), $"{count} worker processes to register");

    /// <summary>Submits with <c>pipelines run --no-wait</c> under <paramref name="trackingUri"/> and waits for the run to end.</summary>
    private async Task<RunOutcome> SubmitAndWaitAsync(TestDatabase db, string file, string? trackingUri, params CliProcess[] workers)
    {
        var (code, output) = await CliProcess.RunAsync(Env(trackingUri), null, TimeSpan.FromSeconds(60), "run", file, "--no-wait", "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        var run = Guid.Parse(LastGuid().Matches(output).Last().Value);
        return await Eventually.WaitAsync(() => WorkflowDb.RunAsync(db, run), r => r.State is "succeeded" or "failed" or "stopped" or "cancelled",
            TimeSpan.FromSeconds(180), $"run {run} to end; workers:\n{string.Join("\n----\n", workers.Select(w => w.Output))}");
    }

    private static async Task<List<string>> WorkersOfAsync(TestDatabase db, Guid run, string step) =>
        await WorkflowDb.StringsAsync(db, """
            SELECT a.worker_id FROM attempts a JOIN step_runs s ON s.id = a.step_run_id
            WHERE s.run_id = @run AND s.step_id = @step AND a.state = 'succeeded'
            """, ("run", run), ("step", step));

    /// <summary>
    /// The run's MLflow runs in its experiment on a server: exactly one parent (tagged with the pipeline run), the
    /// train step's run nested under it, evaluate's holdout metrics on the parent, and the parent closed.
    /// </summary>
    private static async Task AssertTrackedUnderOneParentAsync(IMlflowClient client, string experiment, TestDatabase db, Guid run)
    {
        var e = await client.GetExperimentByNameAsync(experiment);
        Assert.That(e, Is.Not.Null, $"experiment {experiment} on the run's tracking server");
        var runs = new List<Run>();
        await foreach (var r in client.SearchAllRunsAsync(new SearchRunsRequest { ExperimentIds = [e!.ExperimentId] })) runs.Add(r);
        var parents = runs.Where(r => r.Data.Tag(PipelineTags.RunId) == run.ToString() && r.Data.Tag(MlflowTags.ParentRunId) is null).ToList();
        Assert.That(parents, Has.Count.EqualTo(1), "one parent run per pipeline run");
        var parent = parents[0];
        var children = runs.Where(r => r != parent).ToList();
        Assert.That(children, Is.Not.Empty);
        Assert.That(children.Select(c => c.Data.Tag(MlflowTags.ParentRunId)), Has.All.EqualTo(parent.Info.RunId), "every tracked run is under the parent");
        var trainRun = (await WorkflowDb.StringsAsync(db, "SELECT outputs->>'mlflow_run_id' FROM step_runs WHERE run_id = @run AND step_id = 'train'",
            ("run", run))).Single();
        Assert.That(children.Select(c => c.Info.RunId), Does.Contain(trainRun), "train's run (tracked by one worker)");
        Assert.That(parent.Data.Metric("holdout_roc_auc"), Is.Not.Null, "evaluate's metrics (tracked by the other worker)");
        // Whichever worker leads closes it there, configured for that server or not.
        var closed = await Eventually.WaitAsync(() => client.GetRunAsync(parent.Info.RunId), r => r.Info.Status == RunStatus.Finished,
            TimeSpan.FromSeconds(60), "the parent run to end FINISHED");
        Assert.That(closed.Data.Tag("pipelines.outcome"), Is.EqualTo("succeeded"));
    }

    private InProcessEndpoint BuiltIn(TestDatabase db) =>
        new(new PipelinesServerOptions { DataSource = db.DataSource, ArtifactRoot = Path.Combine(_home, "mlflow-artifacts") });

    private static MlflowClient ClientOf(InProcessEndpoint endpoint) =>
        new(new MlflowClientOptions { TrackingUri = InProcessEndpoint.Address }, new HttpClient(endpoint.Handler, disposeHandler: false));

    [Test]
    public async Task WorkersWithoutTrackingUri_TrainAndEvaluateOnDifferentWorkers_TrackUnderOneParentInTheBuiltInStore()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        using var trainer = Worker(db, "train", null);
        using var evaluator = Worker(db, "evaluate", null);
        await WorkersRegisteredAsync(db, 2);
        var name = "split-" + Guid.NewGuid().ToString("N")[..8];

        var outcome = await SubmitAndWaitAsync(db, WorkflowFile(name), null, trainer, evaluator);

        Assert.That(outcome.State, Is.EqualTo("succeeded"), outcome + "\n" + trainer.Output + "\n----\n" + evaluator.Output);
        Assert.That((await WorkflowDb.StringsAsync(db, "SELECT tracking_server FROM runs WHERE id = @id", ("id", outcome.Id))).Single(),
            Is.EqualTo(TrackingServers.BuiltIn));
        Assert.That(await WorkersOfAsync(db, outcome.Id, "train"), Is.Not.EquivalentTo(await WorkersOfAsync(db, outcome.Id, "evaluate")));
        await using var builtIn = BuiltIn(db);
        using var client = ClientOf(builtIn);
        await AssertTrackedUnderOneParentAsync(client, name, db, outcome.Id);
    }

    [Test]
    public async Task WorkersWithDifferentTrackingUris_EachRunTracksOnTheServerItWasSubmittedWith()
    {
        var mlflow = await RealMlflow.SharedAsync();
        await using var db = await TestPostgres.CreateDatabaseAsync();
        // The trainer is configured for the real MLflow server (A), the evaluator for none (the built-in store, B).
        using var trainer = Worker(db, "train", mlflow.Uri);
        using var evaluator = Worker(db, "evaluate", null);
        await WorkersRegisteredAsync(db, 2);
        using var real = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(mlflow.Uri) });
        await using var builtIn = BuiltIn(db);
        using var local = ClientOf(builtIn);

        // Submitted with A: both steps track on A, the evaluator's too, and nothing lands in B.
        var onA = "on-a-" + Guid.NewGuid().ToString("N")[..8];
        var first = await SubmitAndWaitAsync(db, WorkflowFile(onA), mlflow.Uri, trainer, evaluator);
        Assert.That(first.State, Is.EqualTo("succeeded"), first + "\n" + trainer.Output + "\n----\n" + evaluator.Output + "\n" + mlflow.ServerLog());
        Assert.That((await WorkflowDb.StringsAsync(db, "SELECT tracking_server FROM runs WHERE id = @id", ("id", first.Id))).Single(),
            Is.EqualTo(TrackingServers.IdentityOf(new Uri(mlflow.Uri))));
        await AssertTrackedUnderOneParentAsync(real, onA, db, first.Id);
        Assert.That(await local.GetExperimentByNameAsync(onA), Is.Null, "nothing of the run is tracked in the built-in store");

        // Submitted with B: both steps track on B, the trainer's too although it is configured for A.
        var onB = "on-b-" + Guid.NewGuid().ToString("N")[..8];
        var second = await SubmitAndWaitAsync(db, WorkflowFile(onB), null, trainer, evaluator);
        Assert.That(second.State, Is.EqualTo("succeeded"), second + "\n" + trainer.Output + "\n----\n" + evaluator.Output);
        await AssertTrackedUnderOneParentAsync(local, onB, db, second.Id);
        Assert.That(await real.GetExperimentByNameAsync(onB), Is.Null, "nothing of the run is tracked on the trainer's own server");
    }

    /// <summary>
    /// As the shipped deployments run: workers configured for a <c>pipelines server</c>'s built-in endpoint on the same
    /// database track a built-in run through it, so MLflow artifacts land where that server keeps and serves them.
    /// </summary>
    [Test]
    public async Task WorkerConfiguredForTheBuiltInEndpoint_TracksBuiltInRunsThroughIt()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var serverRoot = Path.Combine(_home, "server-mlflow-artifacts");
        await using var server = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = db.DataSource, ArtifactRoot = serverRoot, Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await server.StartAsync();
        using var worker = Worker(db, "train,evaluate", PipelinesServer.Addresses(server).Single());
        await WorkersRegisteredAsync(db, 1);
        var name = "via-server-" + Guid.NewGuid().ToString("N")[..8];

        var outcome = await SubmitAndWaitAsync(db, WorkflowFile(name), null, worker);

        Assert.That(outcome.State, Is.EqualTo("succeeded"), outcome + "\n" + worker.Output);
        await using var builtIn = BuiltIn(db);
        using var client = ClientOf(builtIn);
        await AssertTrackedUnderOneParentAsync(client, name, db, outcome.Id);
        Assert.That(Directory.Exists(serverRoot) ? Directory.EnumerateFiles(serverRoot, "*", SearchOption.AllDirectories).Count() : 0, Is.GreaterThan(0),
            "MLflow artifacts are with the server");
        var local = Path.Combine(_home, "mlflow-artifacts");
        Assert.That(Directory.Exists(local) ? Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Count() : 0, Is.EqualTo(0),
            "none in the worker's own state folder");
    }

    /// <summary>
    /// A run whose server demands credentials this worker was not given (a <c>pipelines server</c> with sign-in): the
    /// step fails naming the server and what to configure, and nothing is tracked anywhere else instead.
    /// </summary>
    [Test]
    public async Task WorkerWithoutCredentialsForTheRunsServer_FailsTheStep_SayingWhatToConfigure()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await using var other = await TestPostgres.CreateDatabaseAsync();
        var registry = Pipelines.Activities.BuiltinActivities.CreateRegistry();
        await using var secured = Pipelines.Api.Hosting.ApiServer.Build(new Pipelines.Api.Hosting.ApiServerOptions
        {
            DataSource = other.DataSource, Registry = registry, Store = new Pipelines.Postgres.Engine.PostgresEngineStore(other.DataSource, registry),
            ArtifactRegistry = new Pipelines.Postgres.Artifacts.PostgresArtifactRegistry(other.DataSource),
            SchemaVersion = Pipelines.Postgres.Migrations.Migrator.NewestVersion,
            TrackingArtifactRoot = Path.Combine(_home, "secured-mlflow"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
            Auth = new Pipelines.Api.Hosting.AuthSettings
            {
                SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                Issuer = "https://issuer.pipelines.test", Audience = "pipelines-api",
            },
        });
        await Pipelines.Api.Hosting.ApiServer.StartAsync(secured, CancellationToken.None);
        var url = Pipelines.Api.Hosting.ApiServer.Addresses(secured).First();
        using var worker = Worker(db, "train,evaluate", null);
        await WorkersRegisteredAsync(db, 1);
        var name = "refused-" + Guid.NewGuid().ToString("N")[..8];

        var outcome = await SubmitAndWaitAsync(db, WorkflowFile(name), url, worker);

        Assert.That(outcome.State, Is.EqualTo("failed"), outcome.ToString());
        var error = (await WorkflowDb.StringsAsync(db,
            "SELECT a.error FROM attempts a JOIN step_runs s ON s.id = a.step_run_id WHERE s.run_id = @run AND s.step_id = 'train'",
            ("run", outcome.Id))).Single();
        var server = TrackingServers.IdentityOf(new Uri(url));
        Assert.That(error, Does.Contain($"no credentials for the run's tracking server {server}").And.Contain("MLFLOW_TRACKING_TOKEN"));
        await using var builtIn = BuiltIn(db);
        using var client = ClientOf(builtIn);
        Assert.That(await client.GetExperimentByNameAsync(name), Is.Null, "nothing tracked in the built-in store instead");
    }

    [TestCase("http://alice:s3cret@127.0.0.1:5000", "user information")]
    [TestCase("http://127.0.0.1:5000/?token=s3cret", "query")]
    public async Task TrackingUriWithCredentials_IsRefusedAtSubmission_NamingTheVariable(string uri, string what)
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var (code, output) = await CliProcess.RunAsync(Env(uri), null, TimeSpan.FromSeconds(60), "run", WorkflowFile("refused"), "--no-wait",
            "--db", db.ConnectionString);

        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("MLFLOW_TRACKING_URI").And.Contain(what).And.Contain("MLFLOW_TRACKING_TOKEN"));
        Assert.That(output, Does.Not.Contain("s3cret"), "the secret is not echoed");
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM runs"), Is.EqualTo(0), "no run was created");

        // A worker (whose leader fires schedules, i.e. submits runs) is stopped at start, not at its first submission.
        (code, output) = await CliProcess.RunAsync(Env(uri), null, TimeSpan.FromSeconds(60), "worker", "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("MLFLOW_TRACKING_URI").And.Contain(what).And.Not.Contain("s3cret"));
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex LastGuid();
}
