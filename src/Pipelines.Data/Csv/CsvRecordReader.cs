using System.Buffers;

namespace Pipelines.Data.Csv;

/// <summary>
/// Splits a character stream into records one at a time, without allocating per record or per field: fields
/// are spans into a large pooled buffer (or, for quoted fields with doubled quotes, into a scratch buffer) that
/// stay valid until the next <see cref="TryRead"/>. Memory is bounded by the buffer and the longest record.
/// A record with broken quoting carries an error instead of failing the file.
/// </summary>
internal sealed class CsvRecordReader : IDisposable
{
    internal const int BufferChars = 1 << 20;

    private readonly TextReader _reader;
    private readonly char _delimiter, _quote;
    private readonly bool _trim;
    private readonly string? _comment;
    private char[] _buf;
    private char[] _scratch = new char[256];
    private int _len, _recStart, _recEnd, _scratchLen;
    private bool _eof;
    private long _line = 1;
    private int _next = -1;

    // Field i is _buf[_start[i].._start[i]+_length[i]], or _scratch when _inScratch[i].
    private int[] _start = new int[16], _length = new int[16];
    private bool[] _quoted = new bool[16], _inScratch = new bool[16];

    /// <param name="bufferChars">Initial buffer size; tests pass tiny ones so records straddle refills.</param>
    public CsvRecordReader(TextReader reader, CsvOptions o, int bufferChars = BufferChars)
    {
        _buf = ArrayPool<char>.Shared.Rent(bufferChars);
        _reader = reader;
        _delimiter = o.Delimiter;
        _quote = o.Quote;
        _trim = o.TrimWhitespace;
        _comment = o.CommentPrefix is { Length: > 0 } cp ? cp : null;
    }

    public int FieldCount { get; private set; }

    /// <summary>1-based line the current record starts on.</summary>
    public long Line { get; private set; }

    public string? Error { get; private set; }

    public ReadOnlySpan<char> Field(int i) => _inScratch[i] ? _scratch.AsSpan(_start[i], _length[i]) : _buf.AsSpan(_start[i], _length[i]);

    public bool Quoted(int i) => _quoted[i];

    /// <summary>The record's text as it appeared in the input, without its line break.</summary>
    public ReadOnlySpan<char> Raw => _buf.AsSpan(_recStart, _recEnd - _recStart);

    public bool TryRead()
    {
        if (_next >= 0) { _recStart = _next; _next = -1; }
        // A record that runs past the buffered text is parsed again from its start once more text is in.
        while (true)
        {
            var skipped = SkipBlankAndCommentLines();
            if (skipped == false) { FieldCount = 0; return false; }
            if (skipped is null) { Fill(); continue; }
            if (ParseRecord()) return true;
            Fill();
        }
    }

    /// <summary>True at a record's first character, false at the end of the input, null when more text is needed.</summary>
    private bool? SkipBlankAndCommentLines()
    {
        var p = _recStart;
        while (true)
        {
            _recStart = p;
            if (p == _len) return _eof ? false : null;
            var c = _buf[p];
            if (c is '\n' or '\r')
            {
                p++;
                if (c == '\r')
                {
                    if (p == _len && !_eof) return null;
                    if (p < _len && _buf[p] == '\n') p++;
                }
                _line++;
                continue;
            }
            if (_comment is not null)
            {
                if (_len - p < _comment.Length && !_eof) return null;
                if (_buf.AsSpan(p, _len - p).StartsWith(_comment))
                {
                    var nl = _buf.AsSpan(p, _len - p).IndexOf('\n');
                    if (nl < 0 && !_eof) return null;
                    p = nl < 0 ? _len : p + nl + 1;
                    _line++;
                    continue;
                }
            }
            return true;
        }
    }

