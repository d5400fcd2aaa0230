using Pipelines.Data.Tables;

namespace Pipelines.Quality.Drift;

public enum MonitorVerdict { Ok, Warn, Alert }

/// <summary>A warn and an alert level for one measure; a value at or above a level reaches it. Either may be off (null).</summary>
public sealed record Threshold(double? Warn, double? Alert)
{
    public MonitorVerdict Judge(double? value) =>
        value is not { } v || double.IsNaN(v) ? MonitorVerdict.Ok
        : Alert is { } a && v >= a ? MonitorVerdict.Alert
        : Warn is { } w && v >= w ? MonitorVerdict.Warn
        : MonitorVerdict.Ok;
}

/// <summary>
/// Levels that turn drift measures into a verdict. Defaults follow common practice: PSI 0.1 is "some shift" and 0.25
/// "significant shift"; KS D and p-values are reported but, on large batches, flag even harmless shifts, so they
/// only judge when set.
/// </summary>
public sealed record MonitorThresholds
{
    public Threshold Psi { get; init; } = new(0.1, 0.25);
    public Threshold KsD { get; init; } = new(null, null);
    /// <summary>Absolute change of a feature's missing rate (0.05 = five percentage points).</summary>
    public Threshold MissingRateChange { get; init; } = new(0.05, 0.2);
    /// <summary>Share of a numeric feature's values outside the reference's [min, max].</summary>
    public Threshold OutOfRange { get; init; } = new(0.01, 0.05);
    /// <summary>Share of a categorical feature's values the reference never saw.</summary>
    public Threshold Unseen { get; init; } = new(0.01, 0.05);
    public Threshold PredictionPsi { get; init; } = new(0.1, 0.25);
    /// <summary>A reference feature missing from the batch, or read as another kind (numbers vs categories).</summary>
    public MonitorVerdict SchemaChange { get; init; } = MonitorVerdict.Alert;
}

public sealed record HistogramBin(string Label, double ReferenceShare, double CurrentShare);

/// <summary>Drift of one feature (or of the predictions) between the reference profile and a batch.</summary>
public sealed record FeatureDrift
{
    public required string Name { get; init; }
    public required FeatureKind Kind { get; init; }
    public required MonitorVerdict Verdict { get; init; }
    public required IReadOnlyList<string> Reasons { get; init; }
    public double? Psi { get; init; }
    public double? KsD { get; init; }
    public double? KsP { get; init; }
    public double? ChiSquared { get; init; }
    public double? ChiSquaredP { get; init; }
    public double ReferenceMissingRate { get; init; }
    public double CurrentMissingRate { get; init; }
    public double? OutOfRange { get; init; }
    public double? Unseen { get; init; }
    public double? CurrentMean { get; init; }
    public IReadOnlyList<HistogramBin> Bins { get; init; } = [];
}

public sealed record MonitorResult
{
    public required MonitorVerdict Verdict { get; init; }
    public required long Rows { get; init; }
    public required IReadOnlyList<FeatureDrift> Features { get; init; }
    public FeatureDrift? Prediction { get; init; }
    /// <summary>Schema findings (missing columns, changed kinds) and the reasons behind a non-ok verdict, readable.</summary>
    public required IReadOnlyList<string> Findings { get; init; }
}

