using Pipelines.Core.Scheduling;
using static Pipelines.Core.Tests.Scheduling.CronTestKit;

namespace Pipelines.Core.Tests.Scheduling;

/// <summary>Checks the field-skipping search against a minute-by-minute statement of the documented DST rules,
/// over three days around each 2025 transition.</summary>
public class CronExpressionReferenceTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        string[] zones = ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"];
        string[] crons = ["30 2 * * *", "0 2 * * *", "*/30 * * * *", "15 * * * *", "* 1-2 * * *", "*/7 */2 * * *", "0,45 1,2,3 * * *", "@hourly"];
        foreach (var zone in zones)
        foreach (var cron in crons)
            yield return new TestCaseData(zone, cron).SetName($"Next_MatchesMinuteByMinuteReference({zone}, \"{cron}\")");
    }

    [TestCaseSource(nameof(Cases))]
    public void Next_MatchesMinuteByMinuteReference(string zoneId, string text)
    {
        // The test setup installs tzdata (infra/prerequisites.sh): a missing zone is a broken setup and fails the test.
        var zone = Zone(zoneId);
        var cron = CronExpression.Parse(text);

        var transitions = new List<DateTimeOffset>();
        for (var t = At("2025-01-01T00:00:00Z"); t.Year < 2026; t = t.AddMinutes(30))
            if (zone.GetUtcOffset(t) != zone.GetUtcOffset(t.AddMinutes(-30))) transitions.Add(t);
        Assert.That(transitions, Has.Count.EqualTo(2));

        foreach (var transition in transitions)
        {
            var start = transition.AddDays(-1).AddMinutes(-7);
            var end = transition.AddDays(2);
            var expected = new List<DateTimeOffset>();
            for (var t = start.AddMinutes(1); t <= end; t = t.AddMinutes(1))
                if (ReferenceFires(cron, zone, t)) expected.Add(t);
            Assert.That(Iso(Fires(text, zone, start, end)), Is.EqualTo(Iso(expected.Select(e => e.ToOffset(zone.GetUtcOffset(e))))));
        }
    }

    private static bool Matches(CronExpression cron, DateTime wall) =>
        cron.GetNextOccurrence(new DateTimeOffset(wall.AddTicks(-1), TimeSpan.Zero), TimeZoneInfo.Utc) == new DateTimeOffset(wall, TimeSpan.Zero);

    /// <summary>The documented rules, one minute-aligned instant at a time.</summary>
    private static bool ReferenceFires(CronExpression cron, TimeZoneInfo zone, DateTimeOffset instant)
    {
        var offset = zone.GetUtcOffset(instant);
        var previous = zone.GetUtcOffset(instant.AddMinutes(-1));
        var wall = instant.UtcDateTime + offset;
        if (cron.EveryHour) return Matches(cron, wall);

        var secondPass = Enumerable.Range(1, 180).Any(m => zone.GetUtcOffset(instant.AddMinutes(-m)) - offset == TimeSpan.FromMinutes(m)
            && instant.AddMinutes(-m).UtcDateTime + zone.GetUtcOffset(instant.AddMinutes(-m)) == wall);
        if (Matches(cron, wall) && !secondPass) return true;
        if (offset > previous)
        {
            // Jump instant: fires if any skipped wall time matches.
            for (var skipped = instant.UtcDateTime + previous; skipped < wall; skipped = skipped.AddMinutes(1))
                if (Matches(cron, skipped)) return true;
        }
        return false;
    }
}
