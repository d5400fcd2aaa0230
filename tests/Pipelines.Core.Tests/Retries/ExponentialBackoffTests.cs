using Pipelines.Core.Retries;

namespace Pipelines.Core.Tests.Retries;

public class ExponentialBackoffTests
{
    private static readonly ExponentialBackoff B = new(TimeSpan.FromMilliseconds(100), 2, TimeSpan.FromSeconds(1), 0.2);

    [TestCase(1, 0.5, 100)]
    [TestCase(2, 0.5, 200)]
    [TestCase(4, 0.5, 800)]
    [TestCase(5, 0.5, 1000)]
    [TestCase(50, 0.5, 1000)]
    [TestCase(1, 0.0, 80)]
    [TestCase(5, 0.999999, 1200)]
    public void Delay_GrowsByTheFactor_IsCapped_AndJitteredBothWays(int failedAttempt, double random, double expectedMs) =>
        Assert.That(B.Delay(failedAttempt, random).TotalMilliseconds, Is.EqualTo(expectedMs).Within(1));

    [Test]
    public void NoJitter_IsExact() =>
        Assert.That(new ExponentialBackoff(TimeSpan.FromSeconds(1), 3, TimeSpan.FromMinutes(1), 0).Delay(3, 0.123), Is.EqualTo(TimeSpan.FromSeconds(9)));
}
