using Pipelines.Engine.Model;
using Pipelines.Postgres.Local;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Processes;

/// <summary>Worker processes against a real PostgreSQL: parallel draining, crashes, restarts and graceful stops.</summary>
public class WorkerProcessTests
{
    // Leases are long enough that a loaded machine never loses one by a late heartbeat; only a killed worker's
    // lease expires, and the tests wait for that event rather than for a time.
    private static string[] WorkerArgs(string db, string lease = "30s") =>
        ["worker", "--db", db, "--concurrency", "8", "--lease", lease, "--heartbeat", "500ms", "--leader-interval", "200ms", "--poll", "500ms"];

    /// <summary>Waits until <paramref name="count"/> worker processes have registered (they claim from then on).</summary>
    private static Task WorkersRegisteredAsync(TestDatabase db, int count) =>
        Eventually.WaitAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM workers WHERE stopped_at IS NULL"), n => n >= count,
            TimeSpan.FromSeconds(120), $"{count} worker processes to register");

    [Test]
    public async Task SeveralWorkerProcesses_DrainThousandsOfJobs_EachExecutedOnce()
    {
        await using var h = await EngineHarness.CreateAsync();
        var workers = Enumerable.Range(0, 3).Select(_ => CliProcess.Start(WorkerArgs(h.Database.ConnectionString))).ToList();
        // All three must be up before the jobs exist: a process that starts late on a loaded machine would find
        // nothing left, and "all three took part" would depend on start-up time.
        await WorkersRegisteredAsync(h.Database, 3);
        var run = await h.SubmitAsync("""
            name: drain
            steps:
              - id: items
                uses: range
                with: { count: 2000 }
              - id: each
                uses: log
                for_each: { items: "${{ steps.items.outputs.items }}" }
                with: { message: "${{ item }}" }
            """);
        try
        {
            var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(180));
            Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
            var children = details.Steps.Where(s => s.ItemIndex is not null).ToList();
            Assert.That(children, Has.Count.EqualTo(2000));
            Assert.That(children.All(c => c.State == StepState.Succeeded && c.Attempts.Count == 1), "every job ran exactly once");
            Assert.That(children.Select(c => c.Outputs!["message"]!.GetValue<string>()), Is.EqualTo(Enumerable.Range(0, 2000).Select(i => i.ToString())));
            var byWorker = children.GroupBy(c => c.Attempts[0].WorkerId).ToList();
            Assert.That(byWorker, Has.Count.EqualTo(3), "all three processes took part");
        }
        finally
        {
            foreach (var w in workers) w.Dispose();
        }
    }

    // kill -9 of a worker process mid-step is one case of the executor conformance suite
    // (tests/Pipelines.Executors.Hangfire.Tests/Conformance), run there against the native and the Hangfire executor.

    [Test]
    public async Task PostgresRestartedMidRun_WorkersReconnect_AndTheRunCompletes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pipelines-restart-" + Guid.NewGuid().ToString("N")[..8]);
        var server = new LocalPostgres(dir, durable: false);
        var cs = await server.EnsureStartedAsync("pipelines");
        try
        {
            var registryTime = TimeProvider.System;
            await using var db = Pipelines.Postgres.PostgresDataSource.Create(cs);
            await Pipelines.Postgres.Migrations.Migrator.ApplyAsync(db);
            var registry = Pipelines.Activities.BuiltinActivities.CreateRegistry();
            var store = new Pipelines.Postgres.Engine.PostgresEngineStore(db, registry, registryTime);
            var definition = Pipelines.Core.Validation.WorkflowValidator.LoadText("""
                name: restart
                steps:
                  - id: a
                    uses: sleep
                    with: { ms: 1000 }
                  - id: b
                    uses: sleep
                    needs: a
                    with: { ms: 1000 }
                  - id: c
                    uses: log
                    needs: b
                    with: { message: survived }
                """, "restart.yaml", registry);
            using var worker = CliProcess.Start(WorkerArgs(cs, lease: "10s"));
            var run = await store.SubmitRunAsync(new SubmitRun(definition, new(), "tester"));
            await Eventually.WaitAsync(() => store.GetRunAsync(run), r => r!.Steps.Any(s => s.StepId == "a" && s.State == StepState.Running),
                TimeSpan.FromSeconds(30), "step a to start");

            await server.StopAsync();
            await Task.Delay(1500);
            await server.EnsureStartedAsync("pipelines");
            Npgsql.NpgsqlConnection.ClearAllPools();

            var details = await Eventually.WaitAsync(async () =>
            {
                try { return await store.GetRunAsync(run); }
                catch (Npgsql.NpgsqlException) { return null; }
            }, r => r is not null && r.Run.State.IsTerminal(), TimeSpan.FromSeconds(60), "the run to finish after the restart");
            Assert.That(details!.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\n" + worker.Output);
            Assert.That(details.Steps.Single(s => s.StepId == "c").Outputs!["message"]!.GetValue<string>(), Is.EqualTo("survived"));
        }
        finally
        {
            try { await server.StopAsync(); } catch (Exception) { /* already stopped */ }
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Sigterm_HandsBackUnfinishedWork_AndExitsCleanly()
    {
        await using var h = await EngineHarness.CreateAsync();
        using var worker = CliProcess.Start([.. WorkerArgs(h.Database.ConnectionString), "--shutdown-grace", "300ms"]);
        var run = await h.SubmitAsync("""
            name: handback
            steps:
              - id: long
                uses: sleep
                with: { ms: 8000 }
            """);
        await h.WaitForStateAsync(run, r => h.Step(r, "long").State == StepState.Running, TimeSpan.FromSeconds(30), "the step to start");
        worker.Terminate();
        Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(15)), Is.EqualTo(0), worker.Output);

        var handedBack = h.Step(await h.RunAsync(run), "long");
        Assert.That(handedBack.State, Is.EqualTo(StepState.Available));
        Assert.That(handedBack.Attempts.Single().State, Is.EqualTo(AttemptState.HandedBack));

        using var next = CliProcess.Start(WorkerArgs(h.Database.ConnectionString));
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(120));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
    }
}
