using System.Runtime.CompilerServices;
using System.Text;

namespace Pipelines.Data.Csv;

/// <summary>
/// Booleans, dates and timestamps from UTF-8 bytes with the results of <see cref="ValueParser"/>. The common ISO shapes
/// (yyyy-MM-dd, yyyy-MM-dd HH:mm:ss, yyyy-MM-ddTHH:mm:ss) are read here; any other text goes to <see cref="ValueParser"/>.
/// </summary>
internal static class Utf8Values
{
    /// <summary>As <see cref="bool.TryParse(string?, out bool)"/> on the decoded text.</summary>
    public static bool TryParseBool(ReadOnlySpan<byte> v, out bool b)
    {
        if (v.Length <= 64 && System.Text.Ascii.IsValid(v))
        {
            Span<char> chars = stackalloc char[v.Length];
            for (var i = 0; i < v.Length; i++) chars[i] = (char)v[i];
            return bool.TryParse(chars, out b);
        }
        return bool.TryParse(Encoding.UTF8.GetString(v), out b);
    }

    /// <summary>As <see cref="ValueParser.TryParseDate"/>: days since 1970-01-01.</summary>
    public static bool TryParseDate(ReadOnlySpan<byte> v, out int days)
    {
        if (TryIsoDate(v, out days)) return true;
        return ValueParser.TryParseDate(Encoding.UTF8.GetString(v), out days);
    }

    /// <summary>As <see cref="ValueParser.TryParseTimestamp"/>: microseconds since 1970-01-01, and whether the text named UTC.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<byte> v, out long micros, out bool utc)
    {
        utc = false;
        if (TryIsoDateTime(v, out micros)) return true;
        return ValueParser.TryParseTimestamp(Encoding.UTF8.GetString(v), out micros, out utc);
    }

    /// <summary>
    /// Exactly yyyy-MM-dd naming a real day: what <see cref="DateOnly.TryParseExact(string?, string?, IFormatProvider?, System.Globalization.DateTimeStyles, out DateOnly)"/>
    /// with that format gives. False means "not shown here", not "not a date".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryIsoDate(ReadOnlySpan<byte> v, out int days)
    {
        days = 0;
        if (v.Length != 10 || v[4] != '-' || v[7] != '-') return false;
        if (!TryDay(v, out var date)) return false;
        days = date.DayNumber - 719162;
        return true;
    }

    /// <summary>Exactly yyyy-MM-dd HH:mm:ss or yyyy-MM-ddTHH:mm:ss naming a real instant, as microseconds since 1970-01-01; false means "not shown here".</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryIsoDateTime(ReadOnlySpan<byte> v, out long micros)
    {
        micros = 0;
        if (v.Length != 19 || v[4] != '-' || v[7] != '-' || (v[10] != ' ' && v[10] != 'T') || v[13] != ':' || v[16] != ':') return false;
        if (!TryDay(v, out var date)) return false;
        int hour = Two(v, 11), minute = Two(v, 14), second = Two(v, 17);
        if ((uint)hour > 23 || (uint)minute > 59 || (uint)second > 59) return false;
        var ticks = date.DayNumber * TimeSpan.TicksPerDay + hour * TimeSpan.TicksPerHour + minute * TimeSpan.TicksPerMinute + second * TimeSpan.TicksPerSecond;
        micros = (ticks - DateTime.UnixEpoch.Ticks) / 10;
        return true;
    }

    private static bool TryDay(ReadOnlySpan<byte> v, out DateOnly date)
    {
        date = default;
        int hi = Two(v, 0), lo = Two(v, 2), month = Two(v, 5), day = Two(v, 8);
        if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1) return false;
        var year = hi * 100 + lo;
        if (year < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        date = new DateOnly(year, month, day);
        return true;
    }

    /// <summary>Two ASCII digits at <paramref name="i"/> as a number, or −1.</summary>
    private static int Two(ReadOnlySpan<byte> v, int i)
    {
        var a = (uint)(v[i] - '0');
        var b = (uint)(v[i + 1] - '0');
        return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
    }
}
