using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>A rejected row inside a chunk: how many rows of the chunk were accepted before it, and its line relative to the chunk's first line.</summary>
internal readonly record struct ChunkError(int RowsBefore, long Line, string? Column, string? Value, string Reason, string? Raw);

/// <summary>
/// Parses one chunk of a CSV file — whole lines of UTF-8 that were assumed to start at a record — into columns
/// (or into type observations, for inference). Each worker owns its buffer and results, so chunks are parsed on
/// several threads at once; the reader checks afterwards that each chunk did start at a record (the previous one
/// ended exactly at its start) and parses the text again where it did not.
/// </summary>
/// <remarks>
/// Records whose fields hold no quote are parsed by a fast path that finds and converts each value in one pass;
/// anything unusual in a record (a quote, a wrong field count, a value that does not parse, the end of the buffer)
/// sends that record to <see cref="Utf8RecordScanner"/> and <see cref="AcceptRecord"/>, which implement the reader's
/// exact rules and produce its errors. Both write a row's values in place and count the row only when all are valid.
/// </remarks>
internal sealed class CsvChunkWorker
{
    private const byte Cr = (byte)'\r', Lf = (byte)'\n';

    private readonly CsvPlan _plan;
    private readonly bool _infer;
    private readonly Utf8RecordScanner? _scanner;
    private readonly bool _keepRaw;
    private readonly byte _delimiter, _quote;
    private readonly bool _trim;
    private readonly int _commentFirst;
    private int _capacity;
    private Task? _task;

    public CsvChunkWorker(CsvPlan plan, bool infer, bool keepRaw)
    {
        _plan = plan;
        _infer = infer;
        _keepRaw = keepRaw;
        if (plan.Text is { } text)
        {
            _scanner = new Utf8RecordScanner(text);
            _delimiter = text.Delimiter;
            _quote = text.Quote;
            _trim = text.Trim;
            _commentFirst = text.Comment is { Length: > 0 } c ? c[0] : -1;
        }
        if (infer) Inference = plan.Infer!.Select(_ => new TypeInference()).ToArray();
        else Columns = plan.Output.Fields.Select(f => CsvColumnData.Create(f.Type, 0)).ToArray();
    }

    /// <summary>The chunk's text: <see cref="Buffer"/>[0..<see cref="Length"/>); <see cref="Final"/> when the input ends there.</summary>
    public byte[] Buffer = [];
    public int Length;
    public bool Final;

    /// <summary>Bytes parsed: the chunk's last record ends there. Less than <see cref="Length"/> when the last record runs past the chunk.</summary>
    public int Consumed;

    /// <summary>Lines parsed, and the file's line number of the chunk's first line (set by the reader).</summary>
    public long Lines, BaseLine;

    /// <summary>Rows accepted (or, for inference, observed).</summary>
    public int Rows;

    /// <summary>The fail policy met a bad row: nothing after it was parsed.</summary>
    public bool Stopped;

    public CsvColumnData[]? Columns { get; }
    public TypeInference[]? Inference { get; }
    public readonly List<ChunkError> Errors = [];

    public void Reset()
    {
        Consumed = 0;
        Lines = 0;
        Rows = 0;
        Stopped = false;
        Errors.Clear();
        if (Inference is not null)
            for (var i = 0; i < Inference.Length; i++) Inference[i] = new TypeInference();
    }

    /// <summary>Starts parsing on the thread pool; <see cref="Complete"/> waits for it.</summary>
    public void Start() => _task = Task.Run(Parse);

    /// <summary>Finishes the parse: waits for the started one, or parses on the calling thread.</summary>
    public void Complete()
    {
        if (_task is null) { Parse(); return; }
        var task = _task;
        _task = null;
        try { task.Wait(); }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1) { ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
    }

    /// <summary>Waits for a started parse whose result is not wanted (its buffer is about to be reused).</summary>
    public void Abandon()
    {
        var task = _task;
        _task = null;
        try { task?.Wait(); }
        catch (AggregateException) { }
    }

    public void Parse()
    {
        Reset();
        if (_infer) InferChunk(); else ParseChunk();
    }

