using System.Text.Json.Serialization;
using Pipelines.Data.Tables;

namespace Pipelines.Ml.Features;

/// <summary>
/// One declarative transform. <see cref="Fit"/> learns its parameters from training data (stored in the step's
/// properties, hence in the pipeline JSON); <see cref="Apply"/> uses them unchanged on any later data.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(ImputeStep), "impute")]
[JsonDerivedType(typeof(StandardizeStep), "standardize")]
[JsonDerivedType(typeof(MinMaxStep), "min_max")]
[JsonDerivedType(typeof(Log1pStep), "log1p")]
[JsonDerivedType(typeof(ClipStep), "clip")]
[JsonDerivedType(typeof(OneHotStep), "one_hot")]
[JsonDerivedType(typeof(QuantileBucketizeStep), "quantile_bucketize")]
[JsonDerivedType(typeof(DatePartsStep), "date_parts")]
[JsonDerivedType(typeof(SelectStep), "select")]
[JsonDerivedType(typeof(DropStep), "drop")]
[JsonDerivedType(typeof(RenameStep), "rename")]
[JsonDerivedType(typeof(MapValuesStep), "map_values")]
public abstract class FeatureStep
{
    [JsonIgnore] public abstract string OpName { get; }

    internal virtual void Fit(TableBuilder data) { }
    internal abstract void Apply(TableBuilder data);

    internal double[] Numeric(TableBuilder data, string column)
    {
        var c = data.Get(column, OpName);
        if (!FeatureMatrix.IsNumeric(c.Type))
            throw new ColumnMismatchException(column, $"column '{column}' is {c.Type}, but feature step '{OpName}' needs a numeric column");
        return FeatureMatrix.ToDoubles(c, column);
    }

    internal static double[] Present(double[] v) => v.Where(x => !double.IsNaN(x)).ToArray();
}

public enum ImputeStrategy { Mean, Median, MostFrequent, Constant }

/// <summary>Fills missing values. Numeric columns become float64; string columns stay strings (most_frequent/constant).</summary>
public sealed class ImputeStep : FeatureStep
{
    public override string OpName => "impute";
    public List<string> Columns { get; set; } = [];
    [JsonConverter(typeof(JsonStringEnumConverter<ImputeStrategy>))]
    public ImputeStrategy Strategy { get; set; } = ImputeStrategy.Mean;
    /// <summary>The fill for <see cref="ImputeStrategy.Constant"/>: a number for numeric columns, text for strings.</summary>
    public string? FillValue { get; set; }
    /// <summary>Fitted: the value used per column, as invariant text.</summary>
    public Dictionary<string, string> Fill { get; set; } = new();

    internal override void Fit(TableBuilder data)
    {
        Fill.Clear();
        foreach (var name in Columns)
        {
            var c = data.Get(name, OpName);
            if (FeatureMatrix.IsNumeric(c.Type))
            {
                var v = Present(Numeric(data, name));
                double fill = Strategy switch
                {
                    ImputeStrategy.Mean => v.Length == 0 ? 0 : v.Average(),
                    ImputeStrategy.Median => v.Length == 0 ? 0 : Median(v),
                    ImputeStrategy.MostFrequent => v.Length == 0 ? 0 : v.GroupBy(x => x).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key,
                    _ => double.Parse(FillValue ?? throw new ArgumentException($"impute constant for '{name}' needs fill_value"), System.Globalization.CultureInfo.InvariantCulture),
                };
                Fill[name] = fill.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (c.Type.Kind == TypeKind.String)
            {
                var texts = TableOps.Texts(c).Where(t => t is not null).ToList();
                Fill[name] = Strategy switch
                {
                    ImputeStrategy.MostFrequent => texts.GroupBy(t => t).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).FirstOrDefault()?.Key ?? "",
                    ImputeStrategy.Constant => FillValue ?? throw new ArgumentException($"impute constant for '{name}' needs fill_value"),
                    _ => throw new ColumnMismatchException(name, $"column '{name}' is string; impute {Strategy.ToString().ToLowerInvariant()} needs a numeric column (use most_frequent or constant)"),
                };
            }
            else throw new ColumnMismatchException(name, $"column '{name}' is {c.Type}; impute handles numeric and string columns");
        }
    }

