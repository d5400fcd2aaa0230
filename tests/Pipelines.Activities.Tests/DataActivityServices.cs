using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Engine.Model;
using Pipelines.Postgres.ActivityState;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Caching;
using Pipelines.Storage.Local;
using Pipelines.Testing;

namespace Pipelines.Activities.Tests;

/// <summary>
/// Real services for data-activity tests: a local folder artifact store in a temp dir, the PostgreSQL artifact
/// registry and activity state on a fresh database, and a verified cache. Runs activities directly (with a context
/// built here) or hands the services to engine workers.
/// </summary>
public sealed class DataActivityServices : IAsyncDisposable
{
    private DataActivityServices(TestDatabase db, string root, ActivityServices services, PostgresArtifactRegistry registry)
    {
        Database = db;
        Root = root;
        Services = services;
        Registry = registry;
        State = (PostgresActivityState)services.Watermarks!;
    }

    public TestDatabase Database { get; }
    public string Root { get; }
    public ActivityServices Services { get; }
    public PostgresArtifactRegistry Registry { get; }
    public PostgresActivityState State { get; }
    public List<string> Log { get; } = new();

    public ServiceSet ServiceSet => new ServiceSet().Add(Services);

    public Pipelines.Postgres.Monitoring.PostgresMonitorStore MonitorStore => new(Database.DataSource);

    /// <summary>On a fresh database of its own.</summary>
    public static async Task<DataActivityServices> CreateAsync()
    {
        // The engine harness owns the database: activities' artifacts reference its step attempts.
        var harness = await EngineHarness.CreateAsync();
        var db = harness.Database;
        var root = Path.Combine(Path.GetTempPath(), "pipelines-acts-data-" + Guid.NewGuid().ToString("N"));
        var store = new LocalFolderStore(Path.Combine(root, "store"));
        var registry = new PostgresArtifactRegistry(db.DataSource);
        var services = new ActivityServices
        {
            Artifacts = new ArtifactPublisher(store, registry),
            Cache = new ArtifactCache(store, Path.Combine(root, "cache")),
            WorkRoot = Path.Combine(root, "work"),
            Watermarks = new PostgresActivityState(db.DataSource),
            Monitoring = new Pipelines.Postgres.Monitoring.PostgresMonitorStore(db.DataSource),
            Workflows = new Pipelines.Activities.Monitoring.Triggers.EngineWorkflowStarter(harness.Store, harness.Registry),
        };
        return new DataActivityServices(db, root, services, registry) { _harness = harness };
    }


    public string TempFile(string name) => Path.Combine(Directory.CreateDirectory(Path.Combine(Root, "files")).FullName, name);

    /// <summary>
    /// Runs one activity as the only step of a workflow on engine workers that have these services (artifacts
    /// register against real step attempts, as lineage requires). Returns the step once the run has ended.
    /// </summary>
    public async Task<(RunDetails Run, StepRunView Step)> RunStepAsync(string kind, JsonObject inputs, string stepId = "step")
    {
        var yaml = $"name: t{Guid.NewGuid():N}\nsteps:\n  - id: {stepId}\n    uses: {kind}\n    cache: false\n    with: {inputs.ToJsonString()}\n";
        return await RunYamlAsync(yaml, stepId);
    }

    public async Task<(RunDetails Run, StepRunView Step)> RunYamlAsync(string yaml, string stepId)
    {
        await EnsureWorkersAsync();
        var run = await _harness!.WaitForEndAsync(await _harness.SubmitAsync(yaml), TimeSpan.FromMinutes(2));
        return (run, _harness.Step(run, stepId));
    }

    /// <summary>Runs a step that must succeed; returns its outputs.</summary>
    public async Task<JsonObject> OkAsync(string kind, JsonObject inputs)
    {
        var (_, step) = await RunStepAsync(kind, inputs);
        NUnit.Framework.Assert.That(step.State, NUnit.Framework.Is.EqualTo(StepState.Succeeded), step.Error);
        return step.Outputs!;
    }

    /// <summary>Runs a step that must fail; returns its error.</summary>
    public async Task<string> FailAsync(string kind, JsonObject inputs)
    {
        var (_, step) = await RunStepAsync(kind, inputs);
        NUnit.Framework.Assert.That(step.State, NUnit.Framework.Is.EqualTo(StepState.Failed));
        return step.Error!;
    }

    /// <summary>The local (verified, cached) copy of an artifact reference.</summary>
    public async Task<string> LocalAsync(JsonNode reference)
    {
        var record = await Registry.GetAsync(Guid.Parse(reference["artifact"]!.GetValue<string>()))
            ?? throw new InvalidOperationException("artifact not registered");
        return await Services.Cache.GetAsync(Pipelines.Storage.ArtifactStores.KeyOf(Services.Artifacts.Store, record.Uri)!, record.Sha256);
    }

    public EngineHarness Harness => _harness!;
    private EngineHarness? _harness;

    private bool _started;

    private async Task EnsureWorkersAsync()
    {
        if (_started) return;
        _started = true;
        await _harness!.StartWorkersAsync(1, services: ServiceSet);
    }

    public async ValueTask DisposeAsync()
    {
        if (_harness is not null) await _harness.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    private sealed class ListLog(List<string> lines) : IActivityLog
    {
        public void Write(string message) { lock (lines) lines.Add(message); }
    }
}
