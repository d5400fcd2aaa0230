using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Testing;

namespace Pipelines.Executors.Hangfire.Tests;

/// <summary>
/// The engine's key conformance cases with steps delivered by Hangfire (real PostgreSQL, a real Hangfire server in
/// the test process): runs complete with fan-out, retries follow the engine's policy, duplicate deliveries are fenced,
/// and an attempt whose server died is rescued by the engine's lease.
/// </summary>
public class HangfireExecutorTests
{
    private static readonly HangfireExecutorOptions Options = new() { QueuePollInterval = TimeSpan.FromMilliseconds(200) };

    private sealed class Executors
    {
        public readonly List<HangfireExecutor> Made = new();
        public Func<Pipelines.Engine.Storage.IWakeups, IStepExecutor> For(EngineHarness h) => wakeups =>
        {
            var e = new HangfireExecutor(h.Database.DataSource, h.Store, wakeups, Options);
            lock (Made) Made.Add(e);
            return e;
        };
        public long Fenced => Made.Sum(e => e.Fenced);
        public long Enqueued => Made.Sum(e => e.Enqueued);
    }

    private static void Deliver(EngineHarness h, Guid stepRunId, int attempt, Guid runId, string stepId)
    {
        // What Hangfire does on a redelivery (a retried enqueue, an invisibility timeout): the same job once more.
        var client = new BackgroundJobClient(HangfireStorage.Create(h.Database.DataSource, Options));
        client.Create(Job.FromExpression<StepJob>(j => j.RunAsync(stepRunId, attempt, runId, stepId, "duplicate")), new EnqueuedState("default"));
    }

    [Test]
    public async Task Workflow_WithFanOut_CompletesOnHangfire_OneAttemptPerStep()
    {
        await using var h = await EngineHarness.CreateAsync();
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var run = await h.SubmitAsync("""
            name: fan
            steps:
              - id: r
                uses: range
                with: { count: 5 }
              - id: each
                uses: noop
                cache: false
                for_each: { items: "${{ steps.r.outputs.items }}" }
                with: { value: "${{ item }}" }
            """);
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        var attempts = details.Steps.Where(s => s.Kind != "for_each" && s.ChildrenTotal is null).ToList();
        Assert.That(attempts, Has.Count.EqualTo(6), "the range step and five items");
        Assert.That(attempts.Select(s => s.Attempts.Count), Is.All.EqualTo(1));
        Assert.That(attempts.SelectMany(s => s.Attempts).Select(a => a.WorkerId), Is.All.EqualTo("w0"));
        Assert.That(executors.Enqueued, Is.GreaterThanOrEqualTo(6), "every attempt went through Hangfire");
    }

    [Test]
    public async Task RetryableFailure_IsRetriedByTheEngine_AsANewHangfireJob()
    {
        await using var h = await EngineHarness.CreateAsync();
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var run = await h.SubmitAsync("""
            name: flaky
            steps:
              - id: a
                uses: fail
                with: { message: boom, retryable: true, succeed_on_attempt: 2 }
                retry: { max_attempts: 3, backoff: { initial: 50ms, factor: 1, max: 50ms, jitter: 0 } }
            """);
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        var a = h.Step(details, "a");
        Assert.That(a.Attempts.Select(x => x.State), Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Succeeded }));
        Assert.That(executors.Enqueued, Is.EqualTo(2), "one Hangfire job per attempt; Hangfire's own retry is off");
    }

    [Test]
    public async Task DuplicateDeliveries_RunTheAttemptOnce()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: once
            steps:
              - id: a
                uses: sleep
                with: { ms: 200 }
            """);
        var step = h.Step(await h.RunAsync(run), "a");
        // Two extra deliveries of attempt 1 before the dispatcher's own.
        Deliver(h, step.Id, 1, run, "a");
        Deliver(h, step.Id, 1, run, "a");
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "a").Attempts, Has.Count.EqualTo(1), "one attempt, one set of outputs");
        Assert.That(h.Step(details, "a").Outputs?["slept_ms"]?.GetValue<long>(), Is.EqualTo(200));
        await Eventually.WaitAsync(() => Task.FromResult(executors.Fenced), f => f >= 2, TimeSpan.FromSeconds(20), "both duplicates fenced");
    }

    [Test]
    public async Task AttemptOfADeadServer_IsRescuedByTheLease_AndItsLateDeliveryIsFenced()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: rescue
            steps:
              - id: a
                uses: sleep
                with: { ms: 100 }
            """);
        var step = h.Step(await h.RunAsync(run), "a");
        // A Hangfire server took attempt 1, claimed it, and died (kill -9): no heartbeat will renew its 1 s lease.
        Assert.That(await h.Store.ClaimAttemptAsync("dead", step.Id, 1, TimeSpan.FromSeconds(1)), Is.Not.Null);
        // Hangfire later hands the dead server's job to another server (its invisibility timeout).
        Deliver(h, step.Id, 1, run, "a");
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        var attempts = h.Step(details, "a").Attempts;
        Assert.That(attempts.Select(x => (x.Attempt, x.WorkerId, x.State)),
            Is.EqualTo(new[] { (1, "dead", AttemptState.Lost), (2, "w0", AttemptState.Succeeded) }), "rescued once, run once more, no duplicate");
        await Eventually.WaitAsync(() => Task.FromResult(executors.Fenced), f => f >= 1, TimeSpan.FromSeconds(20), "the late delivery fenced");
    }

    [Test]
    public async Task Approval_ResumesTheRun_OnHangfire()
    {
        await using var h = await EngineHarness.CreateAsync();
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var run = await h.SubmitAsync("""
            name: gated
            steps:
              - id: before
                uses: log
                with: { message: candidate ready }
              - id: approve
                uses: approval
                needs: before
                with: { summary: { auc: 0.91 }, timeout: 1h }
              - id: promote
                uses: log
                needs: approve
                with: { message: "promoted by ${{ steps.approve.outputs.decided_by }}" }
            """, user: "alice");
        await h.WaitForStateAsync(run, r => h.Step(r, "approve").State == StepState.Waiting, what: "the approval to wait");
        await h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "bob", "looks good");
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "promote").Inputs?["message"]?.GetValue<string>(), Is.EqualTo("promoted by bob"));
        Assert.That(h.Step(details, "promote").Attempts.Single().WorkerId, Is.EqualTo("w0"));
    }

    [Test]
    public async Task Cancel_StopsARunningStep_OnHangfire()
    {
        await using var h = await EngineHarness.CreateAsync();
        var executors = new Executors();
        await h.StartWorkersAsync(executor: executors.For(h));
        var run = await h.SubmitAsync("""
            name: long
            steps:
              - id: a
                uses: sleep
                with: { ms: 60000 }
            """);
        await h.WaitForStateAsync(run, r => h.Step(r, "a").State == StepState.Running, what: "the step to run");
        await h.Store.CancelRunAsync(run, "alice");
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(20));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(h.Step(details, "a").Attempts.Single().State, Is.EqualTo(AttemptState.Cancelled));
    }
}
