using System.Buffers;
using System.Runtime.InteropServices;

namespace Pipelines.Data.Parquet.Encodings;

/// <summary>A growable byte buffer on pooled arrays, reused between pages.</summary>
internal sealed class ByteBuffer : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public ByteBuffer(int capacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    public int Length => _length;
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);
    public byte[] Buffer => _buffer;
    public void Clear() => _length = 0;

    public Span<byte> GetSpan(int size)
    {
        if (_length + size > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_length + size)));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        return _buffer.AsSpan(_length, size);
    }

    public void Advance(int n) => _length += n;

    public void WriteByte(byte b) { GetSpan(1)[0] = b; _length++; }
    public void Write(ReadOnlySpan<byte> data) { data.CopyTo(GetSpan(data.Length)); _length += data.Length; }

    public void Write<T>(ReadOnlySpan<T> values) where T : unmanaged => Write(MemoryMarshal.AsBytes(values));

    public void WriteInt32(int v) { System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(GetSpan(4), v); _length += 4; }

    public void WriteVarint(ulong v)
    {
        while (v >= 0x80) { WriteByte((byte)(v | 0x80)); v >>= 7; }
        WriteByte((byte)v);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
