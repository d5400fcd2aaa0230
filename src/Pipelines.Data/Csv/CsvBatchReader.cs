using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>
/// Streams a CSV file as batches of at most <c>batchRows</c> rows, so a file of any size is read with bounded
/// memory. Opening makes a first pass that infers column types (over every row, or
/// <see cref="CsvOptions.InferenceRows"/>); <see cref="ReadBatches"/> makes the second pass that parses values.
/// The bad-row policy applies row by row across batches: fail at the first bad row, skip and count, or append
/// the raw row to the quarantine file as it is met.
/// </summary>
public sealed class CsvBatchReader : IDisposable
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
    private readonly HashSet<string> _nulls;
    private readonly string? _headerRaw;
    private readonly List<CsvRowError> _rejected = [];

    public CsvBatchReader(Stream stream, CsvOptions? options = null, int batchRows = DefaultBatchRows, bool leaveOpen = false, int maxRecordedErrors = 1000)
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
        _nulls = new HashSet<string>(_options.NullTokens, StringComparer.Ordinal);

        // Pass 1: names and types. Rows that are structurally bad are left out of inference (and rejected in pass 2).
        var records = Records();
        string[]? names = null;
        if (_options.HasHeader)
        {
            if (!records.TryRead(out var header)) throw new CsvFormatException(new CsvRowError(1, null, null, "no header line"));
            names = header.Fields.Select(f => f.Value.Trim()).ToArray();
            _headerRaw = header.Raw;
        }
        else if (_options.ColumnNames is { } given) names = [.. given];
        TypeInference[]? inference = null;
        long observed = 0;
        var limit = _options.InferenceRows ?? long.MaxValue;
        while (observed < limit && records.TryRead(out var r))
        {
            if (r.Error is not null) continue;
            names ??= Enumerable.Range(1, r.Fields.Count).Select(i => $"column{i}").ToArray();
            if (r.Fields.Count != names.Length) continue;
            inference ??= names.Select(_ => new TypeInference()).ToArray();
            for (var c = 0; c < names.Length; c++)
                if (!IsNull(r.Fields[c])) inference[c].Observe(r.Fields[c].Value);
            observed++;
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

    public static CsvBatchReader Open(string path, CsvOptions? options = null, int batchRows = DefaultBatchRows) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), options, batchRows);

    public Schema Schema { get; }

    /// <summary>Rows rejected so far by the bad-row policy (all of them, however many are kept in <see cref="RejectedRows"/>).</summary>
    public long RejectedCount { get; private set; }

    /// <summary>The first rejected rows (up to the limit given at construction).</summary>
    public IReadOnlyList<CsvRowError> RejectedRows => _rejected;

    private bool IsNull(CsvReader.CsvField f) => !f.Quoted && _nulls.Contains(f.Value);

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
        if (_options.HasHeader) records.TryRead(out _);
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
            var parsed = new object?[width];
            var rows = 0;
            var yielded = false;
            while (records.TryRead(out var row))
            {
                CsvRowError? error = null;
                if (row.Error is not null) error = new CsvRowError(row.Line, null, null, row.Error);
                else if (row.Fields.Count != width) error = new CsvRowError(row.Line, null, null, $"{row.Fields.Count} fields, expected {width}");
                for (var c = 0; c < width && error is null; c++)
                {
                    var f = row.Fields[c];
                    if (IsNull(f)) { parsed[c] = null; continue; }
                    if (!ValueParser.TryParse(f.Value, _types[c], out parsed[c]))
                        error = new CsvRowError(row.Line, Schema[c].Name, f.Value, $"not a valid {_types[c]}");
                }
                if (error is not null)
                {
                    if (_options.BadRows == BadRowPolicy.Fail) throw new CsvFormatException(error);
                    quarantine?.Write(row.Raw + "\n");
                    RejectedCount++;
                    if (_rejected.Count < _maxRecordedErrors) _rejected.Add(error);
                    continue;
                }
                for (var c = 0; c < width; c++) CsvReader.Append(builders[c], parsed[c]);
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
        finally { quarantine?.Dispose(); }
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
