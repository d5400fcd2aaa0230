using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>
/// A growable column of parsed CSV values addressed by row: a row's values are written in place and only become
/// part of the column when the reader counts the row, so a row that turns out bad leaves nothing behind (the next
/// row overwrites its slots).
/// </summary>
internal abstract class CsvColumnData(DataType type)
{
    public DataType Type { get; } = type;
    public bool[]? Validity;

    public abstract int Capacity { get; }

    /// <summary>Grows the row capacity to at least <paramref name="rows"/>, keeping the first <paramref name="used"/> rows.</summary>
    public abstract void Grow(int rows, int used);

    public abstract void SetNull(int row);

    /// <summary>Appends rows [<paramref name="from"/>, +<paramref name="count"/>) of <paramref name="source"/> at row <paramref name="at"/>.</summary>
    public abstract void CopyRows(CsvColumnData source, int from, int count, int at);

    public abstract Column Build(int rows);

    protected void MarkNull(int row)
    {
        if (Validity is null)
        {
            Validity = new bool[Capacity];
            Validity.AsSpan(0, row).Fill(true);
        }
        Validity[row] = false;
    }

    protected void CopyValidity(CsvColumnData source, int from, int count, int at)
    {
        if (source.Validity is not null)
        {
            if (Validity is null) { Validity = new bool[Capacity]; Validity.AsSpan(0, at).Fill(true); }
            source.Validity.AsSpan(from, count).CopyTo(Validity.AsSpan(at));
        }
        else Validity?.AsSpan(at, count).Fill(true);
    }

    public static CsvColumnData Create(DataType type, int capacity)
    {
        capacity = Math.Max(capacity, 4);
        return type.StorageType switch
        {
            var t when t == typeof(byte[]) => new BytesData(type, capacity),
            var t when t == typeof(double) => new PrimitiveData<double>(type, capacity),
            var t when t == typeof(float) => new PrimitiveData<float>(type, capacity),
            var t when t == typeof(int) => new PrimitiveData<int>(type, capacity),
            var t when t == typeof(long) => new PrimitiveData<long>(type, capacity),
            var t when t == typeof(short) => new PrimitiveData<short>(type, capacity),
            var t when t == typeof(sbyte) => new PrimitiveData<sbyte>(type, capacity),
            var t when t == typeof(bool) => new PrimitiveData<bool>(type, capacity),
            var t when t == typeof(Int128) => new PrimitiveData<Int128>(type, capacity),
            var t when t == typeof(byte) => new PrimitiveData<byte>(type, capacity),
            var t when t == typeof(ushort) => new PrimitiveData<ushort>(type, capacity),
            var t when t == typeof(uint) => new PrimitiveData<uint>(type, capacity),
            var t when t == typeof(ulong) => new PrimitiveData<ulong>(type, capacity),
            _ => throw new NotSupportedException($"CSV cannot produce {type}"),
        };
    }
}

internal sealed class PrimitiveData<T>(DataType type, int capacity) : CsvColumnData(type) where T : unmanaged
{
    public T[] Values = GC.AllocateUninitializedArray<T>(capacity);

    public override int Capacity => Values.Length;

    public void Set(int row, T value)
    {
        Values[row] = value;
        if (Validity is not null) Validity[row] = true;
    }

    public override void SetNull(int row)
    {
        Values[row] = default;
        MarkNull(row);
    }

    public override void Grow(int rows, int used)
    {
        if (rows <= Values.Length) return;
        var size = (int)Math.Min(Array.MaxLength, Math.Max(rows, (long)Values.Length * 3 / 2));
        var values = GC.AllocateUninitializedArray<T>(size);
        Values.AsSpan(0, used).CopyTo(values);
        Values = values;
        if (Validity is not null) Array.Resize(ref Validity, size);
    }

    public override void CopyRows(CsvColumnData source, int from, int count, int at)
    {
        ((PrimitiveData<T>)source).Values.AsSpan(from, count).CopyTo(Values.AsSpan(at));
        CopyValidity(source, from, count, at);
    }

    public override Column Build(int rows) => new PrimitiveColumn<T>(Type, Values, Validity, rows);
}

/// <summary>Strings and binary values: UTF-8 bytes plus offsets (row r is Data[Offsets[r]..Offsets[r+1]]).</summary>
internal sealed class BytesData : CsvColumnData
{
    public int[] Offsets;
    public byte[] Data;

    public BytesData(DataType type, int capacity) : base(type)
    {
        Offsets = new int[capacity + 1];
        Data = GC.AllocateUninitializedArray<byte>(Math.Max(capacity * 8, 64));
    }

    public override int Capacity => Offsets.Length - 1;

    /// <summary>Stores UTF-8 text; malformed sequences become U+FFFD, as decoding the file as text did.</summary>
    public void SetText(int row, ReadOnlySpan<byte> value)
    {
        if (!Utf8.IsValid(value)) { SetBytes(row, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(value))); return; }
        SetBytes(row, value);
    }

    public void SetBytes(int row, ReadOnlySpan<byte> value)
    {
        var start = Offsets[row];
        if ((long)start + value.Length > Data.Length)
        {
            if ((long)start + value.Length > Array.MaxLength) throw new InvalidOperationException("binary column exceeds 2 GiB");
            var data = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max((long)Data.Length * 2, (long)start + value.Length)));
            Data.AsSpan(0, start).CopyTo(data);
            Data = data;
        }
        value.CopyTo(Data.AsSpan(start));
        Offsets[row + 1] = start + value.Length;
        if (Validity is not null) Validity[row] = true;
    }

    public override void SetNull(int row)
    {
        Offsets[row + 1] = Offsets[row];
        MarkNull(row);
    }

    public override void Grow(int rows, int used)
    {
        if (rows <= Capacity) return;
        var size = (int)Math.Min(Array.MaxLength - 1, Math.Max(rows, (long)Capacity * 3 / 2));
        Array.Resize(ref Offsets, size + 1);
        if (Validity is not null) Array.Resize(ref Validity, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void CopyRows(CsvColumnData source, int from, int count, int at)
    {
        var s = (BytesData)source;
        var begin = s.Offsets[from];
        var bytes = s.Offsets[from + count] - begin;
        var start = Offsets[at];
        if ((long)start + bytes > Data.Length)
        {
            if ((long)start + bytes > Array.MaxLength) throw new InvalidOperationException("binary column exceeds 2 GiB");
            var data = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max((long)Data.Length * 3 / 2, (long)start + bytes)));
            Data.AsSpan(0, start).CopyTo(data);
            Data = data;
        }
        s.Data.AsSpan(begin, bytes).CopyTo(Data.AsSpan(start));
        var delta = start - begin;
        var src = s.Offsets.AsSpan(from + 1, count);
        var dst = Offsets.AsSpan(at + 1, count);
        for (var i = 0; i < src.Length; i++) dst[i] = src[i] + delta;
        CopyValidity(source, from, count, at);
    }

    public override Column Build(int rows) => new BinaryColumn(Type, Offsets, Data, Validity, rows);
}