/// <summary>
/// Compares a scored batch with a reference profile: per feature PSI (bins of the reference), KS against the
/// reference quantiles, chi-squared for categories, missing-rate change, range and unseen-category checks; the same
/// for the prediction distribution; thresholds decide ok / warn / alert. Pure: no I/O, same inputs, same result.
/// </summary>
public static class DriftMonitor
{
    public static MonitorResult Compare(ReferenceProfile reference, Table batch, MonitorThresholds thresholds, double[]? predictions = null)
    {
        var findings = new List<string>();
        var features = new List<FeatureDrift>();
        var verdict = MonitorVerdict.Ok;
        if (batch.RowCount == 0)
        {
            findings.Add("the batch has no rows");
            verdict = MonitorVerdict.Alert;
        }
        foreach (var f in reference.Features)
        {
            var index = batch.Schema.IndexOf(f.Name);
            if (index < 0)
            {
                findings.Add($"column '{f.Name}' is missing from the batch");
                verdict = Max(verdict, thresholds.SchemaChange);
                continue;
            }
            var column = batch.Columns[index];
            var numeric = Profiler.IsNumeric(column.Type) || column.Type.Kind is TypeKind.Date or TypeKind.Timestamp or TypeKind.Time;
            if (numeric != (f.Kind == FeatureKind.Numeric) || !Profiler.Profilable(column.Type))
            {
                findings.Add($"column '{f.Name}' is {column.Type} in the batch but was {f.Type} ({f.Kind.ToString().ToLowerInvariant()}) in the reference");
                verdict = Max(verdict, thresholds.SchemaChange);
                continue;
            }
            var drift = f.Kind == FeatureKind.Numeric
                ? Numeric(f, Profiler.AsDoubles(column), thresholds, thresholds.Psi)
                : Categorical(f, column, thresholds);
            features.Add(drift);
            verdict = Max(verdict, drift.Verdict);
            findings.AddRange(drift.Reasons.Select(r => $"{f.Name}: {r}"));
        }
        FeatureDrift? prediction = null;
        if (reference.Prediction is { } rp && predictions is not null)
        {
            prediction = Numeric(rp, predictions, thresholds with { OutOfRange = new(null, null) }, thresholds.PredictionPsi);
            verdict = Max(verdict, prediction.Verdict);
            findings.AddRange(prediction.Reasons.Select(r => $"predictions: {r}"));
        }
        return new MonitorResult { Verdict = verdict, Rows = batch.RowCount, Features = features, Prediction = prediction, Findings = findings };
    }

    public static FeatureDrift Numeric(FeatureProfile reference, double[] values, MonitorThresholds thresholds, Threshold psiThreshold)
    {
        var sorted = Profiler.SortedPresent(values);
        var edges = reference.Edges!;
        var refCounts = reference.BinCounts!.Select(c => (double)c).ToArray();
        var curCounts = Profiler.Histogram(sorted, edges).Select(c => (double)c).ToArray();
        var psi = DriftMeasures.Psi(refCounts, curCounts);
        var (d, p) = reference.Points is { } points && reference.Cumulative is { } cumulative
            ? DriftMeasures.KolmogorovSmirnovDiscrete(points, cumulative, sorted, reference.Count - reference.Missing)
            : DriftMeasures.KolmogorovSmirnov(reference.Quantiles!, sorted, reference.Count - reference.Missing);
        double? outOfRange = null;
        if (reference.Min is { } min && reference.Max is { } max && sorted.Length > 0)
        {
            long outside = 0;
            foreach (var v in sorted) if (v < min || v > max) outside++;
            outOfRange = (double)outside / sorted.Length;
        }
        double? mean = null;
        if (sorted.Length > 0) { double s = 0; foreach (var v in sorted) s += v; mean = s / sorted.Length; }
        var missingRate = DriftMeasures.MissingRate(values.Length - sorted.Length, values.Length);
        var reasons = new List<string>();
        var verdict = MonitorVerdict.Ok;
        Judge(ref verdict, reasons, psiThreshold, sorted.Length > 0 ? psi : null, v => I($"PSI {v:0.###}"));
        Judge(ref verdict, reasons, thresholds.KsD, sorted.Length > 0 ? d : null, v => I($"KS D {v:0.###}"));
        Judge(ref verdict, reasons, thresholds.MissingRateChange, Math.Abs(missingRate - reference.MissingRate),
            _ => I($"missing rate {reference.MissingRate:P1} → {missingRate:P1}"));
        Judge(ref verdict, reasons, thresholds.OutOfRange, outOfRange,
            v => I($"{v:P1} of values outside the reference range [{reference.Min:0.####}, {reference.Max:0.####}]"));
        return new FeatureDrift
        {
            Name = reference.Name, Kind = FeatureKind.Numeric, Verdict = verdict, Reasons = reasons,
            Psi = psi, KsD = d, KsP = p, ReferenceMissingRate = reference.MissingRate, CurrentMissingRate = missingRate,
            OutOfRange = outOfRange, CurrentMean = mean, Bins = Bins(BinLabels(edges), refCounts, curCounts),
        };
    }

