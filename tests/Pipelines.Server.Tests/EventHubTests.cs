using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pipelines.Api.Events;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>The live event hub on its own: positions, order and hand-off across servers sharing one database.</summary>
public class EventHubTests
{
    [Test]
    public async Task TwoServers_DeliverEveryEventOnce_InTheSameOrder_WhileTransactionsCommitOutOfOrder()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        using var first = new EventHub(db.DataSource, NullLogger<EventHub>.Instance);
        using var second = new EventHub(db.DataSource, NullLogger<EventHub>.Instance);
        await first.StartAsync(CancellationToken.None);
        await second.StartAsync(CancellationToken.None);
        await Task.WhenAll(first.Ready, second.Ready).WaitAsync(TimeSpan.FromSeconds(30));
        var (a, _, stopA) = first.Subscribe();
        var (b, _, stopB) = second.Subscribe();

        // Eight writers, each a few transactions of several rows; one holds its transaction open across the others'
        // commits, so insertion order (seq) and commit order differ. Each commit wakes the hubs as the engine does.
        const int writers = 8, transactions = 5, rows = 5;
        var held = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await using var conn = await db.DataSource.OpenConnectionAsync();
            for (var t = 0; t < transactions; t++)
            {
                await using var tx = await conn.BeginTransactionAsync();
                for (var r = 0; r < rows; r++)
                {
                    await using var insert = new NpgsqlCommand("INSERT INTO events (kind, data) VALUES ('log', jsonb_build_object('n', @n::text))", conn, tx);
                    insert.Parameters.AddWithValue("n", $"{w}-{t}-{r}");
                    await insert.ExecuteNonQueryAsync();
                }
                if (w == 0 && t == 0) await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await tx.CommitAsync();
                await using var wake = new NpgsqlCommand($"SELECT pg_notify('{EventHub.RawChannel}', '')", conn);
                await wake.ExecuteNonQueryAsync();
            }
        })).ToList();
        var total = writers * transactions * rows;
        var gotA = ReadAsync(a, total);
        var gotB = ReadAsync(b, total);
        // Let the others commit past the held transaction before it commits.
        while (await db.ScalarAsync<long>("SELECT count(*) FROM events WHERE position IS NOT NULL") < total - rows * transactions)
            await Task.Delay(20);
        held.SetResult();
        await Task.WhenAll(tasks);
        var (listA, listB) = (await gotA, await gotB);
        stopA.Dispose();
        stopB.Dispose();

        Assert.That(listA.Select(e => e.Id), Is.Ordered.Ascending.And.Unique);
        Assert.That(listB.Select(e => (e.Id, e.Data)), Is.EqualTo(listA.Select(e => (e.Id, e.Data))), "both servers send the same events, same positions, same order");
        Assert.That(listA.Select(e => e.Data).Distinct().Count(), Is.EqualTo(total), "every event once");
        // The held transaction's rows were inserted first but committed last: they are positioned after the others.
        var heldIds = listA.Where(e => e.Data.Contains("\"0-0-")).Select(e => e.Id).ToList();
        Assert.That(heldIds.Min(), Is.GreaterThan(listA.Where(e => e.Data.Contains("\"1-0-")).Max(e => e.Id)));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM events WHERE positioned_at IS NULL OR committed_at > positioned_at"), Is.Zero,
            "each event records when it was positioned, after its commit");

        await first.StopAsync(CancellationToken.None);
        await second.StopAsync(CancellationToken.None);
    }

    private static async Task<List<ApiEvent>> ReadAsync(ChannelReader<ApiEvent> reader, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var list = new List<ApiEvent>();
        while (list.Count < count) list.Add(await reader.ReadAsync(cts.Token));
        return list;
    }
}
