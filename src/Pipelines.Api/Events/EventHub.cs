using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pipelines.Api.Data;

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

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                await using (var listen = new NpgsqlCommand($"LISTEN {RawChannel}; LISTEN {PositionedChannel};", conn))
                    await listen.ExecuteNonQueryAsync(ct);
                if (_last < 0)
                {
                    await using var max = new NpgsqlCommand("SELECT coalesce(max(position), 0) FROM events", conn);
                    _last = (long)(await max.ExecuteScalarAsync(ct))!;
                    _ready.TrySetResult();
                }
                while (!ct.IsCancellationRequested)
                {
                    await AssignPositionsAsync(conn, ct);
                    await BroadcastNewAsync(conn, ct);
                    // Wakes on either notification; the timeout is the fallback poll. (A zero timeout would mean
                    // "wait forever" to Npgsql, so notifications that arrive together just cost one more cheap pass.)
                    await conn.WaitAsync(TimeSpan.FromSeconds(1), ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                log.LogWarning("event stream: database connection lost ({Message}); reconnecting", e.Message);
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct); } catch (OperationCanceledException) { break; }
            }
        }
        lock (_gate)
            foreach (var s in _subscribers) s.Writer.TryComplete();
    }

    private static async Task AssignPositionsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({AssignLock});
            """, conn, tx))
            await cmd.ExecuteNonQueryAsync(ct);
        int assigned;
        await using (var cmd = new NpgsqlCommand("""
            UPDATE events e SET position = nextval('event_positions')
            FROM (SELECT seq FROM events WHERE position IS NULL ORDER BY seq LIMIT 10000) n
            WHERE e.seq = n.seq
            """, conn, tx))
            assigned = await cmd.ExecuteNonQueryAsync(ct);
        if (assigned > 0)
            await using (var cmd = new NpgsqlCommand($"SELECT pg_notify('{PositionedChannel}', '')", conn, tx))
                await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    private async Task BroadcastNewAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        while (true)
        {
            var batch = await ReadAsync(conn, _last, null, 5000, ct);
            if (batch.Count == 0) return;
            lock (_gate)
            {
                foreach (var e in batch)
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
            }
            if (batch.Count < 5000) return;
        }
    }

    /// <summary>Positioned events after <paramref name="after"/>, optionally of one run, in order.</summary>
    public static async Task<List<ApiEvent>> ReadAsync(NpgsqlConnection conn, long after, Guid? runId, int limit, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT position, kind, run_id, data::text FROM events
            WHERE position > @after AND (@run::uuid IS NULL OR run_id = @run) ORDER BY position LIMIT @limit
            """, conn);
        cmd.Parameters.Add(Sql.Long("after", after));
        cmd.Parameters.Add(Sql.Uuid("run", runId));
        cmd.Parameters.AddWithValue("limit", limit);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ApiEvent>();
        while (await r.ReadAsync(ct)) list.Add(new ApiEvent(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2), r.GetString(3)));
        return list;
    }
}
