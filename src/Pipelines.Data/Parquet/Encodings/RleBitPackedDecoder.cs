using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Pipelines.Data.Parquet.Encodings;

/// <summary>
/// Decodes the RLE / bit-packed hybrid encoding (levels, dictionary indices, RLE booleans). Throws
/// <see cref="InvalidDataException"/> when the data ends early; never allocates by a run length.
/// </summary>
internal ref struct RleBitPackedDecoder
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _bitWidth;
    private int _pos;
    private int _rleLeft;     // values left in the current RLE run
    private int _rleValue;
    private int _packedLeft;  // values left in the current bit-packed run
    private int _packedBitPos; // bit position inside _data of the next packed value

    public RleBitPackedDecoder(ReadOnlySpan<byte> data, int bitWidth)
    {
        if (bitWidth is < 0 or > 32) throw new InvalidDataException($"bit width {bitWidth} out of range");
        _data = data;
        _bitWidth = bitWidth;
    }

    public int BytesConsumed => _pos;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool NextRun()
    {
        if (_pos >= _data.Length) return false;
        ulong header = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (_pos >= _data.Length || shift > 35) throw new InvalidDataException("truncated RLE run header");
            var b = _data[_pos++];
            header |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        if ((header & 1) == 0)
        {
            var count = header >> 1;
            if (count == 0) return NextRun();
            if (count > int.MaxValue) throw new InvalidDataException("RLE run too long");
            var width = (_bitWidth + 7) / 8;
            if (_data.Length - _pos < width) throw new InvalidDataException("truncated RLE value");
            var v = 0;
            for (var i = 0; i < width; i++) v |= _data[_pos + i] << (8 * i);
            _pos += width;
            _rleLeft = (int)count;
            _rleValue = v;
        }
        else
        {
            var groups = header >> 1;
            var bytes = (long)groups * _bitWidth; // groups of 8 values -> bitWidth bytes each
            if (groups == 0) return NextRun();
            // A packed run may legally end in padding beyond the values we need, but never beyond the data.
            var available = _data.Length - _pos;
            var values = groups * 8;
            if (bytes > available)
            {
                // Tolerate a final run whose trailing padding was cut (some writers do); values beyond the data fail on read.
                values = _bitWidth == 0 ? values : (ulong)available * 8 / (ulong)_bitWidth;
                bytes = available;
            }
            _packedLeft = (int)Math.Min(values, int.MaxValue);
            _packedBitPos = _pos * 8;
            _pos += (int)bytes;
        }
        return true;
    }

    /// <summary>Fills <paramref name="dest"/> entirely or throws.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Read(Span<int> dest)
    {
        var i = 0;
        while (i < dest.Length)
        {
            if (_rleLeft > 0)
            {
                var n = Math.Min(_rleLeft, dest.Length - i);
                dest.Slice(i, n).Fill(_rleValue);
                _rleLeft -= n;
                i += n;
            }
            else if (_packedLeft > 0)
            {
                var n = Math.Min(_packedLeft, dest.Length - i);
                Unpack(dest.Slice(i, n));
                _packedLeft -= n;
                i += n;
            }
            else if (!NextRun()) throw new InvalidDataException($"RLE data ended after {i} of {dest.Length} values");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Unpack(Span<int> dest)
    {
        var w = _bitWidth;
        if (w == 0) { dest.Clear(); return; }
        var mask = w == 32 ? 0xFFFFFFFFUL : (1UL << w) - 1;
        var data = _data;
        long bit = _packedBitPos;
        for (var i = 0; i < dest.Length; i++)
        {
            var byteIndex = (int)(bit >> 3);
            var shift = (int)(bit & 7);
            ulong word;
            if (byteIndex + 8 <= data.Length) word = BinaryPrimitives.ReadUInt64LittleEndian(data[byteIndex..]);
            else
            {
                word = 0;
                var need = (shift + w + 7) >> 3;
                if (byteIndex + need > data.Length) throw new InvalidDataException("bit-packed run extends past the data");
                for (var k = 0; k < data.Length - byteIndex && k < 8; k++) word |= (ulong)data[byteIndex + k] << (8 * k);
            }
            dest[i] = (int)((word >> shift) & mask);
            bit += w;
        }
        _packedBitPos = (int)bit;
    }
}

/// <summary>Encodes the RLE / bit-packed hybrid: runs of 8+ equal values as RLE, the rest bit-packed.</summary>
internal static class RleBitPackedEncoder
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Encode(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output)
    {
        var byteWidth = (bitWidth + 7) / 8;
        var i = 0;
        while (i < values.Length)
        {
            var run = RunLength(values, i);
            if (run >= 8)
            {
                output.WriteVarint((ulong)run << 1);
                var v = values[i];
                for (var b = 0; b < byteWidth; b++) output.WriteByte((byte)(v >> (8 * b)));
                i += run;
                continue;
            }
            // Bit-pack whole groups of 8 until a long run starts or the run header's group count would overflow one byte.
            var end = i;
            do end = Math.Min(end + 8, values.Length);
            while (end < values.Length && RunLength(values, end) < 8 && end - i < 8 * 63);
            var groups = (end - i + 7) / 8;
            output.WriteVarint(((ulong)groups << 1) | 1);
            PackInto(values[i..end], bitWidth, groups, output);
            i = end;
        }
    }

    private static int RunLength(ReadOnlySpan<int> values, int i)
    {
        var run = 1;
        while (i + run < values.Length && values[i + run] == values[i]) run++;
        return run;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackInto(ReadOnlySpan<int> values, int bitWidth, int groups, ByteBuffer output)
    {
        // Little-endian bit packing through a 64-bit accumulator: whole bytes leave it as soon as they are complete
        // (bitWidth ≤ 32, so at most 39 bits are ever pending).
        var totalBytes = groups * bitWidth;
        var span = output.GetSpan(totalBytes)[..totalBytes];
        var mask = bitWidth == 32 ? 0xFFFF_FFFFUL : (1UL << bitWidth) - 1;
        ulong pending = 0;
        var pendingBits = 0;
        var o = 0;
        foreach (var v in values)
        {
            pending |= ((ulong)(uint)v & mask) << pendingBits;
            pendingBits += bitWidth;
            while (pendingBits >= 8)
            {
                span[o++] = (byte)pending;
                pending >>= 8;
                pendingBits -= 8;
            }
        }
        if (pendingBits > 0) span[o++] = (byte)pending;
        span[o..].Clear(); // the last group's padding
        output.Advance(totalBytes);
    }

    public static int BitWidth(int maxValue) => maxValue == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)maxValue);
}
