namespace Pipelines.Ml.Explain;

/// <summary>One feature's share of one row's prediction (margin units; positive pushes towards the positive class / higher value).</summary>
public readonly record struct FeatureContribution(string Feature, double Value);

/// <summary>Global importance of one feature: XGBoost's gain and the mean absolute SHAP value over the rows explained.</summary>
public sealed record FeatureImportanceRow(string Feature, double Gain, double MeanAbsShap, double MeanShap);

/// <summary>
/// SHAP contributions as XGBoost returns them: row-major [rows, outputs, features + 1], the bias last in each output.
/// Pure functions over them give the global summary (mean |SHAP|) and the top-k per row.
/// </summary>
public sealed class Contributions(float[] values, int rows, int outputs, IReadOnlyList<string> features)
{
    public int Rows => rows;
    public int Outputs => outputs;
    public IReadOnlyList<string> Features => features;
    private int Width => features.Count + 1;

    /// <summary>The contribution of <paramref name="feature"/> (index; <c>Features.Count</c> is the bias) to <paramref name="output"/> of a row.</summary>
    public float this[int row, int feature, int output = 0] => values[((long)row * outputs + output) * Width + feature];

    /// <summary>The bias (expected margin) of a row's output.</summary>
    public float Bias(int row, int output = 0) => this[row, features.Count, output];

    /// <summary>Mean of |contribution| per feature over all rows (summed over outputs for multiclass, as the shap package's bar summary stacks classes).</summary>
    public double[] MeanAbsolute()
    {
        var sum = new double[features.Count];
        for (var r = 0; r < rows; r++)
            for (var o = 0; o < outputs; o++)
                for (var f = 0; f < features.Count; f++) sum[f] += Math.Abs(this[r, f, o]);
        for (var f = 0; f < sum.Length; f++) sum[f] /= Math.Max(rows, 1);
        return sum;
    }

    /// <summary>Mean signed contribution per feature (the direction a feature pushes on average), summed over outputs.</summary>
    public double[] MeanSigned()
    {
        var sum = new double[features.Count];
        for (var r = 0; r < rows; r++)
            for (var o = 0; o < outputs; o++)
                for (var f = 0; f < features.Count; f++) sum[f] += this[r, f, o];
        for (var f = 0; f < sum.Length; f++) sum[f] /= Math.Max(rows, 1);
        return sum;
    }

    /// <summary>
    /// The <paramref name="k"/> features with the largest |contribution| to a row's <paramref name="output"/>, largest
    /// first; ties keep the feature order so the result is deterministic. Features contributing exactly 0 are left out.
    /// </summary>
    public IReadOnlyList<FeatureContribution> TopK(int row, int k, int output = 0)
    {
        var top = new List<FeatureContribution>(k);
        if (k <= 0) return top;
        var order = Enumerable.Range(0, features.Count)
            .Where(f => this[row, f, output] != 0)
            .OrderByDescending(f => Math.Abs(this[row, f, output])).ThenBy(f => f)
            .Take(k);
        foreach (var f in order) top.Add(new FeatureContribution(features[f], this[row, f, output]));
        return top;
    }

    /// <summary>
    /// The global summary: every feature with its gain (0 when never split on) and mean |SHAP|, by mean |SHAP| descending.
    /// </summary>
    public IReadOnlyList<FeatureImportanceRow> Summary(IReadOnlyDictionary<string, double> gain)
    {
        var abs = MeanAbsolute();
        var signed = MeanSigned();
        return Enumerable.Range(0, features.Count)
            .Select(f => new FeatureImportanceRow(features[f], gain.TryGetValue(features[f], out var g) ? g : 0, abs[f], signed[f]))
            .OrderByDescending(x => x.MeanAbsShap).ThenByDescending(x => x.Gain).ThenBy(x => x.Feature, StringComparer.Ordinal)
            .ToList();
    }
}
