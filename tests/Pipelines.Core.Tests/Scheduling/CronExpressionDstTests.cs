using Pipelines.Core.Scheduling;
using static Pipelines.Core.Tests.Scheduling.CronTestKit;

namespace Pipelines.Core.Tests.Scheduling;

/// <summary>Daylight-saving behaviour. 2025 transitions: Amsterdam 30 Mar 01:00Z (02:00 -> 03:00) and 26 Oct 01:00Z
/// (03:00 -> 02:00); New York 9 Mar 07:00Z (02:00 -> 03:00) and 2 Nov 06:00Z (02:00 -> 01:00); Lord Howe
/// 4 Oct 15:30Z (02:00 -> 02:30, +10:30 -> +11) and 5 Apr 15:00Z (02:00 -> 01:30).</summary>
public class CronExpressionDstTests
{
    private static readonly DateOnly AmsterdamSpring = new(2025, 3, 30);
    private static readonly DateOnly AmsterdamFall = new(2025, 10, 26);
    private static readonly DateOnly NewYorkSpring = new(2025, 3, 9);
    private static readonly DateOnly NewYorkFall = new(2025, 11, 2);
    private static readonly DateOnly LordHoweSpring = new(2025, 10, 5);
    private static readonly DateOnly LordHoweFall = new(2025, 4, 6);

    // The test setup installs tzdata (infra/prerequisites.sh): a missing zone is a broken setup and fails the test.
    private static TimeZoneInfo LordHowe() => Zone("Australia/Lord_Howe");

    private static string[] OnDay(string cron, TimeZoneInfo zone, DateOnly day) => Iso(FiresOnLocalDay(cron, zone, day));

    // --- spring forward, fixed-time jobs ---------------------------------------------------------------------

    [Test]
    public void Next_FiresAtJumpInstant_WhenTimeSkippedBySpringForward()
    {
        var zone = Zone("Europe/Amsterdam");
        var fire = CronExpression.Parse("30 2 * * *").GetNextOccurrence(At("2025-03-29T02:30:00+01:00"), zone);
        Assert.That(fire, Is.EqualTo(At("2025-03-30T01:00:00Z")));
        Assert.That(fire!.Value.Offset, Is.EqualTo(TimeSpan.FromHours(2)));
        Assert.That(Iso(Fires("30 2 * * *", zone, At("2025-03-28T12:00:00Z"), At("2025-03-31T12:00:00Z"))),
            Is.EqualTo(new[] { "2025-03-29T02:30+01:00", "2025-03-30T03:00+02:00", "2025-03-31T02:30+02:00" }));
    }

    [TestCase("0 2 * * *", new[] { "2025-03-30T03:00+02:00" })]
    [TestCase("59 2 * * *", new[] { "2025-03-30T03:00+02:00" })]
    [TestCase("0 3 * * *", new[] { "2025-03-30T03:00+02:00" })]
    [TestCase("0 1 * * *", new[] { "2025-03-30T01:00+01:00" })]
    [TestCase("0,30 2,3 * * *", new[] { "2025-03-30T03:00+02:00", "2025-03-30T03:30+02:00" })]
    [TestCase("* 2 * * *", new[] { "2025-03-30T03:00+02:00" })]
    public void Next_FiresOncePerInstant_WhenSkippedTimesCollapseIntoJump_Amsterdam(string cron, string[] expected) =>
        Assert.That(OnDay(cron, Zone("Europe/Amsterdam"), AmsterdamSpring), Is.EqualTo(expected));

    [Test]
    public void Next_FiresAtJumpInstant_WhenTimeSkippedBySpringForward_NewYork() =>
        Assert.That(OnDay("30 2 * * *", Zone("America/New_York"), NewYorkSpring), Is.EqualTo(new[] { "2025-03-09T03:00-04:00" }));

    [Test]
    public void Next_FiresAtJumpInstant_WhenFirstTimeAfterGapIsFixedTime() =>
        // "0 2" and "0 3" on the same day would both land on 03:00 EDT: one fire.
        Assert.That(OnDay("0 2,3 * * *", Zone("America/New_York"), NewYorkSpring), Is.EqualTo(new[] { "2025-03-09T03:00-04:00" }));

    // --- fall back, fixed-time jobs --------------------------------------------------------------------------

    [Test]
    public void Next_FiresAtFirstOccurrenceOnly_WhenTimeRepeatedByFallBack_Amsterdam()
    {
        var zone = Zone("Europe/Amsterdam");
        Assert.That(OnDay("30 2 * * *", zone, AmsterdamFall), Is.EqualTo(new[] { "2025-10-26T02:30+02:00" }));
        Assert.That(FiresOnLocalDay("* 2 * * *", zone, AmsterdamFall), Has.Count.EqualTo(60).And.All.Property("Offset").EqualTo(TimeSpan.FromHours(2)));
    }

