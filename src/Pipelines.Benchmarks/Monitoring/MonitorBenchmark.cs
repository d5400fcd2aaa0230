using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Quality.Drift;

namespace Pipelines.Benchmarks.Monitoring;

/// <summary>
/// The monitor step's own work per million scored rows (issue 18): read the batch (Snappy Parquet), compare it and
/// its predictions with a reference profile (14 Adult features: 6 numeric, 8 categorical), and render the report.
/// The batch is Adult's test split tiled to the requested size with ages shifted, so drift is found and reported.
/// </summary>
public sealed class MonitorBenchmark : IBenchmark
{
    public string Name => "monitor";
    public string Description => "monitor step cost per million scored rows: read Parquet + drift vs a profile + report (args: ROWS REPEATS)";

    public Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var root = Path.GetDirectoryName(Path.GetDirectoryName(report.Path))!;
        var adult = Path.Combine(root, "workflows", "data", "adult");
        var work = Path.Combine(Path.GetTempPath(), $"pipelines-monitor-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            var loadAtStart = Load();
            var csv = new CsvOptions { NullTokens = ["?"] };
            var train = CsvReader.Read(Path.Combine(adult, "adult.data"), csv).Table;
            var features = train.Schema.Fields.Select(f => f.Name).Where(n => n != "Y").ToArray();
            train = train.Select(features);
            var trainPredictions = Score(train);
            var sw = Stopwatch.StartNew();
            var profile = Profiler.Profile(train, new ProfileOptions(), trainPredictions);
            var profileMs = sw.Elapsed.TotalMilliseconds;

            var test = CsvReader.Read(Path.Combine(adult, "adult.test"), csv).Table.Select(features);
            var batch = Shifted(Tile(test, rows), "age", 12);
            var batchPath = Path.Combine(work, "batch.parquet");
            ParquetWriter.WriteTable(batchPath, batch, new ParquetWriterOptions { Codec = CompressionCodec.Snappy });
            var predictions = Score(batch);
            batch = null;
            GC.Collect();

            var runs = new List<(double Read, double Compare, double Report)>();
            MonitorResult? result = null;
            for (var i = 0; i < repeats; i++)
            {
                sw.Restart();
                var (schema, batches) = DataFile.Open(batchPath, null);
                var table = Table.Concat(schema, batches);
                var read = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                result = DriftMonitor.Compare(profile, table, new MonitorThresholds(), predictions);
                var compare = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                var html = Pipelines.Activities.Monitoring.MonitoringReport.Render("Monitoring: bench", "batch.parquet", profile, result, new MonitorThresholds(),
                    [new("batch.parquet", DateTimeOffset.UtcNow, result.Verdict, result.Rows, result.Features.Max(f => f.Psi), result.Prediction?.Psi,
                        result.Features.ToDictionary(f => f.Name, f => f.Psi))]);
                var render = sw.Elapsed.TotalMilliseconds;
                runs.Add((read, compare, render));
                Console.Error.WriteLine($"run {i + 1}: read {read:N0} ms, compare {compare:N0} ms, report {render:N0} ms ({html.Length / 1024} KiB)");
            }
            var median = runs.OrderBy(r => r.Read + r.Compare + r.Report).ElementAt(runs.Count / 2);
            var perMillion = 1e6 / rows;
            string S(double ms) => (ms * perMillion / 1000).ToString("0.00", CultureInfo.InvariantCulture);

            var sb = new StringBuilder();
            sb.AppendLine("## Monitoring: the monitor step per million scored rows (issue 18)");
            sb.AppendLine();
            sb.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- monitor {rows} {repeats}`  ");
            sb.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}.  ");
            sb.AppendLine($"**Load average {loadAtStart} at the start and {Load()} at the end**: figures on the 2 cores move with the load, " +
                          "so compare runs at similar load.  ");
            sb.AppendLine($"Batch: Adult's test split tiled to {rows:N0} rows × 14 features (6 numeric, 8 categorical strings), ages +12 (so the verdict is `{result!.Verdict.ToString().ToLowerInvariant()}`), " +
                          $"Snappy Parquet ({new FileInfo(batchPath).Length / 1e6:N1} MB), plus {rows:N0} predictions. Reference: the profile of adult.data (32,561 rows; built in {profileMs:N0} ms). " +
                          $"The comparison runs on one thread; median of {repeats} runs by total.");
            sb.AppendLine();
            sb.AppendLine("| phase | seconds per million rows |");
            sb.AppendLine("|---|---|");
            sb.AppendLine($"| read the batch (Parquet → columns) | {S(median.Read)} |");
            sb.AppendLine($"| drift of 14 features + predictions (`DriftMonitor.Compare`) | {S(median.Compare)} |");
            sb.AppendLine($"| HTML report | {S(median.Report)} |");
            sb.AppendLine($"| **total** | **{S(median.Read + median.Compare + median.Report)}** |");
            sb.AppendLine();
            sb.AppendLine("Not included: fetching the artifact into the local cache, one PostgreSQL upsert and one read of the last N batches (milliseconds, independent of rows).");
            report.WriteSection("monitor", sb.ToString());
            Console.WriteLine(sb.ToString());
            return Task.FromResult(0);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>A stand-in score (the monitor only sees numbers): a logistic of age and hours, deterministic.</summary>
    private static double[] Score(Table t)
    {
        var age = Profiler.AsDoubles(t["age"]);
        var hours = Profiler.AsDoubles(t["hours-per-week"]);
        var p = new double[t.RowCount];
        for (var i = 0; i < p.Length; i++) p[i] = 1 / (1 + Math.Exp(-(0.05 * (age[i] - 40) + 0.03 * (hours[i] - 40))));
        return p;
    }

    private static Table Tile(Table t, int rows) =>
        Table.Concat(t.Schema, Enumerable.Range(0, (rows + t.RowCount - 1) / t.RowCount).Select(_ => t)).Slice(0, rows);

    private static Table Shifted(Table t, string column, int by)
    {
        var i = t.Schema.IndexOf(column);
        var c = (PrimitiveColumn<int>)t.Columns[i];
        var values = c.Values.ToArray();
        for (var k = 0; k < values.Length; k++) values[k] += by;
        var validity = c.Validity.IsEmpty ? null : c.Validity.ToArray();
        var columns = t.Columns.ToArray();
        columns[i] = new PrimitiveColumn<int>(c.Type, values, validity, values.Length);
        return new Table(t.Schema, columns);
    }
}
