using Pipelines.Benchmarks;
using Pipelines.Benchmarks.Parquet;

// Register benchmarks here; each lives in a folder named after its subsystem.
IBenchmark[] benchmarks = [new Pipelines.Benchmarks.Engine.EngineBenchmark(), new ParquetBenchmark(), new Pipelines.Benchmarks.Storage.StorageBenchmark(), new Pipelines.Benchmarks.Ml.TrainingBenchmark(), new Pipelines.Benchmarks.Ml.PredictBenchmark(), new Pipelines.Benchmarks.Data.CsvBenchmark(), new Pipelines.Benchmarks.Data.ConvertBenchmark(), new Pipelines.Benchmarks.Ml.TrainerKindsBenchmark(),
    new Pipelines.Benchmarks.Monitoring.MonitorBenchmark(), new Pipelines.Benchmarks.Server.ServerBenchmark()];

if (args.Length == 0 || benchmarks.All(b => b.Name != args[0]))
{
    Console.Error.WriteLine("usage: Pipelines.Benchmarks NAME [args]");
    foreach (var b in benchmarks) Console.Error.WriteLine($"  {b.Name,-12} {b.Description}");
    return 2;
}
var report = BenchmarkReport.ForRepository();
return await benchmarks.Single(b => b.Name == args[0]).RunAsync(args[1..], report);
