using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// Sends the engine's wake-ups after the changing transaction committed, never inside it. A NOTIFY inside a
/// transaction makes PostgreSQL take its global notification-queue lock at commit and hold it through the WAL flush,
/// so every notifying transaction in the cluster commits one at a time (issue 19). Here a NOTIFY is its own tiny
/// transaction without writes (no flush), sent from a pooled connection, and wake-ups are coalesced:
/// <list type="bullet">
/// <item>job wake-ups: one send in flight at a time; whatever queues were signalled meanwhile go in the next send,
/// so a burst of completions costs a handful of NOTIFYs, not one each;</item>
/// <item>event-stream wake-ups (the API server's live events, <c>pipelines_events_raw</c>): at most one every
/// <see cref="EventsInterval"/>; the server also polls every second, so a lost one only costs latency.</item>
/// </list>
/// Listeners see a wake-up only after the data it announces is committed, as before.
/// </summary>
public sealed class PostCommitNotifier(NpgsqlDataSource db, ILogger? log = null)
{
    public const string EventsChannel = "pipelines_events_raw";
    public static readonly TimeSpan EventsInterval = TimeSpan.FromMilliseconds(50);

    private readonly object _gate = new();
    private readonly HashSet<(string Channel, string Payload)> _pending = new();
    private bool _sending;
    private bool _eventsScheduled;

    /// <summary>Queues a NOTIFY to send soon; call only after the transaction that makes it true committed.</summary>
    public void Notify(string channel, string payload)
    {
        lock (_gate)
        {
            _pending.Add((channel, payload));
            if (_sending) return;
            _sending = true;
        }
        _ = Task.Run(SendLoopAsync);
    }

    /// <summary>Something that writes event rows committed: wake the event stream within <see cref="EventsInterval"/>.</summary>
    public void EventsWritten()
    {
        lock (_gate)
        {
            if (_eventsScheduled) return;
            _eventsScheduled = true;
        }
        _ = Task.Run(async () =>
        {
            await Task.Delay(EventsInterval);
            lock (_gate) _eventsScheduled = false;
            Notify(EventsChannel, "");
        });
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            List<(string Channel, string Payload)> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _sending = false;
                    return;
                }
                batch = _pending.ToList();
                _pending.Clear();
            }
            try
            {
                await using var conn = await db.OpenConnectionAsync();
                await using var cmd = new NpgsqlCommand("SELECT pg_notify(c, p) FROM unnest(@c::text[], @p::text[]) AS n(c, p)", conn);
                cmd.Parameters.AddWithValue("c", batch.Select(b => b.Channel).ToArray());
                cmd.Parameters.AddWithValue("p", batch.Select(b => b.Payload).ToArray());
                await cmd.ExecuteNonQueryAsync();
            }
            catch (Exception e)
            {
                // Wake-ups only cut latency: workers and the event stream poll as well.
                log?.LogDebug("wake-up not sent ({ErrorType}: {Error})", e.GetType().Name, e.Message);
            }
        }
    }
}
