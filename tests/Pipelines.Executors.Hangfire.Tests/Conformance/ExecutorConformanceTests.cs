using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Workers;
using Pipelines.Testing;

namespace Pipelines.Executors.Hangfire.Tests.Conformance;

public enum ExecutorKind { Native, Hangfire }

/// <summary>
/// The engine's guarantees, once per executor (how an available step reaches a worker): the same workflows, the
/// same assertions on attempts and outputs, whether the native claim loop or Hangfire delivers the steps. Real
/// PostgreSQL throughout; Hangfire servers run in the test process, except in the kill -9 case, where both
/// executors run as real `pipelines worker --executor …` processes and one is killed mid-step. The database
/// restart case is in <see cref="ExecutorDatabaseRestartTests"/>.
/// </summary>
[TestFixture(ExecutorKind.Native)]
[TestFixture(ExecutorKind.Hangfire)]
public class ExecutorConformanceTests(ExecutorKind kind)
{
    private static readonly HangfireExecutorOptions HangfireOptions = new() { QueuePollInterval = TimeSpan.FromMilliseconds(200) };

    /// <summary>The Hangfire executors the in-process workers made (none for the native claim loop).</summary>
    private sealed class Made
    {
        public readonly List<HangfireExecutor> Executors = new();
        public long Fenced { get { lock (Executors) return Executors.Sum(e => e.Fenced); } }
        public long Enqueued { get { lock (Executors) return Executors.Sum(e => e.Enqueued); } }
    }

    private async Task<Made> StartWorkersAsync(EngineHarness h)
    {
        var made = new Made();
        Func<IWakeups, IStepExecutor>? executor = kind == ExecutorKind.Native ? null : wakeups =>
        {
            var e = new HangfireExecutor(h.Database.DataSource, h.Store, wakeups, HangfireOptions);
            lock (made.Executors) made.Executors.Add(e);
            return e;
        };
        await h.StartWorkersAsync(executor: executor);
        return made;
    }

    /// <summary>What Hangfire does on a redelivery (a retried enqueue, an invisibility timeout): the same job once more.</summary>
    private static void DeliverAgain(EngineHarness h, Guid stepRunId, int attempt, Guid runId, string stepId)
    {
        var client = new BackgroundJobClient(HangfireStorage.Create(h.Database.DataSource, HangfireOptions));
        client.Create(Job.FromExpression<StepJob>(j => j.RunAsync(stepRunId, attempt, runId, stepId, "duplicate")), new EnqueuedState("default"));
    }

    [Test]
    public async Task Claims_AFanOutCompletes_OneAttemptPerStep()
    {
        await using var h = await EngineHarness.CreateAsync();
        var made = await StartWorkersAsync(h);
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
        var executed = details.Steps.Where(s => s.Kind != "for_each" && s.ChildrenTotal is null).ToList();
        Assert.That(executed, Has.Count.EqualTo(6), "the range step and five items");
        Assert.That(executed.Select(s => s.Attempts.Count), Is.All.EqualTo(1));
        Assert.That(executed.SelectMany(s => s.Attempts).Select(a => a.WorkerId), Is.All.EqualTo("w0"));
        var items = details.Steps.Where(s => s.StepId == "each" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex).ToList();
        Assert.That(items.Select(s => s.Outputs?["value"]?.ToJsonString()), Is.EqualTo(new[] { "0", "1", "2", "3", "4" }), "each item's own output");
        if (kind == ExecutorKind.Hangfire) Assert.That(made.Enqueued, Is.GreaterThanOrEqualTo(6), "every attempt went through Hangfire");
    }

