using Npgsql;
using Pipelines.Activities;
using Pipelines.Core.Activities;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Workers;
using Pipelines.Postgres.Engine;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Local;

namespace Pipelines.Cli.Hosting;

/// <summary>Everything a command needs to talk to the engine: the database (migrated), the store and the activity registry.</summary>
public sealed class EngineContext : IAsyncDisposable
{
    private readonly Lazy<ActivityRegistry> _registry;

    private EngineContext(NpgsqlDataSource db, PostgresEngineStore store, Lazy<ActivityRegistry> registry)
    {
        DataSource = db;
        Store = store;
        _registry = registry;
    }

    public NpgsqlDataSource DataSource { get; }
    public PostgresEngineStore Store { get; }
    /// <summary>Built on first use: scanning the activities loads their assemblies, which commands that only read skip.</summary>
    public ActivityRegistry Registry => _registry.Value;

    /// <summary>The artifact store named by PIPELINES_ARTIFACTS (folder, Azure URL or connection string); default: artifacts/ in the state folder.</summary>
    public Pipelines.Storage.IArtifactStore Artifacts => _artifacts ??= Pipelines.Storage.ArtifactStores.Open(
        Environment.GetEnvironmentVariable("PIPELINES_ARTIFACTS"), Path.Combine(DatabaseLocator.StateDirectory(), "artifacts"));
    private Pipelines.Storage.IArtifactStore? _artifacts;

    public Pipelines.Storage.Artifacts.IArtifactRegistry ArtifactRegistry => new Pipelines.Postgres.Artifacts.PostgresArtifactRegistry(DataSource);

    /// <summary>Removes what unsucceeded attempts left in the configured store (<c>pipelines artifacts gc</c>, and the leader).</summary>
    public Pipelines.Storage.Artifacts.ArtifactCollector ArtifactCollector =>
        new(Artifacts, new Pipelines.Postgres.Artifacts.PostgresStrayArtifacts(DataSource));

