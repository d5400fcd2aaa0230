using Microsoft.Extensions.Logging;
using Npgsql;
using Pipelines.Engine.Storage;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// LISTENs on the engine's channels on a dedicated connection, reconnecting after failures (e.g. a
/// PostgreSQL restart). Wake-ups only cut latency; workers poll as well, so a gap loses nothing.
/// </summary>
public sealed class PostgresWakeups(NpgsqlDataSource db, ILogger? log = null) : IWakeups
{
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public event Action<string>? JobsAvailable;
    public event Action<Guid>? CancelRequested;

    /// <summary>
    /// Starts listening and returns once LISTEN is in place, so that nothing sent after start-up is missed (a cancel
    /// pushed right after a worker claimed a job, for instance). If the database cannot be reached within a few
    /// seconds it returns anyway: polling covers the gap, and the listener keeps reconnecting in the background.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
        await Task.WhenAny(_listening.Task, Task.Delay(TimeSpan.FromSeconds(5), ct));
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                conn.Notification += OnNotification;
                await using (var cmd = new NpgsqlCommand(
                                 $"LISTEN {PostgresEngineStore.Channels.Jobs}; LISTEN {PostgresEngineStore.Channels.Cancel}", conn))
                    await cmd.ExecuteNonQueryAsync(ct);
                _listening.TrySetResult();
                delay = TimeSpan.FromMilliseconds(100);
                // Anything may have happened while we were not listening.
                JobsAvailable?.Invoke("*");
                while (!ct.IsCancellationRequested) await conn.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log?.LogWarning("notification listener lost its connection ({ErrorType}); reconnecting", e.GetType().Name);
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        switch (e.Channel)
        {
            case PostgresEngineStore.Channels.Jobs: JobsAvailable?.Invoke(e.Payload); break;
            case PostgresEngineStore.Channels.Cancel when Guid.TryParse(e.Payload, out var run): CancelRequested?.Invoke(run); break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop is null) return;
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
        _stop.Dispose();
    }
}
