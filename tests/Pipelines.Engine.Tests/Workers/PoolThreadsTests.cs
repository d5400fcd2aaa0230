using Pipelines.Engine.Workers;

namespace Pipelines.Engine.Tests.Workers;

/// <summary>A worker's slots must not starve the rest of its process (heartbeats, the leader, a server's requests).</summary>
public class PoolThreadsTests
{
    [Test]
    public void EverySlot_GetsAThread_OnTopOfTwoPerCore_AndTheMinimumIsNeverLowered()
    {
        Assert.That(Worker.MinimumPoolThreads(concurrency: 4, processors: 2, current: 2), Is.EqualTo(8));
        Assert.That(Worker.MinimumPoolThreads(concurrency: 1, processors: 16, current: 2), Is.EqualTo(33));
        Assert.That(Worker.MinimumPoolThreads(concurrency: 4, processors: 2, current: 64), Is.EqualTo(64));
    }
}
