using System.Buffers.Binary;

namespace Pipelines.Data.Parquet.Encodings;

/// <summary>DELTA_BINARY_PACKED: blocks of miniblocks of bit-packed deltas from a per-block minimum.</summary>
internal static class DeltaBinaryPacked
{
    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length) throw new InvalidDataException("truncated DELTA_BINARY_PACKED header");
            var b = data[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("varint too long");
    }

    private static long ZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    /// <summary>Reads the value count from the header without decoding.</summary>
    public static int PeekCount(ReadOnlySpan<byte> data)
    {
        var pos = 0;
        ReadVarint(data, ref pos); ReadVarint(data, ref pos);
        var total = ReadVarint(data, ref pos);
        if (total > int.MaxValue) throw new InvalidDataException("DELTA_BINARY_PACKED value count too large");
        return (int)total;
    }

    /// <summary>
    /// Decodes exactly <paramref name="dest"/>.Length values (the header's count must be at least that) and
    /// returns the bytes consumed, which matters when other data follows (DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY).
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> data, Span<long> dest, out int headerCount)
    {
        var pos = 0;
        var blockSize = ReadVarint(data, ref pos);
        var miniblocks = ReadVarint(data, ref pos);
        var total = ReadVarint(data, ref pos);
        var value = ZigZag(ReadVarint(data, ref pos));
        if (blockSize == 0 || blockSize % 128 != 0 || miniblocks == 0 || blockSize % miniblocks != 0 || (blockSize / miniblocks) % 32 != 0 || blockSize > 1 << 20)
            throw new InvalidDataException($"invalid DELTA_BINARY_PACKED block size {blockSize} / {miniblocks} miniblocks");
        if (total > int.MaxValue) throw new InvalidDataException("DELTA_BINARY_PACKED value count too large");
        headerCount = (int)total;
        if (dest.Length > headerCount) throw new InvalidDataException($"DELTA_BINARY_PACKED holds {headerCount} values, {dest.Length} expected");
        var perMini = (int)(blockSize / miniblocks);
        var n = dest.Length;
        if (headerCount == 0) return pos;
        if (n > 0) dest[0] = value;
        var produced = 1;
        // Walk all blocks the header's count needs so the consumed byte count is right even when fewer values are wanted.
        var remaining = headerCount - 1;
        while (remaining > 0)
        {
            var minDelta = ZigZag(ReadVarint(data, ref pos));
            if (data.Length - pos < (int)miniblocks) throw new InvalidDataException("truncated DELTA_BINARY_PACKED bit widths");
            var widths = data.Slice(pos, (int)miniblocks);
            pos += (int)miniblocks;
            for (var m = 0; m < (int)miniblocks && remaining > 0; m++)
            {
                int w = widths[m];
                if (w > 64) throw new InvalidDataException($"DELTA_BINARY_PACKED bit width {w}");
                var bytes = perMini * w / 8;
                if (data.Length - pos < bytes) throw new InvalidDataException("truncated DELTA_BINARY_PACKED miniblock");
                var mini = data.Slice(pos, bytes);
                var count = Math.Min(perMini, remaining);
                for (var i = 0; i < count; i++)
                {
                    var delta = Extract(mini, i * w, w);
                    value = unchecked(value + minDelta + (long)delta);
                    if (produced < n) dest[produced] = value;
                    produced++;
                }
                remaining -= count;
                pos += bytes;
            }
        }
        return pos;
    }

    private static ulong Extract(ReadOnlySpan<byte> data, int bit, int width)
    {
        if (width == 0) return 0;
        var byteIndex = bit >> 3;
        var shift = bit & 7;
        ulong lo;
        if (byteIndex + 8 <= data.Length) lo = BinaryPrimitives.ReadUInt64LittleEndian(data[byteIndex..]);
        else { lo = 0; for (var k = 0; byteIndex + k < data.Length && k < 8; k++) lo |= (ulong)data[byteIndex + k] << (8 * k); }
        var result = lo >> shift;
        if (shift + width > 64)
        {
            var hi = byteIndex + 8 < data.Length ? data[byteIndex + 8] : (byte)0;
            result |= (ulong)hi << (64 - shift);
        }
        return width == 64 ? result : result & ((1UL << width) - 1);
    }

    /// <summary>Encodes values with block size 128 and 4 miniblocks of 32.</summary>
    public static void Encode(ReadOnlySpan<long> values, ByteBuffer output)
    {
        const int block = 128, minis = 4, perMini = 32;
        output.WriteVarint(block);
        output.WriteVarint(minis);
        output.WriteVarint((ulong)values.Length);
        output.WriteVarint(values.IsEmpty ? 0 : ZigZagEncode(values[0]));
        Span<long> deltas = stackalloc long[block];
        Span<byte> widths = stackalloc byte[minis];
        for (var start = 1; start < values.Length; start += block)
        {
            var count = Math.Min(block, values.Length - start);
            var min = long.MaxValue;
            for (var i = 0; i < count; i++) { deltas[i] = unchecked(values[start + i] - values[start + i - 1]); min = Math.Min(min, deltas[i]); }
            for (var i = count; i < block; i++) deltas[i] = min;
            output.WriteVarint(ZigZagEncode(min));
            for (var m = 0; m < minis; m++)
            {
                ulong max = 0;
                for (var i = 0; i < perMini; i++) max |= unchecked((ulong)(deltas[m * perMini + i] - min));
                widths[m] = (byte)(64 - System.Numerics.BitOperations.LeadingZeroCount(max));
            }
            var used = (count + perMini - 1) / perMini;
            for (var m = 0; m < minis; m++) output.WriteByte(m < used ? widths[m] : (byte)0);
            for (var m = 0; m < used; m++)
            {
                int w = widths[m];
                var bytes = perMini * w / 8;
                var span = output.GetSpan(bytes);
                span[..bytes].Clear();
                for (var i = 0; i < perMini; i++)
                {
                    var v = unchecked((ulong)(deltas[m * perMini + i] - min));
                    var bit = i * w;
                    for (var b = 0; b < w; b++)
                        if (((v >> b) & 1) != 0) span[(bit + b) >> 3] |= (byte)(1 << ((bit + b) & 7));
                }
                output.Advance(bytes);
            }
        }
    }

    private static ulong ZigZagEncode(long v) => (ulong)((v << 1) ^ (v >> 63));
}
