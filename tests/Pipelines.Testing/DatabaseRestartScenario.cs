using Npgsql;
using Pipelines.Activities;
using Pipelines.Core.Activities;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Workers;
using Pipelines.Postgres;
using Pipelines.Postgres.Engine;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Local;

namespace Pipelines.Testing;

/// <summary>
/// A fan-out whose items each hold a database query open, run by in-process workers on a private PostgreSQL of its
/// own that is restarted while items run (a restart lands inside an attempt's database call, as in scoring and
/// ingest). The caller asserts on the finished run; the engine's restart test and the executor conformance suite
/// share it.
/// </summary>
public static class DatabaseRestartScenario
{
    /// <summary>The finished run (null if it could not be read), and the workers' last log lines for failure messages.</summary>
    public sealed record Outcome(RunDetails? Run, string Log);

    /// <summary>Holds a query open for a moment, so that a restart lands inside an attempt's database call.</summary>
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

    /// <param name="items">Fan-out width.</param>
    /// <param name="restarts">How many times PostgreSQL is stopped and started, each once an item is running.</param>
    /// <param name="maxAttempts">The fan-out step's <c>retry.max_attempts</c>.</param>
    /// <param name="workers">In-process workers (4 slots each).</param>
    /// <param name="executor">How steps reach the workers, made from the database, the store and the wake-ups (null: native).</param>
    public static async Task<Outcome> RunAsync(int items, int restarts, int maxAttempts, int workers, TimeSpan finishWithin,
        Func<NpgsqlDataSource, PostgresEngineStore, IWakeups, IStepExecutor>? executor = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "pipelines-db-restart-" + Guid.NewGuid().ToString("N")[..8]);
        var server = new LocalPostgres(dir, durable: false);
        var cs = await server.EnsureStartedAsync("pipelines");
        using var stop = new CancellationTokenSource();
        var hosts = new List<Task>();
        var log = new List<string>();
        string Log() { lock (log) return string.Join("\n", log.TakeLast(40)); }
        try
        {
            await using var db = PostgresDataSource.Create(cs);
            await Migrator.ApplyAsync(db);
            var registry = BuiltinActivities.CreateRegistry();
            registry.Add(new ActivityDescriptor("query", "1", "holds a database query open",
                SchemaBuilder.Object().Build(), SchemaBuilder.Object().Build(), ActivityBehavior.Execute,
                _ => new QueryActivity(db), Cacheable: false));
            var store = new PostgresEngineStore(db, registry, TimeProvider.System);
            for (var i = 0; i < workers; i++)
                hosts.Add(await PostgresEngineHost.StartAsync(db, store, registry,
                    new WorkerOptions { Id = $"w{i}", Concurrency = 4, PollInterval = TimeSpan.FromMilliseconds(200) },
                    TimeSpan.FromMilliseconds(200), m => { lock (log) log.Add(m); }, stop.Token,
                    executor: executor is null ? null : wakeups => executor(db, store, wakeups)));

            var definition = WorkflowValidator.LoadText($$$"""
                name: restart-fanout
                steps:
                  - id: r
                    uses: range
                    with: { count: {{{items}}} }
                  - id: each
                    uses: query
                    for_each: { items: "${{ steps.r.outputs.items }}" }
                    retry: { max_attempts: {{{maxAttempts}}}, backoff: { initial: 100ms, factor: 1, max: 100ms, jitter: 0 } }
                """, "restart-fanout.yaml", registry);
            var run = await store.SubmitRunAsync(new SubmitRun(definition, new(), "tester"));

            async Task<RunDetails?> Read()
            {
                try { return await store.GetRunAsync(run); }
                catch (NpgsqlException) { return null; }
            }

            for (var restart = 1; restart <= restarts; restart++)
            {
                var current = await Eventually.WaitAsync(Read,
                    r => r is not null && (r.Run.State.IsTerminal() || r.Steps.Any(s => s.ItemIndex is not null && s.State == StepState.Running)),
                    TimeSpan.FromSeconds(60), $"an item running before restart {restart}");
                if (current!.Run.State.IsTerminal()) break;
                await server.StopAsync();
                await server.EnsureStartedAsync("pipelines");
            }

            var details = await Eventually.WaitAsync(Read, r => r is not null && r.Run.State.IsTerminal(), finishWithin,
                "the run to finish after the restarts");
            return new Outcome(details, Log());
        }
        finally
        {
            await stop.CancelAsync();
            try { await Task.WhenAll(hosts).WaitAsync(TimeSpan.FromSeconds(30)); } catch (Exception) { /* reported by the caller's assertions */ }
            try { await server.StopAsync(); } catch (Exception) { /* already stopped */ }
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
