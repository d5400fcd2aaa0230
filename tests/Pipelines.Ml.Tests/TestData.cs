using System.Diagnostics;
using System.Runtime.InteropServices;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;
using Pipelines.Ml.Features;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Tests;

/// <summary>Shared inputs: the UCI Adult files, the committed fixtures, synthetic data with known structure, and Python.</summary>
public static class TestData
{
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    /// <summary>../shared/datasets/adult relative to the repository root.</summary>
    public static string AdultFile(string name) => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets", "adult", name));

    public static readonly CsvOptions AdultCsv = new() { NullTokens = ["", "?"], TrimWhitespace = true };

    private static readonly Lazy<Table> AdultTrainLazy = new(() => CsvReader.Read(AdultFile("adult.data"), AdultCsv).Table);
    private static readonly Lazy<Table> AdultTestLazy = new(() => CsvReader.Read(AdultFile("adult.test"), AdultCsv).Table);
    public static Table AdultTrain => AdultTrainLazy.Value;
    public static Table AdultTest => AdultTestLazy.Value;

    public static readonly string[] AdultCategorical = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "native-country"];
    public static readonly string[] AdultNumeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"];

    /// <summary>The Adult pipeline: label Y with the test file's trailing dots mapped away, impute, one-hot, log1p, standardize.</summary>
    public static FeaturePipeline AdultPipeline() => new()
    {
        Label = new LabelSpec
        {
            Column = "Y", Task = TaskKind.BinaryClassification, Positive = ">50K",
            Mapping = new() { [">50K."] = ">50K", ["<=50K."] = "<=50K" },
        },
        Steps =
        [
            new ImputeStep { Columns = ["workclass", "occupation", "native-country"], Strategy = ImputeStrategy.MostFrequent },
            new OneHotStep { Columns = [.. AdultCategorical], MinFrequency = 20 },
            new Log1pStep { Columns = ["capital-gain", "capital-loss"] },
            new StandardizeStep { Columns = ["age", "fnlwgt", "hours-per-week"] },
        ],
    };

    public static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    public static void WriteFloats(string path, ReadOnlySpan<float> values) => File.WriteAllBytes(path, MemoryMarshal.AsBytes(values).ToArray());

    public static FeatureMatrix SyntheticFixture(out double[] labels)
    {
        var x = ReadFloats(Fixture("synthetic_x.f32"));
        labels = ReadFloats(Fixture("synthetic_y.f32")).Select(v => (double)v).ToArray();
        return new FeatureMatrix(x, labels.Length, 6);
    }

    /// <summary>Runs Debian's Python (python3-xgboost) with a fixture script; returns stdout, fails the test on error.</summary>
    public static string Python(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Fixture(script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python {script} failed ({p.ExitCode}): {stderr}");
        return stdout.Result;
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "pipelines-ml-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
