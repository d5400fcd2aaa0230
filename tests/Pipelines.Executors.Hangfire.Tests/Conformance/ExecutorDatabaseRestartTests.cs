using Npgsql;
using Pipelines.Activities;
using Pipelines.Core.Activities;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Postgres;
using Pipelines.Postgres.Engine;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Provisioning;
using Pipelines.Testing;

namespace Pipelines.Executors.Hangfire.Tests.Conformance;

/// <summary>
/// The engine's database-restart case, once per executor (part of <see cref="ExecutorConformanceTests"/>): PostgreSQL
/// (the engine's storage and, under Hangfire, Hangfire's too) restarts twice while a fan-out runs and each item holds
/// a query open; the run must succeed with every item's last attempt succeeded, and no item succeeding twice.
/// </summary>
[NonParallelizable]
[TestFixture(ExecutorKind.Native)]
[TestFixture(ExecutorKind.Hangfire)]
public class ExecutorDatabaseRestartTests(ExecutorKind kind)
{
    private sealed class QueryActivity(NpgsqlDataSource db) : IActivity
    {
        public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
        {
            await using var conn = await db.OpenConnectionAsync(cancellationToken);
            await using var cmd = new NpgsqlCommand("SELECT pg_sleep(0.4)", conn);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            return ActivityResult.Success(new() { ["item"] = context.ItemIndex });
        }
    }

    [Test]
    public async Task PostgresRestarted_DuringAFanOut_TheRunSucceeds_EachItemOnce()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"pipelines-{kind.ToString().ToLowerInvariant()}-restart-" + Guid.NewGuid().ToString("N")[..8]);
        var server = new LocalPostgres(dir, durable: false);
        var cs = await server.EnsureStartedAsync("pipelines");
        using var stop = new CancellationTokenSource();
        Task? host = null;
        var log = new List<string>();
        try
        {
            await using var db = PostgresDataSource.Create(cs);
            await Migrator.ApplyAsync(db);
            var registry = BuiltinActivities.CreateRegistry();
            registry.Add(new ActivityDescriptor("query", "1", "holds a database query open",
                SchemaBuilder.Object().Build(), SchemaBuilder.Object().Build(), ActivityBehavior.Execute,
                _ => new QueryActivity(db), Cacheable: false));
            var store = new PostgresEngineStore(db, registry, TimeProvider.System);
            var options = new HangfireExecutorOptions { QueuePollInterval = TimeSpan.FromMilliseconds(200) };
            host = await PostgresEngineHost.StartAsync(db, store, registry,
                new WorkerOptions { Id = "w0", Concurrency = 4, PollInterval = TimeSpan.FromMilliseconds(200) },
                TimeSpan.FromMilliseconds(200), m => { lock (log) log.Add(m); }, stop.Token,
                executor: kind == ExecutorKind.Native ? null : wakeups => new HangfireExecutor(db, store, wakeups, options));

            var definition = WorkflowValidator.LoadText("""
                name: restart-fanout
                steps:
                  - id: r
                    uses: range
                    with: { count: 16 }
                  - id: each
                    uses: query
                    for_each: { items: "${{ steps.r.outputs.items }}" }
                    retry: { max_attempts: 4, backoff: { initial: 100ms, factor: 1, max: 100ms, jitter: 0 } }
                """, "restart-fanout.yaml", registry);
            var run = await store.SubmitRunAsync(new SubmitRun(definition, new(), "tester"));

            async Task<RunDetails?> Read()
            {
                try { return await store.GetRunAsync(run); }
                catch (NpgsqlException) { return null; }
            }

            for (var restart = 1; restart <= 2; restart++)
            {
                var current = await Eventually.WaitAsync(Read,
                    r => r is not null && (r.Run.State.IsTerminal() || r.Steps.Any(s => s.ItemIndex is not null && s.State == StepState.Running)),
                    TimeSpan.FromSeconds(60), $"an item running before restart {restart}");
                if (current!.Run.State.IsTerminal()) break;
                await server.StopAsync();
                await server.EnsureStartedAsync("pipelines");
            }

            var details = await Eventually.WaitAsync(Read, r => r is not null && r.Run.State.IsTerminal(), TimeSpan.FromSeconds(90),
                "the run to finish after the restarts");
            string Log() { lock (log) return string.Join("\n", log.TakeLast(40)); }
            Assert.That(details!.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\n" + Log());
            var items = details.Steps.Where(s => s.StepId == "each" && s.ItemIndex is not null).ToList();
            Assert.That(items, Has.Count.EqualTo(16));
            Assert.That(items.All(s => s.State == StepState.Succeeded));
            Assert.That(items.All(s => s.Attempts.Last().State == AttemptState.Succeeded));
            Assert.That(items.Select(s => s.Attempts.Count(a => a.State == AttemptState.Succeeded)), Is.All.EqualTo(1), "no item ran to success twice");
            var broken = items.SelectMany(s => s.Attempts).Where(a => a.State != AttemptState.Succeeded).ToList();
            Assert.That(broken, Is.Not.Empty, "no attempt was interrupted by a restart");
        }
        finally
        {
            await stop.CancelAsync();
            try { if (host is not null) await host.WaitAsync(TimeSpan.FromSeconds(30)); } catch (Exception) { /* reported by the assertions above */ }
            try { await server.StopAsync(); } catch (Exception) { /* already stopped */ }
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
