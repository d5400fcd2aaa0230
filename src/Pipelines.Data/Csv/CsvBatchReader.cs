using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>
/// Streams a CSV file as batches of at most <c>batchRows</c> rows, so a file of any size is read with bounded
/// memory. Opening reads the header and, unless every column it has to deliver has a declared type
/// (<see cref="CsvOptions.ColumnTypes"/>), makes a first pass that infers the missing types (over every row, or
/// <see cref="CsvOptions.InferenceRows"/>); <see cref="ReadBatches"/> makes the pass that parses values. Given
/// <c>columns</c>, only those are delivered and the others are only split (or, when declared, still checked).
/// The bad-row policy applies row by row across batches: fail at the first bad row, skip and count, or append
/// the raw row to the quarantine file as it is met.
/// </summary>
/// <remarks>
/// UTF-8 input (the default; other encodings are transcoded to UTF-8 on the fly) is split and parsed as bytes, in
/// chunks of whole lines parsed on several threads (<see cref="CsvOptions.MaxDegreeOfParallelism"/>) and merged in
/// file order, so rows, errors and line numbers are those of a front-to-back read. A chunk is only assumed to start
/// at a record; when a quoted line break proves it did not, the text is parsed again from the true record start.
/// Files whose delimiter or quote is not ASCII are read by the character reader on the calling thread.
/// </remarks>
public sealed class CsvBatchReader : IDisposable
{
    /// <summary>Rows per batch by default: a row group's worth for typical tables, a few MB for wide ones.</summary>
    public const int DefaultBatchRows = 65_536;

    /// <summary>Bytes per parsing chunk: small enough that a few in flight stay a few MB, large enough to amortise a task.</summary>
    internal const int DefaultChunkBytes = 1 << 19;

    /// <summary>Records per chunk when the character reader is used.</summary>
    private const int SequentialChunkRecords = 16_384;

    private readonly Stream _stream;
    private readonly long _start;
    private readonly bool _leaveOpen;
    private readonly CsvOptions _options;
    private readonly int _batchRows;
    private readonly int _maxRecordedErrors;
    private readonly string? _source;
    private readonly int _chunkBytes;
    private readonly CsvPlanText? _text;
    private readonly bool _fastPath;
    private readonly CsvPlan _plan;
    private readonly string? _headerRaw;
    private readonly List<CsvRowError> _rejected = [];

    /// <param name="stream">The CSV text; a stream that cannot seek is copied first (opening and reading are two passes over it).</param>
    /// <param name="columns">The columns to deliver, in this order (all, in file order, when null); a name not in the file throws <see cref="KeyNotFoundException"/>.</param>
    /// <param name="sourceName">Names the input in error messages (the path, for <see cref="Open"/>).</param>
    public CsvBatchReader(Stream stream, CsvOptions? options = null, int batchRows = DefaultBatchRows, bool leaveOpen = false, int maxRecordedErrors = 1000,
        IReadOnlyList<string>? columns = null, string? sourceName = null)
        : this(stream, options, batchRows, leaveOpen, maxRecordedErrors, columns, sourceName, DefaultChunkBytes, CsvReadPath.Auto)
    {
    }

    /// <param name="chunkBytes">Bytes per parsing chunk; tests make it tiny so chunks end inside records.</param>
    /// <param name="path">Which of the reader's equivalent paths to take; tests compare them.</param>
    internal CsvBatchReader(Stream stream, CsvOptions? options, int batchRows, bool leaveOpen, int maxRecordedErrors,
        IReadOnlyList<string>? columns, string? sourceName, int chunkBytes, CsvReadPath path)
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
        _source = sourceName;
        _chunkBytes = Math.Max(chunkBytes, 16);
        _text = path == CsvReadPath.Characters ? null : CsvPlanText.For(_options);
        _fastPath = path == CsvReadPath.Auto;

        var names = ReadNames(out _headerRaw);
        for (var i = 0; i < names.Length; i++) if (names[i].Length == 0) names[i] = $"column{i + 1}";
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
            if (!index.TryAdd(names[i], i)) throw new CsvFormatException(new CsvRowError(1, names[i], null, "duplicate column name") { File = _source });

