using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Workers;

public class LeaseLossTests
{
    [Test]
    public async Task LostLease_CancelsTheRunningActivity_AndItsResultIsNotRecorded()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: stolen
            steps:
              - id: nap
                uses: sleep
                with: { ms: 60000 }
            """);
        await h.StartWorkersAsync(options: new WorkerOptions { Lease = TimeSpan.FromSeconds(30), HeartbeatInterval = TimeSpan.FromMilliseconds(200) });
        await h.WaitForStateAsync(run, r => h.Step(r, "nap").State == StepState.Running, what: "nap to start");

        // As if the leader had given the job to another worker while this one was partitioned away.
        await h.Database.ExecAsync("UPDATE step_runs SET lease_owner = 'someone-else' WHERE state = 'running'");

        await Eventually.WaitAsync(() => Task.FromResult(string.Join("\n", h.Log)), log => log.Contains("lease of nap"),
            TimeSpan.FromSeconds(20), "the worker to notice the lost lease");
        var step = h.Step(await h.RunAsync(run), "nap");
        Assert.That(step.State, Is.EqualTo(StepState.Running), "the new owner's claim is untouched");
        Assert.That(step.Attempts.Single().State, Is.EqualTo(AttemptState.Running), "the abandoned attempt recorded nothing");
        Assert.That(string.Join("\n", h.Log), Does.Contain("attempt 1 abandoned"));
    }
}
