using Npgsql;
using Pipelines.Postgres.Sql;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Sql;

/// <summary>Rows read by column name (issue 14): a reordered SELECT reads the same values, a missing column fails by name.</summary>
public class RowReadingTests
{
    private TestDatabase _db = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase() => _db = await TestPostgres.CreateDatabaseAsync(migrate: false);

    [OneTimeTearDown]
    public async Task DropDatabase() => await _db.DisposeAsync();

    private async Task<T> ReadOneAsync<T>(string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.That(await r.ReadAsync(), Is.True);
        return read(r);
    }

    private static (Guid Id, string Name, long Count, DateTimeOffset At) Row(NpgsqlDataReader r) =>
        (r.Get<Guid>("id"), r.Get<string>("name"), r.Get<long>("n"), r.Get<DateTimeOffset>("at"));

    [Test]
    public async Task Get_ReadsTheSameValues_WhenTheSelectIsReorderedOrAliased()
    {
        var id = Guid.NewGuid();
        var original = await ReadOneAsync($"""
            SELECT '{id}'::uuid AS id, 'alpha' AS name, count(*) AS n, timestamptz '2026-01-02 03:04:05Z' AS at FROM generate_series(1, 3)
            """, Row);
        // The same columns in another order, one of them renamed in a subquery and aliased back: a positional read
        // would now take the name for the id.
        var reordered = await ReadOneAsync($"""
            SELECT at, n, label AS name, id FROM (
                SELECT timestamptz '2026-01-02 03:04:05Z' AS at, count(*) AS n, 'alpha' AS label, '{id}'::uuid AS id FROM generate_series(1, 3)) x
            """, Row);

        Assert.That(reordered, Is.EqualTo(original));
        Assert.That(original, Is.EqualTo((id, "alpha", 3L, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero))));
    }

    [Test]
    public async Task Get_FailsNamingTheColumn_WhenTheSelectDoesNotReturnIt()
    {
        // count(*) without an alias is named "count" by PostgreSQL, not what the reader asks for.
        var ex = await ReadOneAsync("SELECT 'alpha' AS name, count(*) FROM generate_series(1, 3)",
            r => Assert.Throws<MissingColumnException>(() => r.Get<long>("n")));

        Assert.That(ex!.Column, Is.EqualTo("n"));
        Assert.That(ex.Columns, Is.EqualTo(new[] { "name", "count" }));
        Assert.That(ex.Message, Does.Contain("'n'").And.Contain("name, count"));
    }

    [Test]
    public async Task GetOrDefault_ReturnsNull_ForNullColumns_AndGetRefusesThem()
    {
        var (guid, number, text, present) = await ReadOneAsync(
            "SELECT NULL::uuid AS g, NULL::int AS i, NULL::text AS t, 7 AS seven",
            r => (r.GetOrDefault<Guid?>("g"), r.GetOrDefault<int?>("i"), r.GetOrDefault<string>("t"), r.GetOrDefault<int?>("seven")));
        Assert.That(guid, Is.Null);
        Assert.That(number, Is.Null);
        Assert.That(text, Is.Null);
        Assert.That(present, Is.EqualTo(7));

        var ex = await ReadOneAsync("SELECT NULL::text AS t", r => Assert.Throws<InvalidCastException>(() => r.Get<string>("t")));
        Assert.That(ex!.Message, Does.Contain("'t'"));
    }

    [Test]
    public async Task Ordinal_ResolvesOncePerResultSet_ForLoopsOverManyRows()
    {
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SELECT g * 2 AS doubled, g AS n FROM generate_series(1, 5) g ORDER BY g", conn);
        await using var r = await cmd.ExecuteReaderAsync();
        var (n, doubled) = (r.Ordinal("n"), r.Ordinal("doubled"));
        var rows = new List<(int, int)>();
        while (await r.ReadAsync()) rows.Add((r.GetInt32(n), r.GetInt32(doubled)));

        Assert.That(rows, Is.EqualTo(Enumerable.Range(1, 5).Select(i => (i, i * 2))));
    }
}
