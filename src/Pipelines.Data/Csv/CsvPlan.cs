using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>What the reader does with a field of the file.</summary>
internal enum FieldRole : byte
{
    /// <summary>Not asked for and cannot reject a row: only split.</summary>
    Skip,
    /// <summary>Parsed and kept in the output.</summary>
    Store,
    /// <summary>Not asked for, but its type can reject a row (declared, or inferred from part of the file): parsed, not kept.</summary>
    Validate,
}

internal enum ValueKind : byte { String, Float64, Float32, Int32, Int64, Int16, Int8, Boolean, Other }

internal readonly record struct FieldPlan(FieldRole Role, ValueKind Kind, DataType Type, int Output, string Name)
{
    public static ValueKind KindOf(DataType t) => t.Kind switch
    {
        TypeKind.String or TypeKind.Binary => ValueKind.String,
        TypeKind.Float64 => ValueKind.Float64,
        TypeKind.Float32 => ValueKind.Float32,
        TypeKind.Int32 => ValueKind.Int32,
        TypeKind.Int64 => ValueKind.Int64,
        TypeKind.Int16 => ValueKind.Int16,
        TypeKind.Int8 => ValueKind.Int8,
        TypeKind.Boolean => ValueKind.Boolean,
        _ => ValueKind.Other,
    };
}

/// <summary>Everything a chunk parser needs, fixed before reading starts and shared (read-only) by the parsing threads.</summary>
internal sealed class CsvPlan
{
    public CsvPlan(CsvPlanText? text, CsvOptions options, FieldPlan[] fields, Schema output, bool[]? infer, bool fastPath = true)
    {
        FastPath = fastPath;
        Text = text;
        Fields = fields;
        Output = output;
        Infer = infer;
        Policy = options.BadRows;
        NullTokens = options.NullTokens.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();
        OnlyEmptyIsNull = options.NullTokens is [""];
        NumberLikeNullToken = NullTokens.Any(t => t.Length > 0 && Utf8Number.ScanDouble(t, out _) > 0);
        // Numbers are read in the same step as the field is found, which needs the delimiter and quote to be unable to occur inside a number or its padding.
        FusedNumbers = text is not null && !IsNumberByte(text.Delimiter) && !IsNumberByte(text.Quote);
    }

    private static bool IsNumberByte(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'e' or (byte)'E' or (byte)' ' or (byte)'\t';

    /// <summary>Null when the file is read through the character reader (delimiter or quote not ASCII).</summary>
    public CsvPlanText? Text { get; }
    public FieldPlan[] Fields { get; }
    public int Width => Fields.Length;
    public Schema Output { get; }
    public bool[]? Infer { get; }
    public BadRowPolicy Policy { get; }
    public byte[][] NullTokens { get; }
    public bool OnlyEmptyIsNull { get; }
    public bool NumberLikeNullToken { get; }
    public bool FusedNumbers { get; }

    /// <summary>False sends every record through the exact path (tests compare the two).</summary>
    public bool FastPath { get; }

    public bool IsNull(ReadOnlySpan<byte> value)
    {
        if (OnlyEmptyIsNull) return value.IsEmpty;
        foreach (var t in NullTokens)
            if (value.SequenceEqual(t)) return true;
        return false;
    }
}
