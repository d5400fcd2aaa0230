using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Pipelines.Quality.Spec;

namespace Pipelines.Quality.Reports;

public enum Verdict { Pass, Warn, Fail }

/// <summary>One expectation's outcome; <see cref="Samples"/> shows a few offending values.</summary>
public sealed record CheckResult(
    string Check,
    string? Column,
    Severity Severity,
    bool Passed,
    string Observed,
    string Expected,
    long ViolatingRows,
    IReadOnlyList<string> Samples)
{
    public string Message => Passed
        ? $"{Check}{(Column is null ? "" : $" on {Column}")}: ok ({Observed})"
        : $"{Check}{(Column is null ? "" : $" on {Column}")}: expected {Expected}, observed {Observed}" +
          (Samples.Count > 0 ? $" (e.g. {string.Join(", ", Samples.Select(s => $"'{s}'"))})" : "");
}

public sealed record DriftResult(
    string Column,
    string Kind,
    double Psi,
    double? KsStatistic,
    double? KsPValue,
    IReadOnlyList<DriftBin> Bins);

public sealed record DriftBin(string Label, double ReferenceShare, double CurrentShare);

/// <summary>Everything a quality gate found, for the JSON and HTML reports and the step's outputs.</summary>
public sealed record QualityReport(
    DateTimeOffset CheckedAt,
    long RowCount,
    IReadOnlyList<CheckResult> Checks,
    IReadOnlyList<DriftResult> Drift,
    long RejectedRows)
{
    public Verdict Verdict =>
        Checks.Any(c => !c.Passed && c.Severity == Severity.Fail) ? Verdict.Fail
        : Checks.Any(c => !c.Passed) ? Verdict.Warn
        : Verdict.Pass;

    public IEnumerable<CheckResult> Violations => Checks.Where(c => !c.Passed);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        node["verdict"] = Verdict.ToString().ToLowerInvariant();
        node["violations"] = new JsonArray(Violations.Select(v => (JsonNode)JsonValue.Create(v.Message)).ToArray());
        return node.ToJsonString(Json);
    }
}
