namespace Pipelines.Api.Domain;

/// <summary>
/// Throttling of failed logins per client address: the first few failures are free, then each further one doubles
/// the wait (capped), so guessing keys from one address becomes hopeless while a typo costs nothing.
/// </summary>
public static class LoginThrottle
{
    public const int FreeFailures = 5;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    /// <summary>Failures older than this are forgotten.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    /// <summary>Until when the client must wait before its next attempt, or null if it may try now.</summary>
    public static DateTimeOffset? BlockedUntil(int failures, DateTimeOffset lastFailure, DateTimeOffset now)
    {
        if (failures < FreeFailures || now - lastFailure > Window) return null;
        var exponent = Math.Min(failures - FreeFailures, 20);
        var delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << exponent));
        var until = lastFailure + delay;
        return until > now ? until : null;
    }
}
