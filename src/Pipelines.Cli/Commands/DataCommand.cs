using System.CommandLine;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Spectre.Console;
using Table = Spectre.Console.Table;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines data schema|head|stats|convert</c>: inspect and convert Parquet and CSV files.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "Inspect Parquet and CSV files and convert between them.");
        command.Subcommands.Add(Schema());
        command.Subcommands.Add(Head());
        command.Subcommands.Add(Stats());
        command.Subcommands.Add(Convert());
        return command;
    }

    private static Argument<string[]> Files() => new("files") { Arity = ArgumentArity.OneOrMore, Description = "Parquet or CSV files" };
    private static Option<string> Delimiter() => new("--delimiter") { Description = "CSV field delimiter", DefaultValueFactory = _ => "," };
    private static Option<string[]> Nulls() => new("--null") { Description = "CSV token read as null (repeatable; default: empty)", AllowMultipleArgumentsPerToken = true };
    private static Option<bool> NoHeader() => new("--no-header") { Description = "the CSV file has no header line" };
    private static Option<string> Int96Unit() => new("--int96-unit")
    {
        Description = "Parquet INT96 timestamps as nanos (default; years 1677-2262) or micros (any date, e.g. 9999-12-31)", DefaultValueFactory = _ => "nanos",
    };

    private static ParquetReaderOptions ParquetOptionsFrom(ParseResult p, Option<string> int96) => new()
    {
        Int96Unit = p.GetValue(int96)!.ToLowerInvariant() switch
        {
            "nanos" or "ns" => TimeUnit.Nanos,
            "micros" or "us" => TimeUnit.Micros,
            "millis" or "ms" => TimeUnit.Millis,
            var other => throw new ArgumentException($"unknown --int96-unit '{other}' (nanos, micros, millis)"),
        },
    };

    private static CsvOptions CsvOptionsFrom(ParseResult p, Option<string> delimiter, Option<string[]> nulls, Option<bool> noHeader)
    {
        var d = p.GetValue(delimiter) ?? ",";
        return new CsvOptions
        {
            Delimiter = d == "\\t" ? '\t' : d.Length == 1 ? d[0] : throw new ArgumentException("--delimiter must be one character"),
            NullTokens = p.GetValue(nulls) is { Length: > 0 } n ? n : [""],
            HasHeader = !p.GetValue(noHeader),
        };
    }

    private static bool IsUserError(Exception e) =>
        e is FormatException or NotSupportedException or IOException or ArgumentException or KeyNotFoundException or UnauthorizedAccessException;

    /// <summary>An error while reading or writing one file, reported with that file's name.</summary>
    // CSV errors already start with the file they are about.
    private sealed class FileError(string file, Exception inner)
        : Exception(inner.Message.StartsWith(file + ": ", StringComparison.Ordinal) ? inner.Message : $"{file}: {inner.Message}", inner);

    private static void InFile(string file, Action action)
    {
        try { action(); }
        catch (Exception e) when (IsUserError(e)) { throw new FileError(file, e); }
    }

    private static int Guard(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (IsUserError(e) || e is FileError)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            var cause = e is FileError ? e.InnerException! : e;
            return cause is FileNotFoundException or DirectoryNotFoundException or KeyNotFoundException ? ExitCodes.NotFound : ExitCodes.InvalidInput;
        }
    }

    private static Command Schema()
    {
        var files = Files(); var delimiter = Delimiter(); var nulls = Nulls(); var noHeader = NoHeader(); var int96 = Int96Unit();
        var c = new Command("schema", "Show columns and types; for Parquet also row groups, codecs and key-value metadata.") { files, delimiter, nulls, noHeader, int96 };
        c.SetAction(p => Guard(() =>
        {
            foreach (var file in p.GetValue(files)!) InFile(file, () =>
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(file)}[/]");
                if (DataFile.IsParquet(file))
                {
                    using var reader = ParquetReader.Open(file, ParquetOptionsFrom(p, int96));
                    var t = new Table().AddColumns("column", "type", "nullable", "physical", "codec");
                    var codecs = reader.RowGroupCount > 0 ? reader.Metadata.RowGroups[0].Columns.Select(ch => ch.MetaData?.Codec.ToString() ?? "").ToArray() : [];
                    foreach (var col in reader.Columns)
                    {
                        var codec = col.LeafIndex < codecs.Length ? codecs[col.LeafIndex] : "";
                        if (col.IsNested) t.AddRow(Markup.Escape(col.Name), "[yellow]nested (not supported)[/]", "", "", codec);
                        else if (col.Field is null) t.AddRow(Markup.Escape(col.Name), "[yellow]unsupported type[/]", "", col.PhysicalType?.ToString() ?? "", codec);
                        else t.AddRow(Markup.Escape(col.Name), Markup.Escape(col.Field.Type.ToString()), col.Field.Nullable ? "yes" : "no", col.PhysicalType?.ToString() ?? "", codec);
                    }
                    AnsiConsole.Write(t);
                    AnsiConsole.MarkupLine($"rows: {reader.RowCount}, row groups: {reader.RowGroupCount}, created by: {Markup.Escape(reader.Metadata.CreatedBy ?? "?")}");
                    foreach (var (k, v) in reader.KeyValueMetadata)
                        AnsiConsole.MarkupLine($"  {Markup.Escape(k)} = {Markup.Escape(Truncate(v ?? "", 120))}");
                }
                else
                {
                    using var csv = CsvBatchReader.Open(file, CsvOptionsFrom(p, delimiter, nulls, noHeader) with { BadRows = BadRowPolicy.Skip });
                    var nullCounts = new long[csv.Schema.Count];
                    long rowCount = 0;
                    foreach (var batch in csv.ReadBatches())
                    {
                        rowCount += batch.RowCount;
                        for (var i = 0; i < nullCounts.Length; i++) nullCounts[i] += batch.Columns[i].NullCount;
                    }
                    var t = new Table().AddColumns("column", "inferred type", "nulls");
                    for (var i = 0; i < csv.Schema.Count; i++)
                        t.AddRow(Markup.Escape(csv.Schema[i].Name), Markup.Escape(csv.Schema[i].Type.ToString()), nullCounts[i].ToString());
                    AnsiConsole.Write(t);
                    AnsiConsole.MarkupLine($"rows: {rowCount}, rejected rows: {csv.RejectedCount}");
                }
            });
            return ExitCodes.Ok;
        }));
        return c;
    }

    private static Command Head()
    {
        var files = Files(); var delimiter = Delimiter(); var nulls = Nulls(); var noHeader = NoHeader(); var int96 = Int96Unit();
        var rows = new Option<int>("--rows", "-n") { Description = "number of rows", DefaultValueFactory = _ => 10 };
        var columns = new Option<string[]>("--columns", "-c") { Description = "only these columns", AllowMultipleArgumentsPerToken = true };
        var c = new Command("head", "Show the first rows.") { files, rows, columns, delimiter, nulls, noHeader, int96 };
        c.SetAction(p => Guard(() =>
        {
            foreach (var file in p.GetValue(files)!) InFile(file, () =>
            {
                var wanted = p.GetValue(columns) is { Length: > 0 } cs ? cs.SelectMany(x => x.Split(',')).ToList() : null;
                var (schema, batches) = DataFile.Open(file, CsvOptionsFrom(p, delimiter, nulls, noHeader), wanted, transient: true, warning: w => Warn(file, w), parquet: ParquetOptionsFrom(p, int96));
                var t = new Table().Title(Markup.Escape(file));
                foreach (var f in schema.Fields) t.AddColumn(new TableColumn(Markup.Escape(f.Name)));
                var left = p.GetValue(rows);
                foreach (var batch in batches)
                {
                    for (var r = 0; r < batch.RowCount && left > 0; r++, left--)
                        t.AddRow(batch.Columns.Select(col => col.Format(r) is { } v ? Markup.Escape(Truncate(v, 40)) : "[grey]null[/]").ToArray());
                    if (left <= 0) break;
                }
                AnsiConsole.Write(t);
            });
            return ExitCodes.Ok;
        }));
        return c;
    }

    private static Command Stats()
    {
        var files = Files(); var delimiter = Delimiter(); var nulls = Nulls(); var noHeader = NoHeader(); var int96 = Int96Unit();
        var c = new Command("stats", "Per-column count, nulls, min and max (from the data); for Parquet also the row groups.") { files, delimiter, nulls, noHeader, int96 };
        c.SetAction(p => Guard(() =>
        {
            foreach (var file in p.GetValue(files)!) InFile(file, () =>
            {
                var (schema, batches) = DataFile.Open(file, CsvOptionsFrom(p, delimiter, nulls, noHeader), transient: true, warning: w => Warn(file, w), parquet: ParquetOptionsFrom(p, int96));
                var acc = schema.Fields.Select(_ => new ColumnStats()).ToArray();
                long total = 0;
                foreach (var batch in batches)
                {
                    total += batch.RowCount;
                    for (var i = 0; i < acc.Length; i++) acc[i].Add(batch.Columns[i]);
                }
                var t = new Table().Title(Markup.Escape(file)).AddColumns("column", "type", "rows", "nulls", "min", "max", "distinct (≤10k)");
                for (var i = 0; i < acc.Length; i++)
                    t.AddRow(Markup.Escape(schema[i].Name), Markup.Escape(schema[i].Type.ToString()), total.ToString(), acc[i].Nulls.ToString(),
                        Markup.Escape(Truncate(acc[i].Min ?? "", 30)), Markup.Escape(Truncate(acc[i].Max ?? "", 30)), acc[i].DistinctText);
                AnsiConsole.Write(t);
                if (DataFile.IsParquet(file))
                {
                    using var reader = ParquetReader.Open(file);
                    var g = new Table().AddColumns("row group", "rows", "compressed bytes", "uncompressed bytes");
                    for (var i = 0; i < reader.RowGroupCount; i++)
                    {
                        var rg = reader.Metadata.RowGroups[i];
                        g.AddRow(i.ToString(), rg.NumRows.ToString(), rg.Columns.Sum(ch => ch.MetaData?.TotalCompressedSize ?? 0).ToString("N0"), rg.TotalByteSize.ToString("N0"));
                    }
                    AnsiConsole.Write(g);
                }
            });
            return ExitCodes.Ok;
        }));
        return c;
    }

    private static Command Convert()
    {
        var input = new Argument<string>("input") { Description = "Parquet or CSV file" };
        var output = new Argument<string>("output") { Description = "output file; .parquet writes Parquet, anything else CSV" };
        var codec = new Option<string>("--codec") { Description = "Parquet codec: uncompressed, snappy, gzip, zstd, lz4_raw, brotli", DefaultValueFactory = _ => "snappy" };
        var rowGroupMb = new Option<int>("--row-group-mb") { Description = "Parquet row group size in MiB (in memory)", DefaultValueFactory = _ => 64 };
        var badRows = new Option<string>("--bad-rows") { Description = "CSV rows that cannot be read: fail (default), skip, or quarantine (needs --quarantine)", DefaultValueFactory = _ => "fail" };
        var quarantinePath = new Option<string?>("--quarantine") { Description = "file receiving the raw text of rejected CSV rows" };
        var delimiter = Delimiter(); var nulls = Nulls(); var noHeader = NoHeader(); var int96 = Int96Unit();
        var c = new Command("convert", "Convert CSV to Parquet, Parquet to CSV, or Parquet to Parquet with another codec.") { input, output, codec, rowGroupMb, badRows, quarantinePath, delimiter, nulls, noHeader, int96 };
        c.SetAction(p => Guard(() =>
        {
            var parsedCodec = p.GetValue(codec)!.ToLowerInvariant() switch
            {
                "uncompressed" or "none" => CompressionCodec.Uncompressed,
                "snappy" => CompressionCodec.Snappy,
                "gzip" => CompressionCodec.Gzip,
                "zstd" => CompressionCodec.Zstd,
                "lz4_raw" or "lz4" => CompressionCodec.Lz4Raw,
                "brotli" => CompressionCodec.Brotli,
                var other => throw new ArgumentException($"unknown codec '{other}'"),
            };
            var policy = p.GetValue(badRows)!.ToLowerInvariant() switch
            {
                "fail" => BadRowPolicy.Fail,
                "skip" => BadRowPolicy.Skip,
                "quarantine" => BadRowPolicy.Quarantine,
                var other => throw new ArgumentException($"unknown --bad-rows policy '{other}' (fail, skip, quarantine)"),
            };
            var csvOptions = CsvOptionsFrom(p, delimiter, nulls, noHeader) with { BadRows = policy, QuarantinePath = p.GetValue(quarantinePath) };
            csvOptions.Validate();
            var source = p.GetValue(input)!;
            var target = p.GetValue(output)!;
            long rows = 0, rejected = 0;
            // Stream batch by batch into a temporary file next to the target; a failed conversion leaves no partial output.
            var partial = $"{target}.{Environment.ProcessId}.partial";
            try
            {
                InFile(source, () =>
                {
                    var (schema, batches) = DataFile.Open(source, csvOptions, rejectedRows: n => rejected = n, warning: w => Warn(source, w), parquet: ParquetOptionsFrom(p, int96));
                    if (target.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || target.EndsWith(".pq", StringComparison.OrdinalIgnoreCase))
                    {
                        using var writer = ParquetWriter.Create(partial, schema, new ParquetWriterOptions { Codec = parsedCodec, RowGroupSize = (long)p.GetValue(rowGroupMb) << 20 });
                        foreach (var b in batches) { writer.Write(b); rows += b.RowCount; }
                    }
                    else
                    {
                        using var text = new StreamWriter(partial);
                        using var writer = new CsvWriter(text);
                        foreach (var b in batches) { writer.Write(b); rows += b.RowCount; }
                    }
                });
                File.Move(partial, target, overwrite: true);
            }
            finally { File.Delete(partial); }
            AnsiConsole.MarkupLine($"wrote {rows} rows to {Markup.Escape(target)}" + (rejected > 0 ? $"; rejected {rejected} rows ({policy.ToString().ToLowerInvariant()})" : ""));
            return ExitCodes.Ok;
        }));
        return c;
    }

    /// <summary>A warning on standard error, so that it never mixes into data written to standard output.</summary>
    private static void Warn(string file, string message) => Console.Error.WriteLine($"warning: {file}: {message}");

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    /// <summary>Running null count, min, max and (bounded) distinct count of one column.</summary>
    private sealed class ColumnStats
    {
        private readonly HashSet<string> _distinct = [];
        private bool _distinctOverflow;
        private object? _min, _max;
        public long Nulls;

        public string? Min => Text(_min);
        public string? Max => Text(_max);
        public string DistinctText => _distinctOverflow ? ">10000" : _distinct.Count.ToString();

        public void Add(Column c)
        {
            Nulls += c.NullCount;
            for (var i = 0; i < c.Length; i++)
            {
                if (c.IsNull(i)) continue;
                var v = c.GetValue(i);
                if (v is float f && float.IsNaN(f) || v is double d && double.IsNaN(d)) continue;
                if (_min is null || Compare(v!, _min) < 0) _min = v;
                if (_max is null || Compare(v!, _max) > 0) _max = v;
                if (!_distinctOverflow)
                {
                    _distinct.Add(c.Format(i)!);
                    if (_distinct.Count > 10_000) { _distinctOverflow = true; _distinct.Clear(); }
                }
            }
        }

        private static int Compare(object a, object b) => (a, b) switch
        {
            (string x, string y) => string.CompareOrdinal(x, y),
            (byte[] x, byte[] y) => x.AsSpan().SequenceCompareTo(y),
            (DecimalValue x, DecimalValue y) => x.Unscaled.CompareTo(y.Unscaled),
            (IComparable x, _) => x.CompareTo(b),
            _ => 0,
        };

        private string? Text(object? v)
        {
            if (v is null) return null;
            return v switch
            {
                byte[] bytes => System.Convert.ToHexString(bytes),
                DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF"),
                DateOnly d => d.ToString("yyyy-MM-dd"),
                IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                _ => v.ToString(),
            };
        }
    }
}
