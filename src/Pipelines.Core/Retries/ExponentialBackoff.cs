namespace Pipelines.Core.Retries;

/// <summary>
/// The one retry-delay rule of the code base: exponential from <see cref="Initial"/> by <see cref="Factor"/>, capped at
/// <see cref="Max"/>, spread by ±<see cref="Jitter"/> so that many callers failing together do not retry together.
/// Pure: the caller supplies the randomness. Used for step retries, the worker's database reconnects and the
/// MLflow client.
/// </summary>
public sealed record ExponentialBackoff(TimeSpan Initial, double Factor, TimeSpan Max, double Jitter)
{
    /// <param name="failedAttempt">1 for the first failure.</param>
    /// <param name="unitRandom">A value in [0, 1) from the caller's random source.</param>
    public TimeSpan Delay(int failedAttempt, double unitRandom)
    {
        var exponent = Math.Max(0, failedAttempt - 1);
        var raw = Initial.TotalMilliseconds * Math.Pow(Factor, exponent);
        var capped = Math.Min(raw, Max.TotalMilliseconds);
        var jittered = capped * (1 + Jitter * (2 * unitRandom - 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, Math.Round(jittered)));
    }
}