        var output = columns?.Select(n => index.TryGetValue(n, out var i) ? i : throw new KeyNotFoundException($"no column '{n}'")).ToArray()
                     ?? Enumerable.Range(0, names.Length).ToArray();
        var declared = names.Select(n => _options.ColumnTypes is not null && _options.ColumnTypes.TryGetValue(n, out var t) ? t : null).ToArray();
        var roles = new FieldRole[names.Length];
        foreach (var i in output) roles[i] = FieldRole.Store;
        for (var i = 0; i < names.Length; i++)
        {
            // A column that is not delivered can still reject a row: when its type is declared, or inferred from only the first rows.
            if (roles[i] == FieldRole.Skip && (declared[i] is not null || _options.InferenceRows is not null)) roles[i] = FieldRole.Validate;
        }
        var infer = names.Select((_, i) => roles[i] != FieldRole.Skip && declared[i] is null).ToArray();
        var inferred = infer.Any(x => x) ? Infer(names, infer) : null;
        var types = names.Select((_, i) => declared[i] ?? inferred?[i].Result ?? DataType.String).ToArray();

        Schema = new Schema(output.Select(i => new Field(names[i], types[i])));
        var outputIndex = new int[names.Length];
        for (var o = 0; o < output.Length; o++) outputIndex[output[o]] = o;
        var fields = names.Select((n, i) => new FieldPlan(roles[i], FieldPlan.KindOf(types[i]), types[i], roles[i] == FieldRole.Store ? outputIndex[i] : -1, n)).ToArray();
        _plan = new CsvPlan(_text, _options, fields, Schema, infer: null, _fastPath);
    }

    public static CsvBatchReader Open(string path, CsvOptions? options = null, int batchRows = DefaultBatchRows, IReadOnlyList<string>? columns = null)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try { return new CsvBatchReader(stream, options, batchRows, columns: columns, sourceName: path); }
        catch { stream.Dispose(); throw; }
    }

    /// <summary>The delivered columns and their types (declared, else inferred).</summary>
    public Schema Schema { get; }

    /// <summary>Rows rejected so far by the bad-row policy (all of them, however many are kept in <see cref="RejectedRows"/>).</summary>
    public long RejectedCount { get; private set; }

    /// <summary>The first rejected rows (up to the limit given at construction).</summary>
    public IReadOnlyList<CsvRowError> RejectedRows => _rejected;

    private int Parallelism => _options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;

    /// <summary>Column names from the header, the options, or (neither given) the width of the first well-formed record.</summary>
    private string[] ReadNames(out string? headerRaw)
    {
        headerRaw = null;
        using var records = OpenRecords();
        if (_options.HasHeader)
        {
            if (!records.TryRead()) throw new CsvFormatException(new CsvRowError(1, null, null, "no header line") { File = _source });
            var names = new string[records.Fields.Count];
            for (var i = 0; i < names.Length; i++) names[i] = Encoding.UTF8.GetString(records.Fields.Field(records.Buffer, i)).Trim();
            headerRaw = records.Raw();
            return names;
        }
        if (_options.ColumnNames is { } given) return [.. given];
        // As inference would meet it: the first record without broken quoting, if inference looks at any row at all.
        if (_options.InferenceRows is <= 0) return [];
        while (records.TryRead())
            if (records.Error is null) return Enumerable.Range(1, records.Fields.Count).Select(i => $"column{i}").ToArray();
        return [];
    }

    /// <summary>The first pass: observes the values of the columns marked in <paramref name="infer"/>.</summary>
    private TypeInference[] Infer(string[] names, bool[] infer)
    {
        var fields = names.Select(n => new FieldPlan(FieldRole.Skip, ValueKind.String, DataType.String, -1, n)).ToArray();
        var plan = new CsvPlan(_text, _options, fields, new Schema([]), infer, _fastPath);
        if (_options.InferenceRows is not null || _text is null)
        {
            // The first rows only (or the character reader): one record after another.
            var worker = new CsvChunkWorker(plan, infer: true, keepRaw: false);
            using var records = OpenRecords();
            if (_options.HasHeader) records.TryRead();
            var max = _options.InferenceRows ?? long.MaxValue;
            for (long observed = 0; observed < max && records.TryRead();)
                if (worker.ObserveRecord(records.Buffer, records.Fields, records.Error)) observed++;
            return worker.Inference!;
        }
        var result = names.Select(_ => new TypeInference()).ToArray();
        foreach (var chunk in ParsedChunks(plan, infer: true, keepRaw: false))
            for (var c = 0; c < result.Length; c++) result[c].Merge(chunk.Inference![c]);
        return result;
    }

    private ICsvRecordSource OpenRecords()
    {
        if (_text is null)
        {
            _stream.Position = _start;
            return new CharRecordSource(new CsvRecordReader(new StreamReader(_stream, _options.Encoding, detectEncodingFromByteOrderMarks: true, 1 << 16, leaveOpen: true), _options));
        }
        var utf8 = CsvInput.OpenUtf8(_stream, _start, _options.Encoding, out var transcoded);
        return new Utf8RecordReader(utf8, _text, ownsStream: transcoded);
    }

    /// <summary>
    /// Parses the rows, yielding a table every <c>batchRows</c> accepted rows (and one table, possibly empty, at
    /// least). Each enumeration re-reads the input from the start and restarts the rejected-row count.
    /// </summary>
    public IEnumerable<Table> ReadBatches() => ReadBatches(_batchRows);

    /// <summary>As <see cref="ReadBatches()"/>, with batches of <paramref name="batchRows"/> rows instead of the size given when opening.</summary>
    public IEnumerable<Table> ReadBatches(int batchRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        return Batches(batchRows);
    }

    private IEnumerable<Table> Batches(int batchRows)
    {
        _rejected.Clear();
        RejectedCount = 0;
        StreamWriter? quarantine = null;
        if (_options.BadRows == BadRowPolicy.Quarantine)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_options.QuarantinePath!))!);
            quarantine = new StreamWriter(_options.QuarantinePath!, append: false, _options.Encoding);
            if (_headerRaw is not null) quarantine.Write(_headerRaw + "\n");
        }
        try
        {
            var chunks = _text is null ? SequentialChunks(quarantine is not null) : ParsedChunks(_plan, infer: false, keepRaw: quarantine is not null);
            var totalBytes = Math.Max(1, _stream.Length - _start);
            long mergedBytes = 0, mergedRows = 0;
            CsvColumnData[]? batch = null;
            var rows = 0;
            var yielded = false;
            foreach (var chunk in chunks)
            {
                var taken = 0;
                for (var e = 0; e <= chunk.Errors.Count; e++)
                {
                    var until = e < chunk.Errors.Count ? chunk.Errors[e].RowsBefore : chunk.Rows;
                    while (taken < until)
                    {
                        if (batch is null)
                        {
                            // Size the batch from the rows per byte seen so far, so a whole-file read allocates its columns about once.
                            var perByte = (double)(mergedRows + chunk.Rows) / Math.Max(1, mergedBytes + chunk.Consumed);
                            var estimate = (long)((totalBytes - mergedBytes) * perByte * 1.05) + 64;
                            batch = NewBatch((int)Math.Min(batchRows, Math.Min(estimate, Array.MaxLength - 1)));
                        }
                        var n = Math.Min(until - taken, batchRows - rows);
                        if (batch.Length > 0 && rows + n > batch[0].Capacity)
                            foreach (var c in batch) c.Grow((int)Math.Min(Array.MaxLength - 1, Math.Max(rows + n, (long)rows * 3 / 2)), rows);
                        for (var c = 0; c < batch.Length; c++) batch[c].CopyRows(chunk.Columns![c], taken, n, rows);
                        rows += n;
                        taken += n;
                        if (rows == batchRows)
                        {
                            yield return Build(batch, rows);
                            yielded = true;
                            batch = null;
                            rows = 0;
                        }
                    }
                    if (e < chunk.Errors.Count) Reject(chunk.Errors[e], chunk.BaseLine, quarantine);
                }
                mergedBytes += chunk.Consumed;
                mergedRows += chunk.Rows;
            }
            if (rows > 0 || !yielded) yield return Build(batch ?? NewBatch(0), rows);
        }
        finally
        {
            quarantine?.Dispose();
        }
    }

    private CsvColumnData[] NewBatch(int capacity) => Schema.Fields.Select(f => CsvColumnData.Create(f.Type, capacity)).ToArray();

    private Table Build(CsvColumnData[] batch, int rows) => new(Schema, batch.Select(c => c.Build(rows)).ToArray());

    private void Reject(ChunkError e, long baseLine, StreamWriter? quarantine)
    {
        var error = new CsvRowError(baseLine + e.Line, e.Column, e.Value, e.Reason) { File = _source };
        if (_options.BadRows == BadRowPolicy.Fail) throw new CsvFormatException(error);
        if (quarantine is not null) { quarantine.Write(e.Raw); quarantine.Write('\n'); }
        RejectedCount++;
        if (_rejected.Count < _maxRecordedErrors) _rejected.Add(error);
    }

    /// <summary>
    /// The data (after the header) as parsed chunks in file order, each starting where the previous one's last record
    /// ended. Chunks are parsed ahead on the thread pool, a few at a time; a chunk is yielded once and may be reused
    /// after the caller asks for the next one.
    /// </summary>
    private IEnumerable<CsvChunkWorker> ParsedChunks(CsvPlan plan, bool infer, bool keepRaw)
    {
        var utf8 = CsvInput.OpenUtf8(_stream, _start, _options.Encoding, out var transcoded);
        using var owned = transcoded ? utf8 : null;
        var header = new Utf8RecordReader(utf8, _text!, ownsStream: false);
        if (_options.HasHeader) header.TryRead();
        var line = header.NextLine;
        var producer = new ChunkProducer(utf8, header.Unparsed(), _chunkBytes);
        var parallel = Parallelism;
        var window = parallel > 1 ? parallel + 1 : 1;
        var free = new Stack<CsvChunkWorker>();
        var inflight = new Queue<CsvChunkWorker>();
        CsvChunkWorker? rejoined = null;
        CsvChunkWorker Take() => free.Count > 0 ? free.Pop() : new CsvChunkWorker(plan, infer, keepRaw);
        try
        {
            while (true)
            {
                while (inflight.Count < window && !producer.Done)
                {
                    var w = Take();
                    producer.Fill(w);
                    // A lone last chunk is parsed on this thread when it is needed; the others start at once.
                    if (parallel > 1 && !(w.Final && inflight.Count == 0)) w.Start();
                    inflight.Enqueue(w);
                }
                if (inflight.Count == 0) yield break;
                var current = inflight.Dequeue();
                current.Complete();
                current.BaseLine = line;
                line += current.Lines;
                yield return current;
                var leftover = current.Stopped ? 0 : current.Length - current.Consumed;
                if (leftover == 0)
                {
                    free.Push(current);
                    continue;
                }

                // The chunk's last record runs on (a quoted line break sat where the chunk was cut), so the chunks
                // after it did not start at a record: join its rest with them and parse that again, on this thread.
                rejoined ??= new CsvChunkWorker(plan, infer, keepRaw);
                var pending = Append(ref rejoined.Buffer, 0, current.Buffer.AsSpan(current.Consumed, leftover));
                free.Push(current);
                var previous = leftover;
                while (true)
                {
                    bool final;
                    if (inflight.Count == 0 && !producer.Done)
                    {
                        var w = Take();
                        producer.Fill(w);
                        inflight.Enqueue(w);
                    }
                    if (inflight.Count > 0)
                    {
                        var next = inflight.Dequeue();
                        next.Abandon();
                        pending = Append(ref rejoined.Buffer, pending, next.Buffer.AsSpan(0, next.Length));
                        final = next.Final;
                        free.Push(next);
                    }
                    else final = true;
                    // Parse again only once the text has doubled, so a record spanning many chunks costs linear time.
                    if (!final && pending < 2 * previous) continue;
                    rejoined.Length = pending;
                    rejoined.Final = final;
                    rejoined.Parse();
                    rejoined.BaseLine = line;
                    line += rejoined.Lines;
                    yield return rejoined;
                    var left = rejoined.Stopped ? 0 : rejoined.Length - rejoined.Consumed;
                    if (left == 0) break;
                    Array.Copy(rejoined.Buffer, rejoined.Consumed, rejoined.Buffer, 0, left);
                    pending = left;
                    previous = left;
                }
            }
        }
        finally
        {
            foreach (var w in inflight) w.Abandon();
        }
    }

    private static int Append(ref byte[] buffer, int length, ReadOnlySpan<byte> bytes)
    {
        if (buffer.Length < length + bytes.Length)
        {
            var bigger = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max((long)buffer.Length * 2, (long)length + bytes.Length)));
            buffer.AsSpan(0, length).CopyTo(bigger);
            buffer = bigger;
        }
        bytes.CopyTo(buffer.AsSpan(length));
        return length + bytes.Length;
    }

    /// <summary>The character reader's records, in chunks of a fixed number of records (for delimiters or quotes outside ASCII).</summary>
    private IEnumerable<CsvChunkWorker> SequentialChunks(bool keepRaw)
    {
        using var records = OpenRecords();
        if (_options.HasHeader) records.TryRead();
        var worker = new CsvChunkWorker(_plan, infer: false, keepRaw);
        while (true)
        {
            worker.Reset();
            var more = true;
            for (var n = 0; n < SequentialChunkRecords; n++)
            {
                if (!records.TryRead()) { more = false; break; }
                if (!worker.Accept(records)) { more = false; break; }
            }
            yield return worker;
            if (!more) yield break;
        }
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}

