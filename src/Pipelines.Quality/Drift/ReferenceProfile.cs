using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipelines.Data.Tables;
using Pipelines.Quality.Checks;

namespace Pipelines.Quality.Drift;

/// <summary>
/// What monitoring keeps of the data a model was trained on instead of the rows themselves: per feature its missing
/// rate and either quantiles plus a histogram at the reference deciles (numbers) or value frequencies (categories),
/// and the same for the model's predictions. Small (kilobytes), so it travels as a JSON artifact next to the model.
/// </summary>
public sealed record ReferenceProfile
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public required long Rows { get; init; }
    public required IReadOnlyList<FeatureProfile> Features { get; init; }
    /// <summary>The model's predictions on the reference rows, profiled as a numeric feature named "prediction".</summary>
    public FeatureProfile? Prediction { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    /// <summary>Where the rows came from (an artifact name or path) and which model predicted, for people reading it.</summary>
    public string? Source { get; init; }
    public string? Model { get; init; }

    public FeatureProfile? Feature(string name) => Features.FirstOrDefault(f => f.Name == name);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Data may hold ±∞; JSON has no literal for it, so it is written as a string rather than failing.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a profile; a malformed one is an error naming <paramref name="source"/> and what is wrong.</summary>
    public static ReferenceProfile Parse(string json, string source)
    {
        ReferenceProfile? profile;
        try { profile = JsonSerializer.Deserialize<ReferenceProfile>(json, Json); }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not a reference profile: {e.Message} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e);
        }
        if (profile is null) throw new FormatException($"{source}: not a reference profile: empty document");
        if (profile.Format != CurrentFormat) throw new FormatException($"{source}: reference profile format {profile.Format} is not supported (expected {CurrentFormat})");
        foreach (var f in profile.Features.Append(profile.Prediction).OfType<FeatureProfile>())
        {
            if (f.Kind == FeatureKind.Numeric && (f.Quantiles is not { Length: >= 2 } || f.BinCounts is null || f.Edges is null || f.BinCounts.Length != f.Edges.Length + 1))
                throw new FormatException($"{source}: feature '{f.Name}': a numeric profile needs quantiles, edges and edges+1 bin counts");
            if (f.Kind == FeatureKind.Categorical && f.Categories is null)
                throw new FormatException($"{source}: feature '{f.Name}': a categorical profile needs categories");
        }
        return profile;
    }
}

public enum FeatureKind { Numeric, Categorical }

/// <summary>
/// One column of a reference profile. Numbers: <see cref="Quantiles"/> at p = 0, 1/K, …, 1 (for KS),
/// <see cref="Edges"/> (the distinct interior decile values) and <see cref="BinCounts"/> for bins
/// (−∞, e0), [e0, e1), …, [ek, +∞) (for PSI), min/max (for range checks). Categories: counts of the most frequent
/// values, the rest summed in <see cref="OtherCount"/>. Missing values are counted apart in both cases.
/// </summary>
public sealed record FeatureProfile
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required FeatureKind Kind { get; init; }
    public required long Count { get; init; }
    public required long Missing { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    public double? Mean { get; init; }
    public double[]? Quantiles { get; init; }
    /// <summary>
    /// For features with few distinct values: those values ascending and the share of present rows at or below each,
    /// the exact reference CDF that KS uses instead of the interpolated <see cref="Quantiles"/>.
    /// </summary>
    public double[]? Points { get; init; }
    public double[]? Cumulative { get; init; }
    public double[]? Edges { get; init; }
    public long[]? BinCounts { get; init; }
    public Dictionary<string, long>? Categories { get; init; }
    public long OtherCount { get; init; }

    [JsonIgnore] public double MissingRate => DriftMeasures.MissingRate(Missing, Count);
}

