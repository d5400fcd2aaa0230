using System.Globalization;
using System.Numerics;

namespace Pipelines.Core.Scheduling;

/// <summary>A standard five-field cron expression (minute hour day-of-month month day-of-week).</summary>
/// <remarks>
/// <para>Syntax: <c>*</c>, lists <c>1,2</c>, ranges <c>1-5</c>, steps <c>*/15</c>, <c>10-50/10</c> and <c>5/15</c>
/// (= <c>5-max/15</c>), month names <c>JAN</c>–<c>DEC</c> and day names <c>SUN</c>–<c>SAT</c> (case-insensitive),
/// day-of-week <c>0</c> and <c>7</c> both Sunday, and the macros <c>@yearly</c>/<c>@annually</c>, <c>@monthly</c>,
/// <c>@weekly</c>, <c>@daily</c>/<c>@midnight</c>, <c>@hourly</c>.</para>
/// <para>Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted, a day matches if
/// <em>either</em> matches; otherwise both must. As in Vixie cron, a field counts as unrestricted when its text starts
/// with <c>*</c>, so <c>*/2</c> in day-of-month is "unrestricted" for this rule (it still only matches odd days).</para>
/// <para>Time zones and daylight saving (modelled on cronie/Vixie), see <see cref="GetNextOccurrence"/>.</para>
/// </remarks>
public sealed class CronExpression
{
    private static readonly string[] FieldNames = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    private static readonly int[] FieldMin = [0, 0, 1, 1, 0];
    private static readonly int[] FieldMax = [59, 23, 31, 12, 7];

    private static readonly string[] MonthNames =
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private const ulong AllHours = (1UL << 24) - 1;

    /// <summary>How far ahead <see cref="GetNextOccurrence"/> looks before giving up. Eight years, not five, so that
    /// a leap-day schedule (<c>0 0 29 2 *</c>) still finds 2104 from 2096 (2100 is not a leap year).</summary>
    private const int SearchYears = 8;

    private readonly ulong _minutes; // bits 0-59
    private readonly ulong _hours;   // bits 0-23
    private readonly ulong _days;    // bits 1-31
    private readonly ulong _months;  // bits 1-12
    private readonly ulong _weekdays; // bits 0-6, Sunday = 0
    private readonly bool _dayOfMonthStar;
    private readonly bool _dayOfWeekStar;

    public string Text { get; }

    /// <summary>True when the hour field covers every hour (<c>*</c>, <c>*/1</c>, <c>0-23</c>): such schedules follow
    /// elapsed time across a fall-back, so the repeated hour fires again.</summary>
    public bool EveryHour => _hours == AllHours;

    private CronExpression(string text, ulong[] fields, bool dayOfMonthStar, bool dayOfWeekStar)
    {
        Text = text;
        _minutes = fields[0];
        _hours = fields[1];
        _days = fields[2];
        _months = fields[3];
        // Day-of-week 7 is Sunday, like 0.
        _weekdays = (fields[4] & 0x7F) | ((fields[4] >> 7) & 1);
        _dayOfMonthStar = dayOfMonthStar;
        _dayOfWeekStar = dayOfWeekStar;
    }

    /// <exception cref="FormatException">names the field at fault.</exception>
    public static CronExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var body = text.Trim();
        if (body.StartsWith('@'))
        {
            body = body.ToLowerInvariant() switch
            {
                "@yearly" or "@annually" => "0 0 1 1 *",
                "@monthly" => "0 0 1 * *",
                "@weekly" => "0 0 * * 0",
                "@daily" or "@midnight" => "0 0 * * *",
                "@hourly" => "0 * * * *",
                _ => throw Error(text, $"unknown macro '{body}' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"),
            };
        }