    /// <summary>Parses the record at <see cref="_recStart"/>; false when it runs past the buffered text before the end of input.</summary>
    private bool ParseRecord()
    {
        var buf = _buf;
        var len = _len;
        var p = _recStart;
        var newlines = 0L;
        string? error = null;
        FieldCount = 0;
        _scratchLen = 0;
        while (true)
        {
            var fieldStart = p;
            if (_trim)
                while (p < len && buf[p] is ' ' or '\t') p++;
            if (p == len && !_eof) return false;
            if (p < len && buf[p] == _quote)
            {
                p++;
                var contentStart = p;
                var escaped = false;
                var closed = false;
                while (true)
                {
                    var rest = buf.AsSpan(p, len - p);
                    var q = rest.IndexOf(_quote);
                    if (q < 0)
                    {
                        if (!_eof) return false;
                        newlines += rest.Count('\n');
                        p = len;
                        break;
                    }
                    newlines += rest[..q].Count('\n');
                    p += q + 1;
                    if (p == len && !_eof) return false;
                    if (p < len && buf[p] == _quote) { escaped = true; p++; continue; }
                    closed = true;
                    break;
                }
                if (!closed) { error = "unterminated quoted field"; break; }
                var contentEnd = p - 1;
                if (_trim)
                    while (p < len && buf[p] is ' ' or '\t') p++;
                if (p == len && !_eof) return false;
                AddQuoted(contentStart, contentEnd - contentStart, escaped);
                if (p < len && !EndsField(buf[p]))
                {
                    error ??= $"unexpected character '{buf[p]}' after a closing quote";
                    var end = buf.AsSpan(p, len - p).IndexOfAny(_delimiter, '\r', '\n');
                    if (end < 0 && !_eof) return false;
                    p = end < 0 ? len : p + end;
                }
            }
            else
            {
                var end = buf.AsSpan(p, len - p).IndexOfAny(_delimiter, '\r', '\n');
                if (end < 0 && !_eof) return false;
                var stop = end < 0 ? len : p + end;
                var value = _trim ? buf.AsSpan(p, stop - p).TrimEnd(" \t") : buf.AsSpan(fieldStart, stop - fieldStart);
                Add(_trim ? p : fieldStart, value.Length);
                p = stop;
            }
            if (p < len && buf[p] == _delimiter) { p++; continue; }
            break;
        }
        _recEnd = p;
        // End of record: \r, \n or \r\n.
        if (p < len && buf[p] == '\r')
        {
            p++;
            if (p == len && !_eof) return false;
        }
        if (p < len && buf[p] == '\n') p++;
        Line = _line;
        _line += newlines + 1;
        Error = error;
        // The next record starts here; _recStart/_recEnd keep describing this one until then.
        _next = p;
        return true;
    }

    private bool EndsField(char c) => c == _delimiter || c == '\r' || c == '\n';

    private void Add(int start, int length)
    {
        Reserve();
        var i = FieldCount++;
        _start[i] = start; _length[i] = length; _quoted[i] = false; _inScratch[i] = false;
    }

    private void AddQuoted(int start, int length, bool escaped)
    {
        Reserve();
        var i = FieldCount++;
        _quoted[i] = true;
        if (!escaped) { _start[i] = start; _length[i] = length; _inScratch[i] = false; return; }
        // Undouble the quotes into the scratch buffer.
        if (_scratch.Length - _scratchLen < length) Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchLen + length));
        var from = _buf.AsSpan(start, length);
        var to = _scratch.AsSpan(_scratchLen);
        var n = 0;
        for (var k = 0; k < from.Length; k++)
        {
            to[n++] = from[k];
            if (from[k] == _quote) k++;
        }
        _start[i] = _scratchLen; _length[i] = n; _inScratch[i] = true;
        _scratchLen += n;
    }

    private void Reserve()
    {
        if (FieldCount < _start.Length) return;
        var size = _start.Length * 2;
        Array.Resize(ref _start, size); Array.Resize(ref _length, size);
        Array.Resize(ref _quoted, size); Array.Resize(ref _inScratch, size);
    }

    /// <summary>Moves the unfinished record to the front of the buffer (growing it if the record fills it) and reads more text.</summary>
    private void Fill()
    {
        var keep = _len - _recStart;
        if (_recStart > 0) Array.Copy(_buf, _recStart, _buf, 0, keep);
        else if (keep == _buf.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(_buf.Length * 2);
            Array.Copy(_buf, bigger, keep);
            ArrayPool<char>.Shared.Return(_buf);
            _buf = bigger;
        }
        _recStart = 0;
        _len = keep;
        var n = _reader.Read(_buf, _len, _buf.Length - _len);
        if (n == 0) _eof = true;
        _len += n;
    }

    public void Dispose()
    {
        if (_buf.Length > 0) ArrayPool<char>.Shared.Return(_buf);
        _buf = [];
    }
}
