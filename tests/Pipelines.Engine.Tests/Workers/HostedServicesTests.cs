using Microsoft.Extensions.Logging.Abstractions;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Postgres.Engine;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Workers;

/// <summary>Worker and leader as hosted services of their own, each working without the other.</summary>
public class HostedServicesTests
{
    private const string AdvisoryLocksHeld =
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

    [Test]
    public async Task TheLeaderService_LeadsWhileStarted_AndHandsLeadershipOnOnceStopped()
    {
        await using var h = await EngineHarness.CreateAsync();
        using var leader = new LeaderHostedService(stop => Task.FromResult(
            PostgresEngineHost.StartLeader(h.Database.DataSource, h.Store, TimeSpan.FromMilliseconds(50), NullLoggerFactory.Instance, stop)));
        await leader.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => h.Database.ScalarAsync<long>(AdvisoryLocksHeld), n => n == 1, TimeSpan.FromSeconds(20), "the service to lead");
        await using var other = new PostgresLeaderElection(h.Database.DataSource);
        Assert.That(await other.TryLeadAsync(), Is.False, "the started service leads");

        await leader.StopAsync(CancellationToken.None);
        Assert.That(leader.Completion.IsCompletedSuccessfully, Is.True);
        Assert.That(await other.TryLeadAsync(), Is.True, "a stopped leader hands leadership on at once");
    }

    [Test]
    public async Task TheWorkerService_RunsStepsWithoutALeaderInItsProcess_AndDrainsOnStop()
    {
        await using var h = await EngineHarness.CreateAsync();
        using var worker = new WorkerHostedService(stop => PostgresEngineHost.StartWorkerAsync(h.Database.DataSource, h.Store, h.Registry,
            new WorkerOptions(), NullLoggerFactory.Instance, stop));
        await worker.StartAsync(CancellationToken.None);
        var runId = await h.SubmitAsync("""
            name: hosted
            steps:
              - id: a
                uses: log
                with: { message: first }
              - id: b
                uses: log
                needs: [a]
                with: { message: second }
            """);
        var run = await Eventually.WaitAsync(() => h.RunAsync(runId), r => r.Run.State is RunState.Succeeded or RunState.Failed,
            TimeSpan.FromSeconds(30), "the run to end");
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(await h.Database.ScalarAsync<long>(AdvisoryLocksHeld), Is.Zero, "no leader ran in this process");

        await worker.StopAsync(CancellationToken.None);
        Assert.That(worker.Completion.IsCompletedSuccessfully, Is.True);
        Assert.That(await h.Database.ScalarAsync<long>("SELECT count(*) FROM workers WHERE stopped_at IS NULL"), Is.Zero, "the stopped worker unregistered");
    }
}
