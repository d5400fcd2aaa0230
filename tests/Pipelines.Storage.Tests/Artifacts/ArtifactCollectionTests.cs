using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Postgres.Engine;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Azure;
using Pipelines.Storage.Local;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Storage.Tests.Artifacts;

/// <summary>
/// Collection of what unsucceeded attempts left in the store, on real step attempts (engine on PostgreSQL, real
/// workers) whose activities publish through the real publisher — once per store implementation.
/// </summary>
public abstract class ArtifactCollectionTests
{
    private EngineHarness _engine = null!;
    private PostgresArtifactRegistry _registry = null!;
    private ArtifactPublisher _publisher = null!;
    private string _dir = null!;
    private TaskCompletionSource _release = null!;

    protected IArtifactStore Store { get; private set; } = null!;
    /// <summary>A fresh, empty store; <paramref name="dir"/> is a temporary folder removed after the test.</summary>
    protected abstract Task<IArtifactStore> CreateStoreAsync(string dir);

    [SetUp]
    public async Task SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("collect-").FullName;
        Store = await CreateStoreAsync(_dir);
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _engine = await EngineHarness.CreateAsync(register: Register);
        _registry = new PostgresArtifactRegistry(_engine.Database.DataSource);
        _publisher = new ArtifactPublisher(Store, _registry);
        await _engine.StartWorkersAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        _release.TrySetResult();
        await _engine.DisposeAsync();
        (Store as IDisposable)?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    // --- activities that publish as real ones do, and fail where the tests need them to -------------------------

    private void Register(ActivityRegistry r)
    {
        // Attempt 1 publishes an output, uploads a file it never registers (a crash before registration), and fails
        // with a retryable error; attempt 2 publishes the output the step keeps.
        Add(r, "flaky_publish", async (c, ct) =>
        {
            var output = await PublishAsync(c, "out.txt", c.Attempt == 1 ? "attempt one's output" : "the kept output", ct);
            if (c.Attempt > 1) return ActivityResult.Success(new JsonObject { ["file"] = output });
            await Store.CreateAsync(ArtifactPublisher.AttemptFolder(new StepAttempt(c.StepRunId, c.Attempt)) + "partial.bin",
                new MemoryStream(RandomNumberGenerator.GetBytes(4096)), ct: ct);
            throw new ActivityException("disk full", retryable: true);
        });
        // Reads its input (recorded, as activities do) and publishes something made from it.
        Add(r, "consume", async (c, ct) =>
        {
            var input = await _registry.GetAsync(Guid.Parse(c.Inputs["file"]!["artifact"]!.GetValue<string>()), ct);
            await _registry.RecordInputAsync(new StepAttempt(c.StepRunId, c.Attempt), "file", input!.Id, ct);
            return ActivityResult.Success(new JsonObject { ["derived"] = await PublishAsync(c, "derived.txt", "made from " + input.Sha256, ct) });
        });
        // Publishes one output per name in 'names', then fails for good.
        Add(r, "publish_then_fail", async (c, ct) =>
        {
            foreach (var name in c.Inputs["names"]!.AsArray()) await PublishAsync(c, name!.GetValue<string>(), "doomed " + name, ct);
            throw new ActivityException("bad input", retryable: false);
        });
        // Publishes, leaves an unregistered file, then waits for the test before failing.
        Add(r, "hold_then_fail", async (c, ct) =>
        {
            await PublishAsync(c, "held.txt", "in flight", ct);
            await Store.CreateAsync(ArtifactPublisher.AttemptFolder(new StepAttempt(c.StepRunId, c.Attempt)) + "held.part", new MemoryStream("half"u8.ToArray()), ct: ct);
            await _release.Task.WaitAsync(ct);
            throw new ActivityException("released to fail", retryable: false);
        });
        // A gate: publishes its report and stops the run with a verdict on the first attempt; passes once retried.
        Add(r, "gate_with_report", async (c, ct) =>
        {
            var report = await PublishAsync(c, "report.html", $"<p>attempt {c.Attempt}: drift on age</p>", ct);
            return c.Attempt == 1
                ? ActivityResult.Stop("drift on age", new JsonObject { ["file"] = report })
                : ActivityResult.Success(new JsonObject { ["file"] = report });
        });
        // Names whatever it is given in its outputs (as an activity that found an artifact in the registry might).
        Add(r, "echo", (c, _) => Task.FromResult(ActivityResult.Success(new JsonObject { ["echo"] = c.Inputs["text"]?.DeepClone() })));
    }