    internal static double Median(double[] v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var c = data.Get(name, OpName);
            var fill = Fill[name];
            if (c.Type.Kind == TypeKind.String)
                data.Set(name, TableOps.Strings(TableOps.Texts(c).Select(t => t ?? fill).ToArray()));
            else
            {
                var v = Numeric(data, name);
                var f = double.Parse(fill, System.Globalization.CultureInfo.InvariantCulture);
                for (var i = 0; i < v.Length; i++) if (double.IsNaN(v[i])) v[i] = f;
                data.Set(name, TableOps.Doubles(v));
            }
        }
    }
}

/// <summary>(x − mean) / std with the population std (as scikit-learn's StandardScaler); missing stays missing.</summary>
public sealed class StandardizeStep : FeatureStep
{
    public override string OpName => "standardize";
    public List<string> Columns { get; set; } = [];
    public Dictionary<string, double> Mean { get; set; } = new();
    public Dictionary<string, double> Std { get; set; } = new();

    internal override void Fit(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Present(Numeric(data, name));
            var mean = v.Length == 0 ? 0 : v.Average();
            var sd = v.Length == 0 ? 0 : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
            Mean[name] = mean;
            Std[name] = sd == 0 ? 1 : sd;
        }
    }

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Numeric(data, name);
            var (m, s) = (Mean[name], Std[name]);
            for (var i = 0; i < v.Length; i++) v[i] = (v[i] - m) / s;
            data.Set(name, TableOps.Doubles(v));
        }
    }
}

/// <summary>(x − min) / (max − min) with training min and max; later data may fall outside [0, 1].</summary>
public sealed class MinMaxStep : FeatureStep
{
    public override string OpName => "min_max";
    public List<string> Columns { get; set; } = [];
    public Dictionary<string, double> Min { get; set; } = new();
    public Dictionary<string, double> Max { get; set; } = new();

    internal override void Fit(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Present(Numeric(data, name));
            Min[name] = v.Length == 0 ? 0 : v.Min();
            Max[name] = v.Length == 0 ? 1 : v.Max();
        }
    }

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Numeric(data, name);
            var (lo, hi) = (Min[name], Max[name]);
            var range = hi - lo == 0 ? 1 : hi - lo;
            for (var i = 0; i < v.Length; i++) v[i] = (v[i] - lo) / range;
            data.Set(name, TableOps.Doubles(v));
        }
    }
}

/// <summary>log(1 + x); values ≤ −1 become missing.</summary>
public sealed class Log1pStep : FeatureStep
{
    public override string OpName => "log1p";
    public List<string> Columns { get; set; } = [];

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Numeric(data, name);
            for (var i = 0; i < v.Length; i++) v[i] = v[i] > -1 ? Math.Log(1 + v[i]) : double.NaN;
            data.Set(name, TableOps.Doubles(v));
        }
    }
}

/// <summary>Clamps values to [lower, upper] (either bound optional).</summary>
public sealed class ClipStep : FeatureStep
{
    public override string OpName => "clip";
    public List<string> Columns { get; set; } = [];
    public double? Lower { get; set; }
    public double? Upper { get; set; }

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Numeric(data, name);
            for (var i = 0; i < v.Length; i++)
            {
                if (double.IsNaN(v[i])) continue;
                if (Lower is { } lo && v[i] < lo) v[i] = lo;
                if (Upper is { } hi && v[i] > hi) v[i] = hi;
            }
            data.Set(name, TableOps.Doubles(v));
        }
    }
}