/// <summary>
/// Cuts the input into chunks that end after a line break (assumed, not known, to end a record): each chunk is the
/// text after the previous chunk plus more input, up to the last line break in it.
/// </summary>
internal sealed class ChunkProducer
{
    private readonly Stream _stream;
    private readonly int _chunkBytes;
    private byte[] _carry;
    private int _carryLength;

    public ChunkProducer(Stream stream, ReadOnlySpan<byte> initial, int chunkBytes)
    {
        _stream = stream;
        _chunkBytes = chunkBytes;
        _carry = initial.ToArray();
        _carryLength = initial.Length;
    }

    public bool Done { get; private set; }

    public void Fill(CsvChunkWorker w)
    {
        var size = Math.Max(_chunkBytes, _carryLength * 2);
        if (w.Buffer.Length < size) w.Buffer = GC.AllocateUninitializedArray<byte>(size);
        var buf = w.Buffer;
        _carry.AsSpan(0, _carryLength).CopyTo(buf);
        var n = _carryLength;
        while (true)
        {
            while (n < buf.Length)
            {
                var r = _stream.Read(buf, n, buf.Length - n);
                if (r == 0) break;
                n += r;
            }
            if (n < buf.Length)
            {
                w.Length = n;
                w.Final = true;
                _carryLength = 0;
                Done = true;
                return;
            }
            var last = buf.AsSpan(0, n).LastIndexOf((byte)'\n');
            if (last >= 0)
            {
                w.Length = last + 1;
                w.Final = false;
                _carryLength = n - w.Length;
                if (_carry.Length < _carryLength) _carry = new byte[Math.Max(_carryLength, _carry.Length * 2)];
                buf.AsSpan(w.Length, _carryLength).CopyTo(_carry);
                return;
            }
            // No line break in the whole buffer: one long record; read on.
            var bigger = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, (long)buf.Length * 2));
            buf.AsSpan(0, n).CopyTo(bigger);
            w.Buffer = buf = bigger;
        }
    }
}

/// <summary>The reader's equivalent ways through a file, for tests that hold them to the same results.</summary>
internal enum CsvReadPath
{
    /// <summary>Bytes, with the fast path for unquoted records.</summary>
    Auto,
    /// <summary>Bytes, every record through the exact scanner.</summary>
    Exact,
    /// <summary>The character reader over decoded text, one record after another.</summary>
    Characters,
}
