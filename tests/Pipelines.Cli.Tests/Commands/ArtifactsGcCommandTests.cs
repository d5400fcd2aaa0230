using System.Text.Json.Nodes;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Core.Activities;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Local;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>
/// <c>pipelines artifacts gc</c> as a user runs it: a real process against a database where a step's first attempt
/// published an output and left an unregistered file before failing, and its retry succeeded.
/// </summary>
public sealed class ArtifactsGcCommandTests
{
    private EngineHarness _engine = null!;
    private string _dir = null!;
    private LocalFolderStore _store = null!;
    private RunDetails _run = null!;

    [SetUp]
    public async Task SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("cli-gc-").FullName;
        _store = new LocalFolderStore(Path.Combine(_dir, "store"));
        _engine = await EngineHarness.CreateAsync(register: r => r.Add(new ActivityDescriptor("flaky_publish", "1", "fails once after publishing",
            SchemaBuilder.Object().Build(), SchemaBuilder.Object().Optional("file", SchemaBuilder.Any()).Build(), ActivityBehavior.Execute,
            _ => new FlakyPublish(new ArtifactPublisher(_store, new PostgresArtifactRegistry(_engine.Database.DataSource)), _store, _dir), Cacheable: false)));
        await _engine.StartWorkersAsync();
        _run = await _engine.WaitForEndAsync(await _engine.SubmitAsync("""
            name: flaky
            steps:
              - id: make
                uses: flaky_publish
                retry: { max_attempts: 2, backoff: { initial: 10ms, factor: 1, max: 10ms, jitter: 0 } }
            """));
        await _engine.StopWorkersAsync();
        Assert.That(_run.Run.State, Is.EqualTo(RunState.Succeeded), _run.Run.Error);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class FlakyPublish(ArtifactPublisher publisher, IArtifactStore store, string dir) : IActivity
    {
        public async Task<ActivityResult> ExecuteAsync(ActivityContext c, CancellationToken ct)
        {
            var path = Path.Combine(dir, $"out-{c.Attempt}.txt");
            await File.WriteAllTextAsync(path, $"written by attempt {c.Attempt}", ct);
            var by = new StepAttempt(c.StepRunId, c.Attempt);
            var record = await publisher.PublishFileAsync(path, new PublishOptions { Name = "out.txt", ProducedBy = by }, ct);
            if (c.Attempt > 1) return ActivityResult.Success(new JsonObject { ["file"] = Pipelines.Activities.Hosting.ArtifactRefs.ToJson(record) });
            await store.CreateAsync(ArtifactPublisher.AttemptFolder(by) + "partial.bin", new MemoryStream(new byte[1000]), ct: ct);
            throw new ActivityException("lost the disk", retryable: true);
        }
    }

    private Task<(int Code, string Output)> Cli(params string[] args) =>
        CliProcess.RunAsync(new Dictionary<string, string> { ["PIPELINES_ARTIFACTS"] = _store.Root }, null, TimeSpan.FromSeconds(60),
            [.. args, "--db", _engine.Database.ConnectionString]);

    private string[] Keys() => Directory.EnumerateFiles(_store.Root, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(_store.Root, f).Replace(Path.DirectorySeparatorChar, '/'))
        .Where(k => !k.StartsWith(".incoming/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    [Test]
    public async Task Gc_DryRunListsAndKeeps_ThenRemovesTheFailedAttemptsFiles_AndPrintsWhatItRemoved()
    {
        var make = _engine.Step(_run, "make");
        var failed = ArtifactPublisher.AttemptFolder(new StepAttempt(make.Id, 1));
        var kept = ArtifactPublisher.AttemptFolder(new StepAttempt(make.Id, 2)) + "out.txt";
        var keptBytes = await File.ReadAllBytesAsync(Path.Combine(_store.Root, kept));
        var all = Keys();
        Assert.That(all, Is.EqualTo(new[] { failed + "out.txt", failed + "partial.bin", kept }.Order(StringComparer.Ordinal)));

        var (code, output) = await Cli("artifacts", "gc", "--older-than", "1h");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("removed 0 object(s)"), "within the grace period");

        (code, output) = await Cli("artifacts", "gc", "--dry-run", "--older-than", "0s", "--json");
        Assert.That(code, Is.EqualTo(0), output);
        var dry = JsonNode.Parse(output)!;
        Assert.That((bool)dry["DryRun"]!, Is.True);
        Assert.That(dry["Removed"]!.AsArray().Select(r => (string)r!["Key"]!), Is.EquivalentTo(new[] { failed + "out.txt", failed + "partial.bin" }));
        Assert.That(Keys(), Is.EqualTo(all), "a dry run removes nothing");

        (code, output) = await Cli("artifacts", "gc", "--older-than", "0s");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("removed 2 object(s)").And.Contain("unregistered").And.Contain("(failed)"));
        Assert.That(Keys(), Is.EqualTo(new[] { kept }));
        Assert.That(await File.ReadAllBytesAsync(Path.Combine(_store.Root, kept)), Is.EqualTo(keptBytes));

        var failedUri = _store.UriFor(failed + "out.txt");
        (code, output) = await Cli("artifacts", "show", failedUri);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("deleted"));
        (code, output) = await Cli("artifacts", "get", failedUri, "-o", Path.Combine(_dir, "got.txt"));
        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain("removed by artifact collection"));
    }

    [Test]
    public async Task Gc_RefusesAnOlderThanThatIsNotADuration()
    {
        var (code, output) = await Cli("artifacts", "gc", "--older-than", "soon");
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("'soon'"));
        Assert.That(Keys(), Has.Length.EqualTo(3));
    }
}

/// <summary>PIPELINES_ARTIFACTS_GC: how worker processes configure the leader's collection.</summary>
public sealed class ArtifactCollectionSettingTests
{
    [Test]
    public void Setting_IsAGracePeriodOrOff_DefaultingTo24Hours()
    {
        Assert.That(Pipelines.Cli.Hosting.EngineContext.CollectionSchedule(null)!.Grace, Is.EqualTo(TimeSpan.FromHours(24)));
        Assert.That(Pipelines.Cli.Hosting.EngineContext.CollectionSchedule("6h")!.Grace, Is.EqualTo(TimeSpan.FromHours(6)));
        Assert.That(Pipelines.Cli.Hosting.EngineContext.CollectionSchedule(" OFF "), Is.Null);
        var e = Assert.Throws<Pipelines.Cli.Hosting.SettingException>(() => Pipelines.Cli.Hosting.EngineContext.CollectionSchedule("daily"));
        Assert.That(e!.Message, Does.Contain("PIPELINES_ARTIFACTS_GC='daily'"));
    }
}