    private static void Add(ActivityRegistry r, string kind, Func<ActivityContext, CancellationToken, Task<ActivityResult>> run) =>
        r.Add(new ActivityDescriptor(kind, "1", kind,
            SchemaBuilder.Object().Optional("file", SchemaBuilder.Any()).Optional("names", SchemaBuilder.Any()).Optional("text", SchemaBuilder.Any()).Build(),
            SchemaBuilder.Object().Optional("file", SchemaBuilder.Any()).Optional("derived", SchemaBuilder.Any()).Optional("echo", SchemaBuilder.Any()).Build(),
            ActivityBehavior.Execute, _ => new Lambda(run), Cacheable: false));

    private sealed class Lambda(Func<ActivityContext, CancellationToken, Task<ActivityResult>> run) : IActivity
    {
        public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken) => run(context, cancellationToken);
    }

    private async Task<JsonObject> PublishAsync(ActivityContext c, string name, string text, CancellationToken ct)
    {
        var path = Path.Combine(_dir, $"{c.StepRunId:N}-{c.Attempt}-{name}");
        await File.WriteAllTextAsync(path, text, ct);
        var record = await _publisher.PublishFileAsync(path, new PublishOptions { Name = name, ProducedBy = new StepAttempt(c.StepRunId, c.Attempt) }, ct);
        return ArtifactRefs.ToJson(record);
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    private const string RetriedThenConsumed = """
        name: retried
        steps:
          - id: make
            uses: flaky_publish
            retry: { max_attempts: 2, backoff: { initial: 10ms, factor: 1, max: 10ms, jitter: 0 } }
          - id: use
            uses: consume
            with: { file: "${{ steps.make.outputs.file }}" }
        """;

    private async Task<RunDetails> RunAsync(string yaml, RunState expected, JsonObject? parameters = null)
    {
        var run = await _engine.WaitForEndAsync(await _engine.SubmitAsync(yaml, parameters), TimeSpan.FromMinutes(1));
        Assert.That(run.Run.State, Is.EqualTo(expected), run.Run.Error);
        return run;
    }

    private ArtifactCollector Collector(TimeProvider? time = null) => new(Store, new PostgresStrayArtifacts(_engine.Database.DataSource), time);

    private static readonly CollectionOptions Now = new() { OlderThan = TimeSpan.Zero };

    private async Task<List<string>> KeysAsync() => await Store.ListAllAsync("").Select(o => o.Key).Where(k => !k.StartsWith(".")).ToListAsync();

    private async Task<Dictionary<string, string>> HashesAsync()
    {
        var hashes = new Dictionary<string, string>();
        foreach (var key in await KeysAsync()) hashes[key] = Convert.ToHexStringLower(SHA256.HashData(await Store.ReadAllBytesAsync(key)));
        return hashes;
    }

    private static string Folder(StepRunView step, int attempt) => ArtifactPublisher.AttemptFolder(new StepAttempt(step.Id, attempt));

    private async Task<ArtifactRecord> ArtifactAsync(string key) =>
        await _registry.GetByUriAsync(Store.UriFor(key)) ?? throw new AssertionException($"{key} is not registered");

    // --- tests ---------------------------------------------------------------------------------------------------

    [Test]
    public async Task Collect_RemovesAFailedAttemptsOutputsAndUnregisteredFiles_KeepsTheSucceededRetryAndWhatUsedIt_ByteIdentical()
    {
        var run = await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        var make = _engine.Step(run, "make");
        var use = _engine.Step(run, "use");
        Assert.That(make.Attempts.Select(a => a.State), Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Succeeded }));
        var failedOutput = await ArtifactAsync(Folder(make, 1) + "out.txt");
        Assert.That((failedOutput.Producer!.AttemptState, (await ArtifactAsync(Folder(make, 2) + "out.txt")).Producer!.AttemptState),
            Is.EqualTo(("failed", "succeeded")), "the registry tells a failed attempt's output from the one the run went on with");
        var before = await HashesAsync();
        Assert.That(before.Keys, Is.EquivalentTo(new[]
        {
            Folder(make, 1) + "out.txt", Folder(make, 1) + "partial.bin", Folder(make, 2) + "out.txt", Folder(use, 1) + "derived.txt",
        }));

        var report = await Collector().CollectAsync(Now);

        Assert.That(report.Removed.Select(r => r.Key), Is.EquivalentTo(new[] { Folder(make, 1) + "out.txt", Folder(make, 1) + "partial.bin" }));
        Assert.That(report.Removed.Single(r => r.Key.EndsWith("out.txt")).ArtifactId, Is.EqualTo(failedOutput.Id));
        Assert.That(report.Removed.Single(r => r.Key.EndsWith("partial.bin")).ArtifactId, Is.Null, "never registered");
        Assert.That(report.Removed.Select(r => r.Attempt.State).Distinct(), Is.EqualTo(new[] { "failed" }));
        var after = await HashesAsync();
        Assert.That(after, Is.EqualTo(before.Where(kv => kv.Key.StartsWith(Folder(make, 2)) || kv.Key.StartsWith(Folder(use, 1)))
            .ToDictionary(kv => kv.Key, kv => kv.Value)), "the kept outputs are still there, byte for byte");
        Assert.That((await _registry.GetAsync(failedOutput.Id))!.DeletedAt, Is.Not.Null, "marked deleted, row kept as history");
        Assert.That((await ArtifactAsync(Folder(make, 2) + "out.txt")).DeletedAt, Is.Null);
        Assert.That((await _registry.ListAsync(new ArtifactFilter())).Select(a => a.Id), Does.Not.Contain(failedOutput.Id));
        Assert.That((await _registry.ListAsync(new ArtifactFilter(IncludeDeleted: true))).Select(a => a.Id), Does.Contain(failedOutput.Id));

        var again = await Collector().CollectAsync(Now);
        Assert.That(again.Removed, Is.Empty);
        Assert.That(again.Attempts, Is.Zero, "a collected attempt's folder is not listed again");
    }

    [Test]
    public async Task DryRun_ReportsWhatARealRunRemoves_AndRemovesAndRecordsNothing()
    {
        await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        var before = await HashesAsync();

        var dry = await Collector().CollectAsync(Now with { DryRun = true });
        Assert.That(dry.Removed, Has.Count.EqualTo(2));
        Assert.That(await HashesAsync(), Is.EqualTo(before));
        Assert.That(await _engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifacts WHERE deleted_at IS NOT NULL"), Is.Zero);
        Assert.That(await _engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifact_sweeps"), Is.Zero);

        var real = await Collector().CollectAsync(Now);
        Assert.That(real.Removed.Select(r => r.Key), Is.EquivalentTo(dry.Removed.Select(r => r.Key)));
    }

    [Test]
    public async Task Collect_KeepsFailedOutputs_ThatLineageCommittedOutputsOrARegisteredModelReference()
    {
        var failed = await RunAsync("""
            name: doomed
            steps:
              - id: doomed
                uses: publish_then_fail
                with: { names: [lineage.txt, mentioned.txt, named.txt, model.zip, plain.txt] }
            """, RunState.Failed);
        var folder = Folder(_engine.Step(failed, "doomed"), 1);
        var lineage = await ArtifactAsync(folder + "lineage.txt");
        var mentioned = await ArtifactAsync(folder + "mentioned.txt");
        var named = await ArtifactAsync(folder + "named.txt");
        var model = await ArtifactAsync(folder + "model.zip");
        var ok = await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        // A succeeded step's committed outputs name one by URI (inside other text) and one by id.
        var said = await RunAsync("""
            name: mention
            parameters: { uri: { type: string }, id: { type: string } }
            steps:
              - id: say
                uses: echo
                with: { text: { note: "see ${{ params.uri }}.", ref: "${{ params.id }}" } }
            """, RunState.Succeeded, new JsonObject { ["uri"] = mentioned.Uri, ["id"] = named.Id.ToString() });
        // A succeeded attempt read it: it is in the lineage of what that attempt did. (That attempt published nothing, so
        // nothing else of it could keep the artifact.)
        await _registry.RecordInputAsync(new StepAttempt(_engine.Step(said, "say").Id, 1), "extra", lineage.Id);
        // A registered model version (built-in registry on the same database) has it as its source.
        var server = Pipelines.Server.PipelinesServer.Build(new Pipelines.Server.PipelinesServerOptions
        {
            DataSource = _engine.Database.DataSource, ArtifactRoot = Path.Combine(_dir, "mlflow"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await server.StartAsync();
        try
        {
            using var mlflow = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(Pipelines.Server.PipelinesServer.Addresses(server).Single()) });
            await mlflow.CreateRegisteredModelAsync("m");
            await mlflow.CreateModelVersionAsync(new CreateModelVersionRequest("m", model.Uri, null));
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
        var before = await HashesAsync();

        var report = await Collector().CollectAsync(Now);

        Assert.That(report.Removed.Select(r => r.Key), Is.EquivalentTo(new[] { folder + "plain.txt", Folder(_engine.Step(ok, "make"), 1) + "out.txt", Folder(_engine.Step(ok, "make"), 1) + "partial.bin" }));
        Assert.That(report.Kept, Is.EqualTo(4));
        foreach (var kept in new[] { lineage, mentioned, named, model })
        {
            var key = ArtifactStores.KeyOf(Store, kept.Uri)!;
            Assert.That(Convert.ToHexStringLower(SHA256.HashData(await Store.ReadAllBytesAsync(key))), Is.EqualTo(before[key]), key);
            Assert.That((await _registry.GetAsync(kept.Id))!.DeletedAt, Is.Null, key);
        }
    }

    [Test]
    public async Task Collect_KeepsTheReportsOfAGatesStop_AlsoAfterTheRunWasRetried()
    {
        var stopped = await RunAsync("""
            name: gated
            steps:
              - id: gate
                uses: gate_with_report
            """, RunState.Stopped);
        var report = Folder(_engine.Step(stopped, "gate"), 1) + "report.html";
        await _engine.Store.RetryRunAsync(stopped.Run.Id, "tester");
        var retried = await _engine.WaitForEndAsync(stopped.Run.Id, TimeSpan.FromMinutes(1));
        Assert.That(retried.Run.State, Is.EqualTo(RunState.Succeeded), retried.Run.Error);
        Assert.That(_engine.Step(retried, "gate").Outputs!["file"]!["uri"]!.GetValue<string>(), Does.Not.EndWith(report),
            "the step's outputs no longer name the stop's report");
        var before = await HashesAsync();

        var pass = await Collector().CollectAsync(Now);

        Assert.That(pass.Removed, Is.Empty, "a stop is a verdict: its report explains it, even after a retry");
        Assert.That(await HashesAsync(), Is.EqualTo(before));
        Assert.That((await ArtifactAsync(report)).DeletedAt, Is.Null);
    }

    [Test]
    public async Task Collect_LeavesARunningAttemptsFilesUntouched_AndRemovesThemOnceItFailed()
    {
        var runId = await _engine.SubmitAsync("""
            name: held
            steps:
              - id: hold
                uses: hold_then_fail
            """);
        // Files first, then the run: a snapshot taken after the files exist always shows the attempt that wrote them.
        var (_, running) = await Eventually.WaitAsync(async () => ((await KeysAsync()).Count, await _engine.RunAsync(runId)),
            x => x.Item1 == 2, TimeSpan.FromSeconds(30), "the held attempt to write its two files");
        Assert.That(_engine.Step(running, "hold").Attempts.Single().State, Is.EqualTo(AttemptState.Running));
        var folder = Folder(_engine.Step(running, "hold"), 1);
        var before = await HashesAsync();

        var whileRunning = await Collector().CollectAsync(Now);
        Assert.That(whileRunning.Removed, Is.Empty);
        Assert.That(whileRunning.Attempts, Is.Zero, "a running attempt is never a candidate");
        Assert.That(await HashesAsync(), Is.EqualTo(before));

        _release.SetResult();
        var ended = await _engine.WaitForEndAsync(runId);
        Assert.That(_engine.Step(ended, "hold").Attempts.Single().State, Is.EqualTo(AttemptState.Failed));
        var afterwards = await Collector().CollectAsync(Now);
        Assert.That(afterwards.Removed.Select(r => r.Key), Is.EquivalentTo(new[] { folder + "held.txt", folder + "held.part" }));
        Assert.That(await KeysAsync(), Is.Empty);
    }

    [Test]
    public async Task Collect_WaitsForTheGracePeriod()
    {
        await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        var before = await HashesAsync();
        var clock = new ManualTime(DateTimeOffset.UtcNow);

        var early = await Collector(clock).CollectAsync(new CollectionOptions { OlderThan = TimeSpan.FromHours(1) });
        Assert.That(early.Removed, Is.Empty);
        Assert.That(await HashesAsync(), Is.EqualTo(before));

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        var later = await Collector(clock).CollectAsync(new CollectionOptions { OlderThan = TimeSpan.FromHours(1) });
        Assert.That(later.Removed, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Collect_MarksBeforeItRemoves_SoAPassThatFailsHalfWayLeavesNothingUnexplained()
    {
        var run = await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        var key = Folder(_engine.Step(run, "make"), 1) + "out.txt";
        var failedOutput = await ArtifactAsync(key);

        var failing = new ArtifactCollector(new DeleteFails(Store), new PostgresStrayArtifacts(_engine.Database.DataSource));
        Assert.ThrowsAsync<IOException>(() => failing.CollectAsync(Now));

        Assert.That((await _registry.GetAsync(failedOutput.Id))!.DeletedAt, Is.Not.Null, "marked before any byte went");
        Assert.That(await Store.GetInfoAsync(key), Is.Not.Null, "the bytes are still there");
        var next = await Collector().CollectAsync(Now);
        Assert.That(next.Removed.Select(r => r.Key), Does.Contain(key), "the next pass removes what the failed one marked");
        Assert.That(await Store.GetInfoAsync(key), Is.Null);
    }

    /// <summary>A store whose deletes fail, as a network or permission error would make them.</summary>
    private sealed class DeleteFails(IArtifactStore inner) : IArtifactStore
    {
        public string Location => inner.Location;
        public string UriFor(string key) => inner.UriFor(key);
        public Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default) => inner.CreateAsync(key, content, options, ct);
        public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default) => inner.OpenReadAsync(key, range, ct);
        public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default) => inner.GetInfoAsync(key, ct);
        public Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default) => inner.ListAsync(prefix, continuation, pageSize, ct);
        public Task<bool> DeleteAsync(string key, CancellationToken ct = default) => throw new IOException($"delete of {key} refused");
    }

    [Test]
    public async Task Collect_MarksARegisteredOutputWhoseBytesAnEarlierPassRemovedBeforeItCouldMarkIt()
    {
        var run = await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        var key = Folder(_engine.Step(run, "make"), 1) + "out.txt";
        var failedOutput = await ArtifactAsync(key);
        Assert.That(await Store.DeleteAsync(key), Is.True, "as a pass that crashed right after deleting would have left it");

        await Collector().CollectAsync(Now);

        Assert.That((await _registry.GetAsync(failedOutput.Id))!.DeletedAt, Is.Not.Null);
    }

    [Test]
    public async Task Leader_CollectsAsPartOfItsMaintenance_OnlyWhenItLeads_InBoundedBatches_ThenEveryInterval()
    {
        await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        await RunAsync(RetriedThenConsumed, RunState.Succeeded);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(8));
        // The harness's own leader candidate holds the leader lock; stopped, it returns that connection to the pool
        // with the session lock still on it, and clearing the pool closes it.
        await _engine.StopWorkersAsync();
        _engine.Database.DataSource.Clear();
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        var log = new List<string>();
        await using var leaderElection = new PostgresLeaderElection(_engine.Database.DataSource);
        await using var followerElection = new PostgresLeaderElection(_engine.Database.DataSource);
        var leader = new LeaderService(leaderElection, _engine.Store, TimeSpan.FromSeconds(1), new Pipelines.Engine.Logging.LineLogger(m => { lock (log) log.Add(m); }),
            [new ArtifactCollectionSweep(Collector(), new ArtifactCollectionSchedule { Grace = TimeSpan.Zero, AttemptsPerTick = 1 }, clock)]);
        var follower = new LeaderService(followerElection, _engine.Store, TimeSpan.FromSeconds(1),
            sweeps: [new ArtifactCollectionSweep(Collector(), new ArtifactCollectionSchedule { Grace = TimeSpan.Zero })]);
        Assert.That(await leaderElection.TryLeadAsync(), Is.True);

        await follower.TickAsync(CancellationToken.None);
        Assert.That(follower.IsLeader, Is.False);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(8), "a process that does not lead does not collect");

        await leader.TickAsync(CancellationToken.None);
        Assert.That(leader.IsLeader, Is.True);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(6), "one attempt per tick");
        await leader.TickAsync(CancellationToken.None);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(4), "a backlog goes on at the next tick");
        await leader.TickAsync(CancellationToken.None);
        Assert.That(log.Where(m => m.StartsWith("collect artifacts of unsucceeded attempts")),
            Is.EqualTo(new[] { "collect artifacts of unsucceeded attempts: 2", "collect artifacts of unsucceeded attempts: 2" }));
        Assert.That(await _engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifact_sweeps"), Is.EqualTo(2));

        // Once caught up, the next pass comes an interval later: a new failed attempt stays while the leader keeps
        // ticking (it promotes the retry that lets this run finish) until the clock moves on.
        await _engine.StartWorkersAsync();
        var third = await _engine.SubmitAsync(RetriedThenConsumed);
        var done = await Eventually.WaitAsync(async () =>
        {
            await leader.TickAsync(CancellationToken.None);
            return await _engine.RunAsync(third);
        }, r => r.Run.State.IsTerminal(), TimeSpan.FromMinutes(1), "the third run, with the test's leader ticking");
        Assert.That(done.Run.State, Is.EqualTo(RunState.Succeeded));
        await _engine.StopWorkersAsync();
        await leader.TickAsync(CancellationToken.None);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(8));
        clock.Advance(new ArtifactCollectionSchedule().Interval);
        await leader.TickAsync(CancellationToken.None);
        Assert.That(await KeysAsync(), Has.Count.EqualTo(6));
    }
}

public sealed class LocalFolderArtifactCollectionTests : ArtifactCollectionTests
{
    protected override Task<IArtifactStore> CreateStoreAsync(string dir) =>
        Task.FromResult<IArtifactStore>(new LocalFolderStore(Path.Combine(dir, "store")));
}

public sealed class AzureBlobArtifactCollectionTests : ArtifactCollectionTests
{
    protected override async Task<IArtifactStore> CreateStoreAsync(string dir)
    {
        var azurite = await AzuriteFixture.ServerAsync();
        return new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(AzuriteFixture.NewContainer(), prefix: "team/a")));
    }
}