    [Test]
    public void Next_FiresAtFirstOccurrenceOnly_WhenTimeRepeatedByFallBack_NewYork() =>
        Assert.That(OnDay("30 1 * * *", Zone("America/New_York"), NewYorkFall), Is.EqualTo(new[] { "2025-11-02T01:30-04:00" }));

    [Test]
    public void Next_SkipsSecondPass_WhenStartingInsideRepeatedHour()
    {
        var zone = Zone("Europe/Amsterdam");
        var secondPass = At("2025-10-26T02:10:00+01:00");
        Assert.That(CronExpression.Parse("30 2 * * *").GetNextOccurrence(secondPass, zone), Is.EqualTo(At("2025-10-27T02:30:00+01:00")));
        Assert.That(CronExpression.Parse("0 3 * * *").GetNextOccurrence(secondPass, zone), Is.EqualTo(At("2025-10-26T03:00:00+01:00")));
    }

    [Test]
    public void Next_SkipsSecondPass_WhenStartingAtEndOfFirstPass() =>
        Assert.That(CronExpression.Parse("0 2 * * *").GetNextOccurrence(At("2025-10-26T02:50:00+02:00"), Zone("Europe/Amsterdam")),
            Is.EqualTo(At("2025-10-27T02:00:00+01:00")));

    [Test]
    public void Next_FollowsWallClock_WhenHoursAreStepped() =>
        // "*/2" does not cover every hour, so the repeated 02:00 fires once.
        Assert.That(OnDay("0 */2 * * *", Zone("Europe/Amsterdam"), AmsterdamFall),
            Is.EqualTo(new[] { "2025-10-26T00:00+02:00", "2025-10-26T02:00+02:00", "2025-10-26T04:00+01:00", "2025-10-26T06:00+01:00",
                "2025-10-26T08:00+01:00", "2025-10-26T10:00+01:00", "2025-10-26T12:00+01:00", "2025-10-26T14:00+01:00",
                "2025-10-26T16:00+01:00", "2025-10-26T18:00+01:00", "2025-10-26T20:00+01:00", "2025-10-26T22:00+01:00" }));

    [TestCase("Europe/Amsterdam", "30 2 * * *")]
    [TestCase("Europe/Amsterdam", "0 2 * * *")]
    [TestCase("America/New_York", "30 1 * * *")]
    [TestCase("America/New_York", "30 2 * * *")]
    [TestCase("Australia/Lord_Howe", "45 1 * * *")]
    [TestCase("Australia/Lord_Howe", "15 2 * * *")]
    public void Next_FiresExactlyOncePerLocalDay_ForFixedTimeDailyJobs(string zoneId, string cron)
    {
        var zone = zoneId == "Australia/Lord_Howe" ? LordHowe() : Zone(zoneId);
        var start = new DateTimeOffset(2025, 1, 1, 0, 0, 0, zone.GetUtcOffset(new DateTime(2025, 1, 1)));
        var end = new DateTimeOffset(2026, 1, 1, 0, 0, 0, zone.GetUtcOffset(new DateTime(2026, 1, 1)));
        var fires = Fires(cron, zone, start, end);
        Assert.That(fires.Select(f => DateOnly.FromDateTime(f.DateTime)), Is.EqualTo(Enumerable.Range(0, 365).Select(i => new DateOnly(2025, 1, 1).AddDays(i))));
    }

    // --- hour field "*": elapsed time ------------------------------------------------------------------------

    [TestCase("Europe/Amsterdam", "0 * * * *", 23, 25)]
    [TestCase("Europe/Amsterdam", "15 * * * *", 23, 25)]
    [TestCase("Europe/Amsterdam", "*/30 * * * *", 46, 50)]
    [TestCase("America/New_York", "0 * * * *", 23, 25)]
    [TestCase("America/New_York", "*/30 * * * *", 46, 50)]
    public void Next_FollowsElapsedTime_WhenHourIsStar(string zoneId, string cron, int springFires, int fallFires)
    {
        var zone = Zone(zoneId);
        var (spring, fall) = zoneId == "America/New_York" ? (NewYorkSpring, NewYorkFall) : (AmsterdamSpring, AmsterdamFall);
        var springDay = FiresOnLocalDay(cron, zone, spring);
        var fallDay = FiresOnLocalDay(cron, zone, fall);
        Assert.That(springDay, Has.Count.EqualTo(springFires));
        Assert.That(fallDay, Has.Count.EqualTo(fallFires));
        var step = TimeSpan.FromMinutes(cron.StartsWith("*/30") ? 30 : 60);
        Assert.That(springDay.Zip(springDay.Skip(1), (a, b) => b - a), Is.All.EqualTo(step));
        Assert.That(fallDay.Zip(fallDay.Skip(1), (a, b) => b - a), Is.All.EqualTo(step));
    }

