using System.Buffers.Binary;
using System.Text;

namespace Pipelines.Data.Parquet.Thrift;

/// <summary>
/// Reads the Thrift compact protocol from a byte span. Every length is checked against the bytes left,
/// so a corrupt length can never cause a large allocation; nesting depth is bounded.
/// </summary>
internal ref struct CompactReader(ReadOnlySpan<byte> data, long baseOffset)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;
    private int _depth;

    public int Position => _pos;
    public long FileOffset => baseOffset + _pos;

    public ParquetFormatException Error(string message) => new($"corrupt metadata: {message}", FileOffset);

    public byte ReadByte()
    {
        if (_pos >= _data.Length) throw Error("unexpected end of metadata");
        return _data[_pos++];
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Error("varint too long");
    }

    public long ReadI64() { var v = ReadVarint(); return (long)(v >> 1) ^ -(long)(v & 1); }
    public int ReadI32() { var v = ReadI64(); if (v is < int.MinValue or > int.MaxValue) throw Error("i32 out of range"); return (int)v; }

    public double ReadDouble()
    {
        if (_data.Length - _pos < 8) throw Error("unexpected end of metadata");
        var v = BinaryPrimitives.ReadDoubleLittleEndian(_data[_pos..]);
        _pos += 8;
        return v;
    }

    public ReadOnlySpan<byte> ReadBinarySpan()
    {
        var len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos)) throw Error($"binary length {len} exceeds the {_data.Length - _pos} bytes left");
        var s = _data.Slice(_pos, (int)len);
        _pos += (int)len;
        return s;
    }

    public byte[] ReadBinary() => ReadBinarySpan().ToArray();
    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBinarySpan());

    /// <summary>Reads a field header; returns false at the struct's stop byte.</summary>
    public bool ReadField(ref short lastId, out short id, out byte type)
    {
        var b = ReadByte();
        if (b == 0) { id = 0; type = 0; return false; }
        type = (byte)(b & 0x0F);
        var delta = b >> 4;
        id = delta == 0 ? (short)ReadI32() : (short)(lastId + delta);
        lastId = id;
        return true;
    }

    public bool ReadBool(byte fieldType) => fieldType switch
    {
        CompactType.True => true,
        CompactType.False => false,
        _ => throw Error($"expected a bool, found type {fieldType}"),
    };

    /// <summary>Reads a list header; the element count is bounded by the bytes left (every element takes at least one byte).</summary>
    public int ReadListHeader(out byte elementType)
    {
        var b = ReadByte();
        elementType = (byte)(b & 0x0F);
        var size = (ulong)(b >> 4);
        if (size == 15) size = ReadVarint();
        if (size > (ulong)(_data.Length - _pos)) throw Error($"list of {size} elements exceeds the {_data.Length - _pos} bytes left");
        return (int)size;
    }

    public void EnterStruct() { if (++_depth > 64) throw Error("nesting too deep"); }
    public void ExitStruct() => _depth--;

    public void Skip(byte type)
    {
        switch (type)
        {
            case CompactType.True: case CompactType.False: return;
            case CompactType.Byte: ReadByte(); return;
            case CompactType.I16: case CompactType.I32: case CompactType.I64: ReadVarint(); return;
            case CompactType.Double: ReadDouble(); return;
            case CompactType.Binary: ReadBinarySpan(); return;
            case CompactType.List: case CompactType.Set:
            {
                var n = ReadListHeader(out var et);
                for (var i = 0; i < n; i++)
                {
                    if (et is CompactType.True or CompactType.False) ReadByte(); else Skip(et);
                }
                return;
            }
            case CompactType.Map:
            {
                var n = ReadVarint();
                if (n == 0) return;
                if (n > (ulong)(_data.Length - _pos)) throw Error("map too large");
                var kv = ReadByte();
                for (ulong i = 0; i < n; i++) { Skip((byte)(kv >> 4)); Skip((byte)(kv & 0x0F)); }
                return;
            }
            case CompactType.Struct:
            {
                EnterStruct();
                short last = 0;
                while (ReadField(ref last, out _, out var ft)) Skip(ft);
                ExitStruct();
                return;
            }
            default: throw Error($"unknown thrift type {type}");
        }
    }
}

internal static class CompactType
{
    public const byte Stop = 0, True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7,
        Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12;
}