    [Test]
    public async Task Retries_ARetryableFailure_IsRetriedByTheEngine()
    {
        await using var h = await EngineHarness.CreateAsync();
        var made = await StartWorkersAsync(h);
        var run = await h.SubmitAsync("""
            name: flaky
            steps:
              - id: a
                uses: fail
                with: { message: boom, retryable: true, succeed_on_attempt: 2 }
                retry: { max_attempts: 3, backoff: { initial: 50ms, factor: 1, max: 50ms, jitter: 0 } }
              - id: b
                uses: fail
                with: { message: always, retryable: true }
                retry: { max_attempts: 2, backoff: { initial: 50ms, factor: 1, max: 50ms, jitter: 0 } }
            """);
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed), "b fails for good");
        Assert.That(h.Step(details, "a").Attempts.Select(x => x.State), Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Succeeded }));
        Assert.That(h.Step(details, "a").State, Is.EqualTo(StepState.Succeeded));
        Assert.That(h.Step(details, "b").Attempts.Select(x => x.State), Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Failed }), "max_attempts, no more");
        Assert.That(h.Step(details, "b").State, Is.EqualTo(StepState.Failed));
        if (kind == ExecutorKind.Hangfire) Assert.That(made.Enqueued, Is.EqualTo(4), "one Hangfire job per attempt; Hangfire's own retry is off");
    }

    [Test]
    public async Task Claims_AnAttemptRunsOnce_LateAndDuplicateClaimsAreFenced()
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
        // Under Hangfire, two extra deliveries of attempt 1 wait in its queue before the dispatcher's own.
        if (kind == ExecutorKind.Hangfire)
        {
            DeliverAgain(h, step.Id, 1, run, "a");
            DeliverAgain(h, step.Id, 1, run, "a");
        }
        var made = await StartWorkersAsync(h);
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "a").Attempts, Has.Count.EqualTo(1), "one attempt, one set of outputs");
        Assert.That(h.Step(details, "a").Outputs?["slept_ms"]?.GetValue<long>(), Is.EqualTo(200));
        // Any executor: a claim of the finished attempt (a second worker that saw it late) is refused.
        Assert.That(await h.Store.ClaimAttemptAsync("late", step.Id, 1, TimeSpan.FromSeconds(30)), Is.Null);
        if (kind == ExecutorKind.Hangfire)
            await Eventually.WaitAsync(() => Task.FromResult(made.Fenced), f => f >= 2, TimeSpan.FromSeconds(20), "both duplicates fenced");
        Assert.That(h.Step(await h.RunAsync(run), "a").Attempts, Has.Count.EqualTo(1), "still one attempt after the fenced claims");
    }

    [Test]
    public async Task Leases_AnAttemptOfADeadWorker_IsRescued_AndRunsOnceMore()
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
        // A worker took attempt 1, claimed it and died: no heartbeat will renew its 1 s lease.
        Assert.That(await h.Store.ClaimAttemptAsync("dead", step.Id, 1, TimeSpan.FromSeconds(1)), Is.Not.Null);
        // Under Hangfire the dead server's job later reappears on another server (its invisibility timeout).
        if (kind == ExecutorKind.Hangfire) DeliverAgain(h, step.Id, 1, run, "a");
        var made = await StartWorkersAsync(h);
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "a").Attempts.Select(x => (x.Attempt, x.WorkerId, x.State)),
            Is.EqualTo(new[] { (1, "dead", AttemptState.Lost), (2, "w0", AttemptState.Succeeded) }), "rescued once, run once more, no duplicate");
        if (kind == ExecutorKind.Hangfire)
            await Eventually.WaitAsync(() => Task.FromResult(made.Fenced), f => f >= 1, TimeSpan.FromSeconds(20), "the late delivery fenced");
    }

    [Test]
    public async Task Approvals_ADecisionResumesTheRun()
    {
        await using var h = await EngineHarness.CreateAsync();
        await StartWorkersAsync(h);
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
        Assert.That(h.Step(await h.RunAsync(run), "promote").Attempts, Is.Empty, "nothing after the approval runs before the decision");
        await h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "bob", "looks good");
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "promote").Inputs?["message"]?.GetValue<string>(), Is.EqualTo("promoted by bob"));
        Assert.That(h.Step(details, "promote").Attempts.Single().WorkerId, Is.EqualTo("w0"));
    }

    [Test]
    public async Task Cancel_StopsARunningStep()
    {
        await using var h = await EngineHarness.CreateAsync();
        await StartWorkersAsync(h);
        var run = await h.SubmitAsync("""
            name: long
            steps:
              - id: a
                uses: sleep
                with: { ms: 60000 }
              - id: b
                uses: log
                needs: a
                with: { message: never }
            """);
        await h.WaitForStateAsync(run, r => h.Step(r, "a").State == StepState.Running, what: "the step to run");
        await h.Store.CancelRunAsync(run, "alice");
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(30));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(h.Step(details, "a").Attempts.Single().State, Is.EqualTo(AttemptState.Cancelled));
        Assert.That(h.Step(details, "b").Attempts, Is.Empty);
    }

    [Test]
    public async Task KillNine_AWorkerProcessKilledMidStep_LosesAndDuplicatesNothing()
    {
        await using var h = await EngineHarness.CreateAsync();
        // Real worker processes of this executor. The lease is long enough that a loaded machine never loses a live
        // worker's lease by a late heartbeat; only the killed worker's lease expires.
        string[] Worker() => ["worker", "--db", h.Database.ConnectionString, "--executor", kind.ToString().ToLowerInvariant(),
            "--concurrency", "4", "--lease", "5s", "--heartbeat", "500ms", "--leader-interval", "200ms", "--poll", "500ms"];
        using var first = CliProcess.Start(Worker());
        // The step outlasts any delay in delivering the kill, so the kill always lands while it runs.
        var run = await h.SubmitAsync("""
            name: crash
            steps:
              - id: slow
                uses: sleep
                with: { ms: 8000 }
              - id: after
                uses: log
                needs: slow
                with: { message: "after ${{ steps.slow.outputs.slept_ms }} ms" }
            """);
        await h.WaitForStateAsync(run, r => h.Step(r, "slow").State == StepState.Running, TimeSpan.FromSeconds(120),
            "the first worker process to start the step");
        first.KillHard();
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));

        using var second = CliProcess.Start(Worker());
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(120));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\n" + second.Output);
        Assert.That(second.Output, Does.Contain($"executor {kind.ToString().ToLowerInvariant()}"), "the process ran this executor");
        var attempts = h.Step(details, "slow").Attempts;
        Assert.That(attempts.Select(a => a.State), Is.EqualTo(new[] { AttemptState.Lost, AttemptState.Succeeded }), "lost once, run once more");
        Assert.That(attempts[0].WorkerId, Is.Not.EqualTo(attempts[1].WorkerId));
        var after = h.Step(details, "after");
        Assert.That(after.Attempts.Select(a => a.State), Is.EqualTo(new[] { AttemptState.Succeeded }), "the successor ran once");
        Assert.That(after.Outputs?["message"]?.GetValue<string>(), Is.EqualTo("after 8000 ms"));
    }
}
