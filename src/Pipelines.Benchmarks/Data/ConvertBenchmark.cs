using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Benchmarks.Data;

/// <summary>
/// CSV → Parquet as <c>pipelines data convert</c> does it (issue 19, item 5) against DuckDB's
/// <c>COPY (SELECT * FROM read_csv_auto(…)) TO … (FORMAT parquet)</c> on the same cores. The file is the csv
/// benchmark's mixed-type one (quoted delimiters, doubled quotes, line breaks inside quotes); ours reads it with
/// records ending in CRLF and LF alternately, which DuckDB's sniffer refuses, so DuckDB reads the same rows with LF
/// endings only (tried on the mixed file too, and its answer reported). Both write Snappy; runs alternate.
/// </summary>
public sealed class ConvertBenchmark : IBenchmark
{
    public string Name => "convert";
    public string Description => "CSV → Parquet (data convert) vs DuckDB COPY read_csv_auto on the same threads: 1M mixed rows (args: ROWS REPEATS THREADS)";

    public Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        if (args is ["--duckdb-child", var threadsArg, var csvPath, var outPath]) return Task.FromResult(DuckDbChild(int.Parse(threadsArg, CultureInfo.InvariantCulture), csvPath, outPath));
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        var dir = Path.Combine(Path.GetTempPath(), $"pipelines-convert-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var load = new List<string> { Load() };
            var mixed = Path.Combine(dir, "mixed.csv");
            var lf = Path.Combine(dir, "lf.csv");
            Console.Error.WriteLine("generating files…");
            CsvBenchmark.WriteMixed(mixed, rows);
            CsvBenchmark.WriteMixed(lf, rows, lfOnly: true);
            var ours = Path.Combine(dir, "ours.parquet");
            var duck = Path.Combine(dir, "duck.parquet");

            var duckOnMixed = DuckDb(threads, mixed, Path.Combine(dir, "duck-mixed.parquet"));
            var oursRuns = new List<Phases>();
            var duckRuns = new List<double>();
            for (var i = 0; i < repeats; i++)
            {
                Console.Error.WriteLine($"run {i + 1} of {repeats}…");
                oursRuns.Add(Convert(mixed, ours, threads));
                Console.Error.WriteLine($"  ours: {oursRuns[^1]}");
                var d = DuckDb(threads, lf, duck);
                duckRuns.Add(d.Seconds ?? throw new InvalidOperationException($"DuckDB failed on the LF file: {d.Error}"));
                Console.Error.WriteLine($"  DuckDB: {duckRuns[^1]:F3} s");
            }
            load.Add(Load());
            long oursRows, duckRowCount;
            int oursGroups, duckGroups;
            using (var r = ParquetReader.Open(ours)) (oursRows, oursGroups) = (r.RowCount, r.RowGroupCount);
            using (var r = ParquetReader.Open(duck)) (duckRowCount, duckGroups) = (r.RowCount, r.RowGroupCount);

            // Where our time goes, measured apart after the runs: reading alone (inference pass + parsing), writing alone from memory.
            var (readOnly, writeOnly) = Split(mixed, Path.Combine(dir, "split.parquet"), threads);
            load.Add(Load());

            static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
            var oursMedian = oursRuns.OrderBy(p => p.Total).ElementAt(oursRuns.Count / 2);
            var oursBest = oursRuns.Min(p => p.Total);
            var duckMedian = duckRuns.Order().ElementAt(duckRuns.Count / 2);
            var duckBest = duckRuns.Min();
            var sb = new StringBuilder();
            sb.AppendLine("## CSV → Parquet conversion vs DuckDB (issue 19, item 5)");
            sb.AppendLine();
            sb.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- convert {rows} {repeats} {threads}`  ");
            sb.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}; DuckDB {DuckDbVersion()} through DuckDB.NET in a child process with `threads={threads}`.  ");
            sb.AppendLine($"Load average (uptime, 1/5/15 min): {string.Join(" → ", load)} (start → after the runs → after the phase split).  ");
            sb.AppendLine($"File: the csv benchmark's mixed-type file, {rows:N0} rows ({new FileInfo(mixed).Length / 1e6:N0} MB): int32, float64, int64, bool, date, timestamp, a short string, " +
                          "a string quoted in 1 row of 4 (delimiter, doubled quote or line break inside). Ours reads it with records ending in CRLF and LF alternately; DuckDB reads the same rows with LF only " +
                          $"(on the mixed file DuckDB {(duckOnMixed.Error is null ? $"succeeded ({F(duckOnMixed.Seconds!.Value)} s)" : $"failed: {Truncate(duckOnMixed.Error)}")}).  ");
            sb.AppendLine($"Ours: `DataFile.Open(csv, new CsvOptions {{ MaxDegreeOfParallelism = {threads} }})` (type inference over every row, then parsing) → `ParquetWriter` (Snappy), as `pipelines data convert` does, in process. " +
                          "DuckDB: `COPY (SELECT * FROM read_csv_auto(csv)) TO out (FORMAT parquet, COMPRESSION snappy)`. " +
                          $"{repeats} runs each, alternating; files in the page cache. Outputs: ours {oursRows:N0} rows in {oursGroups} row groups ({new FileInfo(ours).Length / 1e6:N1} MB), " +
                          $"DuckDB's {duckRowCount:N0} rows in {duckGroups} row groups ({new FileInfo(duck).Length / 1e6:N1} MB).");
            sb.AppendLine();
            sb.AppendLine("| CSV → Parquet | ours, median (s) | DuckDB, median (s) | ours / DuckDB (median) | ours, best (s) | DuckDB, best (s) | ours / DuckDB (best) |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            sb.AppendLine($"| {rows:N0} mixed rows, {threads} threads | {F(oursMedian.Total)} | {F(duckMedian)} | **{(oursMedian.Total / duckMedian).ToString("0.00", CultureInfo.InvariantCulture)}** | " +
                          $"{F(oursBest)} | {F(duckBest)} | {(oursBest / duckBest).ToString("0.00", CultureInfo.InvariantCulture)} |");
            sb.AppendLine();
            sb.AppendLine($"Our phases, measured apart after the runs: opening (header + inference pass) {F(readOnly.Open)} s, reading every batch {F(readOnly.Read)} s, " +
                          $"writing the same batches from memory {F(writeOnly)} s. In the median run the consumer waited {F(oursMedian.Read)} s for batches and spent {F(oursMedian.Write)} s in the writer.");
            report.WriteSection("convert", sb.ToString());
            Console.WriteLine(sb.ToString());
            return Task.FromResult(0);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private sealed record Phases(double Open, double Read, double Write, double Total)
    {
        public override string ToString() => FormattableString.Invariant($"open {Open:F3} s, waiting for batches {Read:F3} s, writing {Write:F3} s, total {Total:F3} s");
    }

    /// <summary>What <c>data convert</c> does for CSV → Parquet.</summary>
    private static Phases Convert(string csv, string output, int threads)
    {
        GC.Collect();
        var total = Stopwatch.StartNew();
        var phase = Stopwatch.StartNew();
        var (schema, batches) = DataFile.Open(csv, new CsvOptions { MaxDegreeOfParallelism = threads });
        var open = phase.Elapsed.TotalSeconds;
        double read = 0, write = 0;
        using (var writer = ParquetWriter.Create(output, schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy }))
        {
            phase.Restart();
            foreach (var b in batches)
            {
                read += phase.Elapsed.TotalSeconds;
                phase.Restart();
                writer.Write(b);
                write += phase.Elapsed.TotalSeconds;
                phase.Restart();
            }
            read += phase.Elapsed.TotalSeconds;
            phase.Restart();
        }
        write += phase.Elapsed.TotalSeconds;
        return new Phases(open, read, write, total.Elapsed.TotalSeconds);
    }

    private static (Phases Read, double Write) Split(string csv, string output, int threads)
    {
        GC.Collect();
        var sw = Stopwatch.StartNew();
        var (schema, batches) = DataFile.Open(csv, new CsvOptions { MaxDegreeOfParallelism = threads });
        var open = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var all = batches.ToList();
        var read = sw.Elapsed.TotalSeconds;
        GC.Collect();
        sw.Restart();
        using (var writer = ParquetWriter.Create(output, schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy }))
            foreach (var b in all) writer.Write(b);
        return (new Phases(open, read, 0, open + read), sw.Elapsed.TotalSeconds);
    }

    private sealed record DuckResult(double? Seconds, string? Error);

    private static DuckResult DuckDb(int threads, string csv, string output)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(ConvertBenchmark).Assembly.Location);
        foreach (var a in new[] { "convert", "--duckdb-child", threads.ToString(CultureInfo.InvariantCulture), csv, output }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            // The child's unhandled DuckDBException: keep DuckDB's own message, not the .NET wrapping around it.
            var line = stderr.Result.Trim().Split('\n').FirstOrDefault(l => l.Contains("Error", StringComparison.OrdinalIgnoreCase)) ?? stderr.Result.Trim();
            var at = line.IndexOf("): ", StringComparison.Ordinal);
            return new DuckResult(null, (at >= 0 ? line[(at + 3)..] : line).Trim());
        }
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        return new DuckResult(doc.RootElement.GetProperty("seconds").GetDouble(), null);
    }

    private static int DuckDbChild(int threads, string csv, string output)
    {
        static string Q(string s) => "'" + s.Replace("'", "''") + "'";
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SET threads TO {threads}";
        command.ExecuteNonQuery();
        var sw = Stopwatch.StartNew();
        command.CommandText = $"COPY (SELECT * FROM read_csv_auto({Q(csv)})) TO {Q(output)} (FORMAT parquet, COMPRESSION snappy)";
        command.ExecuteNonQuery();
        Console.WriteLine(JsonSerializer.Serialize(new { seconds = sw.Elapsed.TotalSeconds }));
        return 0;
    }

    private static string DuckDbVersion()
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version()";
        return command.ExecuteScalar()?.ToString() ?? "?";
    }

    private static string Truncate(string s) => s.Length <= 160 ? s.ReplaceLineEndings(" ") : s[..159].ReplaceLineEndings(" ") + "…";

    private static string Load()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
