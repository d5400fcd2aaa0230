using System.Globalization;
using System.Text.Json.Nodes;

namespace Pipelines.Ml.Tuning;

/// <summary>One hyperparameter's domain.</summary>
public abstract record Dimension(string Name)
{
    /// <summary>Draws a value uniformly from the prior (log-uniform in log space).</summary>
    public abstract JsonNode Sample(Random rng);

    /// <summary><paramref name="n"/> evenly spaced points (all values for choices and small integer ranges).</summary>
    public abstract IReadOnlyList<JsonNode> Grid(int n);

    public static Dimension FromJson(string name, JsonObject spec)
    {
        var type = spec["type"]?.GetValue<string>() ?? throw new ArgumentException($"search space '{name}' needs a type");
        double D(string k) => spec[k]?.GetValue<double>() ?? throw new ArgumentException($"search space '{name}' needs '{k}'");
        return type switch
        {
            "uniform" => new Uniform(name, D("low"), D("high")),
            "log_uniform" or "loguniform" => new LogUniform(name, D("low"), D("high")),
            "int" => new IntRange(name, (long)D("low"), (long)D("high"), spec["log"]?.GetValue<bool>() ?? false),
            "choice" => new Choice(name, (spec["values"] as JsonArray ?? throw new ArgumentException($"choice '{name}' needs values")).Select(v => v!.DeepClone()).ToList()),
            _ => throw new ArgumentException($"search space '{name}': unknown type '{type}' (uniform, log_uniform, int, choice)"),
        };
    }
}

/// <summary>A real number in [low, high].</summary>
public sealed record Uniform(string Name, double Low, double High) : Dimension(Name)
{
    public override JsonNode Sample(Random rng) => JsonValue.Create(Low + rng.NextDouble() * (High - Low));
    public override IReadOnlyList<JsonNode> Grid(int n) =>
        Enumerable.Range(0, n).Select(i => (JsonNode)JsonValue.Create(n == 1 ? (Low + High) / 2 : Low + (High - Low) * i / (n - 1))).ToList();
}

/// <summary>A positive real number in [low, high], uniform in log space (learning rates, regularization).</summary>
public sealed record LogUniform(string Name, double Low, double High) : Dimension(Name)
{
    public override JsonNode Sample(Random rng) => JsonValue.Create(Math.Exp(Math.Log(Low) + rng.NextDouble() * (Math.Log(High) - Math.Log(Low))));
    public override IReadOnlyList<JsonNode> Grid(int n) =>
        Enumerable.Range(0, n).Select(i => (JsonNode)JsonValue.Create(n == 1 ? Math.Sqrt(Low * High) : Math.Exp(Math.Log(Low) + (Math.Log(High) - Math.Log(Low)) * i / (n - 1)))).ToList();
}

/// <summary>An integer in [low, high] (inclusive), optionally log-spaced.</summary>
public sealed record IntRange(string Name, long Low, long High, bool Log = false) : Dimension(Name)
{
    public override JsonNode Sample(Random rng) => JsonValue.Create(Log
        ? (long)Math.Min(High, Math.Floor(Math.Exp(Math.Log(Low) + rng.NextDouble() * (Math.Log(High + 1) - Math.Log(Low)))))
        : Low + (long)Math.Floor(rng.NextDouble() * (High - Low + 1)));
    public override IReadOnlyList<JsonNode> Grid(int n)
    {
        if (High - Low + 1 <= n) return Enumerable.Range(0, (int)(High - Low + 1)).Select(i => (JsonNode)JsonValue.Create(Low + i)).ToList();
        return Enumerable.Range(0, n).Select(i => (long)Math.Round(Low + (double)(High - Low) * i / (n - 1))).Distinct().Select(v => (JsonNode)JsonValue.Create(v)).ToList();
    }
}

/// <summary>One of a fixed list of values (numbers, strings, booleans).</summary>
public sealed record Choice(string Name, IReadOnlyList<JsonNode> Values) : Dimension(Name)
{
    public override JsonNode Sample(Random rng) => Values[rng.Next(Values.Count)].DeepClone();
    public override IReadOnlyList<JsonNode> Grid(int n) => Values.Select(v => v.DeepClone()).ToList();
}

/// <summary>An ordered set of named dimensions; JSON form: <c>{"eta": {"type": "log_uniform", "low": 0.01, "high": 0.3}, …}</c>.</summary>
public sealed class SearchSpace(IEnumerable<Dimension> dimensions)
{
    public IReadOnlyList<Dimension> Dimensions { get; } = dimensions.ToList();

    public static SearchSpace FromJson(JsonObject spec) =>
        new(spec.Select(kv => Dimension.FromJson(kv.Key, kv.Value as JsonObject ?? throw new ArgumentException($"search space '{kv.Key}' must be an object"))));

    /// <summary>Parameters as strings for XGBoost (invariant numbers, integers without a decimal point).</summary>
    public static Dictionary<string, string> ToStrings(JsonObject parameters) =>
        parameters.ToDictionary(kv => kv.Key, kv => kv.Value switch
        {
            JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
            JsonValue v when v.TryGetValue<double>(out var d) => d.ToString("R", CultureInfo.InvariantCulture),
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
            var other => other?.GetValue<string>() ?? "",
        });
}

/// <summary>Reads JSON numbers whatever CLR type a node was built from (parsed text, int, long, double).</summary>
public static class JsonNumber
{
    public static double? Double(JsonNode? v) => v is null ? null : Seeds.Number(v);

    public static long? Long(JsonNode? v)
    {
        if (Double(v) is not { } d) return null;
        if (d != Math.Floor(d)) throw new ArgumentException($"expected an integer, got {d}");
        return (long)d;
    }
}
