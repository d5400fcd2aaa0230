using System.Text;

namespace Pipelines.Data.Parquet.Thrift;

/// <summary>Writes the Thrift compact protocol into a growable buffer.</summary>
internal sealed class CompactWriter
{
    private readonly MemoryStream _out = new();
    private readonly Stack<short> _lastIds = new();
    private short _lastId;

    public ReadOnlySpan<byte> Written => _out.GetBuffer().AsSpan(0, (int)_out.Length);
    public void Reset() { _out.SetLength(0); _lastIds.Clear(); _lastId = 0; }

    public void WriteVarint(ulong v)
    {
        while (v >= 0x80) { _out.WriteByte((byte)(v | 0x80)); v >>= 7; }
        _out.WriteByte((byte)v);
    }

    private void WriteZigZag(long v) => WriteVarint((ulong)((v << 1) ^ (v >> 63)));

    private void FieldHeader(short id, byte type)
    {
        var delta = id - _lastId;
        if (delta is > 0 and <= 15) _out.WriteByte((byte)((delta << 4) | type));
        else { _out.WriteByte(type); WriteZigZag(id); }
        _lastId = id;
    }

    public void BeginStruct() { _lastIds.Push(_lastId); _lastId = 0; }
    public void EndStruct() { _out.WriteByte(0); _lastId = _lastIds.Pop(); }

    public void StructField(short id) { FieldHeader(id, CompactType.Struct); BeginStruct(); }
    public void I32(short id, int v) { FieldHeader(id, CompactType.I32); WriteZigZag(v); }
    public void I16(short id, short v) { FieldHeader(id, CompactType.I16); WriteZigZag(v); }
    public void Byte(short id, sbyte v) { FieldHeader(id, CompactType.Byte); _out.WriteByte((byte)v); }
    public void I64(short id, long v) { FieldHeader(id, CompactType.I64); WriteZigZag(v); }
    public void Bool(short id, bool v) => FieldHeader(id, v ? CompactType.True : CompactType.False);
    public void Binary(short id, ReadOnlySpan<byte> v) { FieldHeader(id, CompactType.Binary); WriteVarint((ulong)v.Length); _out.Write(v); }
    public void String(short id, string v) => Binary(id, System.Text.Encoding.UTF8.GetBytes(v));

    public void ListField(short id, byte elementType, int count)
    {
        FieldHeader(id, CompactType.List);
        if (count < 15) _out.WriteByte((byte)((count << 4) | elementType));
        else { _out.WriteByte((byte)(0xF0 | elementType)); WriteVarint((ulong)count); }
    }

    public void ListI32(int v) => WriteZigZag(v);
    public void ListString(string v) { var b = System.Text.Encoding.UTF8.GetBytes(v); WriteVarint((ulong)b.Length); _out.Write(b); }
}
