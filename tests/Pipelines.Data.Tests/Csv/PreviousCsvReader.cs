using System.Globalization;
using System.Text;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

/// <summary>
/// The reader as it was before it parsed bytes (commit c15ef90: text decoded to characters, always two passes, one
/// thread), kept unchanged as the oracle the current reader must agree with on every input. Only its name changed.
/// </summary>
internal sealed class PreviousCsvReader : IDisposable
{
    /// <summary>Rows per batch by default: a row group's worth for typical tables, a few MB for wide ones.</summary>
    public const int DefaultBatchRows = 65_536;

    private readonly Stream _stream;
    private readonly long _start;
    private readonly bool _leaveOpen;
    private readonly CsvOptions _options;
    private readonly int _batchRows;
    private readonly int _maxRecordedErrors;
    private readonly DataType[] _types;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _nulls;
    private readonly bool _onlyEmptyIsNull;
    private readonly string? _headerRaw;
    private readonly List<CsvRowError> _rejected = [];

    public PreviousCsvReader(Stream stream, CsvOptions? options = null, int batchRows = DefaultBatchRows, bool leaveOpen = false, int maxRecordedErrors = 1000)
    {
        if (batchRows <= 0) throw new ArgumentOutOfRangeException(nameof(batchRows), "batches need at least one row");
        _options = options ?? new CsvOptions();
        _options.Validate();
        if (!stream.CanSeek)
        {
            // Two passes need to rewind; keep a private copy of a forward-only stream.
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (!leaveOpen) stream.Dispose();
            copy.Position = 0;
            (stream, leaveOpen) = (copy, false);
        }
        _stream = stream;
        _start = stream.Position;
        _leaveOpen = leaveOpen;
        _batchRows = batchRows;
        _maxRecordedErrors = maxRecordedErrors;
        _nulls = new HashSet<string>(_options.NullTokens, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _onlyEmptyIsNull = _options.NullTokens is [""];

        // Pass 1: names and types. Rows that are structurally bad are left out of inference (and rejected in pass 2).
        string[]? names = null;
        TypeInference[]? inference = null;
        using (var records = Records())
        {
            if (_options.HasHeader)
            {
                if (!records.TryRead()) throw new CsvFormatException(new CsvRowError(1, null, null, "no header line"));
                names = new string[records.FieldCount];
                for (var i = 0; i < names.Length; i++) names[i] = records.Field(i).Trim().ToString();
                _headerRaw = records.Raw.ToString();
            }
            else if (_options.ColumnNames is { } given) names = [.. given];
            long observed = 0;
            var limit = _options.InferenceRows ?? long.MaxValue;
            while (observed < limit && records.TryRead())
            {
                if (records.Error is not null) continue;
                names ??= Enumerable.Range(1, records.FieldCount).Select(i => $"column{i}").ToArray();
                if (records.FieldCount != names.Length) continue;
                inference ??= names.Select(_ => new TypeInference()).ToArray();
                for (var c = 0; c < names.Length; c++)
                {
                    var v = records.Field(c);
                    if (!IsNull(v, records.Quoted(c))) inference[c].Observe(v);
                }
                observed++;
            }
        }
        names ??= [];
        for (var i = 0; i < names.Length; i++) if (names[i].Length == 0) names[i] = $"column{i + 1}";
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new CsvFormatException(new CsvRowError(1, duplicate.Key, null, "duplicate column name"));
        _types = new DataType[names.Length];
        for (var c = 0; c < names.Length; c++)
            _types[c] = _options.ColumnTypes is not null && _options.ColumnTypes.TryGetValue(names[c], out var declared) ? declared
                : inference?[c].Result ?? DataType.String;
        Schema = new Schema(names.Select((n, i) => new Field(n, _types[i])));
    }

    public Schema Schema { get; }

    /// <summary>Rows rejected so far by the bad-row policy (all of them, however many are kept in <see cref="RejectedRows"/>).</summary>
    public long RejectedCount { get; private set; }

    /// <summary>The first rejected rows (up to the limit given at construction).</summary>
    public IReadOnlyList<CsvRowError> RejectedRows => _rejected;

    private bool IsNull(ReadOnlySpan<char> value, bool quoted) =>
        !quoted && (_onlyEmptyIsNull ? value.IsEmpty : _nulls.Contains(value));

    private CsvRecordReader Records()
    {
        _stream.Position = _start;
        return new CsvRecordReader(new StreamReader(_stream, _options.Encoding, detectEncodingFromByteOrderMarks: true, 1 << 16, leaveOpen: true), _options);
    }

    /// <summary>
    /// Parses the rows, yielding a table every <c>batchRows</c> accepted rows (and one table, possibly empty, at
    /// least). Each enumeration re-reads the input from the start and restarts the rejected-row count.
    /// </summary>
    public IEnumerable<Table> ReadBatches()
    {
        _rejected.Clear();
        RejectedCount = 0;
        var records = Records();
        if (_options.HasHeader) records.TryRead();
        StreamWriter? quarantine = null;
        if (_options.BadRows == BadRowPolicy.Quarantine)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_options.QuarantinePath!))!);
            quarantine = new StreamWriter(_options.QuarantinePath!, append: false, _options.Encoding);
            if (_headerRaw is not null) quarantine.Write(_headerRaw + "\n");
        }
        try
        {
            var width = _types.Length;
            var initial = Math.Min(_batchRows, 4096);
            var builders = _types.Select(t => ColumnBuilder.Create(t, initial)).ToArray();
            var kinds = _types.Select(KindOf).ToArray();
            // One parsed row, held until every field is known to be valid so a bad row appends nothing.
            var isNull = new bool[width];
            var integers = new long[width];
            var doubles = new double[width];
            var others = new object?[width];
            var rows = 0;
            var yielded = false;
            while (records.TryRead())
            {
                CsvRowError? error = null;
                if (records.Error is not null) error = new CsvRowError(records.Line, null, null, records.Error);
                else if (records.FieldCount != width) error = new CsvRowError(records.Line, null, null, $"{records.FieldCount} fields, expected {width}");
                for (var c = 0; c < width && error is null; c++)
                {
                    var v = records.Field(c);
                    if (isNull[c] = IsNull(v, records.Quoted(c))) continue;
                    if (!TryParse(v, kinds[c], _types[c], out integers[c], out doubles[c], out others[c]))
                        error = new CsvRowError(records.Line, Schema[c].Name, v.ToString(), $"not a valid {_types[c]}");
                }
                if (error is not null)
                {
                    if (_options.BadRows == BadRowPolicy.Fail) throw new CsvFormatException(error);
                    if (quarantine is not null) { quarantine.Write(records.Raw); quarantine.Write('\n'); }
                    RejectedCount++;
                    if (_rejected.Count < _maxRecordedErrors) _rejected.Add(error);
                    continue;
                }
                for (var c = 0; c < width; c++)
                {
                    var b = builders[c];
                    if (isNull[c]) { b.AppendNull(); continue; }
                    switch (kinds[c])
                    {
                        case Kind.String: ((BinaryBuilder)b).Append(records.Field(c)); break;
                        case Kind.Float64: ((PrimitiveBuilder<double>)b).Append(doubles[c]); break;
                        case Kind.Float32: ((PrimitiveBuilder<float>)b).Append((float)doubles[c]); break;
                        case Kind.Int32: ((PrimitiveBuilder<int>)b).Append((int)integers[c]); break;
                        case Kind.Int64: ((PrimitiveBuilder<long>)b).Append(integers[c]); break;
                        case Kind.Int16: ((PrimitiveBuilder<short>)b).Append((short)integers[c]); break;
                        case Kind.Int8: ((PrimitiveBuilder<sbyte>)b).Append((sbyte)integers[c]); break;
                        case Kind.Boolean: ((PrimitiveBuilder<bool>)b).Append(integers[c] != 0); break;
                        default: AppendBoxed(b, others[c]!); break;
                    }
                }
                if (++rows == _batchRows)
                {
                    yield return new Table(Schema, builders.Select(b => b.Build()).ToArray());
                    yielded = true;
                    builders = _types.Select(t => ColumnBuilder.Create(t, initial)).ToArray();
                    rows = 0;
                }
            }
            if (rows > 0 || !yielded) yield return new Table(Schema, builders.Select(b => b.Build()).ToArray());
        }
        finally
        {
            quarantine?.Dispose();
            records.Dispose();
        }
    }

    /// <summary>How a column's values are parsed and appended: the common types straight from the text, the rest through <see cref="ValueParser"/>.</summary>
    private enum Kind { String, Float64, Float32, Int32, Int64, Int16, Int8, Boolean, Other }

    private static Kind KindOf(DataType t) => t.Kind switch
    {
        TypeKind.String => Kind.String,
        TypeKind.Float64 => Kind.Float64,
        TypeKind.Float32 => Kind.Float32,
        TypeKind.Int32 => Kind.Int32,
        TypeKind.Int64 => Kind.Int64,
        TypeKind.Int16 => Kind.Int16,
        TypeKind.Int8 => Kind.Int8,
        TypeKind.Boolean => Kind.Boolean,
        _ => Kind.Other,
    };

    private static bool TryParse(ReadOnlySpan<char> v, Kind kind, DataType type, out long integer, out double real, out object? other)
    {
        integer = 0;
        real = 0;
        other = null;
        switch (kind)
        {
            case Kind.String: return true;
            case Kind.Float64 or Kind.Float32: return ValueParser.TryParseDouble(v, out real);
            case Kind.Int32:
            {
                var ok = int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i);
                integer = i;
                return ok;
            }
            case Kind.Int64 or Kind.Int16 or Kind.Int8:
            {
                var ok = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out integer);
                if (kind == Kind.Int8) ok &= integer is >= sbyte.MinValue and <= sbyte.MaxValue;
                if (kind == Kind.Int16) ok &= integer is >= short.MinValue and <= short.MaxValue;
                return ok;
            }
            case Kind.Boolean:
            {
                var ok = bool.TryParse(v, out var b);
                integer = b ? 1 : 0;
                return ok;
            }
            default: return ValueParser.TryParse(v.ToString(), type, out other);
        }
    }

    private static void AppendBoxed(ColumnBuilder b, object value)
    {
        switch (b)
        {
            case PrimitiveBuilder<int> x: x.Append((int)value); break;
            case PrimitiveBuilder<long> x: x.Append((long)value); break;
            case PrimitiveBuilder<Int128> x: x.Append((Int128)value); break;
            case BinaryBuilder x when value is string s: x.Append(s); break;
            case BinaryBuilder x: x.Append((byte[])value); break;
            default: throw new NotSupportedException($"CSV cannot produce {b.Type}");
        }
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
