using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Deploy.Tests.Kubernetes;

/// <summary>
/// The KEDA ScaledObject's PostgreSQL query, taken from the rendered prod overlay, run against the engine's real
/// schema while steps are queued, claimed, waiting on dependencies and on another queue.
/// </summary>
public class KedaQueryTests
{
    private static async Task<string> ScalerQueryAsync()
    {
        var prod = await RenderedOverlay.RenderAsync("prod");
        return (string)prod.Get("ScaledObject", "pipelines-worker")["spec"]!["triggers"]![0]!["metadata"]!["query"]!;
    }

    [Test]
    public async Task Query_CountsStepsAvailableNowAndRunning_OnTheWorkersQueue_Only()
    {
        var query = await ScalerQueryAsync();
        await using var h = await EngineHarness.CreateAsync();
        Assert.That(await h.Database.ScalarAsync<long>(query), Is.EqualTo(0), "an empty database");

        // Three independent steps become available at once; the fourth waits for them (pending); one step is on another queue.
        var run = await h.SubmitAsync("""
            name: scale
            steps:
              - { id: a, uses: log, with: { message: a } }
              - { id: b, uses: log, with: { message: b } }
              - { id: c, uses: log, with: { message: c } }
              - { id: d, uses: log, needs: [a, b, c], with: { message: d } }
              - { id: gpu, uses: log, queue: gpu, with: { message: gpu } }
            """);
        var details = await h.RunAsync(run);
        Assert.That(details.Steps.Count(s => s.State == StepState.Available), Is.EqualTo(4), "a, b, c and gpu are claimable");
        Assert.That(await h.Database.ScalarAsync<long>(query), Is.EqualTo(3), "available on 'default'; not the pending step, not queue 'gpu'");

        // A worker claims two: they still need a worker slot each, so the demand stays.
        await h.Store.RegisterWorkerAsync(new WorkerInfo("w1", "host", 1, ["default"], 2));
        var claimed = await h.Store.ClaimAsync("w1", ["default"], 2, TimeSpan.FromMinutes(5));
        Assert.That(claimed, Has.Count.EqualTo(2));
        Assert.That(await h.Database.ScalarAsync<long>(query), Is.EqualTo(3), "two running + one available");

        // A step made available in the future (a retry's backoff) is not demand yet.
        await h.Database.ExecAsync("UPDATE step_runs SET available_at = now() + interval '1 hour' WHERE state = 'available' AND queue = 'default'");
        Assert.That(await h.Database.ScalarAsync<long>(query), Is.EqualTo(2), "only the running ones");
    }

    [Test]
    public async Task Query_UsesThePartialIndexes_NotASequentialScanOfEveryStepEverRun()
    {
        var query = await ScalerQueryAsync();
        await using var h = await EngineHarness.CreateAsync();
        await h.SubmitAsync("name: history\nsteps:\n  - { id: a, uses: log, with: { message: a } }\n");
        // Many finished steps, as after months of nightly runs; the planner must still reach for the partial indexes.
        await h.Database.ExecAsync("""
            INSERT INTO step_runs (id, run_id, step_id, position, kind, activity_version, state, queue, max_attempts, backoff, created_at, finalized_at)
            SELECT gen_random_uuid(), r.id, 's' || g, g, 'log', '1', 'succeeded', 'default', 1, '{}'::jsonb, now(), now()
            FROM generate_series(1, 20000) g, (SELECT id FROM runs LIMIT 1) r
            """);
        Assert.That(await h.Database.ScalarAsync<long>("SELECT count(*) FROM step_runs"), Is.GreaterThan(20000));
        await h.Database.ExecAsync("ANALYZE step_runs");
        var plan = string.Join("\n", await ExplainAsync(h, query));
        Assert.That(plan, Does.Not.Contain("Seq Scan on step_runs"), plan);
    }

    private static async Task<List<string>> ExplainAsync(EngineHarness h, string query)
    {
        var lines = new List<string>();
        await using var conn = await h.Database.DataSource.OpenConnectionAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("EXPLAIN " + query, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return lines;
    }
}