public sealed record ProfileOptions
{
    /// <summary>Columns to profile (null: every column the profiler can read).</summary>
    public IReadOnlyList<string>? Columns { get; init; }
    public IReadOnlyList<string> Exclude { get; init; } = [];
    /// <summary>Histogram bins at the reference quantiles (fewer when values repeat).</summary>
    public int Bins { get; init; } = 10;
    /// <summary>Quantile points kept for KS: 100 means percentiles.</summary>
    public int QuantilePoints { get; init; } = 100;
    /// <summary>A numeric feature with at most this many distinct values keeps its exact CDF (see <see cref="FeatureProfile.Points"/>).</summary>
    public int MaxDiscretePoints { get; init; } = 256;
    /// <summary>Most frequent categories kept by name; the rest are counted together.</summary>
    public int MaxCategories { get; init; } = 100;
}

/// <summary>Builds reference profiles column by column from typed buffers (no per-row boxing).</summary>
public static class Profiler
{
    public static ReferenceProfile Profile(Table table, ProfileOptions options, double[]? predictions = null)
    {
        if (options.Bins < 2) throw new ArgumentException($"bins must be at least 2, not {options.Bins}");
        if (options.QuantilePoints < 2) throw new ArgumentException($"quantile points must be at least 2, not {options.QuantilePoints}");
        var names = options.Columns ?? table.Schema.Fields.Where(f => Profilable(f.Type)).Select(f => f.Name).ToList();
        var features = new List<FeatureProfile>();
        foreach (var name in names.Except(options.Exclude))
        {
            var index = table.Schema.IndexOf(name);
            if (index < 0) throw new ArgumentException($"column '{name}' does not exist (columns: {string.Join(", ", table.Schema.Fields.Select(f => f.Name))})");
            var column = table.Columns[index];
            if (!Profilable(column.Type)) throw new ArgumentException($"column '{name}' of type {column.Type} cannot be profiled");
            features.Add(Feature(name, column, options));
        }
        return new ReferenceProfile
        {
            Rows = table.RowCount,
            Features = features,
            Prediction = predictions is null ? null : Numeric("prediction", "double", predictions, options),
        };
    }

    public static bool Profilable(DataType type) => type.Kind is not (TypeKind.Binary);

    public static bool IsNumeric(DataType type) => Values.IsNumeric(type);

    public static FeatureProfile Feature(string name, Column column, ProfileOptions options) =>
        Values.IsNumeric(column.Type) || column.Type.Kind is TypeKind.Date or TypeKind.Timestamp or TypeKind.Time
            ? Numeric(name, column.Type.ToString(), AsDoubles(column), options)
            : Categorical(name, column, options);

    /// <summary>The column as doubles, NaN for missing; dates, timestamps and times as their stored number (days, ticks of their unit).</summary>
    public static double[] AsDoubles(Column column) => Values.AsDoubles(column);

    public static FeatureProfile Numeric(string name, string type, double[] values, ProfileOptions options)
    {
        var sorted = SortedPresent(values);
        var missing = values.Length - sorted.Length;
        if (sorted.Length == 0)
            return new FeatureProfile { Name = name, Type = type, Kind = FeatureKind.Numeric, Count = values.Length, Missing = missing, Quantiles = [0, 0], Edges = [], BinCounts = [0] };
        var quantiles = new double[options.QuantilePoints + 1];
        for (var i = 0; i < quantiles.Length; i++) quantiles[i] = Quantile(sorted, (double)i / options.QuantilePoints);
        var edges = new List<double>();
        for (var i = 1; i < options.Bins; i++)
        {
            var e = Quantile(sorted, (double)i / options.Bins);
            // A value that fills several deciles makes one bin; the lowest edge above the minimum keeps a bin below it.
            if ((edges.Count == 0 ? e > sorted[0] : e > edges[^1])) edges.Add(e);
        }
        double sum = 0;
        foreach (var v in sorted) sum += v;
        var (points, cumulative) = DistinctCdf(sorted, options.MaxDiscretePoints);
        return new FeatureProfile
        {
            Name = name, Type = type, Kind = FeatureKind.Numeric, Count = values.Length, Missing = missing,
            Min = sorted[0], Max = sorted[^1], Mean = sum / sorted.Length,
            Quantiles = quantiles, Points = points, Cumulative = cumulative, Edges = [.. edges], BinCounts = Histogram(sorted, edges.ToArray()),
        };
    }

