using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Orchestration;

public class RunFlowTests
{
    [Test]
    public async Task HelloExample_RunsToSuccess_WithFanInInItemOrder()
    {
        await using var h = await EngineHarness.CreateAsync();
        var yaml = await File.ReadAllTextAsync(Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "hello.yaml"));
        var run = await h.SubmitAsync(yaml, new JsonObject { ["count"] = 4 });
        await h.StartWorkersAsync(2);
        var details = await h.WaitForEndAsync(run);

        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error);
        Assert.That(h.Step(details, "summary").Outputs!["message"]!.GetValue<string>(),
            Is.EqualTo("hello #1 (index 0); hello #2 (index 1); hello #3 (index 2); hello #4 (index 3)"));
        Assert.That(details.Steps.Count(s => s.StepId == "greet" && s.ItemIndex is not null), Is.EqualTo(4));
        Assert.That(details.Steps.All(s => s.Attempts.Count == (s.Kind == "log" && s.ItemIndex is null && s.StepId == "greet" ? 0 : 1)),
            "each step executed exactly once (the fan-out parent itself runs nothing)");
    }

    [Test]
    public async Task ForEach_NeverHasMoreThanMaxParallelItemsOut()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync("""
            name: fan
            steps:
              - id: r
                uses: range
                with: { count: 5 }
              - id: each
                uses: log
                for_each: { items: "${{ steps.r.outputs.items }}", max_parallel: 2 }
                with: { message: "item ${{ item }}" }
            """);
        var lease = TimeSpan.FromMinutes(1);
        var r = (await h.Store.ClaimAsync("w", ["default"], 10, lease)).Single();
        await h.Store.CompleteAsync(new JobCompletion(r.StepRunId, r.RunId, 1, "w", AttemptOutcome.Succeeded,
            new JsonObject { ["items"] = new JsonArray(0, 1, 2, 3, 4) }, null, false, ""));

        var order = new List<int>();
        while (true)
        {
            var jobs = await h.Store.ClaimAsync("w", ["default"], 10, lease);
            if (jobs.Count == 0) break;
            Assert.That(jobs, Has.Count.LessThanOrEqualTo(2), "max_parallel");
            foreach (var j in jobs)
            {
                order.Add(j.ItemIndex!.Value);
                await h.Store.CompleteAsync(new JobCompletion(j.StepRunId, j.RunId, 1, "w", AttemptOutcome.Succeeded,
                    new JsonObject { ["message"] = j.Inputs["message"]!.GetValue<string>() }, null, false, ""));
            }
        }
        var details = await h.RunAsync(run);
        Assert.That(order.Order(), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "each").Outputs!["message"]!.AsArray().Select(n => n!.GetValue<string>()),
            Is.EqualTo(new[] { "item 0", "item 1", "item 2", "item 3", "item 4" }));
    }

    [Test]
    public async Task FalseCondition_SkipsTheStepAndItsDependents_AndTheRunSucceeds()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: cond
            parameters:
              go: { type: boolean, default: false }
            steps:
              - id: a
                uses: log
                if: ${{ params.go }}
                with: { message: a }
              - id: b
                uses: log
                with: { message: "${{ steps.a.outputs.message }}" }
              - id: c
                uses: log
                with: { message: c }
            """);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(h.Step(details, "a").State, Is.EqualTo(StepState.Skipped));
        Assert.That(h.Step(details, "a").Error, Is.EqualTo("condition is false"));
        Assert.That(h.Step(details, "b").State, Is.EqualTo(StepState.Skipped));
        Assert.That(h.Step(details, "b").Error, Is.EqualTo("upstream step 'a' skipped"));
        Assert.That(h.Step(details, "c").State, Is.EqualTo(StepState.Succeeded));
    }

    [Test]
    public async Task FailedStep_SkipsDependents_AndRetryRerunsOnlyWhatFailed()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.Database.ExecAsync("SELECT 1");
        var run = await h.SubmitAsync("""
            name: retry-run
            parameters:
              attempt_to_pass: { type: integer, default: 2 }
            steps:
              - id: ok
                uses: log
                with: { message: fine }
              - id: flaky
                uses: fail
                needs: ok
                with: { message: broken, succeed_on_attempt: "${{ params.attempt_to_pass }}" }
              - id: after
                uses: log
                needs: flaky
                with: { message: done }
            """);
        await h.StartWorkersAsync();
        var first = await h.WaitForEndAsync(run);
        Assert.That(first.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(h.Step(first, "after").State, Is.EqualTo(StepState.Skipped));

        await h.Store.RetryRunAsync(run, "alice");
        var second = await h.WaitForEndAsync(run);
        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded), second.Run.Error);
        Assert.That(h.Step(second, "ok").Attempts, Has.Count.EqualTo(1), "succeeded steps are not re-run");
        Assert.That(h.Step(second, "flaky").Attempts.Select(a => a.State), Is.EqualTo(new[] { AttemptState.Failed, AttemptState.Succeeded }),
            "both attempts kept in history");
        Assert.That(h.Step(second, "after").State, Is.EqualTo(StepState.Succeeded));
    }

    [Test]
    public async Task Cancel_StopsARunningActivityWithinASecond()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: long
            steps:
              - id: nap
                uses: sleep
                with: { ms: 60000 }
              - id: after
                uses: log
                needs: nap
                with: { message: never }
            """);
        // A heartbeat a minute apart: only the pushed cancel (NOTIFY) can stop the activity quickly.
        await h.StartWorkersAsync(options: new Pipelines.Engine.Workers.WorkerOptions { HeartbeatInterval = TimeSpan.FromMinutes(1), Lease = TimeSpan.FromMinutes(2) });
        await h.WaitForStateAsync(run, r => h.Step(r, "nap").State == StepState.Running, what: "nap to start");

        var started = DateTime.UtcNow;
        await h.Store.CancelRunAsync(run, "bob");
        var details = await h.WaitForEndAsync(run, TimeSpan.FromSeconds(30));
        var elapsed = DateTime.UtcNow - started;

        Assert.That(details.Run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(h.Step(details, "nap").Attempts.Single().State, Is.EqualTo(AttemptState.Cancelled));
        Assert.That(h.Step(details, "after").State, Is.EqualTo(StepState.Cancelled));
        // Typically well under a second; the bound only has to separate the push path from the minute-long heartbeat.
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the cancel was pushed to the worker, not picked up by a heartbeat");
    }

    [Test]
    public async Task ExpressionErrorAtRunTime_FailsTheStepWithTheMessage()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: bad-fanout
            steps:
              - id: a
                uses: log
                with: { message: "42" }
              - id: b
                uses: log
                for_each: { items: "${{ fromJson(steps.a.outputs.message) }}" }
                with: { message: "${{ item }}" }
            """);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(h.Step(details, "b").Error, Is.EqualTo("for_each.items must be a list, got integer"));
    }

    [Test]
    public async Task RetryOfAFailedFanOut_RerunsOnlyFailedItems_WithinMaxParallel()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: fan-retry
            steps:
              - id: r
                uses: range
                with: { count: 5 }
              - id: each
                uses: fail
                for_each: { items: "${{ steps.r.outputs.items }}", max_parallel: 2 }
                with: { message: "item ${{ item }} broke", succeed_on_attempt: 2 }
            """);
        var lease = TimeSpan.FromMinutes(1);
        async Task DrainAsync(Func<ClaimedJob, JobCompletion> complete)
        {
            while (true)
            {
                var jobs = await h.Store.ClaimAsync("w", ["default"], 10, lease);
                if (jobs.Count == 0) return;
                Assert.That(jobs.Count(j => j.StepId == "each"), Is.LessThanOrEqualTo(2), "max_parallel");
                foreach (var j in jobs) await h.Store.CompleteAsync(complete(j));
            }
        }
        JobCompletion Outcome(ClaimedJob j) => j.StepId == "r"
            ? new(j.StepRunId, j.RunId, j.Attempt, "w", AttemptOutcome.Succeeded, new JsonObject { ["items"] = new JsonArray(0, 1, 2, 3, 4) }, null, false, "")
            : j.ItemIndex is 1 or 2 or 3 && j.Attempt == 1
                ? new(j.StepRunId, j.RunId, j.Attempt, "w", AttemptOutcome.Failed, null, "broke", false, "")
                : new(j.StepRunId, j.RunId, j.Attempt, "w", AttemptOutcome.Succeeded, new JsonObject { ["attempt"] = j.Attempt }, null, false, "");

        await DrainAsync(Outcome);
        var failed = await h.RunAsync(run);
        Assert.That(failed.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(h.Step(failed, "each").Error, Does.StartWith("3 of 5 items failed; item 1: broke"));

        await h.Store.RetryRunAsync(run, "alice");
        await DrainAsync(Outcome);
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));
        var items = details.Steps.Where(s => s.StepId == "each" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex).ToList();
        Assert.That(items.Select(i => i.Attempts.Count), Is.EqualTo(new[] { 1, 2, 2, 2, 1 }), "only the failed items ran again");
        Assert.That(h.Step(details, "each").Outputs!["attempt"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { 1, 2, 2, 2, 1 }));
    }

    [Test]
    public async Task Submit_RejectsAnInvalidDefinitionOrParameters_AndWritesNothing()
    {
        await using var h = await EngineHarness.CreateAsync();
        var bad = Pipelines.Core.Definitions.WorkflowParser.Parse("""
            name: bad
            steps:
              - id: a
                uses: log
            """, "bad.yaml");
        Assert.ThrowsAsync<Pipelines.Core.Validation.WorkflowValidationException>(() =>
            h.Store.SubmitRunAsync(new SubmitRun(bad, new JsonObject(), "alice")));

        var typed = h.Load("""
            name: typed
            parameters:
              n: { type: integer, maximum: 3, default: 1 }
            steps:
              - id: a
                uses: range
                with: { count: "${{ params.n }}" }
            """);
        var ex = Assert.ThrowsAsync<Pipelines.Core.Validation.WorkflowValidationException>(() =>
            h.Store.SubmitRunAsync(new SubmitRun(typed, new JsonObject { ["n"] = 9 }, "alice")));
        Assert.That(ex!.Message, Does.Contain("params.n"));
        Assert.That(await h.Database.ScalarAsync<long>("SELECT count(*) FROM runs"), Is.EqualTo(0));
    }
}
