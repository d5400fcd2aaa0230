using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipelines.Engine.Workers;

/// <summary>
/// A process's share of the work — its worker and its leader candidate — as a hosted service, so that a host
/// (`pipelines server`'s web host, or a command that drives the service itself) starts and stops it with everything
/// else it runs. <see cref="StartAsync"/> returns once the worker listens for wake-ups, so a run submitted after it is
/// picked up at once; <see cref="StopAsync"/> asks worker and leader to stop and waits until the worker has drained
/// (finished or handed back its steps within its shutdown grace), however long the host's own shutdown timeout.
/// </summary>
/// <param name="start">
/// Starts worker and leader, which stop when the token fires; returns a task that completes once both have stopped
/// (see <c>PostgresEngineHost.StartAsync</c>).
/// </param>
public sealed class EngineHostedService(Func<CancellationToken, Task<Task>> start, ILogger<EngineHostedService>? log = null) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _log = log ?? (ILogger)NullLogger.Instance;
    private Task? _running;

    /// <summary>Completes once worker and leader have stopped (after <see cref="StopAsync"/>, or if they end on their own).</summary>
    public Task Completion => _running ?? Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_running is not null) throw new InvalidOperationException("the engine's worker and leader are already started");
        // A host that gives up on start-up stops the work it started; after that, only StopAsync stops it.
        await using (cancellationToken.Register(_stop.Cancel))
            _running = await start(_stop.Token);
        _log.LogInformation("Engine worker and leader started");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_running is null) return;
        await _stop.CancelAsync();
        // Not cut short by the host's shutdown timeout: a step still running gets the worker's own grace, then is handed
        // back; stopping before that would leave it to lease expiry on another worker.
        await _running;
        _log.LogInformation("Engine worker and leader stopped");
    }

    public void Dispose() => _stop.Dispose();
}
