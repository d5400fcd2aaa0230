using System.Runtime.CompilerServices;
using System.Text;

namespace Pipelines.Data.Tables;

/// <summary>
/// An immutable typed column. Nulls are tracked by a validity array (null when the column has no nulls).
/// Slicing shares the buffers and costs O(1).
/// </summary>
public abstract class Column
{
    private protected readonly bool[]? _validity;
    private protected readonly int _offset;
    private int _nullCount = -1;

    private protected Column(DataType type, int length, bool[]? validity, int offset)
    {
        Type = type;
        Length = length;
        _validity = validity;
        _offset = offset;
    }

    public DataType Type { get; }
    public int Length { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsNull(int i) => _validity is not null && !_validity[_offset + i];

    /// <summary>Validity for rows [0, Length): true = value present; empty span when nothing is null.</summary>
    public ReadOnlySpan<bool> Validity => _validity is null ? default : _validity.AsSpan(_offset, Length);

    public int NullCount
    {
        get
        {
            if (_nullCount >= 0) return _nullCount;
            var n = 0;
            if (_validity is not null) foreach (var v in Validity) if (!v) n++;
            return _nullCount = n;
        }
    }

    /// <summary>
    /// A timestamp or time of day with every fractional digit its unit has (3, 6 or 9; trailing zeros dropped), exactly:
    /// DateTime holds 100 ns ticks, so nanoseconds are split off as an integer and never pass through it. Values
    /// outside DateTime's calendar print as the raw count of units.
    /// </summary>
    public static string FormatTemporal(long raw, DataType type)
    {
        var (perSecond, digits) = type.Unit switch { TimeUnit.Millis => (1_000L, 3), TimeUnit.Micros => (1_000_000L, 6), _ => (1_000_000_000L, 9) };
        var seconds = Math.DivRem(raw, perSecond, out var fraction);
        if (fraction < 0) { seconds--; fraction += perSecond; } // floor: 1 ns before the epoch is 23:59:59.999999999
        string whole;
        if (type.Kind == TypeKind.Time)
        {
            if (seconds is < 0 or >= 86_400) return raw.ToString(System.Globalization.CultureInfo.InvariantCulture);
            whole = TimeOnly.FromTimeSpan(TimeSpan.FromSeconds(seconds)).ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            var ticks = (Int128)seconds * TimeSpan.TicksPerSecond + DateTime.UnixEpoch.Ticks;
            if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) return raw.ToString(System.Globalization.CultureInfo.InvariantCulture);
            whole = new DateTime((long)ticks).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        }
        if (fraction == 0) return whole;
        return whole + "." + fraction.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
    }

    /// <summary>The boxed value of row <paramref name="i"/> (null for a null), in its natural CLR form.</summary>
    public abstract object? GetValue(int i);

    public abstract Column Slice(int start, int length);

    private protected void CheckSlice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + length}) outside [0, {Length})");
    }

    /// <summary>Invariant text for row <paramref name="i"/> (null for a null); used by the CLI and CSV output.</summary>
    public string? Format(int i)
    {
        if (IsNull(i)) return null;
        if (Type.Kind is TypeKind.Timestamp or TypeKind.Time && this is PrimitiveColumn<long> temporal) return FormatTemporal(temporal[i], Type);
        var v = GetValue(i);
        return v switch
        {
            null => null,
            byte[] b => Convert.ToHexString(b),
            float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture),
            DateOnly d => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString(),
        };
    }
}

/// <summary>A column of fixed-width values (numbers, bools, dates, timestamps, decimals).</summary>
public sealed class PrimitiveColumn<T> : Column where T : unmanaged
{
    private readonly T[] _values;

    public PrimitiveColumn(DataType type, T[] values, bool[]? validity, int length, int offset = 0)
        : base(type, length, validity, offset)
    {
        if (type.StorageType != typeof(T)) throw new ArgumentException($"{type} is not stored as {typeof(T).Name}");
        if (offset + length > values.Length || (validity is not null && offset + length > validity.Length))
            throw new ArgumentException("buffers shorter than the column");
        _values = values;
    }

