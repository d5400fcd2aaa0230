namespace Pipelines.Ml.Metrics;

/// <summary>
/// A disparity over one slice column: the largest minus the smallest value of a per-slice measure, naming both slices
/// (fairlearn's <c>demographic_parity_difference</c> / <c>equal_opportunity_difference</c> with method "between_groups").
/// </summary>
public sealed record Disparity(string Column, string Measure, double Difference, string HighValue, double High, string LowValue, double Low, int Groups);

/// <summary>Group-fairness measures computed from per-slice metrics, as pure functions so the gate and the report agree.</summary>
public static class Fairness
{
    public const string SelectionRate = "selection_rate";
    public const string TruePositiveRate = "tpr";
    public const string DemographicParityDifference = "demographic_parity_difference";
    public const string EqualOpportunityDifference = "equal_opportunity_difference";

    /// <summary>The disparity measures and the per-slice metric each is the spread of.</summary>
    public static readonly IReadOnlyDictionary<string, string> Measures = new Dictionary<string, string>
    {
        [DemographicParityDifference] = SelectionRate,
        [EqualOpportunityDifference] = TruePositiveRate,
    };

    /// <summary>
    /// Per slice column and measure, the spread between the groups with at least <paramref name="minRows"/> rows that
    /// have the metric (a group without positives has no TPR and is left out of equal opportunity). Columns with
    /// fewer than two such groups have no disparity.
    /// </summary>
    public static IReadOnlyList<Disparity> Disparities(IEnumerable<MetricSlice> slices, int minRows = 0)
    {
        var result = new List<Disparity>();
        foreach (var column in slices.Where(s => s.Rows >= minRows).GroupBy(s => s.Column))
            foreach (var (measure, metric) in Measures)
            {
                var groups = column.Where(s => s.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v))
                    .Select(s => (s.Value, Metric: s.Metrics[metric])).ToList();
                if (groups.Count < 2) continue;
                var high = groups.OrderByDescending(g => g.Metric).ThenBy(g => g.Value, StringComparer.Ordinal).First();
                var low = groups.OrderBy(g => g.Metric).ThenBy(g => g.Value, StringComparer.Ordinal).First();
                result.Add(new Disparity(column.Key, measure, high.Metric - low.Metric, high.Value, high.Metric, low.Value, low.Metric, groups.Count));
            }
        return result;
    }
}
