using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Benchmarks.Data;

/// <summary>
/// CSV reading throughput on two generated files: 20 float64 columns (10 % empty fields, values written
/// shortest-round-trip like <see cref="CsvWriter"/>) and a mixed-type file (ints, floats, bools, dates,
/// timestamps, strings with quoted delimiters, doubled quotes and line breaks). Times the whole-file
/// <see cref="CsvReader"/> and the streaming <see cref="CsvBatchReader"/>, both including type inference, and the
/// streaming reader with every type declared (one pass), on all cores and on one.
/// A checksum over every formatted cell shows whether two builds read the same values.
/// </summary>
public sealed class CsvBenchmark : IBenchmark
{
    public string Name => "csv";
    public string Description => "CSV reading MB/s: 1M x 20 float64 (10 % empty) and a mixed-type file; inferred and declared types";

    public Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var rows = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 1_000_000;
        var section = args.Length > 1 ? args[1] : "csv";
        var dir = Path.Combine(Path.GetTempPath(), $"pipelines-csv-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var floats = Path.Combine(dir, "floats.csv");
            var mixed = Path.Combine(dir, "mixed.csv");
            var loadAtStart = LoadAverage();
            Console.Error.WriteLine("generating files…");
            WriteFloats(floats, rows);
            WriteMixed(mixed, rows);

            var results = new List<(string File, string Reader, double Seconds, long Bytes, string Checksum)>();
            var floatTypes = Enumerable.Range(1, 20).ToDictionary(i => $"f{i}", _ => DataType.Float64);
            var mixedTypes = new Dictionary<string, DataType>
            {
                ["id"] = DataType.Int32, ["amount"] = DataType.Float64, ["big"] = DataType.Int64, ["flag"] = DataType.Boolean, ["day"] = DataType.Date,
                ["ts"] = DataType.Timestamp(TimeUnit.Micros, false), ["word"] = DataType.String, ["note"] = DataType.String,
            };
            foreach (var (label, path, types) in new[] { ($"{rows:N0} rows × 20 float64, 10 % empty", floats, floatTypes), ($"{rows:N0} rows, mixed types, quoted fields", mixed, mixedTypes) })
            {
                var bytes = new FileInfo(path).Length;
                Console.Error.WriteLine($"{label}: CsvReader…");
                var sw = Stopwatch.StartNew();
                var table = CsvReader.Read(path).Table;
                sw.Stop();
                results.Add((label, "`CsvReader.Read` (whole file)", sw.Elapsed.TotalSeconds, bytes, Checksum([table])));
                table = null;
                GC.Collect();

                Console.Error.WriteLine($"{label}: CsvBatchReader…");
                sw.Restart();
                var batches = new List<Table>();
                using (var reader = CsvBatchReader.Open(path))
                    foreach (var b in reader.ReadBatches()) batches.Add(b);
                sw.Stop();
                results.Add((label, "`CsvBatchReader` (65,536-row batches)", sw.Elapsed.TotalSeconds, bytes, Checksum(batches)));
                batches.Clear();
                GC.Collect();

                foreach (var threads in new int?[] { null, 1 })
                {
                    Console.Error.WriteLine($"{label}: CsvBatchReader, declared types, {threads?.ToString(CultureInfo.InvariantCulture) ?? "all"} threads…");
                    sw.Restart();
                    using (var reader = CsvBatchReader.Open(path, new CsvOptions { ColumnTypes = types, MaxDegreeOfParallelism = threads }))
                        foreach (var b in reader.ReadBatches()) batches.Add(b);
                    sw.Stop();
                    results.Add((label, $"`CsvBatchReader`, types declared (one pass){(threads == 1 ? ", 1 thread" : "")}", sw.Elapsed.TotalSeconds, bytes, Checksum(batches)));
                    batches.Clear();
                    GC.Collect();
                }
            }

            var md = new StringBuilder();
            md.AppendLine(section == "csv" ? "## CSV reading throughput" : $"## CSV reading throughput ({section})");
            md.AppendLine();
            md.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- csv {rows}{(section == "csv" ? "" : " " + section)}`  ");
            md.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}; load average {loadAtStart} at the start and {LoadAverage()} at the end (2 shared cores; figures move with the load).  ");
            md.AppendLine($"One run each, file in the page cache. The first two rows per file use default `CsvOptions` (header, type inference over every row, empty = null), so their times include both passes (inference, then values); " +
                          $"the others declare every column's type (`CsvOptions.ColumnTypes`, the types inference finds), so the file is read once. Parsing runs on all {Environment.ProcessorCount} cores unless the row says 1 thread. " +
                          "Float file: 20 columns of normal deviates written shortest-round-trip (as `CsvWriter` writes them), each field empty with probability 0.1. " +
                          "Mixed file: int32, float64 (2 decimals), int64, bool, date, timestamp, a short string, a string that is quoted in 1 row of 4 (delimiter, doubled quote or line break inside). " +
                          "The checksum is FNV-1a over the schema and every cell's formatted value, batch by batch: equal checksums mean the same batches.");
            md.AppendLine();
            md.AppendLine("| file | size | reader | seconds | MB/s | checksum |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var r in results)
                md.AppendLine($"| {r.File} | {r.Bytes / 1e6:N0} MB | {r.Reader} | {r.Seconds.ToString("0.000", CultureInfo.InvariantCulture)} | " +
                              $"{(r.Bytes / 1e6 / r.Seconds).ToString("0.0", CultureInfo.InvariantCulture)} | {r.Checksum} |");
            Console.WriteLine(md);
            report.WriteSection(section, md.ToString());
            return Task.FromResult(0);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void WriteFloats(string path, int rows)
    {
        var rng = new Random(7);
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        w.Write(string.Join(',', Enumerable.Range(1, 20).Select(i => $"f{i}")));
        w.Write('\n');
        Span<char> buf = stackalloc char[32];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < 20; c++)
            {
                if (c > 0) w.Write(',');
                var u1 = 1.0 - rng.NextDouble();
                var u2 = rng.NextDouble();
                var v = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                if (rng.NextDouble() < 0.1) continue;
                v.TryFormat(buf, out var len, default, CultureInfo.InvariantCulture);
                w.Write(buf[..len]);
            }
            w.Write('\n');
        }
    }

    /// <summary>The mixed file; records end in CRLF and LF alternately, or (for a reader that refuses that) all in LF.</summary>
    internal static void WriteMixed(string path, int rows, bool lfOnly = false)
    {
        var rng = new Random(11);
        string[] words = ["alpha", "beta", "gamma", "delta", "epsilon"];
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        w.Write(lfOnly ? "id,amount,big,flag,day,ts,word,note\n" : "id,amount,big,flag,day,ts,word,note\r\n");
        var day0 = new DateOnly(2020, 1, 1);
        var ts0 = new DateTime(2024, 1, 1);
        for (var r = 0; r < rows; r++)
        {
            w.Write(r.ToString(CultureInfo.InvariantCulture)); w.Write(',');
            w.Write((rng.Next(-100_000, 100_000) / 100.0).ToString(CultureInfo.InvariantCulture)); w.Write(',');
            w.Write((r * 9_876_543L).ToString(CultureInfo.InvariantCulture)); w.Write(',');
            w.Write(rng.Next(2) == 0 ? "true" : "false"); w.Write(',');
            w.Write(day0.AddDays(r % 3000).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); w.Write(',');
            w.Write(ts0.AddSeconds(r * 7L).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)); w.Write(',');
            w.Write(words[r % words.Length]); w.Write(',');
            w.Write((r % 4) switch
            {
                0 => $"\"note, with comma {r}\"",
                1 => $"plain note {r}",
                2 => $"\"she said \"\"hi\"\" {r}\"",
                _ => r % 8 == 3 ? $"\"two\nlines {r}\"" : "",
            });
            w.Write(r % 2 == 0 && !lfOnly ? "\r\n" : "\n");
        }
    }

    private static string Checksum(IEnumerable<Table> tables)
    {
        var h = new Fnv();
        foreach (var t in tables)
        {
            foreach (var f in t.Schema.Fields) h.Add($"{f.Name}:{f.Type}");
            for (var r = 0; r < t.RowCount; r++)
                for (var c = 0; c < t.Columns.Count; c++) h.Add(t.Columns[c].Format(r) ?? "\u0000null");
        }
        return h.Value.ToString("x16", CultureInfo.InvariantCulture);
    }

    private struct Fnv()
    {
        public ulong Value = 14695981039346656037UL;

        public void Add(string s)
        {
            foreach (var ch in s) { Value ^= ch; Value *= 1099511628211UL; }
            Value ^= 0xFFFF; Value *= 1099511628211UL;
        }
    }

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