    /// <summary>Values for rows [0, Length); slots of null rows hold default.</summary>
    public ReadOnlySpan<T> Values => _values.AsSpan(_offset, Length);

    public T this[int i] => _values[_offset + i];

    public override Column Slice(int start, int length)
    {
        CheckSlice(start, length);
        return new PrimitiveColumn<T>(Type, _values, _validity, length, _offset + start);
    }

    public override object? GetValue(int i)
    {
        if (IsNull(i)) return null;
        var v = _values[_offset + i];
        switch (Type.Kind)
        {
            // Parquet can hold dates and instants outside .NET's calendar range; those come back as the raw number.
            case TypeKind.Date:
            {
                var days = (long)Unsafe.As<T, int>(ref v) + 719162;
                return days is >= 0 and <= 3652058 ? DateOnly.FromDayNumber((int)days) : Unsafe.As<T, int>(ref v);
            }
            case TypeKind.Timestamp:
            {
                var raw = Unsafe.As<T, long>(ref v);
                var ticks = Type.Unit switch { TimeUnit.Millis => (Int128)raw * 10_000, TimeUnit.Micros => (Int128)raw * 10, _ => Math.DivRem(raw, 100) is var (q, r) && r < 0 ? q - 1 : q }; // floor, as FormatTemporal
                var absolute = DateTime.UnixEpoch.Ticks + ticks;
                return absolute >= DateTime.MinValue.Ticks && absolute <= DateTime.MaxValue.Ticks
                    ? new DateTime((long)absolute, Type.IsUtc ? DateTimeKind.Utc : DateTimeKind.Unspecified)
                    : raw;
            }
            case TypeKind.Time:
            {
                var raw = Unsafe.As<T, long>(ref v);
                var ticks = Type.Unit switch { TimeUnit.Millis => (Int128)raw * 10_000, TimeUnit.Micros => (Int128)raw * 10, _ => Math.DivRem(raw, 100) is var (q, r) && r < 0 ? q - 1 : q }; // floor, as FormatTemporal
                return ticks >= 0 && ticks < TimeSpan.TicksPerDay ? new TimeOnly((long)ticks) : raw;
            }
            case TypeKind.Decimal: return new DecimalValue(Unsafe.As<T, Int128>(ref v), Type.Scale);
            default: return v;
        }
    }
}

/// <summary>A column of variable-length values (strings as UTF-8, binary) in one buffer plus offsets.</summary>
public sealed class BinaryColumn : Column
{
    private readonly int[] _offsets; // Length+1 entries from _offset
    private readonly byte[] _data;

    public BinaryColumn(DataType type, int[] offsets, byte[] data, bool[]? validity, int length, int offset = 0)
        : base(type, length, validity, offset)
    {
        if (type.Kind is not (TypeKind.String or TypeKind.Binary)) throw new ArgumentException($"{type} is not variable length");
        if (offset + length + 1 > offsets.Length) throw new ArgumentException("offsets shorter than the column");
        _offsets = offsets;
        _data = data;
    }

    public ReadOnlySpan<byte> GetBytes(int i) => _data.AsSpan(_offsets[_offset + i], _offsets[_offset + i + 1] - _offsets[_offset + i]);

    public string GetString(int i) => Encoding.UTF8.GetString(GetBytes(i));

    /// <summary>The underlying buffers (for encoders): offsets for rows [0, Length] and the data.</summary>
    public ReadOnlySpan<int> Offsets => _offsets.AsSpan(_offset, Length + 1);
    public byte[] Data => _data;

    public override Column Slice(int start, int length)
    {
        CheckSlice(start, length);
        return new BinaryColumn(Type, _offsets, _data, _validity, length, _offset + start);
    }

    public override object? GetValue(int i) =>
        IsNull(i) ? null : Type.Kind == TypeKind.String ? GetString(i) : GetBytes(i).ToArray();
}
