using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Benchmarks.Parquet;

/// <summary>
/// Writes and reads an N-row (default 5,000,000), 8-column Snappy file with our codec and with DuckDB
/// (one thread), in the same run on the same machine. Reads run in child processes so that their peak
/// memory is their own: ours streams row group by row group.
/// </summary>
public sealed class ParquetBenchmark : IBenchmark
{
    public string Name => "parquet";
    public string Description => "Parquet write/read vs DuckDB (1 thread): 5M rows x 8 columns, 10% nulls, Snappy";

    private const int BatchRows = 122_880;

    public Task<int> RunAsync(string[] args, BenchmarkReport report) => Task.FromResult(Measure(args, report));

    private static int Measure(string[] args, BenchmarkReport report)
    {
        if (args is ["--read-child", var file]) return ReadChild(file, reuse: true);
        if (args is ["--read-child-fresh", var freshFile]) return ReadChild(freshFile, reuse: false);
        if (args is ["--duckdb-child", var mode, .. var files]) return DuckDbChild(mode, files);
        var rows = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 5_000_000;
        var dir = Path.Combine(Path.GetTempPath(), $"pipelines-parquet-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var ours = Path.Combine(dir, "ours.parquet");
        var duck = Path.Combine(dir, "duckdb.parquet");
        try
        {
            Console.Error.WriteLine($"generating {rows:N0} rows…");
            var batches = Generate(rows).ToList();
            var logicalBytes = batches.Sum(LogicalBytes);

            Console.Error.WriteLine("writing with Pipelines.Data…");
            // The first write in a process also pays for compiling the writer (tiered JIT: the first calls run
            // unoptimised code); a worker that writes many artifacts pays that once. Both are reported.
            double WriteOurs()
            {
                GC.Collect();
                var sw = Stopwatch.StartNew();
                using (var writer = ParquetWriter.Create(ours, batches![0].Schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy, MaxDegreeOfParallelism = 1 }))
                    foreach (var b in batches) writer.Write(b);
                return sw.Elapsed.TotalSeconds;
            }
            var ourWrite = WriteOurs();
            var warm = new[] { WriteOurs(), WriteOurs(), WriteOurs() };
            Array.Sort(warm);
            var ourWriteWarm = warm[1];
            Console.Error.WriteLine($"ours: first write {ourWrite:F3} s, then {string.Join(", ", warm.Select(w => w.ToString("F3", CultureInfo.InvariantCulture)))} s");
            if (args.Contains("--columns")) WriteColumnsApart(batches!);
            batches = null;
            GC.Collect();

            Console.Error.WriteLine("writing with DuckDB…");
            var duckWrite = DuckDb("write", ours, duck);

            Console.Error.WriteLine("reading…");
            var ourReadOurs = ReadInChild(ours);
            var ourReadDuck = ReadInChild(duck);
            var ourReadOursFresh = ReadInChild(ours, reuse: false);
            var ourReadDuckFresh = ReadInChild(duck, reuse: false);
            var duckReadOurs = DuckDb("read", ours);
            var duckReadDuck = DuckDb("read", duck);

            using var meta = ParquetReader.Open(ours);
            var ourGroups = meta.RowGroupCount;
            var ourGroupBytes = meta.Metadata.RowGroups.Max(g => g.TotalByteSize);
            using var duckMeta = ParquetReader.Open(duck);

            double Mb(long bytes) => bytes / 1e6;
            string Rate(double seconds) => (Mb(logicalBytes) / seconds).ToString("N0", CultureInfo.InvariantCulture);
            string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
            var sb = new StringBuilder();
            sb.AppendLine("## Parquet codec vs DuckDB (single thread)");
            sb.AppendLine();
            sb.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- parquet {rows}`  ");
            sb.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}; DuckDB through DuckDB.NET (in a child process) with `threads=1`.  ");
            sb.AppendLine($"Data: {rows:N0} rows × 8 columns (int64 id, int32, double, float, bool, 50-value category string, high-cardinality string, timestamp[µs]), " +
                          $"10 % nulls in every column but id, Snappy. In-memory size {Mb(logicalBytes):N0} MB (value bytes, used for MB/s).  ");
            sb.AppendLine($"Files: ours {Mb(new FileInfo(ours).Length):N1} MB in {ourGroups} row groups (largest {Mb(ourGroupBytes):N0} MB uncompressed); " +
                          $"DuckDB's {Mb(new FileInfo(duck).Length):N1} MB in {duckMeta.RowGroupCount} row groups.");
            sb.AppendLine();
            sb.AppendLine("| operation | Pipelines.Data | DuckDB | ratio (ours / DuckDB) | ours MB/s | DuckDB MB/s | peak RSS ours | peak RSS DuckDB (its process) |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            sb.AppendLine($"| write (from memory), the process's first | {F(ourWrite)} s | {F(duckWrite.Seconds)} s | {F(ourWrite / duckWrite.Seconds)} | {Rate(ourWrite)} | {Rate(duckWrite.Seconds)} | (holds the input) | {Mb(duckWrite.PeakRss):N0} MB |");
            sb.AppendLine($"| write (from memory), median of the next 3 | {F(ourWriteWarm)} s | {F(duckWrite.Seconds)} s | {F(ourWriteWarm / duckWrite.Seconds)} | {Rate(ourWriteWarm)} | {Rate(duckWrite.Seconds)} | (holds the input) | {Mb(duckWrite.PeakRss):N0} MB |");
            sb.AppendLine($"| read our file | {F(ourReadOurs.Seconds)} s | {F(duckReadOurs.Seconds)} s | {F(ourReadOurs.Seconds / duckReadOurs.Seconds)} | {Rate(ourReadOurs.Seconds)} | {Rate(duckReadOurs.Seconds)} | {Mb(ourReadOurs.PeakRss):N0} MB (streaming) | {Mb(duckReadOurs.PeakRss):N0} MB (materialized) |");
            sb.AppendLine($"| read DuckDB's file | {F(ourReadDuck.Seconds)} s | {F(duckReadDuck.Seconds)} s | {F(ourReadDuck.Seconds / duckReadDuck.Seconds)} | {Rate(ourReadDuck.Seconds)} | {Rate(duckReadDuck.Seconds)} | {Mb(ourReadDuck.PeakRss):N0} MB (streaming) | {Mb(duckReadDuck.PeakRss):N0} MB (materialized) |");
            sb.AppendLine($"| read our file, warm (median of the next 3 in the same process) | {F(ourReadOurs.WarmSeconds!.Value)} s | {F(duckReadOurs.Seconds)} s | {F(ourReadOurs.WarmSeconds.Value / duckReadOurs.Seconds)} | {Rate(ourReadOurs.WarmSeconds.Value)} | {Rate(duckReadOurs.Seconds)} | | |");
            sb.AppendLine($"| read DuckDB's file, warm | {F(ourReadDuck.WarmSeconds!.Value)} s | {F(duckReadDuck.Seconds)} s | {F(ourReadDuck.WarmSeconds.Value / duckReadDuck.Seconds)} | {Rate(ourReadDuck.WarmSeconds.Value)} | {Rate(duckReadDuck.Seconds)} | | |");
            sb.AppendLine();
            sb.AppendLine($"Streaming-read memory, same run: with buffers reused across row groups (`ReadRowGroups(reuseBuffers: true)`, above) peak RSS is " +
                          $"{Mb(ourReadOurs.PeakRss):N0} MB for our file and {Mb(ourReadDuck.PeakRss):N0} MB for DuckDB's; with fresh arrays per row group (the default, tables stay valid) " +
                          $"{Mb(ourReadOursFresh.PeakRss):N0} MB ({F(ourReadOursFresh.Seconds)} s) and {Mb(ourReadDuckFresh.PeakRss):N0} MB ({F(ourReadDuckFresh.Seconds)} s). " +
                          "Before buffer reuse (commit 14c402b, measured 2026-11-21 with this command while a test run shared the CPU, so its times are not comparable): " +
                          "370 MB for our file, 175 MB for DuckDB's.");
            sb.AppendLine();
            sb.AppendLine("Our read decodes every column of each row group into a typed table and drops it before the next (streaming); " +
                          "DuckDB's read materializes the whole file into an in-memory table (`CREATE TABLE AS SELECT * FROM read_parquet`), so the memory columns are not like for like. " +
                          "Write times exclude data generation (ours) and loading (DuckDB). Peak RSS includes each runtime's baseline (ours: after the first read). " +
                          "Each read runs in a fresh child process; DuckDB's time is its only read there, ours the first (which also compiles the reader) and, warm, the median of three more.");
            report.WriteSection("parquet", sb.ToString());
            Console.WriteLine(sb.ToString());
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>`--columns`: each column written alone (warm, best of 3), on stderr, to see where the write's time goes.</summary>
    private static void WriteColumnsApart(List<Table> batches)
    {
        var schema = batches[0].Schema;
        for (var c = 0; c < schema.Count; c++)
        {
            var one = new Schema([schema[c]]);
            var parts = batches.Select(b => new Table(one, [b.Columns[c]])).ToList();
            var best = double.MaxValue;
            for (var i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var w = new ParquetWriter(Stream.Null, one, new ParquetWriterOptions { Codec = CompressionCodec.Snappy, MaxDegreeOfParallelism = 1 }))
                    foreach (var p in parts) w.Write(p);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            Console.Error.WriteLine($"  column {schema[c].Name} ({schema[c].Type}): {best * 1000:F1} ms");
        }
    }

    private static IEnumerable<Table> Generate(int rows)
    {
        var schema = new Schema([
            new Field("id", DataType.Int64, Nullable: false), new Field("qty", DataType.Int32), new Field("price", DataType.Float64),
            new Field("score", DataType.Float32), new Field("flag", DataType.Boolean), new Field("category", DataType.String),
            new Field("name", DataType.String), new Field("ts", DataType.Timestamp(TimeUnit.Micros, true)),
        ]);
        var categories = Enumerable.Range(0, 50).Select(i => $"category-{i:00}").ToArray();
        var rnd = new Random(42);
        for (var start = 0; start < rows; start += BatchRows)
        {
            var count = Math.Min(BatchRows, rows - start);
            var id = new PrimitiveBuilder<long>(DataType.Int64, count);
            var qty = new PrimitiveBuilder<int>(DataType.Int32, count);
            var price = new PrimitiveBuilder<double>(DataType.Float64, count);
            var score = new PrimitiveBuilder<float>(DataType.Float32, count);
            var flag = new PrimitiveBuilder<bool>(DataType.Boolean, count);
            var category = new BinaryBuilder(DataType.String, count);
            var name = new BinaryBuilder(DataType.String, count);
            var ts = new PrimitiveBuilder<long>(schema[7].Type, count);
            for (var i = 0; i < count; i++)
            {
                id.Append(start + i);
                if (rnd.Next(10) == 0) qty.AppendNull(); else qty.Append(rnd.Next(1000));
                if (rnd.Next(10) == 0) price.AppendNull(); else price.Append(Math.Round(rnd.NextDouble() * 1000, 2));
                if (rnd.Next(10) == 0) score.AppendNull(); else score.Append((float)rnd.NextDouble());
                if (rnd.Next(10) == 0) flag.AppendNull(); else flag.Append(rnd.Next(2) == 0);
                if (rnd.Next(10) == 0) category.AppendNull(); else category.Append(categories[rnd.Next(categories.Length)]);
                if (rnd.Next(10) == 0) name.AppendNull(); else name.Append($"customer-{rnd.Next(10_000_000)}");
                if (rnd.Next(10) == 0) ts.AppendNull(); else ts.Append(1_700_000_000_000_000 + (start + i) * 1_000_000L + rnd.Next(1_000_000));
            }
            yield return new Table(schema, [id.Build(), qty.Build(), price.Build(), score.Build(), flag.Build(), category.Build(), name.Build(), ts.Build()]);
        }
    }

    private static long LogicalBytes(Table t)
    {
        long total = 0;
        foreach (var c in t.Columns)
            total += c switch
            {
                BinaryColumn b => b.Offsets[^1] - b.Offsets[0],
                PrimitiveColumn<bool> => c.Length,
                PrimitiveColumn<int> or PrimitiveColumn<float> => 4L * c.Length,
                _ => 8L * c.Length,
            };
        return total;
    }

    /// <summary>A child's time (its first), peak RSS after it, and for our reads the median of three more.</summary>
    private sealed record Measurement(double Seconds, long PeakRss, double? WarmSeconds = null);

    private static int ReadChild(string file, bool reuse)
    {
        // The first read in this fresh process (it also compiles the reader), then three more: their median is what a
        // long-running worker's later reads cost.
        double ReadOnce(out long rows, out long nulls)
        {
            var sw = Stopwatch.StartNew();
            rows = 0; nulls = 0;
            using (var reader = ParquetReader.Open(file))
                foreach (var batch in reader.ReadRowGroups(reuseBuffers: reuse))
                {
                    rows += batch.RowCount;
                    foreach (var c in batch.Columns) nulls += c.NullCount;
                }
            return sw.Elapsed.TotalSeconds;
        }
        var seconds = ReadOnce(out var rows, out var nulls);
        var maxRssBytes = PeakRss();
        var warm = new[] { ReadOnce(out _, out _), ReadOnce(out _, out _), ReadOnce(out _, out _) };
        Array.Sort(warm);
        Console.WriteLine(JsonSerializer.Serialize(new { seconds, warmSeconds = warm[1], maxRssBytes, rows, nulls }));
        return 0;
    }

    private static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:"))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return Environment.WorkingSet;
    }

    private static Measurement ReadInChild(string file, bool reuse = true)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(ParquetBenchmark).Assembly.Location);
        foreach (var a in new[] { "parquet", reuse ? "--read-child" : "--read-child-fresh", file }) psi.ArgumentList.Add(a);
        return Run(psi);
    }

    /// <summary>DuckDB's side in a child process of its own, so that its peak memory is its own.</summary>
    private static Measurement DuckDb(string mode, params string[] files)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(ParquetBenchmark).Assembly.Location);
        foreach (var a in new[] { "parquet", "--duckdb-child", mode }.Concat(files)) psi.ArgumentList.Add(a);
        return Run(psi);
    }

    /// <summary>
    /// write SOURCE OUT: loads SOURCE into memory untimed, then times COPY … snappy.
    /// read FILE: times materializing every column in memory.
    /// </summary>
    private static int DuckDbChild(string mode, string[] files)
    {
        static string Q(string s) => "'" + s.Replace("'", "''") + "'";
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        void Exec(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
        Exec("SET threads TO 1");
        double seconds;
        if (mode == "write")
        {
            Exec($"CREATE TABLE t AS SELECT * FROM read_parquet({Q(files[0])})");
            var sw = Stopwatch.StartNew();
            Exec($"COPY t TO {Q(files[1])} (FORMAT PARQUET, COMPRESSION snappy)");
            seconds = sw.Elapsed.TotalSeconds;
        }
        else
        {
            var sw = Stopwatch.StartNew();
            Exec($"CREATE TABLE r AS SELECT * FROM read_parquet({Q(files[0])})");
            seconds = sw.Elapsed.TotalSeconds;
        }
        Console.WriteLine(JsonSerializer.Serialize(new { seconds, maxRssBytes = PeakRss() }));
        return 0;
    }

    private static Measurement Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} exited with {p.ExitCode}");
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        return new Measurement(root.GetProperty("seconds").GetDouble(), root.GetProperty("maxRssBytes").GetInt64(),
            root.TryGetProperty("warmSeconds", out var warm) ? warm.GetDouble() : null);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }
}
