using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipelines.Engine.Workers;

/// <summary>
/// A share of a process's engine work (its worker, or its leader candidate) as a hosted service, so that a host
/// (`pipelines server`'s web host, or a command that drives the services itself) starts and stops it with everything
/// else it runs. <see cref="StartAsync"/> returns once the work has started (a worker listens for wake-ups, so a run
/// submitted after it is picked up at once); <see cref="StopAsync"/> asks it to stop and waits until it has drained
/// (a worker finished or handed back its steps within its shutdown grace), however long the host's own shutdown timeout.
/// </summary>
/// <param name="start">Starts the work, which stops when the token fires; returns a task that completes once it has stopped.</param>
/// <param name="what">What runs, for the log ("worker", "leader candidate").</param>
public abstract class DrainingHostedService(Func<CancellationToken, Task<Task>> start, string what, ILogger? log) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _log = log ?? NullLogger.Instance;
    private Task? _running;

    /// <summary>Completes once the work has stopped (after <see cref="StopAsync"/>, or if it ends on its own).</summary>
    public Task Completion => _running ?? Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_running is not null) throw new InvalidOperationException($"the engine's {what} is already started");
        // A host that gives up on start-up stops the work it started; after that, only StopAsync stops it.
        await using (cancellationToken.Register(_stop.Cancel))
            _running = await start(_stop.Token);
        _log.LogInformation("Engine {Part} started", what);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_running is null) return;
        await _stop.CancelAsync();
        // Not cut short by the host's shutdown timeout: a step still running gets the worker's own grace, then is handed
        // back; stopping before that would leave it to lease expiry on another worker.
        await _running;
        _log.LogInformation("Engine {Part} stopped", what);
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A process's worker as a hosted service: claims and runs steps; drains on stop.</summary>
public sealed class WorkerHostedService(Func<CancellationToken, Task<Task>> start, ILogger<WorkerHostedService>? log = null)
    : DrainingHostedService(start, "worker", log);