    // ---- parsing ----------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ParseChunk()
    {
        var buf = Buffer.AsSpan(0, Length);
        var scanner = _scanner!;
        var final = Final;
        var p = 0;
        long lines = 0;
        var row = 0;
        while (true)
        {
            if (p >= buf.Length || buf[p] is Cr or Lf || buf[p] == _commentFirst)
            {
                if (scanner.SkipBlankAndCommentLines(buf, ref p, final, ref lines) != Utf8RecordScanner.Skip.Record) break;
            }
            if (row == _capacity) Grow(row + 1, row);
            if (_plan.FastPath && TryFastRecord(buf, p, row, out var next))
            {
                row++;
                lines++;
                p = next;
                continue;
            }
            if (!scanner.ParseRecord(buf, p, final, out next, out var newlines)) break;
            var line = lines;
            lines += newlines + 1;
            var start = p;
            p = next;
            if (AcceptRecord(buf, scanner.Fields, scanner.Error, row, line)) { row++; continue; }
            if (_keepRaw) Errors[^1] = Errors[^1] with { Raw = Encoding.UTF8.GetString(buf[start..scanner.RecordEnd]) };
            if (_plan.Policy == BadRowPolicy.Fail) { Stopped = true; break; }
        }
        Consumed = p;
        Lines = lines;
        Rows = row;
    }

    /// <summary>How the fast path treats a field: split only, a number read where it is found, or split then parsed.</summary>
    private enum Fast : byte { Skip, Double, Integer, General }

    private Fast[]? _fast;
    private PrimitiveData<double>?[]? _doubles;
    private CsvColumnData?[]? _targets;

    private void PrepareFastPath()
    {
        var fields = _plan.Fields;
        _fast = new Fast[fields.Length];
        _doubles = new PrimitiveData<double>?[fields.Length];
        _targets = new CsvColumnData?[fields.Length];
        for (var f = 0; f < fields.Length; f++)
        {
            var fp = fields[f];
            var store = fp.Role == FieldRole.Store;
            _targets[f] = store ? Columns![fp.Output] : null;
            _doubles[f] = store ? _targets[f] as PrimitiveData<double> : null;
            _fast[f] = fp.Role == FieldRole.Skip ? Fast.Skip
                : _plan.FusedNumbers && fp.Kind == ValueKind.Float64 ? Fast.Double
                : _plan.FusedNumbers && fp.Kind is ValueKind.Int32 or ValueKind.Int64 ? Fast.Integer
                : Fast.General;
        }
    }

    /// <summary>Parses the record at <paramref name="p"/> if none of its fields is quoted and nothing in it is unusual; else false and the record is left to the exact path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryFastRecord(ReadOnlySpan<byte> buf, int p, int row, out int next)
    {
        next = 0;
        if (_fast is null) PrepareFastPath();
        var fast = _fast!;
        var width = fast.Length;
        var len = buf.Length;
        var delimiter = _delimiter;
        var trim = _trim;
        var numberLikeNull = _plan.NumberLikeNullToken;
        for (var f = 0; f < width; f++)
        {
            if (trim)
                while (p < len && (buf[p] == ' ' || buf[p] == '\t')) p++;
            if (p >= len || buf[p] == _quote) return false;
            var kind = fast[f];
            if (kind == Fast.Skip)
            {
                var e = buf[p..].IndexOfAny(delimiter, Cr, Lf);
                if (e < 0) return false;
                p += e;
            }
            else
            {
                var done = false;
                if (kind == Fast.Double)
                {
                    var n = Utf8Number.ScanDouble(buf[p..], out var v);
                    if (n > 0)
                    {
                        var t = p + n;
                        if (trim)
                            while (t < len && (buf[t] == ' ' || buf[t] == '\t')) t++;
                        if (t < len && (buf[t] == delimiter || buf[t] == Cr || buf[t] == Lf))
                        {
                            if (numberLikeNull && _plan.IsNull(buf.Slice(p, n))) _targets![f]?.SetNull(row);
                            else _doubles![f]?.Set(row, v);
                            p = t;
                            done = true;
                        }
                    }
                }
                else if (kind == Fast.Integer)
                {
                    var n = Utf8Number.ScanInt64(buf[p..], out var v);
                    if (n > 0)
                    {
                        var t = p + n;
                        if (trim)
                            while (t < len && (buf[t] == ' ' || buf[t] == '\t')) t++;
                        var int64 = _plan.Fields[f].Kind == ValueKind.Int64;
                        if (t < len && (buf[t] == delimiter || buf[t] == Cr || buf[t] == Lf) && (int64 || v is >= int.MinValue and <= int.MaxValue))
                        {
                            if (numberLikeNull && _plan.IsNull(buf.Slice(p, n))) _targets![f]?.SetNull(row);
                            else if (_targets![f] is { } column)
                            {
                                if (int64) ((PrimitiveData<long>)column).Set(row, v);
                                else ((PrimitiveData<int>)column).Set(row, (int)v);
                            }
                            p = t;
                            done = true;
                        }
                    }
                }
                if (!done)
                {
                    var e = buf[p..].IndexOfAny(delimiter, Cr, Lf);
                    if (e < 0) return false;
                    var stop = p + e;
                    var value = trim ? buf[p..stop].TrimEnd(" \t"u8) : buf[p..stop];
                    if (_plan.IsNull(value)) _targets![f]?.SetNull(row);
                    else if (!TryParseValue(_plan.Fields[f], value, row)) return false;
                    p = stop;
                }
            }
            if (f < width - 1)
            {
                if (p < len && buf[p] == delimiter) { p++; continue; }
                return false;
            }
            if (p >= len) return false;
            var c = buf[p];
            if (c == Lf) { next = p + 1; return true; }
            if (c != Cr) return false;
            if (p + 1 < len) { next = buf[p + 1] == Lf ? p + 2 : p + 1; return true; }
            if (!Final) return false;
            next = p + 1;
            return true;
        }
        return false;
    }

