using Pipelines.Core.Definitions;

namespace Pipelines.Core.Scheduling;

/// <summary>The fire times a scheduler must act on now, after a gap since <c>lastFire</c>.</summary>
public sealed record FirePlan(IReadOnlyList<DateTimeOffset> FireNow, DateTimeOffset? Next);

/// <summary>Decides which fire times of a schedule to run now. A pure function of its arguments: no clock reads.</summary>
public static class CatchUpPlanner
{
    /// <summary>How late a fire time may be and still count as "just due" under <see cref="CatchUpPolicy.Skip"/>.</summary>
    public static readonly TimeSpan DefaultMisfireThreshold = TimeSpan.FromMinutes(1);

    /// <summary>Plans the fire times due in (<paramref name="lastFire"/> ?? <paramref name="createdAt"/>, <paramref name="now"/>].</summary>
    /// <param name="lastFire">The last fire time acted on; <c>null</c> if the schedule never fired. A value before
    /// <paramref name="createdAt"/> is ignored: a schedule never fires for times before it existed.</param>
    /// <param name="policy">
    /// <see cref="CatchUpPolicy.Skip"/>: only due times no older than <paramref name="misfireThreshold"/> fire (normally
    /// the one just due), the rest are dropped. <see cref="CatchUpPolicy.Latest"/>: only the most recent due time fires.
    /// <see cref="CatchUpPolicy.All"/>: due times fire oldest first, at most <paramref name="maxCatchUp"/> of them,
    /// keeping the most recent.</param>
    /// <param name="misfireThreshold">Defaults to <see cref="DefaultMisfireThreshold"/> (one minute).</param>
    /// <returns>The fire times to run now, oldest first, and the first fire time strictly after <paramref name="now"/>.</returns>
    public static FirePlan Plan(CronExpression cron, TimeZoneInfo zone, DateTimeOffset? lastFire, DateTimeOffset createdAt,
        DateTimeOffset now, CatchUpPolicy policy, int maxCatchUp, TimeSpan? misfireThreshold = null)
    {
        ArgumentNullException.ThrowIfNull(cron);
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentOutOfRangeException.ThrowIfNegative(maxCatchUp);
        var threshold = misfireThreshold ?? DefaultMisfireThreshold;
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, TimeSpan.Zero, nameof(misfireThreshold));

        var from = lastFire is { } last && last > createdAt ? last : createdAt;
        var next = cron.GetNextOccurrence(now, zone);
        if (from >= now) return new FirePlan([], next);

        IReadOnlyList<DateTimeOffset> fire = policy switch
        {
            // A fire time exactly threshold old still counts, hence the exclusive bound one tick earlier.
            CatchUpPolicy.Skip => Due(cron, zone, Later(from, (now - threshold).AddTicks(-1)), now, int.MaxValue),
            CatchUpPolicy.Latest => LastDue(cron, zone, from, now, 1),
            CatchUpPolicy.All => LastDue(cron, zone, from, now, maxCatchUp),
            _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown catch-up policy"),
        };
        return new FirePlan(fire, next);
    }

    /// <summary>The last <paramref name="count"/> fire times in (<paramref name="from"/>, <paramref name="now"/>].
    /// Fire times do not depend on where enumeration starts, so it looks back over a growing window instead of
    /// walking every fire time since <paramref name="from"/> (a minutely job left off for a month).</summary>
    private static List<DateTimeOffset> LastDue(CronExpression cron, TimeZoneInfo zone, DateTimeOffset from,
        DateTimeOffset now, int count)
    {
        if (count == 0) return [];
        var window = TimeSpan.FromHours(1);
        while (true)
        {
            var start = now - from <= window ? from : now - window;
            var due = Due(cron, zone, start, now, count);
            if (due.Count >= count || start == from) return due;
            window *= 4;
        }
    }

    /// <summary>Fire times in (<paramref name="after"/>, <paramref name="now"/>], oldest first, keeping only the last
    /// <paramref name="keep"/>.</summary>
    private static List<DateTimeOffset> Due(CronExpression cron, TimeZoneInfo zone, DateTimeOffset after,
        DateTimeOffset now, int keep)
    {
        var due = new Queue<DateTimeOffset>();
        for (var t = cron.GetNextOccurrence(after, zone); t is { } fire && fire <= now; t = cron.GetNextOccurrence(fire, zone))
        {
            if (due.Count == keep) due.Dequeue();
            due.Enqueue(fire);
        }
        return [.. due];
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
