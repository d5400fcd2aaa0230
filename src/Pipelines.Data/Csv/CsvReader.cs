using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>
/// Reads delimited text into a <see cref="Table"/>: RFC 4180 quoting (doubled quotes, delimiters and line
/// breaks inside quotes), header or given names, null tokens, trimming, type inference, bad-row policy.
/// For large files use <see cref="CsvBatchReader"/>, which streams bounded batches.
/// </summary>
public static class CsvReader
{
    public static CsvReadResult Read(string path, CsvOptions? options = null)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, options);
    }

    /// <summary>Reads the whole input into one table (the stream is read twice: inference, then values).</summary>
    public static CsvReadResult Read(Stream stream, CsvOptions? options = null)
    {
        using var reader = new CsvBatchReader(stream, options, batchRows: int.MaxValue, leaveOpen: true, maxRecordedErrors: int.MaxValue);
        var table = reader.ReadBatches().Single();
        return new CsvReadResult(table, reader.RejectedRows, reader.RejectedCount);
    }
}

/// <summary>Narrows a column's type as values are observed: bool → int32 → int64 → double, date → timestamp, else string.</summary>
internal sealed class TypeInference
{
    private bool _bool = true, _int32 = true, _int64 = true, _double = true, _date = true, _timestamp = true, _utc = true, _any;

    /// <summary>
    /// Observes a UTF-8 value. Plain integers and decimals are classified from their digits (such text is never a
    /// boolean, date or timestamp, and always a double); anything else is decoded and observed as text.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Observe(ReadOnlySpan<byte> v)
    {
        if (!(_bool | _int32 | _int64 | _double | _date | _timestamp)) { _any = true; return; }
        if (!(_bool | _int32 | _int64 | _date | _timestamp))
        {
            // Only double is left to rule out, and a plain decimal cannot rule it out.
            if (v.Length > 0 && Utf8Number.ScanDouble(v, out _) == v.Length) { _any = true; return; }
            Observe(Encoding.UTF8.GetString(v).AsSpan());
            return;
        }
        // The common shapes of the other types, each of which rules out every type it is not.
        if (_timestamp && v.Length == 19 && Utf8Values.TryIsoDateTime(v, out _))
        {
            _any = true;
            _bool = _int32 = _int64 = _double = _date = _utc = false;
            return;
        }
        if ((_date || _timestamp) && v.Length == 10 && Utf8Values.TryIsoDate(v, out _))
        {
            _any = true;
            _bool = _int32 = _int64 = _double = _utc = false;
            return;
        }
        if (_bool && v.Length is 4 or 5 && Utf8Values.TryParseBool(v, out _))
        {
            _any = true;
            _int32 = _int64 = _double = _date = _timestamp = false;
            return;
        }
        var n = Utf8Number.ScanInt64(v, out var integer);
        if (n > 0 && n == v.Length)
        {
            _any = true;
            _bool = _date = _timestamp = false;
            if (integer is < int.MinValue or > int.MaxValue) _int32 = false;
            return;
        }
        if (n >= 0 && v.Length > 0 && Utf8Number.ScanDouble(v, out _) == v.Length)
        {
            _any = true;
            _bool = _int32 = _int64 = _date = _timestamp = false;
            return;
        }
        Observe(Encoding.UTF8.GetString(v).AsSpan());
    }

    /// <summary>Combines observations of another part of the same column (the order of observations does not matter).</summary>
    public void Merge(TypeInference other)
    {
        _bool &= other._bool; _int32 &= other._int32; _int64 &= other._int64; _double &= other._double;
        _date &= other._date; _timestamp &= other._timestamp; _utc &= other._utc; _any |= other._any;
    }

    public void Observe(ReadOnlySpan<char> v)
    {
        _any = true;
        // Once every candidate is ruled out the column is a string column: nothing left to test.
        if (!(_bool | _int32 | _int64 | _double | _date | _timestamp)) return;
        if (_bool) _bool = bool.TryParse(v, out _);
        if (_int32) _int32 = int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        if (_int64) _int64 = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        if (_double) _double = ValueParser.TryParseDouble(v, out _);
        if (_date || _timestamp)
        {
            var s = v.ToString();
            if (_date) _date = ValueParser.TryParseDate(s, out _);
            if (_timestamp)
            {
                _timestamp = ValueParser.TryParseTimestamp(s, out _, out var utc);
                _utc &= utc;
            }
        }
    }

    public DataType Result =>
        !_any ? DataType.String :
        _bool ? DataType.Boolean :
        _int32 ? DataType.Int32 :
        _int64 ? DataType.Int64 :
        _double ? DataType.Float64 :
        _date ? DataType.Date :
        _timestamp ? DataType.Timestamp(TimeUnit.Micros, _utc) :
        DataType.String;
}

