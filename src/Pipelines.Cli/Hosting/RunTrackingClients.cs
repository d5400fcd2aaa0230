using System.Collections.Concurrent;
using Npgsql;
using Pipelines.Server;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Cli.Hosting;

/// <summary>
/// One process's tracking clients, per tracking server a pipeline run may have recorded:
/// <list type="bullet">
/// <item><c>built-in</c>: the built-in store on this process's PostgreSQL. When <c>MLFLOW_TRACKING_URI</c> names a
/// server that serves this very store (a <c>pipelines server</c> on the same database, as the shipped deployments
/// configure workers), through it, so MLflow artifacts land where that server keeps them; otherwise in process
/// (<see cref="InProcessEndpoint"/>: the endpoint's own code, no port), so any worker on the database can track
/// there without configuration;</item>
/// <item>the server <c>MLFLOW_TRACKING_URI</c> names: with this process's credentials (MLFLOW_TRACKING_TOKEN, or
/// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD);</item>
/// <item>any other server: without credentials (this process's are for its own server only); a server that refuses
/// fails the step with what to configure, and nothing is tracked elsewhere instead.</item>
/// </list>
/// </summary>
public sealed class RunTrackingClients(NpgsqlDataSource db, string builtInArtifactRoot, Func<string, string?> environment) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PipelineTracking>> _clients = new();
    private readonly InProcessEndpoint _builtIn = new(new PipelinesServerOptions { DataSource = db, ArtifactRoot = builtInArtifactRoot });
    private readonly string? _configured = TrackingServers.IdentityOf(environment("MLFLOW_TRACKING_URI"));
    private readonly SemaphoreSlim _probeLock = new(1, 1);
    private bool? _configuredServesBuiltIn;

    /// <summary>The client for <paramref name="server"/>; for <c>built-in</c>, in process (see <see cref="ForAsync"/> for the route through a configured server).</summary>
    public PipelineTracking For(string server) => _clients.GetOrAdd(server, s => new Lazy<PipelineTracking>(() => Create(s))).Value;

    /// <summary>The client a step of a run that recorded <paramref name="server"/> tracks with.</summary>
    public async ValueTask<PipelineTracking> ForAsync(string server, CancellationToken ct)
    {
        if (server == TrackingServers.BuiltIn && _configured is { } configured && await ConfiguredServesBuiltInAsync(configured, ct))
            return For(configured);
        return For(server);
    }

    /// <summary>
    /// Whether the configured server is the built-in endpoint of this database: its Default experiment (id 0,
    /// created by this database's migration, creation time in milliseconds) is ours. Decided once; a server that
    /// cannot be asked right now is asked again next time.
    /// </summary>
    private async ValueTask<bool> ConfiguredServesBuiltInAsync(string configured, CancellationToken ct)
    {
        if (_configuredServesBuiltIn is { } known) return known;
        await _probeLock.WaitAsync(ct);
        try
        {
            if (_configuredServesBuiltIn is { } decided) return decided;
            var ours = await For(TrackingServers.BuiltIn).Client.GetExperimentAsync("0", ct);
            bool same;
            try
            {
                var theirs = await For(configured).Client.GetExperimentAsync("0", ct);
                same = theirs.CreationTime == ours.CreationTime && theirs.Name == ours.Name && theirs.ArtifactLocation == ours.ArtifactLocation;
            }
            catch (ResourceDoesNotExistException)
            {
                same = false;
            }
            catch (Exception e) when (e is MlflowException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // Undecided: tracking in process now could put artifacts where that server does not serve them.
                throw new Pipelines.Core.Activities.ActivityException(
                    $"the tracking server {configured} (MLFLOW_TRACKING_URI) could not be asked whether it serves this database's built-in store: {e.Message}",
                    retryable: true, e);
            }
            _configuredServesBuiltIn = same;
            return same;
        }
        finally
        {
            _probeLock.Release();
        }
    }

    private PipelineTracking Create(string server)
    {
        if (server == TrackingServers.BuiltIn)
            return new PipelineTracking(new MlflowClient(new MlflowClientOptions { TrackingUri = InProcessEndpoint.Address },
                new HttpClient(_builtIn.Handler, disposeHandler: false)));
        if (server == _configured)
            return new PipelineTracking(new MlflowClient(MlflowClientOptions.FromEnvironment(environment)));
        return new PipelineTracking(new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = new Uri(server),
            AuthorizationHint = TrackingServers.CredentialsHint(server),
        }));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated)) (client.Value.Client as IDisposable)?.Dispose();
        await _builtIn.DisposeAsync();
        _probeLock.Dispose();
    }
}
