using Npgsql;
using Pipelines.Postgres.Migrations;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Migrations;

public class MigrationTests
{
    [Test]
    public async Task Migrations_AreSafe_WhenManyProcessesStartAtOnce()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync(migrate: false);
        var sources = Enumerable.Range(0, 6).Select(_ => NpgsqlDataSource.Create(db.ConnectionString)).ToList();
        var applied = await Task.WhenAll(sources.Select(s => Migrator.ApplyAsync(s)));
        foreach (var s in sources) await s.DisposeAsync();

        Assert.That(applied.Count(a => a.Count == Migrator.All.Count), Is.EqualTo(1), "exactly one process applied them");
        Assert.That(applied.Count(a => a.Count == 0), Is.EqualTo(5));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM schema_migrations"), Is.EqualTo(Migrator.All.Count));
    }

    [Test]
    public async Task Migrations_RefuseAChangedScript()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await db.ExecAsync("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => Migrator.ApplyAsync(db.DataSource));
        Assert.That(ex!.Message, Does.Contain("was changed after it was applied"));
    }

    [Test]
    public async Task ACurrentSchema_IsConfirmedWithoutWaitingForTheMigrationLock()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await using var holder = await db.DataSource.OpenConnectionAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({Migrator.LockKey})", holder))
            await take.ExecuteNonQueryAsync();
        // Before, every process queued on this lock even with nothing to apply; a held lock would cancel this.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.That(await Migrator.ApplyAsync(db.DataSource, timeout.Token), Is.Empty);
    }

    [Test]
    public async Task ADatabaseNewerThanTheProgram_IsRefused()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await db.ExecAsync("INSERT INTO schema_migrations(version, name, checksum) VALUES (9999, 'future', 'x')");
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => Migrator.ApplyAsync(db.DataSource));
        Assert.That(ex!.Message, Does.Contain("newer than this program knows"));
    }

    [Test]
    public void IsCurrent_NeedsExactlyTheKnownMigrationsWithTheirText()
    {
        var known = Migrator.All;
        var applied = known.ToDictionary(m => m.Version, m => m.Checksum);
        Assert.That(Migrator.IsCurrent(applied, known), Is.True);
        Assert.That(Migrator.IsCurrent(applied.Where(a => a.Key != known[^1].Version).ToDictionary(), known), Is.False, "one missing");
        Assert.That(Migrator.IsCurrent(new Dictionary<int, string>(applied) { [known[0].Version] = "changed" }, known), Is.False, "one changed");
        Assert.That(Migrator.IsCurrent(new Dictionary<int, string>(applied) { [9999] = "x" }, known), Is.False, "one unknown");
    }
}