internal static class ValueParser
{
    private static readonly string[] DateFormats = ["yyyy-MM-dd"];
    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mm", "yyyy-MM-dd",
    ];

    public static bool TryParseDouble(ReadOnlySpan<char> v, out double d)
    {
        if (TryParseSimpleDouble(v, out d)) return true;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return false;
        // "Infinity"-like words would make any column numeric; accept only digits-based forms and the common NaN/inf spellings.
        foreach (var c in v) if (char.IsDigit(c)) return true;
        return v is "NaN" or "nan" or "inf" or "-inf" or "Infinity" or "-Infinity";
    }

    private static readonly double[] PowersOf10 =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>
    /// Plain decimals ([-+]digits[.digits][e[-+]digits]) whose digits fit in 53 bits and whose power of ten is
    /// at most 22: the mantissa and the power are both exact doubles, so one multiplication or division is
    /// correctly rounded (Clinger's fast path) and equals what <see cref="double.TryParse(string?, out double)"/> returns.
    /// Anything else returns false and goes to the full parser.
    /// </summary>
    private static bool TryParseSimpleDouble(ReadOnlySpan<char> v, out double d)
    {
        d = 0;
        var i = 0;
        var negative = false;
        if (v.Length > 0 && v[0] is '-' or '+') { negative = v[0] == '-'; i = 1; }
        ulong mantissa = 0;
        int digits = 0, scale = 0;
        for (; i < v.Length && (uint)(v[i] - '0') <= 9; i++, digits++)
        {
            if (mantissa >= 1UL << 49) return false;
            mantissa = mantissa * 10 + (uint)(v[i] - '0');
        }
        if (i < v.Length && v[i] == '.')
        {
            for (i++; i < v.Length && (uint)(v[i] - '0') <= 9; i++, digits++, scale--)
            {
                if (mantissa >= 1UL << 49) return false;
                mantissa = mantissa * 10 + (uint)(v[i] - '0');
            }
        }
        if (digits == 0) return false;
        if (i < v.Length && v[i] is 'e' or 'E')
        {
            i++;
            var expNegative = false;
            if (i < v.Length && v[i] is '-' or '+') { expNegative = v[i] == '-'; i++; }
            var exp = 0;
            var expDigits = 0;
            for (; i < v.Length && (uint)(v[i] - '0') <= 9; i++, expDigits++)
            {
                if (expDigits == 4) return false;
                exp = exp * 10 + (v[i] - '0');
            }
            if (expDigits == 0) return false;
            scale += expNegative ? -exp : exp;
        }
        if (i != v.Length || scale is < -22 or > 22) return false;
        var m = (double)mantissa;
        m = scale < 0 ? m / PowersOf10[-scale] : m * PowersOf10[scale];
        d = negative ? -m : m;
        return true;
    }

    public static bool TryParseDate(string v, out int days)
    {
        days = 0;
        if (!DateOnly.TryParseExact(v, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return false;
        days = d.DayNumber - 719162;
        return true;
    }

    public static bool TryParseTimestamp(string v, out long micros, out bool utc)
    {
        micros = 0;
        utc = v.EndsWith('Z') || (v.Length > 6 && (v[^6] is '+' or '-') && v[^3] == ':');
        if (utc)
        {
            if (!DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)) return false;
            micros = (dto.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
            return v.Length >= 10 && v[4] == '-';
        }
        if (!DateTime.TryParseExact(v, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dt)) return false;
        micros = (dt.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        return true;
    }

    public static bool TryParse(string v, DataType type, out object? value)
    {
        value = null;
        switch (type.Kind)
        {
            case TypeKind.String: value = v; return true;
            case TypeKind.Boolean: { var ok = bool.TryParse(v, out var b); value = b; return ok; }
            case TypeKind.Int32: { var ok = int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i); value = i; return ok; }
            case TypeKind.Int64 or TypeKind.Int8 or TypeKind.Int16:
            {
                var ok = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l);
                if (type.Kind == TypeKind.Int8) ok &= l is >= sbyte.MinValue and <= sbyte.MaxValue;
                if (type.Kind == TypeKind.Int16) ok &= l is >= short.MinValue and <= short.MaxValue;
                value = l;
                return ok;
            }
            case TypeKind.Float64: { var ok = TryParseDouble(v.AsSpan(), out var d); value = d; return ok; }
            case TypeKind.Float32: { var ok = TryParseDouble(v.AsSpan(), out var d); value = (float)d; return ok; }
            case TypeKind.Date: { var ok = TryParseDate(v, out var days); value = days; return ok; }
            case TypeKind.Timestamp:
            {
                var ok = TryParseTimestamp(v, out var micros, out _);
                value = type.Unit switch { TimeUnit.Millis => micros / 1000, TimeUnit.Nanos => micros * 1000, _ => micros };
                return ok;
            }
            case TypeKind.Decimal:
            {
                if (!decimal.TryParse(v, NumberStyles.Number, CultureInfo.InvariantCulture, out var m)) return false;
                var scaled = decimal.Round(m, type.Scale);
                if (scaled != m) return false;
                var unscaled = (Int128)(scaled * (decimal)Math.Pow(10, type.Scale));
                value = unscaled;
                return true;
            }
            case TypeKind.Binary: value = Encoding.UTF8.GetBytes(v); return true;
            default: return false;
        }
    }
}
