namespace Pipelines.Benchmarks;

/// <summary>One benchmark: <c>dotnet run -c Release --project src/Pipelines.Benchmarks -- NAME [args]</c>.</summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    Task<int> RunAsync(string[] args, BenchmarkReport report);
}
