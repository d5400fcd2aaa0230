using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Ml;
using Pipelines.Ml.XGBoost;

namespace Pipelines.Benchmarks.Ml;

/// <summary>
/// End-to-end batch prediction from a file to a written result (issue 5): a CSV of features in, a CSV of
/// probabilities out, against Python's xgboost fed by pandas (<c>read_csv</c> → <c>DMatrix</c> → predict →
/// <c>to_csv</c>); plus Parquet → Parquet on our side (Debian's pandas has no Parquet engine). Both sides load the
/// same saved model and use the same thread count; runs alternate so a change in the machine's load hits both.
/// </summary>
public sealed class PredictBenchmark : IBenchmark
{
    public string Name => "predict";
    public string Description => "end-to-end prediction from a file: CSV → CSV vs pandas + xgboost; Parquet → Parquet (args: ROWS REPEATS THREADS)";

    private const int Rounds = 100;
    private const int TrainRows = 100_000;

    public Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        var root = Path.GetDirectoryName(Path.GetDirectoryName(report.Path))!;
        var script = Path.Combine(root, "src", "Pipelines.Benchmarks", "Ml", "xgb_bench.py");
        var work = Path.Combine(Path.GetTempPath(), $"pipelines-predict-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            var loadAtStart = TrainingBenchmark.LoadAverage();
            // Without Python's xgboost (not installed on every machine) our CSV and Parquet paths are still measured.
            string? pythonVersions;
            try { pythonVersions = TrainingBenchmark.Run(TrainingBenchmark.Python, ["-c", "import xgboost, pandas; print(xgboost.__version__, pandas.__version__)"]).Trim(); }
            catch (InvalidOperationException e) { pythonVersions = null; Console.Error.WriteLine($"pandas side skipped: {e.Message.Split('\n')[0]}"); }
            Console.Error.WriteLine($"generating {rows:N0} rows and training the model…");
            var (table, labels) = TrainingBenchmark.Synthetic(rows, seed: 11);
            var model = Path.Combine(work, "model.ubj");
            Train(table, labels, threads, model);

            var csvPath = Path.Combine(work, "score.csv");
            var parquetPath = Path.Combine(work, "score.parquet");
            using (var w = new StreamWriter(csvPath)) new CsvWriter(w).Write(table);
            ParquetWriter.WriteTable(parquetPath, table, new ParquetWriterOptions { Codec = CompressionCodec.Snappy });
            int rowGroups;
            using (var pr = ParquetReader.Open(parquetPath)) rowGroups = pr.RowGroupCount;
            table = null;
            GC.Collect();

            var oursCsvOut = Path.Combine(work, "ours-out.csv");
            var oursParquetOut = Path.Combine(work, "ours-out.parquet");
            var pyOut = Path.Combine(work, "py-out.csv");
            var oursCsv = new List<Phases>();
            var oursParquet = new List<Phases>();
            var oursParquetDMatrix = new List<Phases>();
            var py = new List<Phases>();
            for (var i = 0; i < repeats; i++)
            {
                Console.Error.WriteLine($"run {i + 1} of {repeats}…");
                oursCsv.Add(PredictFile(model, csvPath, oursCsvOut, threads, parquetOut: false));
                if (pythonVersions is not null)
                {
                    var o = JsonNode.Parse(TrainingBenchmark.Last(TrainingBenchmark.Run(TrainingBenchmark.Python,
                        [script, "predict_csv", model, csvPath, pyOut, threads.ToString(CultureInfo.InvariantCulture)])))!;
                    py.Add(new Phases(o["read_s"]!.GetValue<double>(), o["predict_s"]!.GetValue<double>(), o["write_s"]!.GetValue<double>(), o["total_s"]!.GetValue<double>()));
                    Console.Error.WriteLine($"  pandas: {py[^1]}");
                }
                oursParquet.Add(PredictFile(model, parquetPath, oursParquetOut, threads, parquetOut: true));
                oursParquetDMatrix.Add(PredictFile(model, parquetPath, oursParquetOut + ".dmatrix", threads, parquetOut: true, inplace: false));
            }

            var ourCsvValues = ReadCsvProbabilities(oursCsvOut);
            var pyValues = pythonVersions is null ? null : ReadCsvProbabilities(pyOut);
            var ourParquetValues = ReadParquetProbabilities(oursParquetOut);
            var csvVsPandas = pyValues is null ? "not run" : Compare(ourCsvValues, pyValues);
            var parquetVsCsv = Compare(ourParquetValues, ourCsvValues);
            var inplaceVsDMatrix = Compare(ourParquetValues, ReadParquetProbabilities(oursParquetOut + ".dmatrix"));

            string F(double v) => double.IsNaN(v) ? "–" : v.ToString("0.000", CultureInfo.InvariantCulture);
            string R(double a, double b) => double.IsNaN(a / b) ? "–" : (a / b).ToString("0.00", CultureInfo.InvariantCulture);
            static Phases Median(List<Phases> runs) => runs.Count == 0 ? new Phases(double.NaN, double.NaN, double.NaN, double.NaN) : runs.OrderBy(p => p.Total).ElementAt(runs.Count / 2);
            static Phases Best(List<Phases> runs) => runs.Count == 0 ? new Phases(double.NaN, double.NaN, double.NaN, double.NaN) : runs.MinBy(p => p.Total)!;
            var (mc, mp, mq) = (Median(oursCsv), Median(py), Median(oursParquet));
            var (bc, bp, bq) = (Best(oursCsv), Best(py), Best(oursParquet));
            var (md, bd) = (Median(oursParquetDMatrix), Best(oursParquetDMatrix));

            var sb = new StringBuilder();
            sb.AppendLine("## End-to-end batch prediction from a file (issue 5)");
            sb.AppendLine();
            sb.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- predict {rows} {repeats} {threads}`  ");
            sb.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}; libxgboost {XGBoostLibrary.Version.ToString(3)} (Debian `libxgboost0`); " +
                          (pythonVersions is null ? "Python xgboost not installed: the pandas side was not run (–).  " : $"Python xgboost and pandas {pythonVersions} (Debian `python3-xgboost`, `python3-pandas`; the same native library).  "));
            sb.AppendLine($"Load average {loadAtStart} at the start and {TrainingBenchmark.LoadAverage()} at the end (the 2 cores are shared with other work; figures move with it).  ");
            sb.AppendLine($"Input: the training benchmark's synthetic table, {rows:N0} rows × 20 float64 columns (4 decimals, 10 % empty in two), written by `CsvWriter` " +
                          $"({new FileInfo(csvPath).Length / 1e6:N0} MB) and as Snappy Parquet ({new FileInfo(parquetPath).Length / 1e6:N0} MB). " +
                          $"Model: {Rounds} rounds, depth 6, binary:logistic, trained on the first {Math.Min(rows, TrainRows):N0} rows and saved as .ubj with its feature names; " +
                          $"both sides load it before the clock starts and predict with nthread={threads}.  ");
            var csvBatch = DataFile.CsvBatchRows(new Schema(Enumerable.Range(0, 20).Select(j => new Field($"x{j}", DataType.Float64))));
            sb.AppendLine("Ours: `DataFile.Open(file, new CsvOptions { ColumnTypes = <the model's features as float64> }, <the model's feature names>)` " +
                          $"(one pass over the CSV, parsed on all cores, in batches of {csvBatch:N0} rows, about a Parquet row group's worth; the Parquet file has {rowGroups} row groups), " +
                          "then per batch `FeatureMatrix` → in-place predict (`XGBoosterPredictFromDense`, no DMatrix) → `CsvWriter` (or `ParquetWriter`); the last row is the previous way, `FeatureMatrix` → `DMatrix` → predict, for comparison in the same run. " +
                          "Python: `pd.read_csv(file)` → `xgb.DMatrix(df[booster.feature_names])` → `predict` → `DataFrame.to_csv` (timed inside its process; start-up and imports excluded).  ");
            sb.AppendLine($"{repeats} runs each, alternating ours CSV, pandas, ours Parquet, ours Parquet through a DMatrix; median and best of the totals (wall time; CPU is the process's user + system time); phases are those of the median run " +
                          "(our read phase is the time spent waiting for the next batch, so it excludes parsing that overlapped prediction).");
            sb.AppendLine();
            sb.AppendLine("| end-to-end prediction | ours, median (s) | pandas, median (s) | ours / pandas (median) | ours, best (s) | pandas, best (s) | ours / pandas (best) | ours, CPU of the median run (s) |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            sb.AppendLine($"| **CSV file → CSV of probabilities** | **{F(mc.Total)}** | **{F(mp.Total)}** | **{R(mc.Total, mp.Total)}** | {F(bc.Total)} | {F(bp.Total)} | {R(bc.Total, bp.Total)} | {F(mc.Cpu)} |");
            sb.AppendLine($"| Parquet (Snappy) → Parquet, ours only | {F(mq.Total)} | – | – | {F(bq.Total)} | – | – | {F(mq.Cpu)} |");
            sb.AppendLine($"| Parquet (Snappy) → Parquet through a DMatrix (the previous way), ours only | {F(md.Total)} | – | – | {F(bd.Total)} | – | – | {F(md.Cpu)} |");
            sb.AppendLine();
            sb.AppendLine($"Ours, Parquet / CSV: {R(mq.Total, mc.Total)} (median), {R(bq.Total, bc.Total)} (best).");
            sb.AppendLine();
            sb.AppendLine("| phase (median run) | ours, CSV (s) | pandas, CSV (s) | ours, Parquet (s) | ours, Parquet through a DMatrix (s) |");
            sb.AppendLine("|---|---|---|---|---|");
            sb.AppendLine($"| read | {F(mc.Read)} | {F(mp.Read)} (`read_csv`) | {F(mq.Read)} | {F(md.Read)} |");
            sb.AppendLine($"| matrix + predict | {F(mc.Predict)} | {F(mp.Predict)} | {F(mq.Predict)} | {F(md.Predict)} |");
            sb.AppendLine($"| write | {F(mc.Write)} | {F(mp.Write)} (`to_csv`) | {F(mq.Write)} | {F(md.Write)} |");
            sb.AppendLine();
            sb.AppendLine($"Outputs, parsed as float32: ours (CSV) vs pandas: {csvVsPandas}; ours Parquet vs ours CSV: {parquetVsCsv}; in place vs through a DMatrix: {inplaceVsDMatrix}.");
            report.WriteSection("predict", sb.ToString());
            Console.WriteLine(sb.ToString());
            return Task.FromResult(0);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private sealed record Phases(double Read, double Predict, double Write, double Total, double Cpu = double.NaN)
    {
        public override string ToString() =>
            FormattableString.Invariant($"read {Read:F3} s, matrix+predict {Predict:F3} s, write {Write:F3} s, total {Total:F3} s, CPU {Cpu:F3} s");
    }

    private static void Train(Table table, double[] labels, int threads, string path)
    {
        var n = Math.Min(table.RowCount, TrainRows);
        var names = table.Schema.Fields.Select(f => f.Name).ToArray();
        var x = FeatureMatrix.FromTable(table.Slice(0, n), names);
        using var d = DMatrix.FromFeatures(x, threads);
        d.SetLabels(labels.Take(n).Select(v => (float)v).ToArray());
        using var booster = new Booster([d]);
        foreach (var (k, v) in new Dictionary<string, string>
                 {
                     ["objective"] = "binary:logistic", ["tree_method"] = "hist", ["max_depth"] = "6", ["eta"] = "0.1",
                     ["subsample"] = "0.8", ["colsample_bytree"] = "0.8", ["seed"] = "1", ["nthread"] = threads.ToString(CultureInfo.InvariantCulture),
                 })
            booster.SetParam(k, v);
        for (var it = 0; it < Rounds; it++) booster.UpdateOneIteration(it, d);
        booster.SetFeatureNames(names);
        booster.Save(path);
    }

    /// <summary>What a user's scoring job does: read the model's features from the file, predict, write the probabilities.</summary>
    private static Phases PredictFile(string modelPath, string input, string output, int threads, bool parquetOut, bool inplace = true)
    {
        using var booster = Booster.Load(modelPath);
        booster.SetThreads(threads);
        var names = FeatureNames(booster);
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var phase = Stopwatch.StartNew();
        // The model says which columns it needs and that they are numbers: the reader parses only those, with no inference pass.
        var csv = new CsvOptions { ColumnTypes = names.ToDictionary(n => n, _ => DataType.Float64) };
        var (_, batches) = DataFile.Open(input, csv, names);
        var schema = new Schema([new Field("probability", DataType.Float32)]);
        using var stream = File.Create(output);
        var pw = parquetOut ? new ParquetWriter(stream, schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy }, leaveOpen: true) : null;
        using var text = parquetOut ? null : new StreamWriter(stream);
        var cw = text is null ? null : new CsvWriter(text);
        double read = 0, predict = 0, write = 0;
        foreach (var batch in batches)
        {
            read += phase.Elapsed.TotalSeconds;
            phase.Restart();
            var x = FeatureMatrix.FromTable(batch, names);
            float[] p;
            if (inplace) p = booster.Predict(x).Values;
            else
            {
                using var d = DMatrix.FromFeatures(x, threads);
                p = booster.Predict(d).Values;
            }
            predict += phase.Elapsed.TotalSeconds;
            phase.Restart();
            var t = new Table(schema, [new PrimitiveColumn<float>(DataType.Float32, p, null, p.Length)]);
            if (pw is not null) pw.Write(t); else cw!.Write(t);
            write += phase.Elapsed.TotalSeconds;
            phase.Restart();
        }
        pw?.Dispose();
        cw?.Dispose();
        text?.Flush();
        write += phase.Elapsed.TotalSeconds;
        var result = new Phases(read, predict, write, sw.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        Console.Error.WriteLine($"  ours, {Path.GetFileName(input)}{(inplace ? "" : " through a DMatrix")}: {result}");
        return result;
    }

    private static string[] FeatureNames(Booster b)
    {
        // The saved model carries the feature names (set before saving); read them from the JSON model.
        var model = JsonNode.Parse(System.Text.Encoding.UTF8.GetString(b.SaveToBytes(ModelFormat.Json)))!;
        return model["learner"]!["feature_names"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
    }

    private static float[] ReadCsvProbabilities(string path) =>
        File.ReadLines(path).Skip(1).Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();

    private static float[] ReadParquetProbabilities(string path)
    {
        var (_, batches) = DataFile.Open(path);
        return batches.SelectMany(b => ((PrimitiveColumn<float>)b.Columns[0]).Values.ToArray()).ToArray();
    }

    private static string Compare(float[] a, float[] b)
    {
        if (a.Length != b.Length) return $"different row counts ({a.Length:N0} vs {b.Length:N0})";
        return a.AsSpan().SequenceEqual(b)
            ? $"identical for all {a.Length:N0} rows"
            : $"max |diff| {a.Zip(b, (x, y) => Math.Abs(x - y)).Max():G3} over {a.Length:N0} rows";
    }
}
