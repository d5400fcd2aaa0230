using Pipelines.Core.Definitions;
using Pipelines.Core.Scheduling;
using static Pipelines.Core.Tests.Scheduling.CronTestKit;

namespace Pipelines.Core.Tests.Scheduling;

public class CatchUpPlannerTests
{
    private static readonly CronExpression Hourly = CronExpression.Parse("0 * * * *");
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;
    private static readonly DateTimeOffset Created = At("2025-01-01T00:30:00Z");

    private static FirePlan Plan(DateTimeOffset? lastFire, string now, CatchUpPolicy policy, int maxCatchUp = 10,
        TimeSpan? misfireThreshold = null, CronExpression? cron = null, DateTimeOffset? created = null) =>
        CatchUpPlanner.Plan(cron ?? Hourly, Utc, lastFire, created ?? Created, At(now), policy, maxCatchUp, misfireThreshold);

    private static string[] Hours(params int[] hours) => hours.Select(h => $"2025-01-01T{h:00}:00+00:00").ToArray();

    [TestCase(CatchUpPolicy.Skip, new[] { 5 })]
    [TestCase(CatchUpPolicy.Latest, new[] { 5 })]
    [TestCase(CatchUpPolicy.All, new[] { 1, 2, 3, 4, 5 })]
    public void Plan_FiresPerPolicy_WhenSeveralTimesDueSinceCreation(CatchUpPolicy policy, int[] hours)
    {
        var plan = Plan(null, "2025-01-01T05:00:30Z", policy);
        Assert.That(Iso(plan.FireNow), Is.EqualTo(Hours(hours)));
        Assert.That(plan.Next, Is.EqualTo(At("2025-01-01T06:00:00Z")));
    }

    [Test]
    public void Plan_KeepsMostRecent_WhenAllExceedsMaxCatchUp() =>
        Assert.That(Iso(Plan(null, "2025-01-01T05:00:30Z", CatchUpPolicy.All, maxCatchUp: 3).FireNow), Is.EqualTo(Hours(3, 4, 5)));

    [Test]
    public void Plan_FiresNothing_WhenAllAndMaxCatchUpIsZero() =>
        Assert.That(Plan(null, "2025-01-01T05:00:30Z", CatchUpPolicy.All, maxCatchUp: 0).FireNow, Is.Empty);