    public static FeatureDrift Categorical(FeatureProfile reference, Pipelines.Data.Tables.Column column, MonitorThresholds thresholds)
    {
        var (counts, missing) = Profiler.CountValues(column);
        var labels = reference.Categories!.Keys.OrderByDescending(k => reference.Categories[k]).ThenBy(k => k, StringComparer.Ordinal).ToList();
        // Values outside the reference's named categories share one bin with the reference's "other" values.
        var refCounts = labels.Select(l => (double)reference.Categories[l]).Append(reference.OtherCount).ToArray();
        var curCounts = new double[labels.Count + 1];
        long unseen = 0, present = 0;
        var position = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        foreach (var (value, n) in counts)
        {
            present += n;
            if (position.TryGetValue(value, out var i)) curCounts[i] += n;
            else { curCounts[^1] += n; unseen += n; }
        }
        var psi = DriftMeasures.Psi(refCounts, curCounts);
        var (chi, _, chiP) = DriftMeasures.ChiSquared(refCounts, curCounts);
        var missingRate = DriftMeasures.MissingRate(missing, column.Length);
        // Values the reference folded into "other" cannot be told from new ones, so unseen is judged only when it kept all.
        double? unseenShare = reference.OtherCount == 0 && present > 0 ? (double)unseen / present : null;
        var reasons = new List<string>();
        var verdict = MonitorVerdict.Ok;
        Judge(ref verdict, reasons, thresholds.Psi, present > 0 ? psi : null, v => I($"PSI {v:0.###}"));
        Judge(ref verdict, reasons, thresholds.MissingRateChange, Math.Abs(missingRate - reference.MissingRate),
            _ => I($"missing rate {reference.MissingRate:P1} → {missingRate:P1}"));
        Judge(ref verdict, reasons, thresholds.Unseen, unseenShare,
            v => I($"{v:P1} of values never seen in the reference (") + string.Join(", ", counts.Keys.Where(k => !position.ContainsKey(k)).Order(StringComparer.Ordinal).Take(5).Select(k => $"'{k}'")) + ")");
        return new FeatureDrift
        {
            Name = reference.Name, Kind = FeatureKind.Categorical, Verdict = verdict, Reasons = reasons,
            Psi = psi, ChiSquared = chi, ChiSquaredP = chiP, ReferenceMissingRate = reference.MissingRate, CurrentMissingRate = missingRate,
            Unseen = unseenShare, Bins = Bins(labels.Append("(other)").ToList(), refCounts, curCounts),
        };
    }

    private static void Judge(ref MonitorVerdict verdict, List<string> reasons, Threshold threshold, double? value, Func<double, string> describe)
    {
        var v = threshold.Judge(value);
        if (v == MonitorVerdict.Ok) return;
        var level = v == MonitorVerdict.Alert ? threshold.Alert : threshold.Warn;
        reasons.Add(describe(value!.Value) + I($" ≥ {v.ToString().ToLowerInvariant()} level {level:0.###}"));
        verdict = Max(verdict, v);
    }

    private static string I(FormattableString s) => FormattableString.Invariant(s);

    private static MonitorVerdict Max(MonitorVerdict a, MonitorVerdict b) => a > b ? a : b;

    private static List<string> BinLabels(double[] edges)
    {
        static string F(double v) => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
        if (edges.Length == 0) return ["all"];
        var labels = new List<string> { $"< {F(edges[0])}" };
        for (var i = 1; i < edges.Length; i++) labels.Add($"[{F(edges[i - 1])}, {F(edges[i])})");
        labels.Add($"≥ {F(edges[^1])}");
        return labels;
    }

    private static List<HistogramBin> Bins(IReadOnlyList<string> labels, double[] reference, double[] current)
    {
        double rn = reference.Sum(), cn = current.Sum();
        var bins = new List<HistogramBin>();
        for (var i = 0; i < labels.Count; i++)
        {
            if (reference[i] == 0 && current[i] == 0) continue;
            bins.Add(new HistogramBin(labels[i], rn == 0 ? 0 : reference[i] / rn, cn == 0 ? 0 : current[i] / cn));
        }
        return bins;
    }
}
