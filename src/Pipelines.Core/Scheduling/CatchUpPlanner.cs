using Pipelines.Core.Definitions;

namespace Pipelines.Core.Scheduling;

/// <summary>The fire times a scheduler must act on now, after a gap since <c>lastFire</c>.</summary>
public sealed record FirePlan(IReadOnlyList<DateTimeOffset> FireNow, DateTimeOffset? Next);

public static class CatchUpPlanner
{
    public static FirePlan Plan(CronExpression cron, TimeZoneInfo zone, DateTimeOffset? lastFire, DateTimeOffset createdAt,
        DateTimeOffset now, CatchUpPolicy policy, int maxCatchUp) => throw new NotImplementedException();
}
