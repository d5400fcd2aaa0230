using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>What to do with a row that cannot be read (wrong field count, broken quoting, value not of its column's type).</summary>
public enum BadRowPolicy
{
    /// <summary>Throw <see cref="CsvFormatException"/> naming row, column and value.</summary>
    Fail,
    /// <summary>Drop the row and count it.</summary>
    Skip,
    /// <summary>Drop the row and append its raw text to <see cref="CsvOptions.QuarantinePath"/>.</summary>
    Quarantine,
}

public sealed record CsvOptions
{
    public char Delimiter { get; init; } = ',';
    public char Quote { get; init; } = '"';
    public bool HasHeader { get; init; } = true;

    /// <summary>Column names when the file has no header (default: column1, column2, …).</summary>
    public IReadOnlyList<string>? ColumnNames { get; init; }

    /// <summary>Values (after trimming) read as null. The empty string is null by default.</summary>
    public IReadOnlyList<string> NullTokens { get; init; } = [""];

    /// <summary>Trim spaces and tabs around unquoted values.</summary>
    public bool TrimWhitespace { get; init; } = true;

    /// <summary>Lines starting with this text are ignored (e.g. "|" in the UCI Adult test file).</summary>
    public string? CommentPrefix { get; init; }

    public System.Text.Encoding Encoding { get; init; } = System.Text.Encoding.UTF8;

    public BadRowPolicy BadRows { get; init; } = BadRowPolicy.Fail;
    public string? QuarantinePath { get; init; }

    /// <summary>How many rows type inference looks at (all rows when null).</summary>
    public int? InferenceRows { get; init; }

    /// <summary>Types that override inference, by column name.</summary>
    public IReadOnlyDictionary<string, DataType>? ColumnTypes { get; init; }

    /// <summary>
    /// How many threads parse a large file at once (default: the processor count). 1 parses on the calling thread.
    /// Results do not depend on it.
    /// </summary>
    public int? MaxDegreeOfParallelism { get; init; }

    public void Validate()
    {
        if (Delimiter == Quote) throw new ArgumentException("delimiter and quote must differ");
        if (Delimiter is '\r' or '\n' || Quote is '\r' or '\n') throw new ArgumentException("delimiter and quote cannot be line breaks");
        if (MaxDegreeOfParallelism is <= 0) throw new ArgumentException("MaxDegreeOfParallelism must be at least 1");
        if (BadRows == BadRowPolicy.Quarantine && string.IsNullOrEmpty(QuarantinePath))
            throw new ArgumentException("the quarantine policy needs a QuarantinePath");
    }
}

/// <summary>A row that could not be read: 1-based line number, column (if known), offending value, reason; and the file, when known.</summary>
public sealed record CsvRowError(long Line, string? Column, string? Value, string Reason)
{
    /// <summary>The file the row is in, when the reader was given its name.</summary>
    public string? File { get; init; }

    public override string ToString() =>
        $"{(File is null ? "" : File + ": ")}line {Line}{(Column is null ? "" : $", column '{Column}'")}{(Value is null ? "" : $", value '{Value}'")}: {Reason}";
}

public sealed class CsvFormatException(CsvRowError error) : FormatException(error.ToString())
{
    public CsvRowError Error { get; } = error;
}

/// <summary>The table read and the rows rejected (<see cref="RejectedCount"/> counts them all; the list may keep only the first ones).</summary>
public sealed record CsvReadResult(Table Table, IReadOnlyList<CsvRowError> RejectedRows, long RejectedCount);