    /// <summary>
    /// The reader's rules for one record from the exact path (or from the character reader): broken quoting, then the
    /// field count, then each field in file order; the first failure rejects the row (and is recorded) and false is returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool AcceptRecord(ReadOnlySpan<byte> buf, CsvFields f, string? error, int row, long line)
    {
        if (error is null && f.Count != _plan.Width) error = $"{f.Count} fields, expected {_plan.Width}";
        if (error is not null)
        {
            Errors.Add(new ChunkError(row, line, null, null, error, null));
            return false;
        }
        var fields = _plan.Fields;
        for (var c = 0; c < fields.Length; c++)
        {
            var fp = fields[c];
            if (fp.Role == FieldRole.Skip) continue;
            var v = f.Field(buf, c);
            if (!f.Quoted[c] && _plan.IsNull(v)) { if (fp.Role == FieldRole.Store) Columns![fp.Output].SetNull(row); continue; }
            if (TryParseValue(fp, v, row)) continue;
            Errors.Add(new ChunkError(row, line, fp.Name, Encoding.UTF8.GetString(v), $"not a valid {fp.Type}", null));
            return false;
        }
        return true;
    }

    /// <summary>Adds the current record of a record source (the character reader's path); false when the fail policy stops.</summary>
    public bool Accept(ICsvRecordSource records)
    {
        if (Rows == _capacity) Grow(Rows + 1, Rows);
        if (AcceptRecord(records.Buffer, records.Fields, records.Error, Rows, records.Line))
        {
            Rows++;
            return true;
        }
        if (_keepRaw) Errors[^1] = Errors[^1] with { Raw = records.Raw() };
        if (_plan.Policy != BadRowPolicy.Fail) return true;
        Stopped = true;
        return false;
    }

    /// <summary>Parses a non-null value into row <paramref name="row"/> of its column (or only checks it, for validated fields).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryParseValue(in FieldPlan fp, ReadOnlySpan<byte> v, int row)
    {
        var store = fp.Role == FieldRole.Store;
        var column = store ? Columns![fp.Output] : null;
        switch (fp.Kind)
        {
            case ValueKind.String:
                if (store) ((BytesData)column!).SetText(row, v);
                return true;
            case ValueKind.Float64:
            {
                if (!Utf8Number.TryParseDouble(v, out var d)) return false;
                if (store) ((PrimitiveData<double>)column!).Set(row, d);
                return true;
            }
            case ValueKind.Float32:
            {
                if (!Utf8Number.TryParseDouble(v, out var d)) return false;
                if (store) ((PrimitiveData<float>)column!).Set(row, (float)d);
                return true;
            }
            case ValueKind.Int32:
            {
                if (!Utf8Number.TryParseInteger(v, int.MinValue, int.MaxValue, out var l)) return false;
                if (store) ((PrimitiveData<int>)column!).Set(row, (int)l);
                return true;
            }
            case ValueKind.Int64:
            {
                if (!Utf8Number.TryParseInteger(v, long.MinValue, long.MaxValue, out var l)) return false;
                if (store) ((PrimitiveData<long>)column!).Set(row, l);
                return true;
            }
            case ValueKind.Int16:
            {
                if (!Utf8Number.TryParseInteger(v, short.MinValue, short.MaxValue, out var l)) return false;
                if (store) ((PrimitiveData<short>)column!).Set(row, (short)l);
                return true;
            }
            case ValueKind.Int8:
            {
                if (!Utf8Number.TryParseInteger(v, sbyte.MinValue, sbyte.MaxValue, out var l)) return false;
                if (store) ((PrimitiveData<sbyte>)column!).Set(row, (sbyte)l);
                return true;
            }
            case ValueKind.Boolean:
            {
                if (!Utf8Values.TryParseBool(v, out var b)) return false;
                if (store) ((PrimitiveData<bool>)column!).Set(row, b);
                return true;
            }
            case ValueKind.Other when fp.Type.Kind == TypeKind.Date:
            {
                if (!Utf8Values.TryParseDate(v, out var days)) return false;
                if (store) ((PrimitiveData<int>)column!).Set(row, days);
                return true;
            }
            case ValueKind.Other when fp.Type.Kind == TypeKind.Timestamp:
            {
                if (!Utf8Values.TryParseTimestamp(v, out var micros, out _)) return false;
                if (store) ((PrimitiveData<long>)column!).Set(row, fp.Type.Unit switch { TimeUnit.Millis => micros / 1000, TimeUnit.Nanos => micros * 1000, _ => micros });
                return true;
            }
            default:
            {
                if (!ValueParser.TryParse(Encoding.UTF8.GetString(v), fp.Type, out var value)) return false;
                if (store) StoreBoxed(column!, row, value!);
                return true;
            }
        }
    }

