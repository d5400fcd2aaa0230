using Pipelines.Activities.Monitoring.Triggers;
using Pipelines.Core.Activities.State;
using Pipelines.Core.Monitoring;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Caching;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Hosting;

/// <summary>
/// Everything activities may use beyond their inputs, as one explicit object: the artifact store and registry
/// (through the publisher), a verified local cache of artifacts, MLflow tracking, a folder for attempt-scoped
/// scratch files, and the stores activities keep state in. Each store is an interface, so activities never depend
/// on PostgreSQL classes. A process that runs workers builds one and hands it to activities through
/// <see cref="ActivityContext.Services"/>; activities reach it through <see cref="From"/> (or <see cref="TryFrom"/>).
/// </summary>
public sealed record ActivityServices
{
    public required ArtifactPublisher Artifacts { get; init; }
    public required ArtifactCache Cache { get; init; }
    /// <summary>Null when no tracking endpoint is configured; activities then skip tracking.</summary>
    public PipelineTracking? Tracking { get; init; }

    /// <summary>
    /// Which tracking server <see cref="Tracking"/> talks to, for what is recorded per server (the MLflow parent run
    /// of a pipeline run): <see cref="BuiltInTracking"/> for the built-in store on the shared database, else the
    /// server's address without credentials. A worker's steps use the server their run recorded at submission
    /// (see <see cref="RunTrackingServices"/>), so every step of a run tracks to the same one.
    /// </summary>
    public string TrackingServer { get; init; } = BuiltInTracking;

    public const string BuiltInTracking = Pipelines.Tracking.Client.TrackingServers.BuiltIn;

    /// <summary>A tracking URI as an identity: scheme, host, port and path; never its user information or query.</summary>
    public static string TrackingServerOf(string uri) => Pipelines.Tracking.Client.TrackingServers.IdentityOf(uri) ?? "unparsed";
    /// <summary>Scratch space; each attempt works in its own subfolder (see <see cref="WorkDirectory"/>).</summary>
    public required string WorkRoot { get; init; }

    /// <summary>
    /// Values created once per key, such as each pipeline run's MLflow parent run. Workers on a database use
    /// the PostgreSQL registry so that "once" holds across processes; the default holds within this one.
    /// </summary>
    public IOnceRegistry Once { get; init; } = new InProcessOnceRegistry();

    /// <summary>
    /// Intermediate values the trials of a sweep share, so that the median rule can prune a trial against siblings
    /// that ran on other workers. Workers on a database use the PostgreSQL store; the default shares
    /// within this process only.
    /// </summary>
    public ISweepReports Sweeps { get; init; } = new InProcessSweepReports();

    /// <summary>Values kept between runs, such as an incremental ingest's watermark; null when the worker has no database.</summary>
    public IWatermarkStore? Watermarks { get; init; }

    /// <summary>Monitoring's reference profiles, batch results and trigger claims; null when the worker has no database.</summary>
    public IMonitorStore? Monitoring { get; init; }

    /// <summary>Starts runs of other workflows (the trigger_workflow activity); null when the worker cannot submit runs.</summary>
    public IWorkflowStarter? Workflows { get; init; }

    /// <summary>A fresh folder for this attempt: a repeated attempt never sees or overwrites an earlier one's files.</summary>
    public string WorkDirectory(ActivityContext context)
    {
        var dir = Path.Combine(WorkRoot, context.StepRunId.ToString("N"), context.Attempt.ToString());
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The services of an activity's context, with a clear error when the process did not provide them.</summary>
    public static ActivityServices From(ActivityContext context) =>
        TryFrom(context)
        ?? throw new ActivityException($"activity of step '{context.StepId}' needs artifact storage, but this worker was started without it",
            retryable: false);

    /// <summary>The services of an activity's context, or null for an activity run without them (tests of single activities).</summary>
    public static ActivityServices? TryFrom(ActivityContext context) => context.Services?.GetService(typeof(ActivityServices)) as ActivityServices;
}

/// <summary>The smallest <see cref="IServiceProvider"/>: a fixed set of instances by type.</summary>
public sealed class ServiceSet : IServiceProvider
{
    private readonly Dictionary<Type, object> _services = new();

    public ServiceSet Add<T>(T instance) where T : class
    {
        _services[typeof(T)] = instance;
        return this;
    }

    public object? GetService(Type serviceType) => _services.GetValueOrDefault(serviceType);
}
