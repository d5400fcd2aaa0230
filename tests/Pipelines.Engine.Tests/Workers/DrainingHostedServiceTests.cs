using Pipelines.Engine.Workers;

namespace Pipelines.Engine.Tests.Workers;

/// <summary>The engine's hosted services (worker, leader): started with their host, stopped with it, never cut short while draining.</summary>
public class DrainingHostedServiceTests
{
    /// <summary>Stands for worker and leader: started, then running until their token fires, then draining until released.</summary>
    private sealed class FakeEngine
    {
        public CancellationToken Token;
        public readonly TaskCompletionSource Drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Starts;

        public Task<Task> StartAsync(CancellationToken stop)
        {
            Starts++;
            Token = stop;
            return Task.FromResult(RunAsync(stop));
        }

        private async Task RunAsync(CancellationToken stop)
        {
            try { await Task.Delay(Timeout.Infinite, stop); }
            catch (OperationCanceledException) { }
            await Drained.Task;
        }
    }

    [Test]
    public async Task Stop_CancelsTheWork_AndReturnsOnlyOnceItHasDrained_EvenWhenTheHostStopsWaiting()
    {
        var engine = new FakeEngine();
        using var service = new WorkerHostedService(engine.StartAsync);
        await service.StartAsync(CancellationToken.None);
        Assert.That(engine.Starts, Is.EqualTo(1));
        Assert.That(engine.Token.IsCancellationRequested, Is.False, "running until stopped");

        // The host's shutdown timeout has already passed: the service still waits for the drain.
        var stopping = service.StopAsync(new CancellationToken(canceled: true));
        Assert.That(engine.Token.IsCancellationRequested, Is.True, "asked to stop");
        await Task.Delay(100);
        Assert.That(stopping.IsCompleted, Is.False, "a step still draining is not abandoned");
        engine.Drained.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(service.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task AHostGivingUpOnStartUp_StopsTheWorkItStarted_AndAServiceStartsOnce()
    {
        var engine = new FakeEngine();
        using var service = new WorkerHostedService(async stop =>
        {
            var running = await engine.StartAsync(stop);
            await Task.Yield();
            return running;
        });
        using var giveUp = new CancellationTokenSource();
        await giveUp.CancelAsync();
        await service.StartAsync(giveUp.Token);
        Assert.That(engine.Token.IsCancellationRequested, Is.True, "the host gave up: the work it started is stopped");
        Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync(CancellationToken.None));
        engine.Drained.SetResult();
        await service.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task StopBeforeStart_DoesNothing()
    {
        var engine = new FakeEngine();
        using var service = new WorkerHostedService(engine.StartAsync);
        await service.StopAsync(CancellationToken.None);
        Assert.That(engine.Starts, Is.Zero);
    }
}
