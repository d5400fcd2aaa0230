using Pipelines.Core.Definitions;
using Pipelines.Core.Retries;

namespace Pipelines.Engine.Retries;

/// <summary>The delay before a step's retry: its workflow retry policy read as an <see cref="ExponentialBackoff"/>.</summary>
public static class RetryBackoff
{
    /// <param name="failedAttempt">1 for the first attempt.</param>
    /// <param name="unitRandom">A value in [0, 1) from the caller's random source.</param>
    public static TimeSpan Delay(RetryPolicy policy, int failedAttempt, double unitRandom) =>
        new ExponentialBackoff(policy.InitialDelay, policy.Factor, policy.MaxDelay, policy.Jitter).Delay(failedAttempt, unitRandom);
}
