using Pipelines.Core.Scheduling;
using static Pipelines.Core.Tests.Scheduling.CronTestKit;

namespace Pipelines.Core.Tests.Scheduling;

public class CronExpressionNextTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    private static string[] Take(string cron, string after, int count)
    {
        var expression = CronExpression.Parse(cron);
        var fires = new List<DateTimeOffset>();
        var t = At(after);
        for (var i = 0; i < count; i++)
        {
            t = expression.GetNextOccurrence(t, Utc) ?? throw new AssertionException($"no fire after {t:o}");
            fires.Add(t);
        }
        return Iso(fires);
    }

    [Test]
    public void Next_IsStrictlyAfter_WhenAfterIsAFireTime() =>
        Assert.That(Take("*/15 * * * *", "2025-01-01T00:15:00Z", 2),
            Is.EqualTo(new[] { "2025-01-01T00:30+00:00", "2025-01-01T00:45+00:00" }));

    [Test]
    public void Next_RoundsUpToNextMinute_WhenAfterHasSeconds() =>
        Assert.That(Take("* * * * *", "2025-01-01T00:00:00.0000001Z", 1), Is.EqualTo(new[] { "2025-01-01T00:01+00:00" }));

    [Test]
    public void Next_FiresAtListedMinutes() =>
        Assert.That(Take("1,2,59 * * * *", "2025-01-01T00:01:00Z", 3),
            Is.EqualTo(new[] { "2025-01-01T00:02+00:00", "2025-01-01T00:59+00:00", "2025-01-01T01:01+00:00" }));

    [Test]
    public void Next_FiresAcrossRangeThenWrapsToNextHour() =>
        Assert.That(Take("58-59 9-10 * * *", "2025-01-01T09:58:00Z", 4),
            Is.EqualTo(new[] { "2025-01-01T09:59+00:00", "2025-01-01T10:58+00:00", "2025-01-01T10:59+00:00", "2025-01-02T09:58+00:00" }));

    [TestCase("*/15 * * * *", new[] { 0, 15, 30, 45 })]
    [TestCase("10-50/10 * * * *", new[] { 10, 20, 30, 40, 50 })]
    [TestCase("5/15 * * * *", new[] { 5, 20, 35, 50 })]
    [TestCase("*/25 * * * *", new[] { 0, 25, 50 })]
    [TestCase("0-10/5,59 * * * *", new[] { 0, 5, 10, 59 })]
    [TestCase("*/60 * * * *", new[] { 0 })]
    public void Next_FiresAtStepMinutes(string cron, int[] minutes)
    {
        var fires = Fires(cron, Utc, At("2025-01-01T00:00:00Z").AddTicks(-1), At("2025-01-01T00:59:00Z"));
        Assert.That(fires.Select(f => f.Minute), Is.EqualTo(minutes));
    }

    [Test]
    public void Next_AcceptsMonthAndDayNames_CaseInsensitive()
    {
        var names = Take("0 12 * jan-Mar,DEC mon-FRI", "2025-03-28T12:00:00Z", 3);
        var numbers = Take("0 12 * 1-3,12 1-5", "2025-03-28T12:00:00Z", 3);
        Assert.That(names, Is.EqualTo(numbers));
        Assert.That(names, Is.EqualTo(new[] { "2025-03-31T12:00+00:00", "2025-12-01T12:00+00:00", "2025-12-02T12:00+00:00" }));
    }

    [TestCase("0 0 * * 0")]
    [TestCase("0 0 * * 7")]
    [TestCase("0 0 * * SUN")]
    public void Next_TreatsZeroAndSevenAsSunday(string cron) =>
        Assert.That(Take(cron, "2025-01-01T00:00:00Z", 2), Is.EqualTo(new[] { "2025-01-05T00:00+00:00", "2025-01-12T00:00+00:00" }));

    [Test]
    public void Next_AcceptsRangeEndingOnSeven() =>
        Assert.That(Take("0 0 * * 5-7", "2025-01-01T00:00:00Z", 4),
            Is.EqualTo(new[] { "2025-01-03T00:00+00:00", "2025-01-04T00:00+00:00", "2025-01-05T00:00+00:00", "2025-01-10T00:00+00:00" }));

    [TestCase("@yearly", "2026-01-01T00:00+00:00", "2027-01-01T00:00+00:00")]
    [TestCase("@annually", "2026-01-01T00:00+00:00", "2027-01-01T00:00+00:00")]
    [TestCase("@monthly", "2025-06-01T00:00+00:00", "2025-07-01T00:00+00:00")]
    [TestCase("@weekly", "2025-05-18T00:00+00:00", "2025-05-25T00:00+00:00")]
    [TestCase("@daily", "2025-05-16T00:00+00:00", "2025-05-17T00:00+00:00")]
    [TestCase("@midnight", "2025-05-16T00:00+00:00", "2025-05-17T00:00+00:00")]
    [TestCase("@hourly", "2025-05-15T11:00+00:00", "2025-05-15T12:00+00:00")]
    [TestCase("@HOURLY", "2025-05-15T11:00+00:00", "2025-05-15T12:00+00:00")]
    public void Next_ExpandsMacros(string cron, string first, string second) =>
        Assert.That(Take(cron, "2025-05-15T10:30:00Z", 2), Is.EqualTo(new[] { first, second }));

    [Test]
    public void Next_FiresOnEitherDay_WhenDayOfMonthAndDayOfWeekBothRestricted() =>
        // 1st and 15th of the month, or any Friday (Vixie OR rule). 2025-08-01 is a Friday.
        Assert.That(Take("0 9 1,15 * FRI", "2025-07-31T00:00:00Z", 5),
            Is.EqualTo(new[] { "2025-08-01T09:00+00:00", "2025-08-08T09:00+00:00", "2025-08-15T09:00+00:00", "2025-08-22T09:00+00:00", "2025-08-29T09:00+00:00" }));

    [Test]
    public void Next_FiresOnlyOnWeekday_WhenDayOfMonthIsStar() =>
        Assert.That(Take("0 9 * * MON", "2025-07-31T00:00:00Z", 2), Is.EqualTo(new[] { "2025-08-04T09:00+00:00", "2025-08-11T09:00+00:00" }));

    [Test]
    public void Next_FiresOnlyOnDayOfMonth_WhenDayOfWeekIsStar() =>
        Assert.That(Take("0 9 13 * *", "2025-07-31T00:00:00Z", 2), Is.EqualTo(new[] { "2025-08-13T09:00+00:00", "2025-09-13T09:00+00:00" }));

    [Test]
    public void Next_RequiresBothDays_WhenDayOfMonthStartsWithStar()
    {
        // As in Vixie cron, a field starting with '*' counts as unrestricted, so "*/2" AND "MON" must both hold:
        // odd-numbered Mondays. 2025-08-04 is an even Monday, 2025-08-11 odd.
        Assert.That(Take("0 9 */2 * MON", "2025-08-01T00:00:00Z", 3),
            Is.EqualTo(new[] { "2025-08-11T09:00+00:00", "2025-08-25T09:00+00:00", "2025-09-01T09:00+00:00" }));
    }

    [Test]
    public void Next_FiresOnThe13thAndEveryFriday_WhenBothDayFieldsRestricted() =>
        // "13 * 5" with the OR rule fires every 13th and every Friday; 2025-06-13 is both.
        Assert.That(Take("0 0 13 * 5", "2025-06-05T00:00:00Z", 3),
            Is.EqualTo(new[] { "2025-06-06T00:00+00:00", "2025-06-13T00:00+00:00", "2025-06-20T00:00+00:00" }));

    [Test]
    public void Next_SkipsShortMonths_WhenDayIs31() =>
        Assert.That(Take("0 0 31 * *", "2025-01-31T00:00:00Z", 4),
            Is.EqualTo(new[] { "2025-03-31T00:00+00:00", "2025-05-31T00:00+00:00", "2025-07-31T00:00+00:00", "2025-08-31T00:00+00:00" }));

    [Test]
    public void Next_FiresOnLeapDaysOnly_WhenFebruary29() =>
        Assert.That(Take("0 0 29 2 *", "2024-02-29T00:00:00Z", 3),
            Is.EqualTo(new[] { "2028-02-29T00:00+00:00", "2032-02-29T00:00+00:00", "2036-02-29T00:00+00:00" }));

    [Test]
    public void Next_SpansNonLeapCentury_WhenFebruary29() =>
        // 2100 is not a leap year: eight years between leap days.
        Assert.That(Take("0 0 29 2 *", "2096-03-01T00:00:00Z", 1), Is.EqualTo(new[] { "2104-02-29T00:00+00:00" }));

    [Test]
    public void Next_FiresOnLastDayOfFebruary_InLeapAndCommonYears() =>
        Assert.That(Take("0 0 28,29 2 *", "2024-01-01T00:00:00Z", 4),
            Is.EqualTo(new[] { "2024-02-28T00:00+00:00", "2024-02-29T00:00+00:00", "2025-02-28T00:00+00:00", "2026-02-28T00:00+00:00" }));

    [Test]
    public void Next_WrapsToNextYear_AtYearEnd() =>
        Assert.That(Take("59 23 31 12 *", "2025-12-31T23:59:00Z", 1), Is.EqualTo(new[] { "2026-12-31T23:59+00:00" }));

    [TestCase("0 0 30 2 *")]
    [TestCase("0 0 31 4,6,9,11 *")]
    public void Next_ReturnsNull_WhenDateNeverExists(string cron) =>
        Assert.That(CronExpression.Parse(cron).GetNextOccurrence(At("2025-01-01T00:00:00Z"), Utc), Is.Null);

    [Test]
    public void Next_ReturnsNull_NearEndOfCalendar() =>
        Assert.That(CronExpression.Parse("@yearly").GetNextOccurrence(DateTimeOffset.MaxValue.AddDays(-1), Utc), Is.Null);

    [Test]
    public void Next_ReturnsOffsetOfZone() =>
        Assert.That(CronExpression.Parse("0 9 * * *").GetNextOccurrence(At("2025-07-01T00:00:00Z"), Zone("America/New_York")),
            Is.EqualTo(At("2025-07-01T09:00:00-04:00")).And.Property("Offset").EqualTo(TimeSpan.FromHours(-4)));

    [Test]
    public void Next_ConvertsAfterIntoZone_WhenAfterHasOtherOffset() =>
        // 08:30 UTC is 10:30 in Amsterdam (summer): 10:00 local has passed, next is tomorrow.
        Assert.That(Iso([CronExpression.Parse("0 10 * * *").GetNextOccurrence(At("2025-07-01T08:30:00Z"), Zone("Europe/Amsterdam"))!.Value]),
            Is.EqualTo(new[] { "2025-07-02T10:00+02:00" }));

    [Test]
    public void Next_EnumeratesDenseSchedules_AndFindsSparseOnes()
    {
        var zone = Zone("Europe/Amsterdam");
        var minutely = Fires("* * * * *", zone, At("2025-01-01T00:00:00Z"), At("2025-01-08T00:00:00Z"));
        var leap = Take("0 0 29 2 *", "2024-03-01T00:00:00Z", 1);
        var never = CronExpression.Parse("0 0 30 2 *").GetNextOccurrence(At("2025-01-01T00:00:00Z"), zone);
        Assert.That(minutely, Has.Count.EqualTo(7 * 1440));
        Assert.That(leap, Is.EqualTo(new[] { "2028-02-29T00:00+00:00" }));
        Assert.That(never, Is.Null);
    }
}