    [Test]
    public void Plan_Throws_WhenMaxCatchUpIsNegative() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Plan(null, "2025-01-01T05:00:30Z", CatchUpPolicy.All, maxCatchUp: -1));

    [TestCase(CatchUpPolicy.Skip, new int[0])]
    [TestCase(CatchUpPolicy.Latest, new[] { 5 })]
    [TestCase(CatchUpPolicy.All, new[] { 1, 2, 3, 4, 5 })]
    public void Plan_FiresPerPolicy_WhenLatestDueTimeIsOlderThanMisfireThreshold(CatchUpPolicy policy, int[] hours) =>
        Assert.That(Iso(Plan(null, "2025-01-01T05:10:00Z", policy).FireNow), Is.EqualTo(Hours(hours)));

    [Test]
    public void Plan_SkipFiresWithinThreshold_WhenThresholdWidened() =>
        Assert.That(Iso(Plan(null, "2025-01-01T05:10:00Z", CatchUpPolicy.Skip, misfireThreshold: TimeSpan.FromMinutes(15)).FireNow),
            Is.EqualTo(Hours(5)));

    [Test]
    public void Plan_SkipFiresEveryTimeWithinThreshold_WhenSeveralAreRecent() =>
        Assert.That(Iso(Plan(null, "2025-01-01T05:10:00Z", CatchUpPolicy.Skip, misfireThreshold: TimeSpan.FromMinutes(130)).FireNow),
            Is.EqualTo(Hours(3, 4, 5)));

    [TestCase("2025-01-01T05:00:00Z", new[] { 5 })]
    [TestCase("2025-01-01T05:01:00Z", new[] { 5 })]
    [TestCase("2025-01-01T05:01:00.0000001Z", new int[0])]
    public void Plan_SkipCountsThresholdInclusively(string now, int[] hours) =>
        Assert.That(Iso(Plan(null, now, CatchUpPolicy.Skip).FireNow), Is.EqualTo(Hours(hours)));

    [Test]
    public void Plan_FiresFireTimeEqualToNow() =>
        Assert.That(Iso(Plan(At("2025-01-01T04:00:00Z"), "2025-01-01T05:00:00Z", CatchUpPolicy.All).FireNow), Is.EqualTo(Hours(5)));

    [TestCase(CatchUpPolicy.Skip, new[] { 5 })]
    [TestCase(CatchUpPolicy.Latest, new[] { 5 })]
    [TestCase(CatchUpPolicy.All, new[] { 4, 5 })]
    public void Plan_StartsAfterLastFire_WhenScheduleFiredBefore(CatchUpPolicy policy, int[] hours) =>
        Assert.That(Iso(Plan(At("2025-01-01T03:00:00Z"), "2025-01-01T05:00:30Z", policy).FireNow), Is.EqualTo(Hours(hours)));

    [TestCase(CatchUpPolicy.Skip)]
    [TestCase(CatchUpPolicy.Latest)]
    [TestCase(CatchUpPolicy.All)]
    public void Plan_FiresNothing_WhenLastFireIsNow(CatchUpPolicy policy)
    {
        var plan = Plan(At("2025-01-01T05:00:00Z"), "2025-01-01T05:00:00Z", policy);
        Assert.That(plan.FireNow, Is.Empty);
        Assert.That(plan.Next, Is.EqualTo(At("2025-01-01T06:00:00Z")));
    }

    [Test]
    public void Plan_NeverFiresBeforeCreation_WhenLastFireIsOlderThanCreation() =>
        Assert.That(Iso(Plan(At("2024-12-31T20:00:00Z"), "2025-01-01T02:00:30Z", CatchUpPolicy.All).FireNow), Is.EqualTo(Hours(1, 2)));

    [Test]
    public void Plan_ExcludesCreationInstant_WhenCreatedExactlyAtFireTime() =>
        Assert.That(Plan(null, "2025-01-01T05:30:00Z", CatchUpPolicy.All, created: At("2025-01-01T05:00:00Z")).FireNow, Is.Empty);

    [Test]
    public void Plan_FiresNothing_WhenNowIsBeforeCreation()
    {
        var plan = Plan(null, "2025-01-01T00:00:00Z", CatchUpPolicy.All);
        Assert.That(plan.FireNow, Is.Empty);
        Assert.That(plan.Next, Is.EqualTo(At("2025-01-01T01:00:00Z")));
    }

    [Test]
    public void Plan_ReturnsNoNext_WhenCronNeverFires()
    {
        var plan = Plan(null, "2025-06-01T00:00:00Z", CatchUpPolicy.All, cron: CronExpression.Parse("0 0 30 2 *"));
        Assert.That(plan.FireNow, Is.Empty);
        Assert.That(plan.Next, Is.Null);
    }

    [Test]
    public void Plan_FindsTheLatestFireTimes_WhenMinutelyScheduleWasIdleForAYear()
    {
        var plan = Plan(null, "2026-01-01T00:00:30Z", CatchUpPolicy.All, maxCatchUp: 3, cron: CronExpression.Parse("* * * * *"));
        var latest = Plan(null, "2026-01-01T00:00:30Z", CatchUpPolicy.Latest, cron: CronExpression.Parse("* * * * *"));
        Assert.That(Iso(plan.FireNow), Is.EqualTo(new[] { "2025-12-31T23:58+00:00", "2025-12-31T23:59+00:00", "2026-01-01T00:00+00:00" }));
        Assert.That(Iso(latest.FireNow), Is.EqualTo(new[] { "2026-01-01T00:00+00:00" }));
    }

    [Test]
    public void Plan_FindsLatest_WhenOnlyFireTimeIsLongAgo() =>
        // Yearly schedule: the window has to grow back to January.
        Assert.That(Iso(Plan(null, "2025-12-01T00:00:00Z", CatchUpPolicy.Latest, cron: CronExpression.Parse("0 0 1 1 *"),
                created: At("2024-06-01T00:00:00Z")).FireNow),
            Is.EqualTo(new[] { "2025-01-01T00:00+00:00" }));

    [Test]
    public void Plan_CatchesUpAcrossSpringForward_InScheduleZone()
    {
        var plan = CatchUpPlanner.Plan(CronExpression.Parse("30 2 * * *"), Zone("Europe/Amsterdam"), At("2025-03-28T02:30:00+01:00"),
            At("2025-01-01T00:00:00Z"), At("2025-03-31T12:00:00+02:00"), CatchUpPolicy.All, 10);
        Assert.That(Iso(plan.FireNow), Is.EqualTo(new[] { "2025-03-29T02:30+01:00", "2025-03-30T03:00+02:00", "2025-03-31T02:30+02:00" }));
        Assert.That(plan.Next, Is.EqualTo(At("2025-04-01T02:30:00+02:00")));
    }
}
