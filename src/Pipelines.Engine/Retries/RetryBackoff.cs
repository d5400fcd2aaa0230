using Pipelines.Core.Definitions;

namespace Pipelines.Engine.Retries;

/// <summary>The delay before a retry: a pure function of the attempt that failed, with injected randomness.</summary>
public static class RetryBackoff
{
    /// <param name="failedAttempt">1 for the first attempt.</param>
    /// <param name="unitRandom">A value in [0, 1) from the caller's random source.</param>
    public static TimeSpan Delay(RetryPolicy policy, int failedAttempt, double unitRandom)
    {
        var exponent = Math.Max(0, failedAttempt - 1);
        var raw = policy.InitialDelay.TotalMilliseconds * Math.Pow(policy.Factor, exponent);
        var capped = Math.Min(raw, policy.MaxDelay.TotalMilliseconds);
        // Spread retries of many steps failing together by ±jitter around the nominal delay.
        var jittered = capped * (1 + policy.Jitter * (2 * unitRandom - 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, Math.Round(jittered)));
    }
}
