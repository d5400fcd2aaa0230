using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Performance;

/// <summary>
/// The guarantees behind the engine's throughput and recovery figures (issue 19), checked as behaviour, not timed:
/// no NOTIFY inside state-changing transactions, fan-out items that do not wait on the run's row or on each other,
/// the next job claimed with the completion, and default settings that recover a killed worker's step within 5 s.
/// </summary>
public class CompletionPathTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    private const string Fan = """
        name: fan
        steps:
          - id: r
            uses: range
            with: { count: 20 }
          - id: each
            uses: noop
            cache: false
            for_each: { items: "${{ steps.r.outputs.items }}" }
            with: { value: "${{ item }}" }
        """;

    private static JobCompletion Success(ClaimedJob job, string worker, JsonObject? outputs = null) =>
        new(job.StepRunId, job.RunId, job.Attempt, worker, AttemptOutcome.Succeeded, outputs ?? new JsonObject { ["value"] = job.Item?.DeepClone() },
            null, false, "", FanOutItem: job.ItemIndex is not null);

    /// <summary>Claims and completes the range step, then claims every item.</summary>
    private static async Task<List<ClaimedJob>> FanOutItemsAsync(EngineHarness h)
    {
        var r = (await h.Store.ClaimAsync("w", ["default"], 10, Lease)).Single();
        Assert.That(await h.Store.CompleteAsync(Success(r, "w", new JsonObject { ["items"] = new JsonArray(Enumerable.Range(0, 20).Select(i => (JsonNode)i).ToArray()) })), Is.True);
        var items = (await h.Store.ClaimAsync("w", ["default"], 100, Lease)).ToList();
        Assert.That(items, Has.Count.EqualTo(20));
        return items;
    }

    [Test]
    public async Task EventTriggers_DoNotCallPgNotify()
    {
        // A NOTIFY in a transaction serialises its commit with every other notifying commit (a global lock held
        // through the WAL flush): triggers on the engine's tables must never notify.
        await using var h = await EngineHarness.CreateAsync();
        await using var conn = await h.Database.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT DISTINCT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE NOT t.tgisinternal AND p.prosrc ILIKE '%notify%'
            """, conn);
        var notifying = new List<string>();
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) notifying.Add(r.GetString(0));
        Assert.That(notifying, Is.Empty);
    }

    [Test]
    public async Task EventStream_IsStillWoken_AfterTheChangeCommits()
    {
        await using var h = await EngineHarness.CreateAsync();
        await using var listener = await h.Database.DataSource.OpenConnectionAsync();
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => { if (e.Channel == "pipelines_events_raw") woken.TrySetResult(); };
        await using (var listen = new NpgsqlCommand("LISTEN pipelines_events_raw", listener)) await listen.ExecuteNonQueryAsync();

        await h.SubmitAsync(Fan);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!woken.Task.IsCompleted) await listener.WaitAsync(timeout.Token);
    }

    [Test]
    public async Task FanOutItem_Completes_WhileTheRunAndParentRowsAreLockedElsewhere()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(Fan);
        var items = await FanOutItemsAsync(h);

        // Another transaction holds the run's row and the parent's row (as a cancel or a planner would).
        await using var blocker = await h.Database.DataSource.OpenConnectionAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockRows = new NpgsqlCommand("""
            SELECT 1 FROM runs WHERE id = @run FOR UPDATE;
            SELECT 1 FROM step_runs WHERE run_id = @run AND step_id = 'each' AND parent_id IS NULL FOR UPDATE;
            """, blocker, tx))
        {
            lockRows.Parameters.AddWithValue("run", run);
            await lockRows.ExecuteNonQueryAsync();
        }
        // Items complete without those rows: were they needed, these calls would wait for the blocker forever.
        using (var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            foreach (var item in items.Take(19))
                Assert.That(await h.NewStore().CompleteAsync(Success(item, "w"), guard.Token), Is.True);
        await tx.RollbackAsync();

        Assert.That(await h.Store.CompleteAsync(Success(items[19], "w")), Is.True);
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "each").Outputs!["value"]!.ToJsonString(), Is.EqualTo(new JsonArray(Enumerable.Range(0, 20).Select(i => (JsonNode)i).ToArray()).ToJsonString()));
    }

    [Test]
    public async Task FanOutItems_CompletingAllAtOnce_CloseTheParentExactlyOnce()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(Fan);
        var items = await FanOutItemsAsync(h);

        var results = await Task.WhenAll(items.Select(i => Task.Run(() => h.NewStore().CompleteAsync(Success(i, "w")))));
        Assert.That(results, Is.All.True);

        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), "the last item's check closed the parent");
        var parent = h.Step(details, "each");
        Assert.That(parent.State, Is.EqualTo(StepState.Succeeded));
        Assert.That(parent.ChildrenOpen, Is.Zero);
        Assert.That(parent.Outputs!["value"]!.AsArray().Select(v => v!.GetValue<int>()), Is.EqualTo(Enumerable.Range(0, 20)));
        await using var conn = await h.Database.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM events WHERE kind = 'step' AND run_id = @run AND data->>'step' = 'each' AND data->>'state' = 'succeeded'", conn);
        cmd.Parameters.AddWithValue("run", run);
        Assert.That(await cmd.ExecuteScalarAsync(), Is.EqualTo(1L), "the parent finished once");
    }

    [Test]
    public async Task FanOutWhoseClosingCheckNeverRan_IsClosedByTheLeadersSweep()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync(Fan);
        await FanOutItemsAsync(h);
        // Every item finished, but the process died between its commit and the closing check (simulated by
        // finishing the items behind the store's back).
        await using (var conn = await h.Database.DataSource.OpenConnectionAsync())
        await using (var cmd = new NpgsqlCommand("""
            UPDATE step_runs SET state = 'succeeded', outputs = jsonb_build_object('value', item_index), finalized_at = now(),
                                 lease_owner = NULL, lease_expires_at = NULL
            WHERE run_id = @run AND parent_id IS NOT NULL
            """, conn))
        {
            cmd.Parameters.AddWithValue("run", run);
            Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(20));
        }
        Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Running));

        await h.Store.RescueExpiredLeasesAsync();
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "each").Outputs!["value"]!.AsArray().Select(v => v!.GetValue<int>()), Is.EqualTo(Enumerable.Range(0, 20)));
    }

    [Test]
    public async Task FanOutItems_CompletingAllAtOnce_ThroughOneStore_CloseTheParentThemselves()
    {
        // One store per process, as workers use it: completions share its pooled connections (and Npgsql's reused
        // transaction objects). A completion must never drop another's post-commit check: the parent closes with the
        // last item, not later by the leader's sweep (no leader runs here).
        for (var round = 0; round < 5; round++)
        {
            await using var h = await EngineHarness.CreateAsync();
            var run = await h.SubmitAsync(Fan);
            var items = await FanOutItemsAsync(h);
            var results = await Task.WhenAll(items.Select(i => Task.Run(() => h.Store.CompleteAsync(Success(i, "w")))));
            Assert.That(results, Is.All.True);
            Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Succeeded), $"round {round}: the parent closed");
        }
    }

    [Test]
    public async Task Completion_ClaimsTheNextStep_InTheSameCall()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.SubmitAsync("""
            name: chain
            steps:
              - id: a
                uses: noop
                cache: false
              - id: b
                uses: noop
                cache: false
                needs: a
            """);
        var a = (await h.Store.ClaimAsync("w", ["default"], 1, Lease)).Single();
        var result = await h.Store.CompleteAndClaimAsync(Success(a, "w"), ["default"], 1, Lease);
        Assert.That(result.Recorded, Is.True);
        Assert.That(result.Next.Select(j => j.StepId), Is.EqualTo(new[] { "b" }), "the step a's completion made ready");
        Assert.That(await h.Store.ClaimAsync("other", ["default"], 1, Lease), Is.Empty, "already running for w");
    }

    [Test]
    public async Task DefaultSettings_RecoverAKilledWorkersStep_WithinFiveSeconds()
    {
        var defaults = new WorkerOptions();
        Assert.That(defaults.Lease + LeaderService.DefaultInterval, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(defaults.HeartbeatInterval * 3, Is.LessThanOrEqualTo(defaults.Lease), "a lease survives a couple of late heartbeats");

        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync("name: one\nsteps:\n  - id: a\n    uses: noop\n    cache: false\n");
        var first = (await h.Store.ClaimAsync("killed", ["default"], 1, defaults.Lease)).Single();
        // The worker heartbeats once more, then is killed.
        time.Advance(defaults.HeartbeatInterval);
        Assert.That((await h.Store.HeartbeatAsync("killed", [(first.StepRunId, first.Attempt)], defaults.Lease)).Lost, Is.Empty);

        // Just before the lease runs out, nothing is rescued; the leader's next sweep after it does.
        time.Advance(defaults.Lease - TimeSpan.FromMilliseconds(1));
        Assert.That(await h.Store.RescueExpiredLeasesAsync(), Is.Zero);
        time.Advance(LeaderService.DefaultInterval);
        Assert.That(await h.Store.RescueExpiredLeasesAsync(), Is.EqualTo(1));
        var second = (await h.Store.ClaimAsync("survivor", ["default"], 1, defaults.Lease)).Single();
        Assert.That((second.StepRunId, second.Attempt), Is.EqualTo((first.StepRunId, 2)));
        Assert.That(await h.Store.CompleteAsync(Success(second, "survivor")), Is.True);
        Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Succeeded));
    }
}
