namespace Pipelines.Storage.Azure;

/// <summary>
/// When to retry a Blob request and how long to wait. The delay is a pure function of the attempt, the
/// service's Retry-After and a random draw, so tests can check it exactly.
/// </summary>
public sealed record RetryPolicy
{
    public int MaxAttempts { get; init; } = 6;
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    public double Jitter { get; init; } = 0.2;
    /// <summary>A try that takes longer than this is abandoned and retried (a timeout).</summary>
    public TimeSpan TryTimeout { get; init; } = TimeSpan.FromSeconds(100);
    /// <summary>Upper bound on an honoured Retry-After, so a misbehaving server cannot park us for hours.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The wait before try <paramref name="nextAttempt"/> (2 = first retry); <paramref name="random"/> in [0, 1).</summary>
    public TimeSpan Delay(int nextAttempt, TimeSpan? retryAfter, double random)
    {
        if (retryAfter is { } ra) return ra < TimeSpan.Zero ? TimeSpan.Zero : ra > MaxRetryAfter ? MaxRetryAfter : ra;
        var exp = InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, nextAttempt - 2));
        var capped = Math.Min(exp, MaxDelay.TotalMilliseconds);
        var factor = 1 + Jitter * (2 * random - 1);
        return TimeSpan.FromMilliseconds(capped * factor);
    }

    public static bool IsRetryableStatus(int status) => status is 408 or 429 or 500 or 502 or 503 or 504;
}
