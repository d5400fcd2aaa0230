using System.Buffers.Binary;

namespace Pipelines.Data.Compression;

/// <summary>
/// Snappy block decompression straight into the caller's buffer (IronSnappy allocates a new array per
/// call, which for 1 MB pages means large-object garbage on every page). Compression uses Snappier.
/// Format: varint uncompressed length, then literal and copy elements (see snappy's format_description.txt).
/// </summary>
internal static class SnappyDecoder
{
    public static int Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        var pos = 0;
        ulong length = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (pos >= src.Length || shift > 28) throw new InvalidDataException("snappy: bad length header");
            var b = src[pos++];
            length |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (length != (ulong)dst.Length) throw new InvalidDataException($"snappy: block holds {length} bytes, header says {dst.Length}");
        var o = 0;
        while (pos < src.Length)
        {
            var tag = src[pos++];
            int len, offset;
            switch (tag & 3)
            {
                case 0:
                {
                    len = tag >> 2;
                    if (len >= 60)
                    {
                        var extra = len - 59;
                        if (src.Length - pos < extra) throw new InvalidDataException("snappy: truncated literal length");
                        len = 0;
                        for (var i = 0; i < extra; i++) len |= src[pos + i] << (8 * i);
                        pos += extra;
                        if (len < 0) throw new InvalidDataException("snappy: literal too long");
                    }
                    len += 1;
                    if (len > src.Length - pos || len > dst.Length - o) throw new InvalidDataException("snappy: literal overruns");
                    src.Slice(pos, len).CopyTo(dst[o..]);
                    pos += len;
                    o += len;
                    continue;
                }
                case 1:
                    if (pos >= src.Length) throw new InvalidDataException("snappy: truncated copy");
                    len = 4 + ((tag >> 2) & 7);
                    offset = ((tag >> 5) << 8) | src[pos++];
                    break;
                case 2:
                    if (src.Length - pos < 2) throw new InvalidDataException("snappy: truncated copy");
                    len = (tag >> 2) + 1;
                    offset = BinaryPrimitives.ReadUInt16LittleEndian(src[pos..]);
                    pos += 2;
                    break;
                default:
                    if (src.Length - pos < 4) throw new InvalidDataException("snappy: truncated copy");
                    len = (tag >> 2) + 1;
                    offset = BinaryPrimitives.ReadInt32LittleEndian(src[pos..]);
                    pos += 4;
                    break;
            }
            if (offset <= 0 || offset > o || len > dst.Length - o) throw new InvalidDataException("snappy: copy out of range");
            if (offset >= len) dst.Slice(o - offset, len).CopyTo(dst[o..]);
            else for (var i = 0; i < len; i++) dst[o + i] = dst[o - offset + i]; // overlapping run
            o += len;
        }
        return o;
    }
}
