namespace Pipelines.Executors.Hangfire.Tests;

/// <summary>Queue mapping and job names, without a database.</summary>
public class HangfireQueuesTests
{
    [Test]
    public void UnmappedQueue_KeepsItsName() => Assert.That(HangfireQueues.Map("gpu-a", null), Is.EqualTo("gpu-a"));

    [Test]
    public void MappedQueue_UsesTheMapping() =>
        Assert.That(HangfireQueues.Map("GPU", new Dictionary<string, string> { ["GPU"] = "ml_gpu" }), Is.EqualTo("ml_gpu"));

    [Test]
    public void QueueHangfireWouldReject_IsAnErrorNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => HangfireQueues.Map("Heavy.Jobs", null))!;
        Assert.That(e.Message, Does.Contain("'Heavy.Jobs'").And.Contain("--hangfire-queue"));
    }

    [Test]
    public void Mapping_ParsesPairs_AndNamesABadOne()
    {
        Assert.That(HangfireQueues.ParseMapping(["default=pipelines", "gpu = ml_gpu"]),
            Is.EquivalentTo(new Dictionary<string, string> { ["default"] = "pipelines", ["gpu"] = "ml_gpu" }));
        Assert.That(Assert.Throws<ArgumentException>(() => HangfireQueues.ParseMapping(["gpu"]))!.Message, Does.Contain("'gpu'"));
    }

    [Test]
    public void DisplayName_NamesRunStepItemAndAttempt()
    {
        var run = Guid.Parse("0b6a3f4e-0000-0000-0000-000000000001");
        Assert.That(HangfireQueues.DisplayName("nightly", run, "train", 3, 2), Is.EqualTo($"nightly run {run} · step train[3] · attempt 2"));
    }

    [Test]
    public void Schema_MustBeAPlainIdentifier() =>
        Assert.Throws<ArgumentException>(() => HangfireStorage.ValidateSchema("hangfire; drop table runs"));
}
