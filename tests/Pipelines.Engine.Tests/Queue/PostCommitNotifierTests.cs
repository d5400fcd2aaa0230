using System.Collections.Concurrent;
using Npgsql;
using Pipelines.Postgres.Engine;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Queue;

public class PostCommitNotifierTests
{
    /// <summary>Listens on a channel; records each notification's payload as it arrives.</summary>
    private sealed class Listener : IAsyncDisposable
    {
        private readonly NpgsqlConnection _conn;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        public readonly ConcurrentQueue<(string Payload, DateTime At)> Received = new();
        private int _total;
        public int Total => Volatile.Read(ref _total);

        private Listener(NpgsqlConnection conn)
        {
            _conn = conn;
            _conn.Notification += (_, e) =>
            {
                Received.Enqueue((e.Payload, DateTime.UtcNow));
                Interlocked.Increment(ref _total);
            };
            _loop = Task.Run(async () =>
            {
                try { while (true) await _conn.WaitAsync(_stop.Token); }
                catch (OperationCanceledException) { }
            });
        }

        public static async Task<Listener> StartAsync(TestDatabase db, params string[] channels)
        {
            var conn = await db.DataSource.OpenConnectionAsync();
            await using (var cmd = new NpgsqlCommand(string.Concat(channels.Select(c => $"LISTEN {c};")), conn))
                await cmd.ExecuteNonQueryAsync();
            return new Listener(conn);
        }

        public async Task<(string Payload, DateTime At)> NextAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var until = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < until)
            {
                while (Received.TryDequeue(out var n))
                    if (match(n.Payload)) return n;
                await Task.Delay(10);
            }
            throw new TimeoutException("no matching notification arrived");
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            await _conn.DisposeAsync();
        }
    }

    [Test]
    public async Task EventWakeUps_TheLastChangeOfABurstIsAlwaysAnnounced_AfterIt()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await using var listener = await Listener.StartAsync(db, PostCommitNotifier.EventsChannel);
        var notifier = new PostCommitNotifier(db.DataSource);

        // A lone change is announced (at once: the first after a quiet interval is not held back).
        notifier.EventsWritten();
        await listener.NextAsync(_ => true, TimeSpan.FromSeconds(30));

        // A change right after a wake-up, inside the coalescing interval, still gets one of its own, after it: the
        // event stream never sleeps on a committed change until its fallback poll.
        var last = DateTime.UtcNow;
        notifier.EventsWritten();
        var (_, at) = await listener.NextAsync(_ => true, TimeSpan.FromSeconds(30));
        Assert.That(at, Is.GreaterThanOrEqualTo(last));

        // A burst is coalesced, not one NOTIFY a change.
        var before = listener.Total;
        for (var i = 0; i < 1000; i++) notifier.EventsWritten();
        await listener.NextAsync(_ => true, TimeSpan.FromSeconds(30));
        await Task.Delay(PostCommitNotifier.EventsInterval * 5);
        Assert.That(listener.Total - before, Is.InRange(1, 100));
    }

    [Test]
    public async Task TheSenderThreadEndsWhenIdle_AndStartsAgainForTheNextWakeUp()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await using var listener = await Listener.StartAsync(db, "jobs_a", "jobs_b");
        var notifier = new PostCommitNotifier(db.DataSource, idleLifetime: TimeSpan.FromMilliseconds(200));

        notifier.Notify("jobs_a", "one");
        Assert.That((await listener.NextAsync(p => p == "one", TimeSpan.FromSeconds(30))).Payload, Is.EqualTo("one"));
        var until = DateTime.UtcNow.AddSeconds(30);
        while (notifier.SenderRunning && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.That(notifier.SenderRunning, Is.False, "an idle sender ends (and closes its connection)");

        notifier.Notify("jobs_b", "two");
        Assert.That((await listener.NextAsync(p => p == "two", TimeSpan.FromSeconds(30))).Payload, Is.EqualTo("two"));
    }
}