/// <summary>
/// One 0/1 column per training category (named <c>column=value</c>) plus <c>column=__other__</c> for categories
/// unseen in training or rarer than <see cref="MinFrequency"/>; a missing value is its own category, <c>__missing__</c>.
/// The source column is replaced.
/// </summary>
public sealed class OneHotStep : FeatureStep
{
    public const string Other = "__other__";
    public const string Missing = "__missing__";

    public override string OpName => "one_hot";
    public List<string> Columns { get; set; } = [];
    /// <summary>Categories seen fewer times than this in training go to the other bucket.</summary>
    public int MinFrequency { get; set; } = 1;
    /// <summary>Keep at most this many categories (most frequent first); the rest go to the other bucket.</summary>
    public int? MaxCategories { get; set; }
    /// <summary>Fitted: kept categories per column, in output order.</summary>
    public Dictionary<string, List<string>> Categories { get; set; } = new();

    internal override void Fit(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var texts = Texts(data, name);
            var counts = texts.GroupBy(t => t ?? Missing).Select(g => (g.Key, Count: g.Count())).Where(g => g.Count >= MinFrequency)
                .OrderByDescending(g => g.Count).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
            if (MaxCategories is { } max) counts = counts.Take(max).ToList();
            Categories[name] = counts.Select(c => c.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
        }
    }

    private string?[] Texts(TableBuilder data, string name)
    {
        var c = data.Get(name, OpName);
        if (c.Type.Kind is TypeKind.Float32 or TypeKind.Float64 or TypeKind.Binary)
            throw new ColumnMismatchException(name, $"column '{name}' is {c.Type}, but one_hot needs a string, integer or boolean column");
        return TableOps.Texts(c);
    }

    /// <summary>Feature names may not contain '[', ']' or '&lt;' (XGBoost rejects them).</summary>
    internal static string Clean(string s) => s.Replace('[', '(').Replace(']', ')').Replace("<", "lt");

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var texts = Texts(data, name);
            var cats = Categories[name];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var j = 0; j < cats.Count; j++) index[cats[j]] = j;
            var outputs = new double[cats.Count + 1][];
            for (var j = 0; j < outputs.Length; j++) outputs[j] = new double[texts.Length];
            for (var i = 0; i < texts.Length; i++)
                outputs[index.TryGetValue(texts[i] ?? Missing, out var j) ? j : cats.Count][i] = 1;
            var columns = cats.Select((c, j) => ($"{name}={Clean(c)}", TableOps.Doubles(outputs[j])))
                .Append(($"{name}={Other}", TableOps.Doubles(outputs[cats.Count]))).ToList();
            data.InsertAfter(name, columns);
            data.Remove(name);
        }
    }
}

/// <summary>Replaces values with their bucket index 0..k−1 between training quantiles; missing stays missing.</summary>
public sealed class QuantileBucketizeStep : FeatureStep
{
    public override string OpName => "quantile_bucketize";
    public List<string> Columns { get; set; } = [];
    public int Buckets { get; set; } = 10;
    /// <summary>Fitted: the distinct inner edges per column; value v goes to the count of edges ≤ v.</summary>
    public Dictionary<string, List<double>> Edges { get; set; } = new();

    internal override void Fit(TableBuilder data)
    {
        if (Buckets < 2) throw new ArgumentException("quantile_bucketize needs at least 2 buckets");
        foreach (var name in Columns)
        {
            var v = Present(Numeric(data, name)).OrderBy(x => x).ToArray();
            var edges = new SortedSet<double>();
            for (var q = 1; q < Buckets; q++)
            {
                if (v.Length == 0) break;
                // Linear interpolation between order statistics (numpy's default quantile).
                var pos = (v.Length - 1) * (double)q / Buckets;
                var lo = (int)Math.Floor(pos);
                var hi = Math.Min(lo + 1, v.Length - 1);
                edges.Add(v[lo] + (v[hi] - v[lo]) * (pos - lo));
            }
            Edges[name] = edges.ToList();
        }
    }

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var v = Numeric(data, name);
            var edges = Edges[name];
            for (var i = 0; i < v.Length; i++)
            {
                if (double.IsNaN(v[i])) continue;
                var k = edges.BinarySearch(v[i]);
                v[i] = k >= 0 ? k + 1 : ~k;
            }
            data.Set(name, TableOps.Doubles(v));
        }
    }
}

