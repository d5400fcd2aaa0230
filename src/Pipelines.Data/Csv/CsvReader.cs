using System.Globalization;
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

    internal static void Append(ColumnBuilder b, object? value)
    {
        if (value is null) { b.AppendNull(); return; }
        switch (b)
        {
            case PrimitiveBuilder<bool> x: x.Append((bool)value); break;
            case PrimitiveBuilder<int> x: x.Append((int)value); break;
            case PrimitiveBuilder<long> x: x.Append((long)value); break;
            case PrimitiveBuilder<double> x: x.Append((double)value); break;
            case PrimitiveBuilder<float> x: x.Append((float)value); break;
            case PrimitiveBuilder<Int128> x: x.Append((Int128)value); break;
            case PrimitiveBuilder<sbyte> x: x.Append((sbyte)(long)value); break;
            case PrimitiveBuilder<short> x: x.Append((short)(long)value); break;
            case BinaryBuilder x when value is string s: x.Append(s); break;
            case BinaryBuilder x: x.Append((byte[])value); break;
            default: throw new NotSupportedException($"CSV cannot produce {b.Type}");
        }
    }

    internal readonly record struct CsvField(string Value, bool Quoted);

    internal sealed record Record(long Line, List<CsvField> Fields, string Raw, string? Error);

    /// <summary>Splits text into records; a record with broken quoting carries an error instead of failing the file.</summary>
    internal static List<Record> Parse(string text, CsvOptions o)
    {
        var records = new List<Record>();
        var reader = new CsvRecordReader(new StringReader(text), o);
        while (reader.TryRead(out var r)) records.Add(r);
        return records;
    }
}

/// <summary>
/// Splits a character stream into records one at a time, so memory is bounded by the longest record.
/// A record with broken quoting carries an error instead of failing the file.
/// </summary>
internal sealed class CsvRecordReader(TextReader reader, CsvOptions o)
{
    private readonly char[] _buffer = new char[1 << 16];
    private readonly StringBuilder _raw = new();
    private readonly StringBuilder _field = new();
    private int _pos, _len;
    private long _line = 1;
    private int _width = 8;

    private int Peek()
    {
        if (_pos < _len) return _buffer[_pos];
        _len = reader.Read(_buffer, 0, _buffer.Length);
        _pos = 0;
        if (_len > 0) return _buffer[0];
        _len = 0;
        return -1;
    }

    /// <summary>Consumes the current character as part of the record's raw text.</summary>
    private void Take() { _raw.Append(_buffer[_pos]); _pos++; }

    private bool StartsWith(string prefix)
    {
        if (_len - _pos < prefix.Length)
        {
            // Move what is left to the front and top the buffer up, so the prefix can be compared in place.
            Array.Copy(_buffer, _pos, _buffer, 0, _len - _pos);
            _len -= _pos;
            _pos = 0;
            int n;
            while (_len < prefix.Length && (n = reader.Read(_buffer, _len, _buffer.Length - _len)) > 0) _len += n;
        }
        return _len - _pos >= prefix.Length && _buffer.AsSpan(_pos, prefix.Length).SequenceEqual(prefix);
    }

    private static bool IsSpace(int c) => c == ' ' || c == '\t';
    private bool EndsField(int c) => c < 0 || c == o.Delimiter || c == '\r' || c == '\n';

    public bool TryRead(out CsvReader.Record record)
    {
        while (true)
        {
            var c = Peek();
            if (c < 0) { record = null!; return false; }
            // Blank lines and comments.
            if (c is '\n' or '\r')
            {
                _pos++;
                if (c == '\r' && Peek() == '\n') _pos++;
                _line++;
                continue;
            }
            if (o.CommentPrefix is { Length: > 0 } cp && StartsWith(cp))
            {
                while ((c = Peek()) >= 0 && c != '\n') _pos++;
                if (c == '\n') _pos++;
                _line++;
                continue;
            }
            break;
        }
        var recordLine = _line;
        _raw.Clear();
        var fields = new List<CsvReader.CsvField>(_width);
        string? error = null;
        while (true)
        {
            _field.Clear();
            if (o.TrimWhitespace)
                while (IsSpace(Peek())) { _field.Append(_buffer[_pos]); Take(); }
            if (Peek() == o.Quote)
            {
                _field.Clear();
                Take();
                var closed = false;
                int ch;
                while ((ch = Peek()) >= 0)
                {
                    if (ch == o.Quote)
                    {
                        Take();
                        if (Peek() == o.Quote) { _field.Append(o.Quote); Take(); continue; }
                        closed = true;
                        break;
                    }
                    if (ch == '\n') _line++;
                    _field.Append((char)ch);
                    Take();
                }
                if (!closed) { error = "unterminated quoted field"; break; }
                if (o.TrimWhitespace) while (IsSpace(Peek())) Take();
                fields.Add(new CsvReader.CsvField(_field.ToString(), true));
                if (!EndsField(Peek()))
                {
                    error ??= $"unexpected character '{(char)Peek()}' after a closing quote";
                    while (!EndsField(Peek())) Take();
                }
            }
            else
            {
                while (!EndsField(Peek())) { _field.Append(_buffer[_pos]); Take(); }
                var value = _field.ToString();
                fields.Add(new CsvReader.CsvField(o.TrimWhitespace ? value.Trim(' ', '\t') : value, false));
            }
            if (Peek() == o.Delimiter) { Take(); continue; }
            break;
        }
        // End of record.
        if (Peek() == '\r') _pos++;
        if (Peek() == '\n') _pos++;
        _line++;
        _width = Math.Max(_width, fields.Count);
        record = new CsvReader.Record(recordLine, fields, _raw.ToString(), error);
        return true;
    }
}

/// <summary>Narrows a column's type as values are observed: bool → int32 → int64 → double, date → timestamp, else string.</summary>
internal sealed class TypeInference
{
    private bool _bool = true, _int32 = true, _int64 = true, _double = true, _date = true, _timestamp = true, _utc = true, _any;

    public void Observe(string v)
    {
        _any = true;
        if (_bool) _bool = bool.TryParse(v, out _);
        if (_int32) _int32 = int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        if (_int64) _int64 = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        if (_double) _double = ValueParser.TryParseDouble(v, out _);
        if (_date) _date = ValueParser.TryParseDate(v, out _);
        if (_timestamp)
        {
            _timestamp = ValueParser.TryParseTimestamp(v, out _, out var utc);
            _utc &= utc;
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

    public static bool TryParseDouble(string v, out double d) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out d)
        // "Infinity"-like words would make any column numeric; accept only digits-based forms and the common NaN/inf spellings.
        && (v.Any(char.IsDigit) || v is "NaN" or "nan" or "inf" or "-inf" or "Infinity" or "-Infinity");

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
            case TypeKind.Float64: { var ok = TryParseDouble(v, out var d); value = d; return ok; }
            case TypeKind.Float32: { var ok = TryParseDouble(v, out var d); value = (float)d; return ok; }
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
