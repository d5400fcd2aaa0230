using System.Runtime.CompilerServices;
using System.Text;

namespace Pipelines.Data.Csv;

/// <summary>
/// The fields of one record: spans into the caller's buffer, or into <see cref="Scratch"/> for quoted fields whose
/// doubled quotes were undone (and for records that came from decoded text).
/// </summary>
internal sealed class CsvFields
{
    public int Count;
    public int[] Start = new int[16], Length = new int[16];
    public bool[] Quoted = new bool[16], InScratch = new bool[16];
    public byte[] Scratch = new byte[256];
    public int ScratchLength;

    public ReadOnlySpan<byte> Field(ReadOnlySpan<byte> buffer, int i) =>
        InScratch[i] ? Scratch.AsSpan(Start[i], Length[i]) : buffer.Slice(Start[i], Length[i]);

    public void Clear()
    {
        Count = 0;
        ScratchLength = 0;
    }

    public void Add(int start, int length, bool quoted)
    {
        Reserve();
        var i = Count++;
        Start[i] = start; Length[i] = length; Quoted[i] = quoted; InScratch[i] = false;
    }

    /// <summary>Appends a field held in <see cref="Scratch"/> (copied there by the caller through <see cref="ScratchSpace"/>).</summary>
    public void AddScratch(int length, bool quoted)
    {
        Reserve();
        var i = Count++;
        Start[i] = ScratchLength; Length[i] = length; Quoted[i] = quoted; InScratch[i] = true;
        ScratchLength += length;
    }

    public Span<byte> ScratchSpace(int atLeast)
    {
        if (Scratch.Length - ScratchLength < atLeast) Array.Resize(ref Scratch, Math.Max(Scratch.Length * 2, ScratchLength + atLeast));
        return Scratch.AsSpan(ScratchLength);
    }

    private void Reserve()
    {
        if (Count < Start.Length) return;
        var size = Start.Length * 2;
        Array.Resize(ref Start, size); Array.Resize(ref Length, size);
        Array.Resize(ref Quoted, size); Array.Resize(ref InScratch, size);
    }
}

/// <summary>
/// Splits UTF-8 bytes into records by the rules of the character reader (<see cref="CsvRecordReader"/>), byte for byte:
/// RFC 4180 quoting, \r, \n and \r\n line ends, blank and comment lines skipped, spaces and tabs trimmed around
/// unquoted values, broken quoting reported on the record. The delimiter and quote are ASCII, so they can never be
/// part of a multi-byte character. Works on a buffer that may end mid-record: then it asks for more input, unless
/// the buffer is the end of the input.
/// </summary>
internal sealed class Utf8RecordScanner(CsvPlanText text)
{
    private readonly byte _delimiter = text.Delimiter, _quote = text.Quote;
    private readonly bool _trim = text.Trim;
    private readonly byte[]? _comment = text.Comment;

    public readonly CsvFields Fields = new();

    /// <summary>Set by <see cref="ParseRecord"/>: broken quoting in the record, else null.</summary>
    public string? Error;

    /// <summary>Set by <see cref="ParseRecord"/>: where the record's text ends (before its line break).</summary>
    public int RecordEnd;

    public enum Skip { Record, End, NeedMore }

    /// <summary>
    /// Moves <paramref name="p"/> past blank and comment lines (counting them in <paramref name="lines"/>) to the start of a
    /// record. On <see cref="Skip.NeedMore"/>, <paramref name="p"/> is where the unfinished line starts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Skip SkipBlankAndCommentLines(ReadOnlySpan<byte> buf, ref int p, bool final, ref long lines)
    {
        var len = buf.Length;
        while (true)
        {
            if (p == len) return final ? Skip.End : Skip.NeedMore;
            var c = buf[p];
            if (c is (byte)'\n' or (byte)'\r')
            {
                var q = p + 1;
                if (c == '\r')
                {
                    if (q == len && !final) return Skip.NeedMore;
                    if (q < len && buf[q] == '\n') q++;
                }
                p = q;
                lines++;
                continue;
            }
            if (_comment is not null)
            {
                if (len - p < _comment.Length && !final) return Skip.NeedMore;
                if (buf[p..].StartsWith(_comment))
                {
                    var nl = buf[p..].IndexOf((byte)'\n');
                    if (nl < 0 && !final) return Skip.NeedMore;
                    p = nl < 0 ? len : p + nl + 1;
                    lines++;
                    continue;
                }
            }
            return Skip.Record;
        }
    }

