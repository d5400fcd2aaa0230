using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipelines.Api.Events;

/// <summary>One live event: its position is the id clients resume from.</summary>
public sealed record ApiEvent(long Id, string Kind, Guid? RunId, string Data);

/// <summary>
/// Turns the rows the database triggers write into a live stream. It LISTENs for the triggers' notifications, gives
/// newly committed rows their positions (one assigner at a time across all servers, under an advisory lock, so
/// positions grow in the order rows became visible and a resumed stream never skips one), and hands each new event
/// to every subscriber. A one-second poll covers notifications lost while the connection was down.
/// </summary>
public sealed class EventHub(NpgsqlDataSource db, ILogger<EventHub> log) : BackgroundService
{
    public const string RawChannel = "pipelines_events_raw";
    public const string PositionedChannel = "pipelines_events";
    private const long AssignLock = 0x5049_5045_4556_4E54; // "PIPEEVNT"
    private const int SubscriberBuffer = 20_000;

    private readonly object _gate = new();
    private readonly List<Channel<ApiEvent>> _subscribers = new();
    private long _last = -1;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the hub knows where the stream stands (subscribers get everything after that).</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// A subscription: every event after <c>Since</c> arrives in the channel. When a subscriber falls too far behind its
    /// channel is completed; the client reconnects with Last-Event-ID and loses nothing.
    /// </summary>
    public (ChannelReader<ApiEvent> Reader, long Since, IDisposable Unsubscribe) Subscribe()
    {
        var channel = Channel.CreateBounded<ApiEvent>(new BoundedChannelOptions(SubscriberBuffer) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        lock (_gate)
        {
            _subscribers.Add(channel);
            return (channel.Reader, _last, new Unsubscriber(this, channel));
        }
    }

    public int SubscriberCount { get { lock (_gate) return _subscribers.Count; } }

    private sealed class Unsubscriber(EventHub hub, Channel<ApiEvent> channel) : IDisposable
    {
        public void Dispose()
        {
            lock (hub._gate) hub._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }

    /// <summary>
    /// The hub runs on a thread of its own with synchronous database calls: on a busy server every awaited round trip
    /// waited behind the thread pool's queue of request work, which put tens of milliseconds between a commit and its
    /// event leaving (measured with the server benchmark's 200 clients).
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                Run(ct);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }) { IsBackground = true, Name = "pipelines-event-hub" }.Start();
        return done.Task;
    }

    private void Run(CancellationToken ct)
    {
        // Stopping wakes the wait below at once instead of at its next timeout.
        using var wake = ct.Register(() => _ = WakeAsync());
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var conn = db.OpenConnection();
                using (var listen = new NpgsqlCommand($"LISTEN {RawChannel}; LISTEN {PositionedChannel};", conn))
                    listen.ExecuteNonQuery();
                if (_last < 0)
                {
                    using var max = new NpgsqlCommand("SELECT coalesce(max(position), 0) FROM events", conn);
                    _last = (long)max.ExecuteScalar()!;
                    _ready.TrySetResult();
                }
                while (!ct.IsCancellationRequested)
                {
                    var assigned = AssignPositions(conn);
                    // The rows this pass positioned go out straight from the UPDATE when nothing lies between them and
                    // the last event sent; otherwise (another server positioned some, or this is a poll) read in order.
                    if (!TryPublish(assigned)) BroadcastNew(conn);
                    if (assigned.Count > 0)
                        // After the commit, not inside it: a NOTIFY in a writing transaction holds PostgreSQL's global
                        // notification lock through the WAL flush, stalling the engine's own wake-ups meanwhile.
                        using (var cmd = new NpgsqlCommand($"SELECT pg_notify('{PositionedChannel}', '')", conn))
                            cmd.ExecuteNonQuery();
                    // Wakes on either notification; the timeout is the fallback poll. (A zero timeout would mean
                    // "wait forever" to Npgsql, so notifications that arrive together just cost one more cheap pass.)
                    conn.Wait(TimeSpan.FromSeconds(1));
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                if (ct.IsCancellationRequested) break;
                log.LogWarning("event stream: database connection lost ({Message}); reconnecting", e.Message);
                ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        }
        lock (_gate)
            foreach (var s in _subscribers) s.Writer.TryComplete();
    }

    private async Task WakeAsync()
    {
        try
        {
            await using var cmd = db.CreateCommand($"SELECT pg_notify('{RawChannel}', '')");
            await cmd.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // The hub's wait times out within a second anyway.
        }
    }

    /// <summary>
    /// Positions the committed rows that have none yet; returns them in position order once committed. The lock and
    /// the update go as one batch, which PostgreSQL runs as one implicit transaction committed at its end: one round
    /// trip instead of four (BEGIN, lock, update, COMMIT).
    /// </summary>
    private static List<ApiEvent> AssignPositions(NpgsqlConnection conn)
    {
        var assigned = new List<ApiEvent>();
        using (var batch = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new($"SELECT pg_advisory_xact_lock({AssignLock})"),
                new("""
                    UPDATE events e SET position = nextval('event_positions'), positioned_at = clock_timestamp(), committed_at = n.committed
                    FROM (SELECT seq, CASE WHEN current_setting('track_commit_timestamp')::bool THEN pg_xact_commit_timestamp(xmin) END AS committed
                          FROM events WHERE position IS NULL ORDER BY seq LIMIT 10000) n
                    WHERE e.seq = n.seq
                    RETURNING e.position, e.kind, e.run_id, e.data::text AS data
                    """),
            },
        })
        using (var r = batch.ExecuteReader())
        {
            r.NextResult(); // past the lock's row
            var columns = EventColumns.Of(r);
            while (r.Read()) assigned.Add(columns.Read(r));
        } // disposing the reader reads to the batch's end: the commit has succeeded, or this threw
        assigned.Sort((a, b) => a.Id.CompareTo(b.Id));
        return assigned;
    }

    /// <summary>The ordinals of an event row's columns, resolved once per result set: event batches run to thousands of rows.</summary>
    private readonly record struct EventColumns(int Position, int Kind, int RunId, int Data)
    {
        public static EventColumns Of(NpgsqlDataReader r) => new(r.Ordinal("position"), r.Ordinal("kind"), r.Ordinal("run_id"), r.Ordinal("data"));

        public ApiEvent Read(NpgsqlDataReader r) =>
            new(r.GetInt64(Position), r.GetString(Kind), r.IsDBNull(RunId) ? null : r.GetGuid(RunId), r.GetString(Data));
    }

    /// <summary>Sends <paramref name="events"/> when they follow the last event sent without a gap.</summary>
    private bool TryPublish(List<ApiEvent> events)
    {
        if (events.Count == 0) return false;
        lock (_gate)
        {
            for (var i = 0; i < events.Count; i++)
                if (events[i].Id != _last + 1 + i) return false;
            foreach (var e in events) Send(e);
        }
        return true;
    }

    /// <summary>Hands one event to every subscriber; call under the gate, in position order.</summary>
    private void Send(ApiEvent e)
    {
        foreach (var s in _subscribers.ToArray())
            if (!s.Writer.TryWrite(e))
            {
                // Too far behind: end this stream; the client resumes from its last id.
                _subscribers.Remove(s);
                s.Writer.TryComplete();
            }
        _last = e.Id;
    }

    private void BroadcastNew(NpgsqlConnection conn)
    {
        while (true)
        {
            using var cmd = ReadCommand(conn, _last, null, 5000);
            var batch = new List<ApiEvent>();
            using (var r = cmd.ExecuteReader())
            {
                var columns = EventColumns.Of(r);
                while (r.Read()) batch.Add(columns.Read(r));
            }
            if (batch.Count == 0) return;
            lock (_gate)
                foreach (var e in batch) Send(e);
            if (batch.Count < 5000) return;
        }
    }

    /// <summary>Positioned events after <paramref name="after"/>, optionally of one run, in order.</summary>
    public static async Task<List<ApiEvent>> ReadAsync(NpgsqlConnection conn, long after, Guid? runId, int limit, CancellationToken ct)
    {
        await using var cmd = ReadCommand(conn, after, runId, limit);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ApiEvent>();
        var columns = EventColumns.Of(r);
        while (await r.ReadAsync(ct)) list.Add(columns.Read(r));
        return list;
    }

    private static NpgsqlCommand ReadCommand(NpgsqlConnection conn, long after, Guid? runId, int limit)
    {
        var cmd = new NpgsqlCommand("""
            SELECT position, kind, run_id, data::text AS data FROM events
            WHERE position > @after AND (@run::uuid IS NULL OR run_id = @run) ORDER BY position LIMIT @limit
            """, conn);
        cmd.Parameters.Add(Sql.Long("after", after));
        cmd.Parameters.Add(Sql.Uuid("run", runId));
        cmd.Parameters.AddWithValue("limit", limit);
        return cmd;
    }
}