    [Test]
    public void Next_FiresBothOccurrences_WhenHourIsStarAndTimeRepeated_Amsterdam() =>
        Assert.That(Iso(Fires("*/30 * * * *", Zone("Europe/Amsterdam"), At("2025-10-26T01:45:00+02:00"), At("2025-10-26T03:30:00+01:00"))),
            Is.EqualTo(new[] { "2025-10-26T02:00+02:00", "2025-10-26T02:30+02:00", "2025-10-26T02:00+01:00", "2025-10-26T02:30+01:00",
                "2025-10-26T03:00+01:00", "2025-10-26T03:30+01:00" }));

    [Test]
    public void Next_FiresBothOccurrences_WhenHourIsStarAndTimeRepeated_NewYork() =>
        Assert.That(Iso(Fires("0 * * * *", Zone("America/New_York"), At("2025-11-02T00:00:00-04:00"), At("2025-11-02T02:00:00-05:00"))),
            Is.EqualTo(new[] { "2025-11-02T01:00-04:00", "2025-11-02T01:00-05:00", "2025-11-02T02:00-05:00" }));

    [Test]
    public void Next_ContinuesInSecondPass_WhenHourIsStarAndStartingInFirstPass() =>
        Assert.That(CronExpression.Parse("*/30 * * * *").GetNextOccurrence(At("2025-10-26T02:50:00+02:00"), Zone("Europe/Amsterdam")),
            Is.EqualTo(At("2025-10-26T02:00:00+01:00")));

    [Test]
    public void Next_SkipsGapWithoutExtraFire_WhenHourIsStar() =>
        Assert.That(Iso(Fires("15 * * * *", Zone("Europe/Amsterdam"), At("2025-03-30T01:00:00+01:00"), At("2025-03-30T04:00:00+02:00"))),
            Is.EqualTo(new[] { "2025-03-30T01:15+01:00", "2025-03-30T03:15+02:00" }));

    [Test]
    public void Next_FiresEveryRealHourAcrossYear_WhenHourly()
    {
        var zone = Zone("Europe/Amsterdam");
        var fires = Fires("@hourly", zone, At("2024-12-31T23:00:00Z"), At("2025-12-31T23:00:00Z"));
        Assert.That(fires, Has.Count.EqualTo(8760));
        Assert.That(fires.Zip(fires.Skip(1), (a, b) => b - a), Is.All.EqualTo(TimeSpan.FromHours(1)));
    }

    // --- 30-minute shift (Lord Howe) -------------------------------------------------------------------------

    [TestCase("15 2 * * *", new[] { "2025-10-05T02:30+11:00" })]
    [TestCase("0 2 * * *", new[] { "2025-10-05T02:30+11:00" })]
    [TestCase("30 2 * * *", new[] { "2025-10-05T02:30+11:00" })]
    [TestCase("0,15,30,45 2 * * *", new[] { "2025-10-05T02:30+11:00", "2025-10-05T02:45+11:00" })]
    public void Next_FiresAtJumpInstant_WhenTimeSkippedByHalfHourSpringForward(string cron, string[] expected) =>
        Assert.That(OnDay(cron, LordHowe(), LordHoweSpring), Is.EqualTo(expected));

    [Test]
    public void Next_FiresAtFirstOccurrenceOnly_WhenTimeRepeatedByHalfHourFallBack() =>
        Assert.That(OnDay("45 1 * * *", LordHowe(), LordHoweFall), Is.EqualTo(new[] { "2025-04-06T01:45+11:00" }));

    [Test]
    public void Next_FollowsElapsedTime_WhenHourIsStarAndShiftIsHalfHour()
    {
        var zone = LordHowe();
        var spring = FiresOnLocalDay("*/30 * * * *", zone, LordHoweSpring);
        var fall = FiresOnLocalDay("*/30 * * * *", zone, LordHoweFall);
        Assert.That(spring, Has.Count.EqualTo(47));
        Assert.That(fall, Has.Count.EqualTo(49));
        Assert.That(spring.Zip(spring.Skip(1), (a, b) => b - a), Is.All.EqualTo(TimeSpan.FromMinutes(30)));
        Assert.That(fall.Zip(fall.Skip(1), (a, b) => b - a), Is.All.EqualTo(TimeSpan.FromMinutes(30)));
        Assert.That(Iso(fall.Where(f => f.Hour == 1)),
            Is.EqualTo(new[] { "2025-04-06T01:00+11:00", "2025-04-06T01:30+11:00", "2025-04-06T01:30+10:30" }));

        // Hourly on the hour: 02:00 does not exist, so one interval is 90 minutes.
        Assert.That(FiresOnLocalDay("0 * * * *", zone, LordHoweSpring), Has.Count.EqualTo(23));
        Assert.That(FiresOnLocalDay("0 * * * *", zone, LordHoweFall), Has.Count.EqualTo(24));
    }
}