    private static void StoreBoxed(CsvColumnData column, int row, object value)
    {
        switch (column)
        {
            case PrimitiveData<int> x: x.Set(row, (int)value); break;
            case PrimitiveData<long> x: x.Set(row, (long)value); break;
            case PrimitiveData<Int128> x: x.Set(row, (Int128)value); break;
            case BytesData x when value is byte[] bytes: x.SetBytes(row, bytes); break;
            default: throw new NotSupportedException($"CSV cannot produce {column.Type}");
        }
    }

    private void Grow(int rows, int used)
    {
        var size = Math.Max(rows, Math.Max(1024, _capacity * 2));
        foreach (var c in Columns!) c.Grow(size, used);
        _capacity = size;
    }

    // ---- inference --------------------------------------------------------------------------------------------

    private int[] _starts = new int[16], _lengths = new int[16];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InferChunk()
    {
        var buf = Buffer.AsSpan(0, Length);
        var scanner = _scanner!;
        var final = Final;
        var p = 0;
        long lines = 0;
        var observed = 0;
        while (true)
        {
            if (p >= buf.Length || buf[p] is Cr or Lf || buf[p] == _commentFirst)
            {
                if (scanner.SkipBlankAndCommentLines(buf, ref p, final, ref lines) != Utf8RecordScanner.Skip.Record) break;
            }
            if (_plan.FastPath && TrySplitUnquoted(buf, p, out var next))
            {
                var infer = _plan.Infer!;
                for (var c = 0; c < infer.Length; c++)
                {
                    if (!infer[c]) continue;
                    var v = buf.Slice(_starts[c], _lengths[c]);
                    if (!_plan.IsNull(v)) Inference![c].Observe(v);
                }
                observed++;
                lines++;
                p = next;
                continue;
            }
            if (!scanner.ParseRecord(buf, p, final, out next, out var newlines)) break;
            lines += newlines + 1;
            p = next;
            if (ObserveRecord(buf, scanner.Fields, scanner.Error)) observed++;
        }
        Consumed = p;
        Lines = lines;
        Rows = observed;
    }

    /// <summary>Type observations for one record from the exact path; rows with broken quoting or the wrong field count are left out.</summary>
    public bool ObserveRecord(ReadOnlySpan<byte> buf, CsvFields f, string? error)
    {
        if (error is not null || f.Count != _plan.Width) return false;
        var infer = _plan.Infer!;
        for (var c = 0; c < infer.Length; c++)
        {
            if (!infer[c]) continue;
            var v = f.Field(buf, c);
            if (f.Quoted[c] || !_plan.IsNull(v)) Inference![c].Observe(v);
        }
        return true;
    }

    /// <summary>Splits a record with no quoted field and the expected field count into <see cref="_starts"/>/<see cref="_lengths"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TrySplitUnquoted(ReadOnlySpan<byte> buf, int p, out int next)
    {
        next = 0;
        var width = _plan.Width;
        if (_starts.Length < width) { _starts = new int[width]; _lengths = new int[width]; }
        var len = buf.Length;
        for (var f = 0; f < width; f++)
        {
            if (_trim)
                while (p < len && (buf[p] == ' ' || buf[p] == '\t')) p++;
            if (p >= len || buf[p] == _quote) return false;
            var e = buf[p..].IndexOfAny(_delimiter, Cr, Lf);
            if (e < 0) return false;
            var stop = p + e;
            _starts[f] = p;
            _lengths[f] = _trim ? buf[p..stop].TrimEnd(" \t"u8).Length : e;
            p = stop;
            if (f < width - 1)
            {
                if (buf[p] == _delimiter) { p++; continue; }
                return false;
            }
            var c = buf[p];
            if (c == Lf) { next = p + 1; return true; }
            if (c != Cr) return false;
            if (p + 1 < len) { next = buf[p + 1] == Lf ? p + 2 : p + 1; return true; }
            if (!Final) return false;
            next = p + 1;
            return true;
        }
        return false;
    }
}
