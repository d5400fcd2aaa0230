using System.Text;

namespace Pipelines.Benchmarks;

/// <summary>
/// Writes a benchmark's results into its own section of docs/benchmarks.md, replacing the previous
/// figures of that benchmark and leaving the others alone.
/// </summary>
public sealed class BenchmarkReport(string path)
{
    public string Path { get; } = path;

    public static BenchmarkReport ForRepository()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        var root = dir?.FullName ?? Directory.GetCurrentDirectory();
        return new BenchmarkReport(System.IO.Path.Combine(root, "docs", "benchmarks.md"));
    }

    public void WriteSection(string name, string markdown)
    {
        var begin = $"<!-- begin {name} -->";
        var end = $"<!-- end {name} -->";
        var text = File.Exists(Path) ? File.ReadAllText(Path) : "# Benchmarks\n\nMeasured figures, each with the command that produced it. Every section is rewritten by its benchmark.\n";
        var section = new StringBuilder().AppendLine(begin).AppendLine(markdown.TrimEnd()).Append(end).ToString();
        var i = text.IndexOf(begin, StringComparison.Ordinal);
        var j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i
            ? text[..i] + section + text[(j + end.Length)..]
            : text.TrimEnd() + "\n\n" + section + "\n";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        File.WriteAllText(Path, text);
    }

    /// <summary>Facts about the machine a figure was measured on.</summary>
    public static string MachineLine() =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB, " +
        $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
}
