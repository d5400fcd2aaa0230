using System.Globalization;
using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>
/// Reads delimited text into a <see cref="Table"/>: RFC 4180 quoting (doubled quotes, delimiters and line
/// breaks inside quotes), header or given names, null tokens, trimming, type inference, bad-row policy.
/// </summary>
public static class CsvReader
{
    public static CsvReadResult Read(string path, CsvOptions? options = null)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, options);
    }

    public static CsvReadResult Read(Stream stream, CsvOptions? options = null)
    {
        options ??= new CsvOptions();
        options.Validate();
        string text;
        using (var sr = new StreamReader(stream, options.Encoding, detectEncodingFromByteOrderMarks: true)) text = sr.ReadToEnd();

        var records = Parse(text, options);
        var rejected = new List<CsvRowError>();
        var quarantine = new List<string>();

        void Reject(Record record, CsvRowError error)
        {
            switch (options.BadRows)
            {
                case BadRowPolicy.Fail: throw new CsvFormatException(error);
                case BadRowPolicy.Quarantine: quarantine.Add(record.Raw); break;
            }
            rejected.Add(error);
        }

        string[] names;
        var start = 0;
        if (options.HasHeader)
        {
            if (records.Count == 0) throw new CsvFormatException(new CsvRowError(1, null, null, "no header line"));
            names = records[0].Fields.Select(f => f.Value.Trim()).ToArray();
            start = 1;
        }
        else
        {
            var width = options.ColumnNames?.Count ?? records.FirstOrDefault(r => r.Error is null)?.Fields.Count ?? 0;
            names = options.ColumnNames?.ToArray() ?? Enumerable.Range(1, width).Select(i => $"column{i}").ToArray();
        }
        for (var i = 0; i < names.Length; i++) if (names[i].Length == 0) names[i] = $"column{i + 1}";
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new CsvFormatException(new CsvRowError(1, duplicate.Key, null, "duplicate column name"));

        // Structural checks first, so inference sees only well-formed rows.
        var rows = new List<Record>(records.Count);
        for (var i = start; i < records.Count; i++)
        {
            var r = records[i];
            if (r.Error is not null) Reject(r, new CsvRowError(r.Line, null, null, r.Error));
            else if (r.Fields.Count != names.Length)
                Reject(r, new CsvRowError(r.Line, null, null, $"{r.Fields.Count} fields, expected {names.Length}"));
            else rows.Add(r);
        }

        var nulls = new HashSet<string>(options.NullTokens, StringComparer.Ordinal);
        bool IsNull(CsvField f) => !f.Quoted && nulls.Contains(f.Value);

        var types = new DataType[names.Length];
        var limit = Math.Min(rows.Count, options.InferenceRows ?? int.MaxValue);
        for (var c = 0; c < names.Length; c++)
        {
            if (options.ColumnTypes is not null && options.ColumnTypes.TryGetValue(names[c], out var declared)) { types[c] = declared; continue; }
            var inference = new TypeInference();
            for (var r = 0; r < limit; r++)
            {
                var f = rows[r].Fields[c];
                if (!IsNull(f)) inference.Observe(f.Value);
            }
            types[c] = inference.Result;
        }

        var builders = types.Select(t => ColumnBuilder.Create(t, rows.Count)).ToArray();
        var parsed = new object?[names.Length];
        foreach (var row in rows)
        {
            CsvRowError? error = null;
            for (var c = 0; c < names.Length && error is null; c++)
            {
                var f = row.Fields[c];
                if (IsNull(f)) { parsed[c] = null; continue; }
                if (!ValueParser.TryParse(f.Value, types[c], out parsed[c]))
                    error = new CsvRowError(row.Line, names[c], f.Value, $"not a valid {types[c]}");
            }
            if (error is not null) { Reject(row, error); continue; }
            for (var c = 0; c < names.Length; c++) Append(builders[c], parsed[c]);
        }

        if (options.BadRows == BadRowPolicy.Quarantine)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.QuarantinePath!))!);
            var header = options.HasHeader && records.Count > 0 ? records[0].Raw + "\n" : "";
            File.WriteAllText(options.QuarantinePath!, header + string.Concat(quarantine.Select(q => q + "\n")), options.Encoding);
        }

        var schema = new Schema(names.Select((n, i) => new Pipelines.Data.Tables.Field(n, types[i])));
        return new CsvReadResult(new Table(schema, builders.Select(b => b.Build()).ToArray()), rejected);
    }

    private static void Append(ColumnBuilder b, object? value)
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
        var pos = 0;
        long line = 1;
        var sb = new StringBuilder();
        while (pos < text.Length)
        {
            var recordStart = pos;
            var recordLine = line;
            // Blank lines and comments.
            if (text[pos] is '\n' or '\r')
            {
                pos += text[pos] == '\r' && pos + 1 < text.Length && text[pos + 1] == '\n' ? 2 : 1;
                line++;
                continue;
            }
            if (o.CommentPrefix is { Length: > 0 } cp && string.CompareOrdinal(text, pos, cp, 0, cp.Length) == 0)
            {
                while (pos < text.Length && text[pos] != '\n') pos++;
                pos++;
                line++;
                continue;
            }
            var fields = new List<CsvField>();
            string? error = null;
            while (true)
            {
                // One field.
                var fieldStart = pos;
                while (o.TrimWhitespace && pos < text.Length && text[pos] is ' ' or '\t') pos++;
                if (pos < text.Length && text[pos] == o.Quote)
                {
                    pos++;
                    sb.Clear();
                    var closed = false;
                    while (pos < text.Length)
                    {
                        var ch = text[pos];
                        if (ch == o.Quote)
                        {
                            if (pos + 1 < text.Length && text[pos + 1] == o.Quote) { sb.Append(o.Quote); pos += 2; continue; }
                            pos++;
                            closed = true;
                            break;
                        }
                        if (ch == '\n') line++;
                        sb.Append(ch);
                        pos++;
                    }
                    if (!closed) { error = "unterminated quoted field"; break; }
                    while (o.TrimWhitespace && pos < text.Length && text[pos] is ' ' or '\t') pos++;
                    fields.Add(new CsvField(sb.ToString(), true));
                    if (pos < text.Length && text[pos] != o.Delimiter && text[pos] is not ('\r' or '\n'))
                    {
                        error ??= $"unexpected character '{text[pos]}' after a closing quote";
                        while (pos < text.Length && text[pos] != o.Delimiter && text[pos] is not ('\r' or '\n')) pos++;
                    }
                }
                else
                {
                    pos = fieldStart;
                    while (pos < text.Length && text[pos] != o.Delimiter && text[pos] is not ('\r' or '\n')) pos++;
                    var value = text[fieldStart..pos];
                    fields.Add(new CsvField(o.TrimWhitespace ? value.Trim(' ', '\t') : value, false));
                }
                if (pos < text.Length && text[pos] == o.Delimiter) { pos++; continue; }
                break;
            }
            var rawEnd = pos;
            if (error is not null && pos >= text.Length) rawEnd = text.Length;
            // End of record.
            if (pos < text.Length && text[pos] == '\r') pos++;
            if (pos < text.Length && text[pos] == '\n') pos++;
            line++;
            records.Add(new Record(recordLine, fields, text[recordStart..rawEnd], error));
        }
        return records;
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
