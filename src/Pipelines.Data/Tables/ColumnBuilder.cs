using System.Text;

namespace Pipelines.Data.Tables;

/// <summary>Appends values of one type and builds a column; grows geometrically.</summary>
public abstract class ColumnBuilder
{
    public abstract DataType Type { get; }
    public abstract int Count { get; }
    public abstract void AppendNull();
    public abstract void AppendColumn(Column column);
    public abstract Column Build();

    public static ColumnBuilder Create(DataType type, int capacity = 16)
    {
        capacity = Math.Max(capacity, 4);
        return type.Kind switch
        {
            TypeKind.Boolean => new PrimitiveBuilder<bool>(type, capacity),
            TypeKind.Int8 => new PrimitiveBuilder<sbyte>(type, capacity),
            TypeKind.Int16 => new PrimitiveBuilder<short>(type, capacity),
            TypeKind.Int32 or TypeKind.Date => new PrimitiveBuilder<int>(type, capacity),
            TypeKind.Int64 or TypeKind.Timestamp or TypeKind.Time => new PrimitiveBuilder<long>(type, capacity),
            TypeKind.UInt8 => new PrimitiveBuilder<byte>(type, capacity),
            TypeKind.UInt16 => new PrimitiveBuilder<ushort>(type, capacity),
            TypeKind.UInt32 => new PrimitiveBuilder<uint>(type, capacity),
            TypeKind.UInt64 => new PrimitiveBuilder<ulong>(type, capacity),
            TypeKind.Float32 => new PrimitiveBuilder<float>(type, capacity),
            TypeKind.Float64 => new PrimitiveBuilder<double>(type, capacity),
            TypeKind.Decimal => new PrimitiveBuilder<Int128>(type, capacity),
            _ => new BinaryBuilder(type, capacity),
        };
    }
}

public sealed class PrimitiveBuilder<T>(DataType type, int capacity = 16) : ColumnBuilder where T : unmanaged
{
    private T[] _values = new T[Math.Max(capacity, 4)];
    private bool[]? _validity;
    private int _count;

    public override DataType Type => type;
    public override int Count => _count;

    private void Grow(int extra)
    {
        if (_count + extra <= _values.Length) return;
        var size = Math.Max(_values.Length * 2, _count + extra);
        Array.Resize(ref _values, size);
        if (_validity is not null) Array.Resize(ref _validity, size);
    }

    public void Append(T value)
    {
        Grow(1);
        _values[_count] = value;
        if (_validity is not null) _validity[_count] = true;
        _count++;
    }

    public override void AppendNull()
    {
        Grow(1);
        if (_validity is null)
        {
            _validity = new bool[_values.Length];
            _validity.AsSpan(0, _count).Fill(true);
        }
        _values[_count] = default;
        _validity[_count++] = false;
    }

    public override void AppendColumn(Column column)
    {
        var c = (PrimitiveColumn<T>)column;
        Grow(c.Length);
        c.Values.CopyTo(_values.AsSpan(_count));
        if (c.NullCount > 0 || _validity is not null)
        {
            if (_validity is null) { _validity = new bool[_values.Length]; _validity.AsSpan(0, _count).Fill(true); }
            if (c.NullCount > 0) c.Validity.CopyTo(_validity.AsSpan(_count));
            else _validity.AsSpan(_count, c.Length).Fill(true);
        }
        _count += c.Length;
    }

    public override Column Build() => new PrimitiveColumn<T>(type, _values, _validity, _count);
}

public sealed class BinaryBuilder(DataType type, int capacity = 16) : ColumnBuilder
{
    private int[] _offsets = new int[Math.Max(capacity, 4) + 1];
    private byte[] _data = new byte[Math.Max(capacity, 4) * 8];
    private bool[]? _validity;
    private int _count;

    public override DataType Type => type;
    public override int Count => _count;

    private void GrowRows(int extra)
    {
        if (_count + extra + 1 <= _offsets.Length) return;
        var size = Math.Max(_offsets.Length * 2, _count + extra + 1);
        Array.Resize(ref _offsets, size);
        if (_validity is not null) Array.Resize(ref _validity, size);
    }

    private void GrowData(int extra)
    {
        var used = _offsets[_count];
        if ((long)used + extra > Array.MaxLength) throw new InvalidOperationException("binary column exceeds 2 GiB");
        if (used + extra <= _data.Length) return;
        Array.Resize(ref _data, (int)Math.Min(Array.MaxLength, Math.Max((long)_data.Length * 2, used + extra)));
    }

    public void Append(ReadOnlySpan<byte> value)
    {
        GrowRows(1);
        GrowData(value.Length);
        value.CopyTo(_data.AsSpan(_offsets[_count]));
        if (_validity is not null) _validity[_count] = true;
        _offsets[_count + 1] = _offsets[_count] + value.Length;
        _count++;
    }

    public void Append(string value) => Append(value.AsSpan());

    /// <summary>Appends text as UTF-8.</summary>
    public void Append(ReadOnlySpan<char> value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        GrowRows(1);
        GrowData(max);
        var n = Encoding.UTF8.GetBytes(value, _data.AsSpan(_offsets[_count]));
        if (_validity is not null) _validity[_count] = true;
        _offsets[_count + 1] = _offsets[_count] + n;
        _count++;
    }

    public override void AppendNull()
    {
        GrowRows(1);
        if (_validity is null) { _validity = new bool[_offsets.Length]; _validity.AsSpan(0, _count).Fill(true); }
        _validity[_count] = false;
        _offsets[_count + 1] = _offsets[_count];
        _count++;
    }

    public override void AppendColumn(Column column)
    {
        var c = (BinaryColumn)column;
        for (var i = 0; i < c.Length; i++)
            if (c.IsNull(i)) AppendNull(); else Append(c.GetBytes(i));
    }

    public override Column Build() => new BinaryColumn(type, _offsets, _data, _validity, _count);
}
