using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// Sends the engine's wake-ups after the changing transaction committed, never inside it. A NOTIFY inside a
/// transaction makes PostgreSQL take its global notification-queue lock at commit and hold it through the WAL flush,
/// so every notifying transaction in the cluster commits one at a time (issue 19). Here a NOTIFY is its own tiny
/// transaction without writes (no flush), and wake-ups are coalesced:
/// <list type="bullet">
/// <item>job wake-ups: one send in flight at a time; whatever queues were signalled meanwhile go in the next send,
/// so a burst of completions costs a handful of NOTIFYs, not one each;</item>
/// <item>event-stream wake-ups (the API server's live events, <c>pipelines_events_raw</c>): at most one every
/// <see cref="EventsInterval"/>. The first change after a quiet interval is announced at once (a client sees a lone
/// step change within milliseconds, issue 15); changes that follow within the interval share one trailing wake-up at
/// its end. The server also polls every second, so a lost one only costs latency.</item>
/// </list>
/// Sends run on a thread of their own with a connection of their own, synchronously: on a busy process a wake-up
/// queued behind the thread pool's work, once per round trip, took tens of milliseconds to leave (measured with the
/// server benchmark). The thread ends after five seconds without work and starts again on demand.
/// Listeners see a wake-up only after the data it announces is committed, as before.
/// </summary>
public sealed class PostCommitNotifier(NpgsqlDataSource db, ILogger? log = null, TimeSpan? idleLifetime = null)
{
    public const string EventsChannel = "pipelines_events_raw";
    public static readonly TimeSpan EventsInterval = TimeSpan.FromMilliseconds(20);
    public static readonly TimeSpan DefaultIdleLifetime = TimeSpan.FromSeconds(5);
    private readonly TimeSpan _idleLifetime = idleLifetime ?? DefaultIdleLifetime;

    private readonly object _gate = new();
    private readonly HashSet<(string Channel, string Payload)> _pending = new();
    private bool _running;

    /// <summary>Whether a sender thread is alive (it ends when idle).</summary>
    public bool SenderRunning { get { lock (_gate) return _running; } }
    private long _eventsDue;    // Stopwatch timestamp when the pending event-stream wake-up goes out; 0 when none
    private long _eventsSentAt; // Stopwatch timestamp of the last event-stream wake-up

    /// <summary>Queues a NOTIFY to send soon; call only after the transaction that makes it true committed.</summary>
    public void Notify(string channel, string payload)
    {
        lock (_gate)
        {
            _pending.Add((channel, payload));
            WakeSender();
        }
    }

    /// <summary>Something that writes event rows committed: wake the event stream within <see cref="EventsInterval"/>.</summary>
    public void EventsWritten()
    {
        lock (_gate)
        {
            if (_eventsDue != 0) return;
            var earliest = _eventsSentAt + (long)(EventsInterval.TotalSeconds * Stopwatch.Frequency);
            _eventsDue = Math.Max(Stopwatch.GetTimestamp(), earliest);
            WakeSender();
        }
    }

    /// <summary>Under the gate: wake the sender thread, or start one when none runs.</summary>
    private void WakeSender()
    {
        if (_running)
        {
            Monitor.Pulse(_gate);
            return;
        }
        _running = true;
        new Thread(SendLoop) { IsBackground = true, Name = "pipelines-notify" }.Start();
    }

    private void SendLoop()
    {
        NpgsqlConnection? conn = null;
        try
        {
            while (TakeBatch() is { } batch)
            {
                try
                {
                    if (conn is null)
                    {
                        conn = db.CreateConnection();
                        conn.Open();
                    }
                    using var cmd = new NpgsqlCommand("SELECT pg_notify(c, p) FROM unnest(@c::text[], @p::text[]) AS n(c, p)", conn);
                    cmd.Parameters.AddWithValue("c", batch.Select(b => b.Channel).ToArray());
                    cmd.Parameters.AddWithValue("p", batch.Select(b => b.Payload).ToArray());
                    cmd.ExecuteNonQuery();
                }
                catch (Exception e)
                {
                    // Wake-ups only cut latency: workers and the event stream poll as well.
                    log?.LogDebug("wake-up not sent ({ErrorType}: {Error})", e.GetType().Name, e.Message);
                    conn?.Dispose();
                    conn = null;
                }
            }
        }
        finally
        {
            conn?.Dispose();
        }
    }

    /// <summary>Waits for the next wake-ups to send; null when the thread has been idle long enough to end.</summary>
    private List<(string Channel, string Payload)>? TakeBatch()
    {
        lock (_gate)
        {
            var idleSince = Stopwatch.GetTimestamp();
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (_eventsDue != 0 && _eventsDue <= now)
                {
                    _pending.Add((EventsChannel, ""));
                    _eventsDue = 0;
                    _eventsSentAt = now;
                }
                if (_pending.Count > 0)
                {
                    var batch = _pending.ToList();
                    _pending.Clear();
                    return batch;
                }
                TimeSpan wait;
                if (_eventsDue != 0) wait = Stopwatch.GetElapsedTime(now, _eventsDue);
                else
                {
                    wait = _idleLifetime - Stopwatch.GetElapsedTime(idleSince, now);
                    if (wait <= TimeSpan.Zero)
                    {
                        _running = false;
                        return null;
                    }
                }
                Monitor.Wait(_gate, wait);
            }
        }
    }
}
