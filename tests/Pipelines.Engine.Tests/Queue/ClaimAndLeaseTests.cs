using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Queue;

public class ClaimAndLeaseTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private const string OneStep = """
        name: one
        steps:
          - id: a
            uses: log
            with: { message: hi }
        """;

    private static JobCompletion Success(ClaimedJob job, string worker) =>
        new(job.StepRunId, job.RunId, job.Attempt, worker, AttemptOutcome.Succeeded, new JsonObject { ["message"] = "hi" }, null, false, "");

    [Test]
    public async Task Claim_SkipsLockedJobs_WhenTwoWorkersRace()
    {
        await using var h = await EngineHarness.CreateAsync();
        var runs = new List<Guid>();
        for (var i = 0; i < 40; i++) runs.Add(await h.SubmitAsync(OneStep));

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(w =>
            h.NewStore().ClaimAsync($"w{w}", ["default"], 10, TimeSpan.FromSeconds(30))));

        var ids = claims.SelectMany(c => c.Select(j => j.StepRunId)).ToList();
        Assert.That(ids, Has.Count.EqualTo(40), "every job claimed");
        Assert.That(ids.Distinct().Count(), Is.EqualTo(40), "no job claimed twice");
    }

    [Test]
    public async Task Complete_IsRefused_WhenAttemptOrWorkerDoesNotMatch()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync(OneStep);
        var job = (await h.Store.ClaimAsync("w1", ["default"], 1, TimeSpan.FromSeconds(30))).Single();

        Assert.That(await h.Store.CompleteAsync(Success(job, "w2")), Is.False, "another worker cannot complete it");
        Assert.That(await h.Store.CompleteAsync(Success(job, "w1") with { Attempt = 2 }), Is.False, "a stale attempt cannot complete it");
        Assert.That(await h.Store.CompleteAsync(Success(job, "w1")), Is.True);
        Assert.That(await h.Store.CompleteAsync(Success(job, "w1")), Is.False, "completing twice is a lost race, not a second completion");

        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "a").Attempts.Select(a => a.State), Is.EqualTo(new[] { AttemptState.Succeeded }));
    }

    [Test]
    public async Task Claim_DoesNotReturnJobs_OfOtherQueues()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.SubmitAsync("""
            name: q
            steps:
              - id: a
                uses: log
                queue: gpu
                with: { message: hi }
            """);
        Assert.That(await h.Store.ClaimAsync("w", ["default"], 5, TimeSpan.FromSeconds(30)), Is.Empty);
        var job = (await h.Store.ClaimAsync("w", ["cpu", "gpu"], 5, TimeSpan.FromSeconds(30))).Single();
        Assert.That(job.StepId, Is.EqualTo("a"));
    }

    [Test]
    public async Task ExpiredLease_IsRescued_AndTheOldWorkerCannotComplete()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync(OneStep);
        var first = (await h.Store.ClaimAsync("w1", ["default"], 1, TimeSpan.FromSeconds(30))).Single();

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.That(await h.Store.RescueExpiredLeasesAsync(), Is.EqualTo(0), "lease still valid");
        var beat = await h.Store.HeartbeatAsync("w1", [(first.StepRunId, first.Attempt)], TimeSpan.FromSeconds(30));
        Assert.That(beat.Lost, Is.Empty);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.That(await h.Store.RescueExpiredLeasesAsync(), Is.EqualTo(1));
        beat = await h.Store.HeartbeatAsync("w1", [(first.StepRunId, first.Attempt)], TimeSpan.FromSeconds(30));
        Assert.That(beat.Lost, Is.EquivalentTo(new[] { first.StepRunId }), "the old worker learns it lost the lease");

        var second = (await h.Store.ClaimAsync("w2", ["default"], 1, TimeSpan.FromSeconds(30))).Single();
        Assert.That(second.Attempt, Is.EqualTo(2));
        Assert.That(await h.Store.CompleteAsync(Success(first, "w1")), Is.False);
        Assert.That(await h.Store.CompleteAsync(Success(second, "w2")), Is.True);

        var step = h.Step(await h.RunAsync(run), "a");
        Assert.That(step.State, Is.EqualTo(StepState.Succeeded));
        Assert.That(step.Attempts.Select(a => (a.WorkerId, a.State)), Is.EqualTo(new[] { ("w1", AttemptState.Lost), ("w2", AttemptState.Succeeded) }));
    }

    [Test]
    public async Task Rescue_FailsTheStep_WhenWorkersKeepDying()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time, new Pipelines.Postgres.Engine.PostgresEngineOptions { MaxRescues = 2 });
        var run = await h.SubmitAsync(OneStep);
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await h.Store.ClaimAsync($"w{i}", ["default"], 1, TimeSpan.FromSeconds(5)), Has.Count.EqualTo(1));
            time.Advance(TimeSpan.FromSeconds(6));
            await h.Store.RescueExpiredLeasesAsync();
        }
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(h.Step(details, "a").Error, Does.Contain("worker lost 3 times"));
    }

    [Test]
    public async Task StateConstraints_RejectARunningStepWithoutLease()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.SubmitAsync(OneStep);
        var ex = Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            h.Database.ExecAsync("UPDATE step_runs SET state = 'running'"));
        Assert.That(ex!.SqlState, Is.EqualTo("23514"), "CHECK constraint");
        ex = Assert.ThrowsAsync<Npgsql.PostgresException>(() => h.Database.ExecAsync("UPDATE step_runs SET state = 'exploded'"));
        Assert.That(ex!.SqlState, Is.EqualTo("23514"));
        ex = Assert.ThrowsAsync<Npgsql.PostgresException>(() => h.Database.ExecAsync("UPDATE runs SET state = 'succeeded'"));
        Assert.That(ex!.SqlState, Is.EqualTo("23514"), "a terminal run needs finalized_at");
    }
}
