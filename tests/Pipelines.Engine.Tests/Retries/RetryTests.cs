using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Model;
using Pipelines.Engine.Retries;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Retries;

public class RetryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [TestCase(1, 0.5, 10_000)]
    [TestCase(2, 0.5, 20_000)]
    [TestCase(3, 0.5, 40_000)]
    [TestCase(10, 0.5, 60_000)]
    [TestCase(1, 0.0, 8_000)]
    [TestCase(1, 0.999999, 12_000)]
    public void Delay_IsExponential_CappedAndJittered(int attempt, double random, double expectedMs)
    {
        var policy = new RetryPolicy(5, TimeSpan.FromSeconds(10), 2, TimeSpan.FromMinutes(1), 0.2);
        Assert.That(RetryBackoff.Delay(policy, attempt, random).TotalMilliseconds, Is.EqualTo(expectedMs).Within(1));
    }

    private const string Flaky = """
        name: flaky
        steps:
          - id: a
            uses: fail
            with: { message: boom, retryable: true, succeed_on_attempt: 3 }
            retry: { max_attempts: 3, backoff: { initial: 10s, factor: 2, max: 1m, jitter: 0 } }
        """;

    private static JobCompletion Failed(ClaimedJob job, bool retryable) =>
        new(job.StepRunId, job.RunId, job.Attempt, "w", AttemptOutcome.Failed, null, "boom", retryable, "");

    [Test]
    public async Task RetryableFailure_WaitsForBackoff_ThenRunsAgain()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync(Flaky);
        var lease = TimeSpan.FromMinutes(5);

        var job = (await h.Store.ClaimAsync("w", ["default"], 1, lease)).Single();
        Assert.That(await h.Store.CompleteAsync(Failed(job, true)), Is.True);
        Assert.That(h.Step(await h.RunAsync(run), "a").State, Is.EqualTo(StepState.Retrying));

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.That(await h.Store.PromoteDueRetriesAsync(), Is.EqualTo(0), "10 s backoff not over");
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(await h.Store.PromoteDueRetriesAsync(), Is.EqualTo(1));

        job = (await h.Store.ClaimAsync("w", ["default"], 1, lease)).Single();
        Assert.That(job.Attempt, Is.EqualTo(2));
        await h.Store.CompleteAsync(Failed(job, true));
        time.Advance(TimeSpan.FromSeconds(19.9));
        Assert.That(await h.Store.PromoteDueRetriesAsync(), Is.EqualTo(0), "second backoff doubles to 20 s");
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(await h.Store.PromoteDueRetriesAsync(), Is.EqualTo(1));

        job = (await h.Store.ClaimAsync("w", ["default"], 1, lease)).Single();
        await h.Store.CompleteAsync(Failed(job, true));
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed), "max_attempts 3 used up");
        Assert.That(h.Step(details, "a").Attempts, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task NonRetryableFailure_IsNotRetried()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync(Flaky);
        var job = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(1))).Single();
        await h.Store.CompleteAsync(Failed(job, retryable: false));
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(details.Run.Error, Does.Contain("step 'a' failed: boom"));
    }

    [Test]
    public async Task GateVerdict_StopsTheRun_AndIsNeverRetried()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: gate
            steps:
              - id: gate
                uses: fail
                with: { message: "null ratio 0.4 > 0.1", verdict: true }
                retry: 5
              - id: after
                uses: log
                needs: gate
                with: { message: never }
            """);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(details.Run.Error, Is.EqualTo("stopped by step 'gate': null ratio 0.4 > 0.1"));
        Assert.That(h.Step(details, "gate").Attempts, Has.Count.EqualTo(1));
        Assert.That(h.Step(details, "gate").Outputs, Is.Not.Null, "a verdict keeps the outputs it returned");
        Assert.That(h.Step(details, "after").State, Is.EqualTo(StepState.Skipped));
    }

    [Test]
    public async Task Worker_RetriesRetryableErrors_UntilSuccess()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: flaky2
            steps:
              - id: a
                uses: fail
                with: { message: boom, retryable: true, succeed_on_attempt: 3 }
                retry: { max_attempts: 4, backoff: { initial: 50ms, factor: 2, max: 1s, jitter: 0.1 } }
            """);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "a").Attempts.Select(a => a.State),
            Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Failed, AttemptState.Succeeded }));
    }

    [Test]
    public async Task Timeout_StopsTheAttempt_AndFailsWhenNoRetriesLeft()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: slow
            steps:
              - id: a
                uses: sleep
                with: { ms: 30000 }
                timeout: 300ms
            """);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(25));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed));
        var attempt = h.Step(details, "a").Attempts.Single();
        Assert.That(attempt.State, Is.EqualTo(AttemptState.TimedOut));
        // The activity would sleep 30 s; ending well before that proves the timeout stopped it.
        Assert.That((attempt.EndedAt!.Value - attempt.StartedAt).TotalSeconds, Is.LessThan(20));
    }
}
