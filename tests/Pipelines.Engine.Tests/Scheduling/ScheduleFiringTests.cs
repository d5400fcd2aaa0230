using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Scheduling;

public class ScheduleFiringTests
{
    private static string Nightly(string catchUp = "skip", int maxConcurrent = 5) => $$$"""
        name: nightly
        schedule:
          cron: "0 2 * * *"
          timezone: Europe/Amsterdam
          catch_up: {{{catchUp}}}
          max_catch_up: 3
          max_concurrent_runs: {{{maxConcurrent}}}
        steps:
          - id: a
            uses: log
            with: { message: "fired for ${{ run.scheduled_for }}" }
        """;

    [Test]
    public async Task TwoSchedulers_CreateExactlyOneRunPerFireTime()
    {
        // 2026-03-01 01:59 Amsterdam (UTC+1) = 00:59 UTC; the 02:00 fire is at 01:00 UTC.
        var time = new ManualTime(new DateTimeOffset(2026, 3, 1, 0, 59, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load(Nightly())]);
        Assert.That(await h.Store.FireSchedulesAsync(), Is.EqualTo(0), "nothing due yet");

        time.Advance(TimeSpan.FromMinutes(1));
        var schedulers = Enumerable.Range(0, 6).Select(_ => h.NewStore()).ToList();
        var fired = await Task.WhenAll(schedulers.Select(s => Task.Run(() => s.FireSchedulesAsync())));

        Assert.That(fired.Sum(), Is.EqualTo(1));
        var runs = await h.Store.ListRunsAsync(new RunFilter("nightly"));
        Assert.That(runs, Has.Count.EqualTo(1));
        Assert.That(runs[0].Trigger, Is.EqualTo("schedule"));
        Assert.That(runs[0].CreatedBy, Is.EqualTo("scheduler"));
        Assert.That(await h.Database.ScalarAsync<DateTime>("SELECT fire_time FROM schedule_fires"),
            Is.EqualTo(new DateTime(2026, 3, 1, 1, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public async Task List_ShowsTheNextFireBeforeAnyLeaderRan_AndTheLastFireOnlyOnceARunFired()
    {
        // 2026-03-01 01:30 Amsterdam (UTC+1) = 00:30 UTC; the 02:00 fire is at 01:00 UTC.
        var time = new ManualTime(new DateTimeOffset(2026, 3, 1, 0, 30, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load(Nightly())]);
        var firstFire = new DateTimeOffset(2026, 3, 1, 1, 0, 0, TimeSpan.Zero);

        var s = (await h.Store.ListSchedulesAsync()).Single();
        Assert.That((s.LastFireAt, s.NextFireAt), Is.EqualTo(((DateTimeOffset?)null, (DateTimeOffset?)firstFire)), "before any leader");

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.That(await h.Store.FireSchedulesAsync(), Is.EqualTo(0));
        s = (await h.Store.ListSchedulesAsync()).Single();
        Assert.That((s.LastFireAt, s.NextFireAt), Is.EqualTo(((DateTimeOffset?)null, (DateTimeOffset?)firstFire)), "a tick that fired nothing is no fire");

        time.Advance(TimeSpan.FromMinutes(20.5)); // 01:00:30 UTC, within catch_up: skip's misfire threshold
        Assert.That(await h.Store.FireSchedulesAsync(), Is.EqualTo(1));
        s = (await h.Store.ListSchedulesAsync()).Single();
        Assert.That((s.LastFireAt, s.NextFireAt), Is.EqualTo(((DateTimeOffset?)firstFire, (DateTimeOffset?)firstFire.AddDays(1))));

        // A changed expression restarts the scheduler's cursor at "now"; the last fire stays the one that ran.
        await h.Store.SyncAsync([h.Load(Nightly().Replace("0 2 * * *", "0 3 * * *"))]);
        time.Advance(TimeSpan.FromMinutes(1));
        await h.Store.FireSchedulesAsync();
        s = (await h.Store.ListSchedulesAsync()).Single();
        Assert.That(s.LastFireAt, Is.EqualTo((DateTimeOffset?)firstFire));
    }

    [TestCase("skip", 0)]
    [TestCase("latest", 1)]
    [TestCase("all", 3)]
    public async Task CatchUpAfterDowntime_FollowsThePolicy(string policy, int expectedRuns)
    {
        var time = new ManualTime(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load(Nightly(policy))]);
        await h.Store.FireSchedulesAsync();

        // Five nights without any scheduler running.
        time.Advance(TimeSpan.FromDays(5));
        await h.Store.FireSchedulesAsync();
        var runs = await h.Store.ListRunsAsync(new RunFilter("nightly"));
        Assert.That(runs, Has.Count.EqualTo(expectedRuns));
        if (expectedRuns > 0)
            Assert.That(await h.Database.ScalarAsync<DateTime>("SELECT max(fire_time) FROM schedule_fires"),
                Is.EqualTo(new DateTime(2026, 3, 6, 1, 0, 0, DateTimeKind.Utc)), "the latest missed night is always among them");

        Assert.That(await h.Store.FireSchedulesAsync(), Is.EqualTo(0), "caught up: nothing fires twice");
    }

    [Test]
    public async Task MaxConcurrentRuns_QueuesFurtherRuns_UntilASlotFrees()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load(Nightly("all", maxConcurrent: 1))]);
        await h.Store.FireSchedulesAsync();
        time.Advance(TimeSpan.FromDays(2));
        Assert.That(await h.Store.FireSchedulesAsync(), Is.EqualTo(2));

        var runs = await h.Store.ListRunsAsync(new RunFilter("nightly"));
        Assert.That(runs.Select(r => r.State).Order(), Is.EqualTo(new[] { RunState.Queued, RunState.Running }));
        Assert.That(await h.Store.StartQueuedRunsAsync(), Is.EqualTo(0), "slot still taken");

        var job = (await h.Store.ClaimAsync("w", ["default"], 5, TimeSpan.FromMinutes(1))).Single();
        Assert.That(job.Inputs["message"]!.GetValue<string>(), Does.StartWith("fired for 2026-03-02T01:00:00"));
        await h.Store.CompleteAsync(new JobCompletion(job.StepRunId, job.RunId, 1, "w", AttemptOutcome.Succeeded, new() { ["message"] = "x" }, null, false, ""));
        Assert.That(await h.Store.StartQueuedRunsAsync(), Is.EqualTo(1));
        runs = await h.Store.ListRunsAsync(new RunFilter("nightly"));
        Assert.That(runs.Select(r => r.State).Order(), Is.EqualTo(new[] { RunState.Running, RunState.Succeeded }));
    }