    /// <summary>
    /// Parses the record starting at <paramref name="p"/> into <see cref="Fields"/>; false when it runs past the buffer
    /// before the end of the input. <paramref name="next"/> is where the next record starts and
    /// <paramref name="newlines"/> counts line breaks inside quoted fields.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool ParseRecord(ReadOnlySpan<byte> buf, int p, bool final, out int next, out long newlines)
    {
        var len = buf.Length;
        newlines = 0;
        next = p;
        string? error = null;
        var fields = Fields;
        fields.Clear();
        while (true)
        {
            var fieldStart = p;
            if (_trim)
                while (p < len && buf[p] is (byte)' ' or (byte)'\t') p++;
            if (p == len && !final) return false;
            if (p < len && buf[p] == _quote)
            {
                p++;
                var contentStart = p;
                var escaped = false;
                var closed = false;
                while (true)
                {
                    var rest = buf[p..];
                    var q = rest.IndexOf(_quote);
                    if (q < 0)
                    {
                        if (!final) return false;
                        newlines += rest.Count((byte)'\n');
                        p = len;
                        break;
                    }
                    newlines += rest[..q].Count((byte)'\n');
                    p += q + 1;
                    if (p == len && !final) return false;
                    if (p < len && buf[p] == _quote) { escaped = true; p++; continue; }
                    closed = true;
                    break;
                }
                if (!closed) { error = "unterminated quoted field"; break; }
                var contentEnd = p - 1;
                if (_trim)
                    while (p < len && buf[p] is (byte)' ' or (byte)'\t') p++;
                if (p == len && !final) return false;
                AddQuoted(buf, contentStart, contentEnd - contentStart, escaped);
                if (p < len && !EndsField(buf[p]))
                {
                    error ??= $"unexpected character '{FirstChar(buf[p..])}' after a closing quote";
                    var end = buf[p..].IndexOfAny(_delimiter, (byte)'\r', (byte)'\n');
                    if (end < 0 && !final) return false;
                    p = end < 0 ? len : p + end;
                }
            }
            else
            {
                var end = buf[p..].IndexOfAny(_delimiter, (byte)'\r', (byte)'\n');
                if (end < 0 && !final) return false;
                var stop = end < 0 ? len : p + end;
                if (_trim) fields.Add(p, buf[p..stop].TrimEnd(" \t"u8).Length, false);
                else fields.Add(fieldStart, stop - fieldStart, false);
                p = stop;
            }
            if (p < len && buf[p] == _delimiter) { p++; continue; }
            break;
        }
        RecordEnd = p;
        if (p < len && buf[p] == '\r')
        {
            p++;
            if (p == len && !final) return false;
        }
        if (p < len && buf[p] == '\n') p++;
        Error = error;
        next = p;
        return true;
    }

    private bool EndsField(byte c) => c == _delimiter || c == '\r' || c == '\n';

    /// <summary>The character the text reader would have shown: the first UTF-16 unit of the decoded character.</summary>
    private static char FirstChar(ReadOnlySpan<byte> s)
    {
        System.Text.Rune.DecodeFromUtf8(s, out var rune, out _);
        Span<char> units = stackalloc char[2];
        rune.EncodeToUtf16(units);
        return units[0];
    }

    private void AddQuoted(ReadOnlySpan<byte> buf, int start, int length, bool escaped)
    {
        if (!escaped) { Fields.Add(start, length, true); return; }
        var from = buf.Slice(start, length);
        var to = Fields.ScratchSpace(length);
        var n = 0;
        for (var k = 0; k < from.Length; k++)
        {
            to[n++] = from[k];
            if (from[k] == _quote) k++;
        }
        Fields.AddScratch(n, true);
    }
}

/// <summary>The byte-level reading options: ASCII delimiter and quote, trimming, the comment prefix as UTF-8.</summary>
internal sealed record CsvPlanText(byte Delimiter, byte Quote, bool Trim, byte[]? Comment)
{
    /// <summary>Null when the delimiter or quote is not ASCII: such files are read through the character reader.</summary>
    public static CsvPlanText? For(CsvOptions o) =>
        o.Delimiter > 0x7F || o.Quote > 0x7F
            ? null
            : new CsvPlanText((byte)o.Delimiter, (byte)o.Quote, o.TrimWhitespace,
                o.CommentPrefix is { Length: > 0 } cp ? Encoding.UTF8.GetBytes(cp) : null);
}
