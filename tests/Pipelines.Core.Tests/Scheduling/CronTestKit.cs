using Pipelines.Core.Scheduling;

namespace Pipelines.Core.Tests.Scheduling;

internal static class CronTestKit
{
    public static TimeZoneInfo Zone(string id) => TimeZoneInfo.FindSystemTimeZoneById(id);

    public static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every fire time from <paramref name="after"/> (exclusive) up to <paramref name="until"/> (inclusive).</summary>
    public static List<DateTimeOffset> Fires(string cron, TimeZoneInfo zone, DateTimeOffset after, DateTimeOffset until)
    {
        var expression = CronExpression.Parse(cron);
        var fires = new List<DateTimeOffset>();
        for (var t = expression.GetNextOccurrence(after, zone); t is { } fire && fire <= until; t = expression.GetNextOccurrence(fire, zone))
        {
            Assert.That(fires.Count == 0 || fire > fires[^1], $"not strictly increasing at {fire:o}");
            fires.Add(fire);
            if (fires.Count > 100_000) Assert.Fail("runaway enumeration");
        }
        return fires;
    }

    /// <summary>Every fire time whose local date in <paramref name="zone"/> is <paramref name="day"/>.</summary>
    public static List<DateTimeOffset> FiresOnLocalDay(string cron, TimeZoneInfo zone, DateOnly day)
    {
        var midnight = day.ToDateTime(TimeOnly.MinValue);
        var start = new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
        var nextMidnight = midnight.AddDays(1);
        var end = new DateTimeOffset(nextMidnight, zone.GetUtcOffset(nextMidnight));
        return Fires(cron, zone, start.AddTicks(-1), end.AddTicks(-1));
    }

    public static string[] Iso(IEnumerable<DateTimeOffset> fires) => fires.Select(f => f.ToString("yyyy-MM-ddTHH:mmzzz")).ToArray();
}
