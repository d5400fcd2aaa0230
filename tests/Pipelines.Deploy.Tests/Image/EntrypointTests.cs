using Npgsql;
using Pipelines.Deploy.Tests.Support;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Migrations;
using Pipelines.Testing;

namespace Pipelines.Deploy.Tests.Image;

/// <summary>
/// The image's entry point (infra/image/entrypoint.sh) run as a process against the CLI this repository builds and a
/// real PostgreSQL: the defaults it adds from the environment, the migrations command, and a worker's SIGTERM path
/// (the script execs the CLI, so the signal the container runtime sends reaches the worker itself).
/// </summary>
public class EntrypointTests
{
    private static readonly string Entrypoint = Repo.Path("infra", "image", "entrypoint.sh");

    private static Dictionary<string, string> Environment(string db, params (string Key, string Value)[] more)
    {
        var env = new Dictionary<string, string> { ["PIPELINES_DLL"] = Repo.CliDll(), ["PIPELINES_DB"] = db, ["PIPELINES_USER"] = "tester" };
        foreach (var (k, v) in more) env[k] = v;
        return env;
    }

    [Test]
    public async Task Migrate_AppliesEveryMigrationOnce_ThenFindsTheSchemaUpToDate()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync(migrate: false);
        var first = await Tool.RunAsync("bash", [Entrypoint, "migrate"], environment: Environment(db.ConnectionString), timeout: TimeSpan.FromMinutes(2));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
        var newest = Migrator.NewestVersion;
        Assert.That(first.Stdout, Does.Contain($"schema migrated to version {newest} ({Migrator.All.Count} migration(s) applied)"));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM schema_migrations"), Is.EqualTo(Migrator.All.Count));

        var second = await Tool.RunAsync("bash", [Entrypoint, "migrate"], environment: Environment(db.ConnectionString), timeout: TimeSpan.FromMinutes(2));
        Assert.That(second.ExitCode, Is.EqualTo(0), second.Output);
        Assert.That(second.Stdout.Trim(), Is.EqualTo($"schema up to date at version {newest}"));
    }

    [Test]
    public async Task Migrate_AgainstAnUnreachableDatabase_FailsWithExitCode5_AfterItsWait()
    {
        // A port nothing listens on: bound and released at once.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var cs = $"Host=127.0.0.1;Port={port};Username=nobody;Password=x;Database=none;Timeout=2";
        var result = await Tool.RunAsync("bash", [Entrypoint, "migrate"],
            environment: Environment(cs, ("PIPELINES_MIGRATE_WAIT", "1s")), timeout: TimeSpan.FromMinutes(2));
        Assert.That(result.ExitCode, Is.EqualTo(5), result.Output);
        Assert.That(result.Stderr, Does.Contain("database unavailable"));
        Assert.That(result.Output, Does.Not.Contain("Password=x"), "no secret in the output");
    }

    [Test]
    public async Task Migrate_RefusesADatabaseNewerThanItKnows_WithExitCode4()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync(migrate: true);
        await db.ExecAsync("INSERT INTO schema_migrations(version, name, checksum) VALUES (9999, 'from_the_future', 'x')");
        var result = await Tool.RunAsync("bash", [Entrypoint, "migrate"], environment: Environment(db.ConnectionString), timeout: TimeSpan.FromMinutes(2));
        Assert.That(result.ExitCode, Is.EqualTo(4), result.Output);
        Assert.That(result.Stderr, Does.Contain("schema version 9999"));
    }

    [Test]
    public async Task Worker_OnSigterm_HandsBackItsInFlightStep_WithTheGraceFromTheEnvironment()
    {
        await using var h = await EngineHarness.CreateAsync();
        using var worker = new LongProcess("bash", [Entrypoint, "worker"],
            Environment(h.Database.ConnectionString, ("PIPELINES_SHUTDOWN_GRACE", "300ms"), ("PIPELINES_WORKER_CONCURRENCY", "2")));
        var run = await h.SubmitAsync("""
            name: handback
            steps:
              - id: long
                uses: sleep
                with: { ms: 600000 }
            """);
        await h.WaitForStateAsync(run, r => h.Step(r, "long").State == StepState.Running, TimeSpan.FromSeconds(60), "the worker to start the step");

        // bash exec'd the CLI: this pid is the worker itself, as it is tini's child in the image.
        worker.Signal("TERM");
        Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0), worker.Output);

        var step = h.Step(await h.RunAsync(run), "long");
        Assert.That(step.State, Is.EqualTo(StepState.Available), "back in the queue for another worker");
        Assert.That(step.Attempts.Single().State, Is.EqualTo(AttemptState.HandedBack), worker.Output);
        Assert.That(worker.Output, Does.Contain("concurrency 2"), "PIPELINES_WORKER_CONCURRENCY reached the worker");
    }
}