/// <summary>Expands a date or timestamp column into numeric parts named <c>column_part</c>; the source column is replaced.</summary>
public sealed class DatePartsStep : FeatureStep
{
    public override string OpName => "date_parts";
    public List<string> Columns { get; set; } = [];
    /// <summary>Any of year, month, day, day_of_week (Monday = 0), day_of_year, hour.</summary>
    public List<string> Parts { get; set; } = ["year", "month", "day", "day_of_week"];

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var c = data.Get(name, OpName);
            if (c.Type.Kind is not (TypeKind.Date or TypeKind.Timestamp))
                throw new ColumnMismatchException(name, $"column '{name}' is {c.Type}, but date_parts needs a date or timestamp column");
            var outputs = Parts.Select(_ => new double[c.Length]).ToArray();
            for (var i = 0; i < c.Length; i++)
            {
                DateTime? t = c.GetValue(i) switch { DateOnly d => d.ToDateTime(TimeOnly.MinValue), DateTime dt => dt, _ => null };
                for (var p = 0; p < Parts.Count; p++)
                    outputs[p][i] = t is not { } x ? double.NaN : Parts[p] switch
                    {
                        "year" => x.Year,
                        "month" => x.Month,
                        "day" => x.Day,
                        "day_of_week" => ((int)x.DayOfWeek + 6) % 7,
                        "day_of_year" => x.DayOfYear,
                        "hour" => x.Hour,
                        var other => throw new ArgumentException($"unknown date part '{other}'"),
                    };
            }
            data.InsertAfter(name, Parts.Select((p, k) => ($"{name}_{p}", TableOps.Doubles(outputs[k]))));
            data.Remove(name);
        }
    }
}

/// <summary>Keeps only these columns, in this order (the label column is kept aside automatically).</summary>
public sealed class SelectStep : FeatureStep
{
    public override string OpName => "select";
    public List<string> Columns { get; set; } = [];
    internal override void Apply(TableBuilder data) => data.Keep(Columns, OpName);
}

public sealed class DropStep : FeatureStep
{
    public override string OpName => "drop";
    public List<string> Columns { get; set; } = [];

    internal override void Apply(TableBuilder data)
    {
        foreach (var c in Columns)
        {
            data.Get(c, OpName);
            data.Remove(c);
        }
    }
}

public sealed class RenameStep : FeatureStep
{
    public override string OpName => "rename";
    public Dictionary<string, string> Mapping { get; set; } = new();

    internal override void Apply(TableBuilder data)
    {
        foreach (var (from, to) in Mapping)
        {
            data.Get(from, OpName);
            data.Rename(from, to);
        }
    }
}

/// <summary>Rewrites values of a string column through a mapping (e.g. <c>&gt;50K.</c> → <c>&gt;50K</c>); unmapped values pass.</summary>
public sealed class MapValuesStep : FeatureStep
{
    public override string OpName => "map_values";
    public List<string> Columns { get; set; } = [];
    public Dictionary<string, string> Mapping { get; set; } = new();

    internal override void Apply(TableBuilder data)
    {
        foreach (var name in Columns)
        {
            var c = data.Get(name, OpName);
            if (c.Type.Kind != TypeKind.String) throw new ColumnMismatchException(name, $"column '{name}' is {c.Type}, but map_values needs a string column");
            data.Set(name, TableOps.Strings(TableOps.Texts(c).Select(t => t is not null && Mapping.TryGetValue(t, out var m) ? m : t).ToArray()));
        }
    }
}
