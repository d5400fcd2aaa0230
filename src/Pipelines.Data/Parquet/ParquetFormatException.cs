namespace Pipelines.Data.Parquet;

/// <summary>The input is not a valid Parquet file; <see cref="Offset"/> is the file position where decoding failed.</summary>
public sealed class ParquetFormatException(string message, long offset, Exception? inner = null)
    : FormatException($"{message} (at file offset {offset})", inner)
{
    public long Offset { get; } = offset;
}

/// <summary>The file is valid but uses a feature this codec does not implement (e.g. nested columns).</summary>
public sealed class ParquetNotSupportedException(string message) : NotSupportedException(message);
