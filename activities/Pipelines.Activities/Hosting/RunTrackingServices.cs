using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Hosting;

/// <summary>
/// A worker process's services, where each attempt tracks to the server its pipeline run recorded when it was
/// submitted (<c>tracking_server</c> in <see cref="ActivityContext.Run"/>) rather than to the server this process
/// happens to be configured for: so all steps of a run land on one server whichever worker claims them. A run that
/// recorded none (submitted before runs recorded it) tracks where this worker is configured to, as before.
/// </summary>
/// <param name="inner">The process's services; its <see cref="ActivityServices"/> are this worker's defaults.</param>
/// <param name="trackingFor">
/// The tracking client for a server identity (<c>built-in</c> or an address): the process decides how it reaches it
/// and which credentials, if any, it sends there. Called per attempt; the process caches.
/// </param>
public sealed class RunTrackingServices(ServiceSet inner, Func<string, CancellationToken, ValueTask<PipelineTracking>> trackingFor)
    : IServiceProvider, IRunScopedServices
{
    private readonly ActivityServices _defaults = inner.GetService(typeof(ActivityServices)) as ActivityServices
        ?? throw new ArgumentException("the service set has no ActivityServices", nameof(inner));

    public object? GetService(Type serviceType) => inner.GetService(serviceType);

    public async ValueTask<IServiceProvider> ForRunAsync(JsonObject run, CancellationToken ct)
    {
        if (run["tracking_server"] is not JsonValue v || !v.TryGetValue<string>(out var server) || server.Length == 0) return this;
        if (server == _defaults.TrackingServer && _defaults.Tracking is not null) return this;
        return new RunView(inner, _defaults with { Tracking = await trackingFor(server, ct), TrackingServer = server });
    }

    private sealed class RunView(IServiceProvider inner, ActivityServices services) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(ActivityServices) ? services : inner.GetService(serviceType);
    }
}