    [Test]
    public async Task ScheduleAcrossSpringForward_FiresOncePerNight()
    {
        // 2026-03-29: Amsterdam jumps from 02:00 to 03:00; "30 2 * * *" does not exist that night.
        var time = new ManualTime(new DateTimeOffset(2026, 3, 27, 12, 0, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load(Nightly("all").Replace("0 2 * * *", "30 2 * * *"))]);
        await h.Store.FireSchedulesAsync();
        for (var i = 0; i < 3 * 24 * 4; i++) // three days in 15-minute ticks
        {
            time.Advance(TimeSpan.FromMinutes(15));
            await h.Store.FireSchedulesAsync();
        }
        var fires = new List<DateTime>();
        await using (var conn = await h.Database.DataSource.OpenConnectionAsync())
        await using (var cmd = new Npgsql.NpgsqlCommand("SELECT fire_time FROM schedule_fires ORDER BY 1", conn))
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) fires.Add(r.GetDateTime(0));
        Assert.That(fires, Is.EqualTo(new[]
        {
            new DateTime(2026, 3, 28, 1, 30, 0, DateTimeKind.Utc), // 02:30 CET
            new DateTime(2026, 3, 29, 1, 0, 0, DateTimeKind.Utc),  // the jump instant, 03:00 CEST
            new DateTime(2026, 3, 30, 0, 30, 0, DateTimeKind.Utc), // 02:30 CEST
        }));
    }
}
