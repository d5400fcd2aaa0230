using Npgsql;
using Pipelines.Postgres.Migrations;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Migrations;

public class MigrationTests
{
    [Test]
    public async Task Migrations_AreSafe_WhenManyProcessesStartAtOnce()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await db.ExecAsync("DROP TABLE schema_migrations, artifact_inputs, artifacts, attempts, approvals, schedule_fires, step_runs, runs, schedules, workflow_versions, workers");
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
}