    /// <summary>
    /// The leader's artifact collection from <c>PIPELINES_ARTIFACTS_GC</c>: a grace period such as <c>24h</c> (the
    /// default), or <c>off</c>; null when off.
    /// </summary>
    public static Pipelines.Postgres.Artifacts.ArtifactCollectionSchedule? CollectionSchedule(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting)) return new();
        if (setting.Trim().Equals("off", StringComparison.OrdinalIgnoreCase)) return null;
        return Pipelines.Core.Definitions.Durations.TryParse(setting.Trim(), out var grace)
            ? new Pipelines.Postgres.Artifacts.ArtifactCollectionSchedule { Grace = grace }
            : throw new SettingException($"PIPELINES_ARTIFACTS_GC='{setting}': expected 'off' or a grace period; {Pipelines.Core.Definitions.Durations.Hint}");
    }

    /// <summary>
    /// For commands that only read runs and the model registry (<c>runs list|show</c>, <c>models show</c>): the
    /// connection does not load the database's own types (Npgsql's catalog query on a new connection, about 50 ms of
    /// such a command): every column they read has a type Npgsql knows built in.
    /// </summary>
    public static Task<EngineContext> OpenForReadingAsync(string? connectionString, CancellationToken ct = default) =>
        OpenAsync(connectionString, ct, builtInTypesOnly: true);

    public static async Task<EngineContext> OpenAsync(string? connectionString, CancellationToken ct = default, ActivityRegistry? registry = null,
        bool builtInTypesOnly = false)
    {
        StartupTrace.Mark("engine: open");
        var cs = await DatabaseLocator.ResolveAsync(connectionString, m => Console.Error.WriteLine(m), ct);
        StartupTrace.Mark("engine: database located");
        var db = Pipelines.Postgres.PostgresDataSource.Create(cs, loadTypes: !builtInTypesOnly);
        StartupTrace.Mark("engine: data source built");
        await Migrator.ApplyAsync(db, ct);
        StartupTrace.Mark("engine: schema checked");
        var activities = registry is null ? new Lazy<ActivityRegistry>(BuiltinActivities.CreateRegistry) : new Lazy<ActivityRegistry>(() => registry);
        // Each run records, when it is submitted here, the tracking server this process is configured for
        // (MLFLOW_TRACKING_URI, else the built-in store); its steps track there on whichever worker.
        var options = new PostgresEngineOptions
        {
            RunTrackingServer = SubmissionTrackingServer,
            TriggerFiles = new TriggerFileSources(() => TriggerFileSources.ArtifactAccount(Environment.GetEnvironmentVariable("PIPELINES_ARTIFACTS"))),
        };
        var context = new EngineContext(db, new PostgresEngineStore(db, activities, options: options), activities);
        StartupTrace.Mark("engine: store");
        return context;
    }

    /// <summary>
    /// The tracking server a run submitted by this process records; refuses a URI carrying credentials, naming the
    /// variable. Long-running processes call it at start, so that a refused setting stops them there rather than
    /// failing each submission (and each scheduled run) later.
    /// </summary>
    public static string SubmissionTrackingServer()
    {
        try
        {
            return Pipelines.Tracking.Client.TrackingServers.ForRun(Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI"), "MLFLOW_TRACKING_URI");
        }
        catch (FormatException e)
        {
            throw new SettingException(e.Message);
        }
    }

    /// <summary>
    /// Starts workers in this process; they stop (draining their steps) when <paramref name="ct"/> fires. Returns once
    /// they listen for wake-ups, with a task that completes when they have stopped.
    /// </summary>
    public Task<Task> StartWorkerAsync(WorkerOptions options, Action<string> log, CancellationToken ct, ExecutorSettings? executor = null)
    {
        SubmissionTrackingServer();
        return PostgresEngineHost.StartWorkerAsync(DataSource, Store, Registry, options, PostgresEngineHost.LineLogs(log), ct,
            services: ProcessActivityServices, executor: executor?.Factory(this, log));
    }

    /// <summary>
    /// Starts a leader candidate in this process; it stops when <paramref name="ct"/> fires. When it leads, it also
    /// collects what unsucceeded attempts left in the artifact store (see <see cref="CollectionSchedule"/>) and closes
    /// the MLflow parent runs of ended pipeline runs.
    /// </summary>
    public Task StartLeader(TimeSpan leaderInterval, Action<string> log, CancellationToken ct)
    {
        var schedule = CollectionSchedule(Environment.GetEnvironmentVariable("PIPELINES_ARTIFACTS_GC"));
        List<Pipelines.Engine.Leadership.ILeaderSweep> sweeps = schedule is null ? [] : [new Pipelines.Postgres.Artifacts.ArtifactCollectionSweep(ArtifactCollector, schedule)];
        sweeps.Add(ParentRunCloser(ProcessActivityServices, log));
        return PostgresEngineHost.StartLeader(DataSource, Store, leaderInterval, PostgresEngineHost.LineLogs(log), ct, sweeps);
    }

    /// <summary>The activity services worker and leader share: built once per process, not once per service.</summary>
    private IServiceProvider ProcessActivityServices => _processActivityServices ??= ActivityServiceSet();
    private IServiceProvider? _processActivityServices;

    /// <summary>This process's worker and leader candidate as the two hosted services a command or host runs.</summary>
    public (WorkerHostedService Worker, LeaderHostedService Leader) HostedServices(WorkerOptions options, TimeSpan leaderInterval,
        Action<string> log, ExecutorSettings? executor = null) =>
        (new WorkerHostedService(stop => StartWorkerAsync(options, log, stop, executor)),
         new LeaderHostedService(stop => Task.FromResult(StartLeader(leaderInterval, log, stop))));

    /// <summary>
    /// Ends the MLflow parent runs of ended pipeline runs on this process's own tracking server, where the run it just
    /// followed tracked (the leader's sweep closes those on every server).
    /// </summary>
    public Task<int> CloseParentRunsAsync(CancellationToken ct) =>
        new Pipelines.Activities.Model.ParentRunCloser(new Pipelines.Postgres.ActivityState.PostgresParentRuns(DataSource),
            (Pipelines.Activities.Hosting.ActivityServices)ActivityServiceSet().GetService(typeof(Pipelines.Activities.Hosting.ActivityServices))!,
            m => Console.Error.WriteLine($"warning: {m}")).CloseEndedAsync(ct);

    /// <summary>
    /// Closes parent runs on every server that holds some, reached as the run's steps reach it (this process's own
    /// client for its configured server, e.g. the loopback endpoint <c>pipelines run</c> hosts).
    /// </summary>
    private Pipelines.Activities.Model.ParentRunCloser ParentRunCloser(IServiceProvider services, Action<string>? log)
    {
        var own = (Pipelines.Activities.Hosting.ActivityServices)services.GetService(typeof(Pipelines.Activities.Hosting.ActivityServices))!;
        return new(new Pipelines.Postgres.ActivityState.PostgresParentRuns(DataSource),
            async (server, ct) => own.Tracking is { } tracking && server == own.TrackingServer ? tracking : await TrackingClients.ForAsync(server, ct),
            log);
    }

    /// <summary>This process's tracking clients per server a run may record (see <see cref="RunTrackingClients"/>).</summary>
    public RunTrackingClients TrackingClients => _trackingClients ??= new RunTrackingClients(DataSource,
        Path.Combine(DatabaseLocator.StateDirectory(), "mlflow-artifacts"), Environment.GetEnvironmentVariable);
    private RunTrackingClients? _trackingClients;

    /// <summary>
    /// What activities use: the artifact store and registry, a verified cache in the state folder, and MLflow
    /// tracking: each attempt's run's recorded server (see <see cref="TrackingClients"/>), and for runs that recorded
    /// none the endpoint <c>MLFLOW_TRACKING_URI</c> (or <see cref="TrackingUri"/>) names.
    /// </summary>
    public IServiceProvider ActivityServiceSet()
    {
        var state = DatabaseLocator.StateDirectory();
        var trackingUri = TrackingUri ?? Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI");
        Pipelines.Tracking.Pipeline.PipelineTracking? tracking = null;
        if (!string.IsNullOrWhiteSpace(trackingUri))
        {
            var options = Pipelines.Tracking.Client.MlflowClientOptions.FromEnvironment(name =>
                name == "MLFLOW_TRACKING_URI" ? trackingUri : Environment.GetEnvironmentVariable(name));
            tracking = new Pipelines.Tracking.Pipeline.PipelineTracking(new Pipelines.Tracking.Client.MlflowClient(options));
        }
        var services = new Pipelines.Activities.Hosting.ActivityServices
        {
            Artifacts = new Pipelines.Storage.Artifacts.ArtifactPublisher(Artifacts, ArtifactRegistry),
            Cache = new Pipelines.Storage.Caching.ArtifactCache(Artifacts, Path.Combine(state, "cache")),
            Tracking = tracking,
            TrackingServer = TrackingIsBuiltIn || string.IsNullOrWhiteSpace(trackingUri)
                ? Pipelines.Activities.Hosting.ActivityServices.BuiltInTracking
                : Pipelines.Activities.Hosting.ActivityServices.TrackingServerOf(trackingUri),
            WorkRoot = Path.Combine(state, "work"),
            // Workers in other processes share this database: "create once" (e.g. MLflow parent runs) must hold across them.
            Once = new Pipelines.Postgres.ActivityState.PostgresOnceRegistry(DataSource),
            // Sibling trials of a sweep run on any worker process: they must see each other's intermediate values to prune.
            Sweeps = new Pipelines.Postgres.ActivityState.DatabaseSweepReports(new Pipelines.Postgres.ActivityState.PostgresSweepReports(DataSource)),
            Watermarks = new Pipelines.Postgres.ActivityState.PostgresActivityState(DataSource),
            Monitoring = new Pipelines.Postgres.Monitoring.PostgresMonitorStore(DataSource),
            Workflows = new Pipelines.Activities.Monitoring.Triggers.EngineWorkflowStarter(Store, Registry),
        };
        var set = new Pipelines.Activities.Hosting.ServiceSet().Add(services);
        // Each attempt tracks to the server its run recorded, whichever worker this is.
        return new Pipelines.Activities.Hosting.RunTrackingServices(set, TrackingClients.ForAsync);
    }

    /// <summary>Set by commands that host the built-in MLflow endpoint themselves (e.g. the demo run).</summary>
    public string? TrackingUri { get; set; }

    /// <summary>True when <see cref="TrackingUri"/> is the built-in endpoint this process hosts.</summary>
    public bool TrackingIsBuiltIn { get; set; }

    public async ValueTask DisposeAsync()
    {
        if (_trackingClients is not null) await _trackingClients.DisposeAsync();
        (_artifacts as IDisposable)?.Dispose();
        await DataSource.DisposeAsync();
    }
}
