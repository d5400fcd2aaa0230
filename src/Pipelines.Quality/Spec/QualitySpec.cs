using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Core.Definitions;

namespace Pipelines.Quality.Spec;

/// <summary>A failed check with <see cref="Fail"/> stops the run; with <see cref="Warn"/> it is only reported.</summary>
public enum Severity { Warn, Fail }

/// <summary>The logical types an expectation can require of a column.</summary>
public enum ExpectedType { Boolean, Integer, Number, String, Date, Timestamp }

public sealed record Bounds(double? Min, double? Max, Severity Severity);

public sealed record ColumnExpectation(
    string Column,
    bool Required,
    ExpectedType? Type,
    double? MaxNullRatio,
    double? Min,
    double? Max,
    IReadOnlyList<string>? Allowed,
    bool Unique,
    Regex? Pattern,
    Severity Severity);

public sealed record Freshness(string Column, TimeSpan MaxAge, Severity Severity);

public sealed record DriftSpec(IReadOnlyList<string> Columns, double? PsiMax, Severity PsiSeverity, double? KsMax, Severity KsSeverity, int Bins);

/// <summary>What a quality gate checks, as declared in a workflow.</summary>
public sealed record QualitySpec(
    Bounds? RowCount,
    IReadOnlyList<ColumnExpectation> Columns,
    Freshness? Freshness,
    DriftSpec? Drift)
{
    /// <summary>
    /// Reads the spec from the JSON a workflow passes (<c>expectations</c> and optionally <c>drift</c>).
    /// Every error names the field at fault, e.g. <c>expectations.columns.age.max_null_ratio</c>.
    /// </summary>
    public static QualitySpec Parse(JsonObject? expectations, JsonObject? drift = null)
    {
        var e = expectations ?? new JsonObject();
        Known(e, "expectations", "row_count", "columns", "freshness");
        Bounds? rows = null;
        if (e["row_count"] is { } rc)
        {
            var o = Obj(rc, "expectations.row_count");
            Known(o, "expectations.row_count", "min", "max", "severity");
            rows = new Bounds(Num(o, "min", "expectations.row_count"), Num(o, "max", "expectations.row_count"), Sev(o, "expectations.row_count"));
        }
        var columns = new List<ColumnExpectation>();
        if (e["columns"] is { } cols)
            foreach (var (name, node) in Obj(cols, "expectations.columns"))
                columns.Add(ParseColumn(name, node, $"expectations.columns.{name}"));
        Freshness? fresh = null;
        if (e["freshness"] is { } f)
        {
            var o = Obj(f, "expectations.freshness");
            Known(o, "expectations.freshness", "column", "max_age", "severity");
            var age = Str(o, "max_age", "expectations.freshness") ?? throw Error("expectations.freshness.max_age", "is required");
            if (!Durations.TryParse(age, out var maxAge)) throw Error("expectations.freshness.max_age", Durations.Hint);
            fresh = new Freshness(Str(o, "column", "expectations.freshness") ?? throw Error("expectations.freshness.column", "is required"), maxAge,
                Sev(o, "expectations.freshness"));
        }
        return new QualitySpec(rows, columns, fresh, drift is null ? null : ParseDrift(drift));
    }

    private static ColumnExpectation ParseColumn(string name, JsonNode? node, string path)
    {
        var o = node is null ? new JsonObject() : Obj(node, path);
        Known(o, path, "required", "type", "max_null_ratio", "min", "max", "allowed", "unique", "regex", "severity");
        ExpectedType? type = null;
        if (Str(o, "type", path) is { } t)
            type = Enum.TryParse<ExpectedType>(t, ignoreCase: true, out var parsed)
                ? parsed
                : throw Error($"{path}.type", $"'{t}' is not one of boolean, integer, number, string, date, timestamp");
        var ratio = Num(o, "max_null_ratio", path);
        if (ratio is < 0 or > 1) throw Error($"{path}.max_null_ratio", $"must be between 0 and 1, got {ratio}");
        IReadOnlyList<string>? allowed = null;
        if (o["allowed"] is { } a)
            allowed = a is JsonArray arr
                ? arr.Select(v => v?.ToString() ?? throw Error($"{path}.allowed", "null is not an allowed value; use max_null_ratio")).ToList()
                : throw Error($"{path}.allowed", "must be a list");
        Regex? pattern = null;
        if (Str(o, "regex", path) is { } rx)
        {
            try { pattern = new Regex(rx, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException ex) { throw Error($"{path}.regex", $"invalid regular expression: {ex.Message}"); }
        }
        return new ColumnExpectation(name, o["required"]?.GetValue<bool>() ?? true, type, ratio, Num(o, "min", path), Num(o, "max", path),
            allowed, o["unique"]?.GetValue<bool>() ?? false, pattern, Sev(o, path));
    }

    private static DriftSpec ParseDrift(JsonObject d)
    {
        Known(d, "drift", "columns", "psi", "ks", "bins");
        var columns = d["columns"] is JsonArray arr ? arr.Select(c => c!.ToString()).ToList() : throw Error("drift.columns", "a list of column names is required");
        double? psi = null, ks = null;
        Severity psiSev = Severity.Fail, ksSev = Severity.Fail;
        if (d["psi"] is { } p)
        {
            var o = Obj(p, "drift.psi");
            Known(o, "drift.psi", "max", "severity");
            psi = Num(o, "max", "drift.psi");
            psiSev = Sev(o, "drift.psi");
        }
        if (d["ks"] is { } k)
        {
            var o = Obj(k, "drift.ks");
            Known(o, "drift.ks", "max", "severity");
            ks = Num(o, "max", "drift.ks");
            ksSev = Sev(o, "drift.ks");
        }
        var bins = (int)(Num(d, "bins", "drift") ?? 10);
        if (bins is < 2 or > 100) throw Error("drift.bins", $"must be between 2 and 100, got {bins}");
        return new DriftSpec(columns, psi, psiSev, ks, ksSev, bins);
    }

    private static JsonObject Obj(JsonNode node, string path) => node as JsonObject ?? throw Error(path, "must be an object");

    private static string? Str(JsonObject o, string key, string path) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw Error($"{path}.{key}", "must be a string"),
    };

    private static double? Num(JsonObject o, string key, string path) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        _ => throw Error($"{path}.{key}", "must be a number"),
    };

    private static Severity Sev(JsonObject o, string path) => Str(o, "severity", path) switch
    {
        null or "fail" => Severity.Fail,
        "warn" => Severity.Warn,
        var other => throw Error($"{path}.severity", $"'{other}' is not warn or fail"),
    };

    private static void Known(JsonObject o, string path, params string[] keys)
    {
        foreach (var (key, _) in o)
            if (!keys.Contains(key)) throw Error($"{path}.{key}", $"unknown field; expected one of {string.Join(", ", keys)}");
    }

    private static QualitySpecException Error(string field, string message) => new(field, message);
}

public sealed class QualitySpecException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
}