    /// <summary>The distinct values and cumulative shares of sorted values, or nulls when there are more than <paramref name="max"/>.</summary>
    private static (double[]? Points, double[]? Cumulative) DistinctCdf(double[] sorted, int max)
    {
        var points = new List<double>();
        var cumulative = new List<double>();
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i + 1 < sorted.Length && sorted[i + 1] == sorted[i]) continue;
            if (points.Count == max) return (null, null);
            points.Add(sorted[i]);
            cumulative.Add((double)(i + 1) / sorted.Length);
        }
        return ([.. points], [.. cumulative]);
    }

    /// <summary>The present (non-NaN) values, sorted.</summary>
    public static double[] SortedPresent(double[] values)
    {
        var present = 0;
        foreach (var v in values) if (!double.IsNaN(v)) present++;
        var sorted = new double[present];
        var k = 0;
        foreach (var v in values) if (!double.IsNaN(v)) sorted[k++] = v;
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>Counts of sorted values in bins (−∞, e0), [e0, e1), …, [ek, +∞): one binary search per edge.</summary>
    public static long[] Histogram(ReadOnlySpan<double> sorted, ReadOnlySpan<double> edges)
    {
        var counts = new long[edges.Length + 1];
        var start = 0;
        for (var b = 0; b < edges.Length; b++)
        {
            var end = LowerBound(sorted, edges[b]);
            counts[b] = end - start;
            start = end;
        }
        counts[^1] = sorted.Length - start;
        return counts;
    }

    /// <summary>Linear interpolation between order statistics (Hyndman–Fan type 7, numpy's default).</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double p)
    {
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    private static int LowerBound(ReadOnlySpan<double> sorted, double v)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < v) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public static FeatureProfile Categorical(string name, Column column, ProfileOptions options)
    {
        var (counts, missing) = CountValues(column);
        var kept = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(options.MaxCategories)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new FeatureProfile
        {
            Name = name, Type = column.Type.ToString(), Kind = FeatureKind.Categorical, Count = column.Length, Missing = missing,
            Categories = kept, OtherCount = counts.Values.Sum() - kept.Values.Sum(),
        };
    }

    /// <summary>
    /// Value counts of a categorical column. Strings are looked up by their UTF-8 bytes decoded into a reused buffer,
    /// so only distinct values allocate; booleans are counted directly; anything else by its invariant text.
    /// </summary>
    public static (Dictionary<string, long> Counts, long Missing) CountValues(Column column)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long missing = 0;
        switch (column)
        {
            case BinaryColumn strings when strings.Type.Kind == TypeKind.String:
            {
                var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
                var buffer = ArrayPool<char>.Shared.Rent(256);
                try
                {
                    for (var i = 0; i < strings.Length; i++)
                    {
                        if (strings.IsNull(i)) { missing++; continue; }
                        var bytes = strings.GetBytes(i);
                        if (Encoding.UTF8.GetMaxCharCount(bytes.Length) > buffer.Length)
                        {
                            ArrayPool<char>.Shared.Return(buffer);
                            buffer = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(bytes.Length));
                        }
                        var chars = buffer.AsSpan(0, Encoding.UTF8.GetChars(bytes, buffer));
                        lookup[chars] = lookup.TryGetValue(chars, out var n) ? n + 1 : 1;
                    }
                }
                finally { ArrayPool<char>.Shared.Return(buffer); }
                break;
            }
            case PrimitiveColumn<bool> flags:
            {
                long t = 0, f = 0;
                var values = flags.Values;
                for (var i = 0; i < values.Length; i++)
                {
                    if (flags.IsNull(i)) missing++;
                    else if (values[i]) t++;
                    else f++;
                }
                if (t > 0) counts["true"] = t;
                if (f > 0) counts["false"] = f;
                break;
            }
            default:
                for (var i = 0; i < column.Length; i++)
                {
                    var text = column.Format(i);
                    if (text is null) { missing++; continue; }
                    counts[text] = counts.GetValueOrDefault(text) + 1;
                }
                break;
        }
        return (counts, missing);
    }
}