        var parts = body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 5)
            throw Error(text, $"expected 5 fields (minute hour day-of-month month day-of-week) but found {parts.Length}");

        var masks = new ulong[5];
        for (var i = 0; i < 5; i++)
            masks[i] = ParseField(text, i, parts[i]);
        return new CronExpression(text, masks, parts[2].StartsWith('*'), parts[4].StartsWith('*'));
    }

    public override string ToString() => Text;

    /// <summary>The first fire time strictly after <paramref name="after"/>, evaluated in wall-clock time of <paramref name="zone"/>.</summary>
    /// <returns>The fire instant, carrying the zone's UTC offset at that instant; <c>null</c> if the expression has no
    /// fire time within eight years (for example <c>0 0 30 2 *</c>).</returns>
    /// <remarks>
    /// Daylight-saving rules (modelled on cronie/Vixie cron):
    /// <list type="number">
    /// <item>For expressions with a restricted hour field (fixed-time jobs such as <c>30 2 * * *</c>), a wall-clock
    /// time that does not exist (skipped by a spring-forward) fires once, at the instant the clock jumps:
    /// <c>30 2 * * *</c> in Europe/Amsterdam on the last Sunday of March fires at 03:00 local (01:00 UTC). Several
    /// skipped times collapse into that one instant, and if the first time after the gap also matches it still
    /// fires only once.</item>
    /// <item>For the same expressions, a wall-clock time that occurs twice (fall-back) fires once, at its first
    /// occurrence.</item>
    /// <item>When the hour field covers every hour (<see cref="EveryHour"/>: <c>*</c>, <c>*/1</c>, <c>0-23</c>),
    /// fire times follow elapsed time: every instant whose wall-clock reading matches fires, so the repeated hour
    /// fires again and skipped wall-clock times do not fire. An hourly job fires 25 times on a fall-back day and
    /// 23 times on a spring-forward day, always one real hour apart; <c>*/30 * * * *</c> fires every 30 real
    /// minutes. (With a 30-minute shift, as in Australia/Lord_Howe, <c>0 * * * *</c> necessarily has one
    /// 90-minute interval on the spring-forward day and fires 23 times.)</item>
    /// </list>
    /// Fire times are distinct instants and successive calls yield a strictly increasing sequence. Transitions are
    /// assumed to be at least a day apart (true of every modern zone).
    /// </remarks>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var limitWall = Wall(after, zone.GetUtcOffset(after));
        if (limitWall.Year > DateTime.MaxValue.Year - SearchYears - 1) return null;
        limitWall = limitWall.AddYears(SearchYears);

        var t = after.UtcDateTime.AddTicks(1);
        var before = zone.GetUtcOffset(after);

        if (!EveryHour)
        {
            // Starting inside the second pass of a repeated hour: those wall times already fired on the first pass.
            var probe = new DateTimeOffset(t, TimeSpan.Zero);
            if (zone.IsAmbiguousTime(probe))
            {
                var offsets = zone.GetAmbiguousTimeOffsets(probe);
                TimeSpan big = offsets.Max(), small = offsets.Min();
                if (zone.GetUtcOffset(probe) == small)
                {
                    var transition = FindTransition(zone, t - (big - small), t, big);
                    t = transition + (big - small);
                    before = zone.GetUtcOffset(new DateTimeOffset(t.AddTicks(-1), TimeSpan.Zero));
                }
            }
        }

        while (true)
        {
            var offset = zone.GetUtcOffset(new DateTimeOffset(t, TimeSpan.Zero));
            // At a transition the wall clock moves from t+before to t+offset. Hour-"*" schedules just carry on
            // from the new reading (elapsed time); fixed-time schedules apply rules 1 and 2.
            if (offset != before && !EveryHour)
            {
                if (offset > before)
                {
                    // Spring-forward: wall times in [t+before, t+offset) never occur; any match fires now.
                    var skipped = NextWallMatch(Wall(t, before), Wall(t, offset));
                    if (skipped < Wall(t, offset)) return new DateTimeOffset(t, TimeSpan.Zero).ToOffset(offset);
                }
                else
                {
                    // Fall-back: wall times in [t+offset, t+before) repeat; skip their second pass.
                    t += before - offset;
                    before = offset;
                    continue;
                }
            }
            before = offset;

            var match = NextWallMatch(Wall(t, offset), limitWall);
            if (match is null) return null;
            var instant = match.Value - offset;
            var next = NextTransition(zone, t, instant, offset);
            if (next is null) return new DateTimeOffset(instant, TimeSpan.Zero).ToOffset(offset);
            t = next.Value;
        }
    }

    private static DateTime Wall(DateTime utc, TimeSpan offset) => DateTime.SpecifyKind(utc + offset, DateTimeKind.Unspecified);

    private static DateTime Wall(DateTimeOffset instant, TimeSpan offset) => Wall(instant.UtcDateTime, offset);

    /// <summary>The first instant in (<paramref name="from"/>, <paramref name="to"/>] whose offset differs from
    /// <paramref name="offset"/>; probes a day at a time, then bisects.</summary>
    private static DateTime? NextTransition(TimeZoneInfo zone, DateTime from, DateTime to, TimeSpan offset)
    {
        var step = TimeSpan.FromDays(1);
        for (var lo = from; lo < to;)
        {
            var hi = to - lo > step ? lo + step : to;
            if (zone.GetUtcOffset(new DateTimeOffset(hi, TimeSpan.Zero)) != offset)
                return FindTransition(zone, lo, hi, offset);
            lo = hi;
        }
        return null;
    }

    /// <summary>Bisects for the first instant in (<paramref name="lo"/>, <paramref name="hi"/>] whose offset is not
    /// <paramref name="offset"/>, given that <paramref name="lo"/> has it and <paramref name="hi"/> does not.</summary>
    private static DateTime FindTransition(TimeZoneInfo zone, DateTime lo, DateTime hi, TimeSpan offset)
    {
        while ((hi - lo).Ticks > 1)
        {
            var mid = lo.AddTicks((hi - lo).Ticks / 2);
            if (zone.GetUtcOffset(new DateTimeOffset(mid, TimeSpan.Zero)) == offset) lo = mid;
            else hi = mid;
        }
        return hi;
    }

    /// <summary>The first wall-clock minute at or after <paramref name="from"/> that matches every field, skipping
    /// whole months, days and hours that cannot match.</summary>
    private DateTime? NextWallMatch(DateTime from, DateTime limit)
    {
        var t = new DateTime(from.Year, from.Month, from.Day, from.Hour, from.Minute, 0);
        if (t < from) t = t.AddMinutes(1);

        while (t <= limit)
        {
            if (!Has(_months, t.Month))
            {
                var month = NextBit(_months, t.Month + 1);
                t = month < 0 ? new DateTime(t.Year + 1, NextBit(_months, 1), 1) : new DateTime(t.Year, month, 1);
                continue;
            }
            if (!DayMatches(t))
            {
                t = t.Date.AddDays(1);
                continue;
            }
            if (!Has(_hours, t.Hour))
            {
                var hour = NextBit(_hours, t.Hour + 1);
                t = hour < 0 ? t.Date.AddDays(1) : t.Date.AddHours(hour);
                continue;
            }
            if (!Has(_minutes, t.Minute))
            {
                var minute = NextBit(_minutes, t.Minute + 1);
                var hourStart = t.Date.AddHours(t.Hour);
                t = minute < 0 ? hourStart.AddHours(1) : hourStart.AddMinutes(minute);
                continue;
            }
            return t;
        }
        return null;
    }

    private bool DayMatches(DateTime day)
    {
        var dom = Has(_days, day.Day);
        var dow = Has(_weekdays, (int)day.DayOfWeek);
        return _dayOfMonthStar || _dayOfWeekStar ? dom && dow : dom || dow;
    }

    private static bool Has(ulong mask, int bit) => (mask & (1UL << bit)) != 0;

    private static int NextBit(ulong mask, int from)
    {
        if (from >= 64) return -1;
        var rest = mask >> from << from;
        return rest == 0 ? -1 : BitOperations.TrailingZeroCount(rest);
    }

    private static ulong ParseField(string text, int field, string part)
    {
        var name = FieldNames[field];
        int min = FieldMin[field], max = FieldMax[field];
        ulong mask = 0;
        foreach (var item in part.Split(','))
        {
            if (item.Length == 0) throw Error(text, $"{name} field: empty list item in '{part}'");

            var slash = item.IndexOf('/');
            var rangeText = slash < 0 ? item : item[..slash];
            int start, end;
            if (rangeText == "*")
            {
                (start, end) = (min, max == 7 ? 6 : max);
            }
            else
            {
                var dash = rangeText.IndexOf('-');
                if (dash < 0)
                {
                    start = ParseValue(text, field, rangeText);
                    // "5/15" means 5-max/15; a bare "5" is just 5.
                    end = slash < 0 ? start : max;
                }
                else
                {
                    start = ParseValue(text, field, rangeText[..dash]);
                    end = ParseValue(text, field, rangeText[(dash + 1)..]);
                    if (start > end) throw Error(text, $"{name} field: range '{rangeText}' starts after it ends");
                }
            }

            var step = 1;
            if (slash >= 0)
            {
                var stepText = item[(slash + 1)..];
                if (!int.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out step))
                    throw Error(text, $"{name} field: invalid step '{stepText}' in '{item}'");
                var span = max - min + 1;
                if (step < 1 || step > span)
                    throw Error(text, $"{name} field: step {step} out of range 1-{span}");
            }

            for (var v = start; v <= end; v += step) mask |= 1UL << v;
        }
        return mask;
    }

    private static int ParseValue(string text, int field, string token)
    {
        var name = FieldNames[field];
        var names = field switch { 3 => MonthNames, 4 => DayNames, _ => null };
        if (names is not null)
        {
            var index = Array.FindIndex(names, n => string.Equals(n, token, StringComparison.OrdinalIgnoreCase));
            if (index >= 0) return field == 3 ? index + 1 : index;
        }
        if (token.Length == 0 || !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw Error(text, $"{name} field: invalid value '{token}'");
        if (value < FieldMin[field] || value > FieldMax[field])
            throw Error(text, $"{name} field: value {value} out of range {FieldMin[field]}-{FieldMax[field]}");
        return value;
    }

    private static FormatException Error(string text, string message) => new($"cron '{text}': {message}");
}
