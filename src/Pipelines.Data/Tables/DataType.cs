namespace Pipelines.Data.Tables;

/// <summary>The logical kinds a column can hold.</summary>
public enum TypeKind
{
    Boolean, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64,
    Float32, Float64, Decimal, String, Binary, Date, Timestamp, Time,
}

public enum TimeUnit { Millis, Micros, Nanos }

/// <summary>
/// A column's logical type. Storage per kind: Date = days since epoch (int), Timestamp/Time = count of
/// <see cref="Unit"/> since epoch/midnight (long), Decimal = unscaled Int128 with <see cref="Scale"/>.
/// </summary>
public sealed record DataType(TypeKind Kind, int Precision = 0, int Scale = 0, TimeUnit Unit = TimeUnit.Micros, bool IsUtc = false)
{
    public static readonly DataType Boolean = new(TypeKind.Boolean);
    public static readonly DataType Int8 = new(TypeKind.Int8);
    public static readonly DataType Int16 = new(TypeKind.Int16);
    public static readonly DataType Int32 = new(TypeKind.Int32);
    public static readonly DataType Int64 = new(TypeKind.Int64);
    public static readonly DataType UInt8 = new(TypeKind.UInt8);
    public static readonly DataType UInt16 = new(TypeKind.UInt16);
    public static readonly DataType UInt32 = new(TypeKind.UInt32);
    public static readonly DataType UInt64 = new(TypeKind.UInt64);
    public static readonly DataType Float32 = new(TypeKind.Float32);
    public static readonly DataType Float64 = new(TypeKind.Float64);
    public static readonly DataType String = new(TypeKind.String);
    public static readonly DataType Binary = new(TypeKind.Binary);
    public static readonly DataType Date = new(TypeKind.Date);

    public static DataType Decimal(int precision, int scale) => new(TypeKind.Decimal, precision, scale);
    public static DataType Timestamp(TimeUnit unit, bool isUtc) => new(TypeKind.Timestamp, Unit: unit, IsUtc: isUtc);
    public static DataType Time(TimeUnit unit) => new(TypeKind.Time, Unit: unit);

    /// <summary>The CLR element type of the column's value buffer.</summary>
    public Type StorageType => Kind switch
    {
        TypeKind.Boolean => typeof(bool),
        TypeKind.Int8 => typeof(sbyte),
        TypeKind.Int16 => typeof(short),
        TypeKind.Int32 or TypeKind.Date => typeof(int),
        TypeKind.Int64 or TypeKind.Timestamp or TypeKind.Time => typeof(long),
        TypeKind.UInt8 => typeof(byte),
        TypeKind.UInt16 => typeof(ushort),
        TypeKind.UInt32 => typeof(uint),
        TypeKind.UInt64 => typeof(ulong),
        TypeKind.Float32 => typeof(float),
        TypeKind.Float64 => typeof(double),
        TypeKind.Decimal => typeof(Int128),
        _ => typeof(byte[]),
    };

    public override string ToString() => Kind switch
    {
        TypeKind.Decimal => $"decimal({Precision},{Scale})",
        TypeKind.Timestamp => $"timestamp[{Unit.ToString().ToLowerInvariant()}{(IsUtc ? ", utc" : "")}]",
        TypeKind.Time => $"time[{Unit.ToString().ToLowerInvariant()}]",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>A named, typed column slot in a <see cref="Schema"/>.</summary>
public sealed record Field(string Name, DataType Type, bool Nullable = true)
{
    public override string ToString() => $"{Name}: {Type}{(Nullable ? "" : " not null")}";
}

/// <summary>An ordered list of uniquely named fields.</summary>
public sealed class Schema : IEquatable<Schema>
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public Schema(IEnumerable<Field> fields)
    {
        Fields = fields.ToArray();
        for (var i = 0; i < Fields.Count; i++)
            if (!_index.TryAdd(Fields[i].Name, i))
                throw new ArgumentException($"duplicate column name '{Fields[i].Name}'");
    }

    public IReadOnlyList<Field> Fields { get; }
    public int Count => Fields.Count;
    public Field this[int i] => Fields[i];

    public int IndexOf(string name) => _index.TryGetValue(name, out var i) ? i : -1;

    public bool Equals(Schema? other) => other is not null && Fields.SequenceEqual(other.Fields);
    public override bool Equals(object? obj) => Equals(obj as Schema);
    public override int GetHashCode() => Fields.Count;
    public override string ToString() => string.Join(", ", Fields);
}

/// <summary>A decimal value as stored: an unscaled integer and a scale.</summary>
public readonly record struct DecimalValue(Int128 Unscaled, int Scale)
{
    public override string ToString()
    {
        var negative = Unscaled < 0;
        var magnitude = negative ? (UInt128)(-(Unscaled + 1)) + 1 : (UInt128)Unscaled;
        var digits = magnitude.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Scale > 0)
        {
            digits = digits.PadLeft(Scale + 1, '0');
            digits = digits[..^Scale] + "." + digits[^Scale..];
        }
        return negative ? "-" + digits : digits;
    }

    public decimal ToDecimal() => decimal.Parse(ToString(), System.Globalization.CultureInfo.InvariantCulture);
}
