using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests;

/// <summary>
/// DuckDB (npm @duckdb/node-api in tests/node) as the reference Parquet reader and writer, driven through
/// the scripts in tests/Pipelines.Data.Tests/duckdb.
/// </summary>
public static class DuckDbPeer
{
    public static readonly string RepoRoot = FindRoot();
    public static readonly string ParquetTesting = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "parquet-testing"));
    public static readonly string Adult = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets", "adult"));
    private static readonly string ScriptDir = Path.Combine(RepoRoot, "tests", "Pipelines.Data.Tests", "duckdb");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }

    public sealed record DuckColumn(string Name, string Type, bool Nested, List<string?> Values);

    public static string RunScript(string script, params string[] args)
    {
        EnsureInstalled();
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(ScriptDir, script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new DuckDbException($"{script} failed: {stderr.Result}");
        return stdout;
    }

    public sealed class DuckDbException(string message) : Exception(message);

    private static readonly Lock InstallLock = new();

    /// <summary>Installs tests/node (npm install --prefix tests/node) once when node_modules is missing.</summary>
    private static void EnsureInstalled()
    {
        lock (InstallLock)
        {
            var nodeDir = Path.Combine(RepoRoot, "tests", "node");
            if (Directory.Exists(Path.Combine(nodeDir, "node_modules", "@duckdb", "node-api"))) return;
            var psi = new ProcessStartInfo("npm") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "install", "--prefix", nodeDir, "--no-package-lock", "--no-audit", "--no-fund" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) Assert.Fail($"DuckDB peer missing and `npm install --prefix tests/node` failed: {err.Result}");
        }
    }

    public static List<DuckColumn> Dump(string parquetFile) => Parse(RunScript("dump.mjs", parquetFile));

    /// <summary>DuckDB's values of any table expression, e.g. <c>read_csv('x.csv', nullstr='?')</c>.</summary>
    public static List<DuckColumn> DumpSource(string tableExpression) => Parse(RunScript("dump.mjs", "--source", tableExpression));

    private static List<DuckColumn> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("columns").EnumerateArray().Select(c => new DuckColumn(
            c.GetProperty("name").GetString()!,
            c.GetProperty("type").GetString()!,
            c.TryGetProperty("nested", out var n) && n.GetBoolean(),
            c.TryGetProperty("values", out var v) ? v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Null ? null : x.GetString()).ToList() : [])).ToList();
    }

    /// <summary>Our value of row <paramref name="i"/> in the canonical form dump.mjs produces.</summary>
    public static string? Canonical(Column c, int i)
    {
        if (c.IsNull(i)) return null;
        var t = c.Type;
        switch (t.Kind)
        {
            case TypeKind.Timestamp or TypeKind.Time:
            {
                var raw = ((PrimitiveColumn<long>)c)[i];
                var ns = t.Unit switch { TimeUnit.Millis => (Int128)raw * 1_000_000, TimeUnit.Micros => (Int128)raw * 1000, _ => raw };
                return ns.ToString(CultureInfo.InvariantCulture);
            }
            case TypeKind.Date: return ((PrimitiveColumn<int>)c)[i].ToString(CultureInfo.InvariantCulture);
            case TypeKind.Float32: return CanonicalDouble(((PrimitiveColumn<float>)c)[i]);
            case TypeKind.Float64: return CanonicalDouble(((PrimitiveColumn<double>)c)[i]);
            case TypeKind.Binary: return Convert.ToHexString(((BinaryColumn)c).GetBytes(i));
            default: return c.Format(i);
        }
    }

    private static string CanonicalDouble(double d) => double.IsNaN(d) ? "NaN" : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Compares expected (DuckDB) and actual canonical values; doubles by value, the rest as text.</summary>
    public static bool SameValue(string? expected, string? actual, TypeKind kind)
    {
        if (expected is null || actual is null) return expected == actual;
        if (kind is TypeKind.Float32 or TypeKind.Float64)
        {
            if (expected == "NaN" || actual == "NaN") return expected == actual;
            return ParseDouble(expected) == ParseDouble(actual);
        }
        return expected == actual;
    }

    private static double ParseDouble(string s) => s switch
    {
        "inf" or "Infinity" or "∞" => double.PositiveInfinity,
        "-inf" or "-Infinity" or "-∞" => double.NegativeInfinity,
        _ => double.Parse(s, CultureInfo.InvariantCulture),
    };

    public static void AssertColumnMatches(DuckColumn expected, Column actual, string context)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Values.Count), $"{context}: row count of {expected.Name}");
        for (var i = 0; i < actual.Length; i++)
        {
            var a = Canonical(actual, i);
            if (!SameValue(expected.Values[i], a, actual.Type.Kind))
                Assert.Fail($"{context}: column {expected.Name} ({expected.Type} vs {actual.Type}) row {i}: DuckDB '{expected.Values[i] ?? "NULL"}', ours '{a ?? "NULL"}'");
        }
    }
}
