using System.Text;

namespace Pipelines.Data.Csv;

/// <summary>Records one at a time, with fields as UTF-8: the header, inference over the first rows, and files read through the character reader.</summary>
internal interface ICsvRecordSource : IDisposable
{
    bool TryRead();
    CsvFields Fields { get; }

    /// <summary>The buffer <see cref="Fields"/> point into (empty when they are all in <see cref="CsvFields.Scratch"/>).</summary>
    ReadOnlySpan<byte> Buffer { get; }

    /// <summary>1-based line the current record starts on.</summary>
    long Line { get; }

    string? Error { get; }

    /// <summary>The record's text as it appeared in the input, without its line break.</summary>
    string Raw();
}

/// <summary>Reads records from a stream of UTF-8 bytes, growing its buffer for long records; the streaming form of <see cref="Utf8RecordScanner"/>.</summary>
internal sealed class Utf8RecordReader(Stream stream, CsvPlanText text, bool ownsStream, int bufferBytes = 1 << 16) : ICsvRecordSource
{
    private readonly Utf8RecordScanner _scanner = new(text);
    private byte[] _buf = new byte[bufferBytes];
    private int _len, _recStart, _recEnd, _next = -1;
    private bool _eof;
    private long _line = 1;

    public CsvFields Fields => _scanner.Fields;
    public ReadOnlySpan<byte> Buffer => _buf.AsSpan(0, _len);
    public long Line { get; private set; }
    public string? Error { get; private set; }
    public string Raw() => Encoding.UTF8.GetString(_buf, _recStart, _recEnd - _recStart);

    /// <summary>The line the next record (or blank line) starts on.</summary>
    public long NextLine => _line;

    public bool TryRead()
    {
        if (_next >= 0) { _recStart = _next; _next = -1; }
        while (true)
        {
            var p = _recStart;
            var skipped = _scanner.SkipBlankAndCommentLines(_buf.AsSpan(0, _len), ref p, _eof, ref _line);
            _recStart = p;
            if (skipped == Utf8RecordScanner.Skip.End) return false;
            if (skipped == Utf8RecordScanner.Skip.NeedMore) { Fill(); continue; }
            if (_scanner.ParseRecord(_buf.AsSpan(0, _len), p, _eof, out var next, out var newlines))
            {
                Line = _line;
                _line += newlines + 1;
                Error = _scanner.Error;
                _recEnd = _scanner.RecordEnd;
                _next = next;
                return true;
            }
            Fill();
        }
    }

    /// <summary>The bytes read from the stream but not yet parsed; they start at a record or blank line.</summary>
    public ReadOnlySpan<byte> Unparsed()
    {
        var from = _next >= 0 ? _next : _recStart;
        return _buf.AsSpan(from, _len - from);
    }

    private void Fill()
    {
        var keep = _len - _recStart;
        if (_recStart > 0) Array.Copy(_buf, _recStart, _buf, 0, keep);
        else if (keep == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
        _recStart = 0;
        _len = keep;
        var n = stream.Read(_buf, _len, _buf.Length - _len);
        if (n == 0) _eof = true;
        _len += n;
    }

    public void Dispose()
    {
        if (ownsStream) stream.Dispose();
    }
}

/// <summary>Records from the character reader, for delimiters or quotes outside ASCII; fields are encoded to UTF-8.</summary>
internal sealed class CharRecordSource(CsvRecordReader reader) : ICsvRecordSource
{
    private readonly CsvFields _fields = new();

    public CsvFields Fields => _fields;
    public ReadOnlySpan<byte> Buffer => default;
    public long Line => reader.Line;
    public string? Error => reader.Error;
    public string Raw() => reader.Raw.ToString();

    public bool TryRead()
    {
        if (!reader.TryRead()) return false;
        _fields.Clear();
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var chars = reader.Field(i);
            var n = Encoding.UTF8.GetBytes(chars, _fields.ScratchSpace(Encoding.UTF8.GetMaxByteCount(chars.Length)));
            _fields.AddScratch(n, reader.Quoted(i));
        }
        return true;
    }

    public void Dispose() => reader.Dispose();
}

/// <summary>Where the bytes come from: the stream itself when it is UTF-8, else a stream that transcodes it to UTF-8.</summary>
internal static class CsvInput
{
    /// <summary>
    /// Positions <paramref name="stream"/> at <paramref name="start"/> and returns it as UTF-8 bytes past any byte order
    /// mark, choosing the encoding as <see cref="StreamReader"/> does when asked to detect byte order marks: the given
    /// encoding's own preamble, else a UTF-8, UTF-16 or UTF-32 mark, else the given encoding.
    /// </summary>
    public static Stream OpenUtf8(Stream stream, long start, Encoding encoding, out bool transcoded)
    {
        stream.Position = start;
        Span<byte> head = stackalloc byte[4];
        var n = 0;
        while (n < 4)
        {
            var r = stream.Read(head[n..]);
            if (r == 0) break;
            n += r;
        }
        var (detected, skip) = Detect(head[..n], encoding);
        stream.Position = start + skip;
        transcoded = !IsPlainUtf8(detected);
        return transcoded ? Encoding.CreateTranscodingStream(stream, detected, new UTF8Encoding(false), leaveOpen: true) : stream;
    }

    private static bool IsPlainUtf8(Encoding e) =>
        e.CodePage == Encoding.UTF8.CodePage && e.DecoderFallback is DecoderReplacementFallback { DefaultString: "\uFFFD" };

    private static (Encoding Encoding, int Skip) Detect(ReadOnlySpan<byte> head, Encoding given)
    {
        var preamble = given.Preamble;
        if (preamble.Length > 0 && head.StartsWith(preamble)) return (given, preamble.Length);
        if (head.Length >= 2)
        {
            if (head[0] == 0xFE && head[1] == 0xFF) return (Encoding.BigEndianUnicode, 2);
            if (head[0] == 0xFF && head[1] == 0xFE)
                return head.Length < 4 || head[2] != 0 || head[3] != 0 ? (Encoding.Unicode, 2) : (Encoding.UTF32, 4);
            if (head.Length >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF) return (Encoding.UTF8, 3);
            if (head.Length >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 0xFE && head[3] == 0xFF) return (new UTF32Encoding(bigEndian: true, byteOrderMark: true), 4);
        }
        return (given, 0);
    }
}
