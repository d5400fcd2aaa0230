using Pipelines.Ml.Metrics;

namespace Pipelines.Activities.Monitoring;

/// <summary>What to do when the same key is labelled twice with different values.</summary>
public enum DuplicateLabels { Last, Error }

/// <summary>A label as it arrived: its key, its value, and its order of arrival (later wins under <see cref="DuplicateLabels.Last"/>).</summary>
public readonly record struct ArrivedLabel(string Key, string? Value, long Order);

/// <summary>One prediction to be joined: its row key, batch, score and slice values (in the order of <see cref="LabelJoin.Join"/>'s slice columns).</summary>
public readonly record struct ScoredRow(string Key, string Batch, double Prediction, string?[] Slices);

public sealed record JoinedRow(ScoredRow Scored, string? Label);

/// <summary>Realized metrics of one batch and slice ("all" or "column=value"): predictions, how many are labelled, and metrics over those.</summary>
public sealed record RealizedSlice(string Batch, string Slice, long Predictions, long Labelled, IReadOnlyDictionary<string, double> Metrics);

public sealed record JoinResult(
    IReadOnlyList<JoinedRow> Rows, IReadOnlyList<RealizedSlice> Slices,
    long MissingLabels, long DuplicateLabels, long ConflictingLabels, long UnmatchedLabels, IReadOnlyList<string> Conflicts);

public sealed class LabelJoinException(string message) : Exception(message);

/// <summary>
/// Joins ground truth that arrives after scoring to the earlier predictions by row key, and computes realized
/// metrics per batch and slice. Pure: the activity reads tables and hands rows here. Labels are late (a prediction
/// without one yet is "missing", and metrics cover the labelled rows with the coverage stated), may repeat (the same
/// value twice counts once) or conflict (resolved by arrival order, or an error), and may name keys never scored
/// ("unmatched": scored elsewhere or not yet).
/// </summary>
public static class LabelJoin
{
    public static JoinResult Join(IReadOnlyList<ScoredRow> scored, IReadOnlyList<string> sliceColumns, IEnumerable<ArrivedLabel> labels,
        Func<string, double?> outcome, bool binary, double threshold, DuplicateLabels duplicates)
    {
        var seen = new HashSet<(string Batch, string Key)>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in scored)
        {
            if (!seen.Add((s.Batch, s.Key))) throw new LabelJoinException($"key '{s.Key}' is scored twice in batch '{s.Batch}': row keys must be unique within a batch");
            keys.Add(s.Key);
        }

        var byKey = new Dictionary<string, ArrivedLabel>(StringComparer.Ordinal);
        long duplicateCount = 0, conflictCount = 0, unmatched = 0;
        var conflicts = new List<string>();
        foreach (var label in labels.OrderBy(l => l.Order))
        {
            if (!keys.Contains(label.Key)) { unmatched++; continue; }
            if (!byKey.TryGetValue(label.Key, out var earlier)) { byKey[label.Key] = label; continue; }
            duplicateCount++;
            if (earlier.Value == label.Value) continue;
            conflictCount++;
            if (duplicates == DuplicateLabels.Error)
                throw new LabelJoinException($"key '{label.Key}' is labelled '{earlier.Value}' and later '{label.Value}' (duplicates: error)");
            if (conflicts.Count < 10) conflicts.Add($"key '{label.Key}': '{earlier.Value}' replaced by later '{label.Value}'");
            byKey[label.Key] = label;
        }

        var rows = scored.Select(s => new JoinedRow(s, byKey.TryGetValue(s.Key, out var l) ? l.Value : null)).ToList();
        var missing = rows.LongCount(r => r.Label is null);

        var slices = new List<RealizedSlice>();
        foreach (var batch in rows.GroupBy(r => r.Scored.Batch).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            slices.Add(Realize(batch.Key, "all", batch.ToList(), outcome, binary, threshold));
            for (var c = 0; c < sliceColumns.Count; c++)
            {
                var column = c;
                foreach (var slice in batch.GroupBy(r => r.Scored.Slices[column] ?? "(missing)").OrderBy(g => g.Key, StringComparer.Ordinal))
                    slices.Add(Realize(batch.Key, $"{sliceColumns[column]}={slice.Key}", slice.ToList(), outcome, binary, threshold));
            }
        }
        return new JoinResult(rows, slices, missing, duplicateCount, conflictCount, unmatched, conflicts);
    }

    private static RealizedSlice Realize(string batch, string slice, IReadOnlyList<JoinedRow> rows, Func<string, double?> outcome, bool binary, double threshold)
    {
        var y = new List<double>();
        var p = new List<double>();
        foreach (var r in rows)
        {
            if (r.Label is null || outcome(r.Label) is not { } v) continue;
            y.Add(v);
            p.Add(r.Scored.Prediction);
        }
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (y.Count > 0)
        {
            if (binary)
            {
                var positives = y.Count(v => v == 1);
                var cm = Metric.Confusion(y, p, threshold);
                metrics["accuracy"] = (double)(cm.TruePositive + cm.TrueNegative) / y.Count;
                metrics["precision"] = cm.TruePositive + cm.FalsePositive == 0 ? 0 : (double)cm.TruePositive / (cm.TruePositive + cm.FalsePositive);
                metrics["recall"] = cm.TruePositive + cm.FalseNegative == 0 ? 0 : (double)cm.TruePositive / (cm.TruePositive + cm.FalseNegative);
                metrics["positive_rate"] = (double)positives / y.Count;
                metrics["mean_prediction"] = p.Average();
                // AUC and log loss need both classes (log loss also needs probabilities); a one-class slice omits them.
                if (positives > 0 && positives < y.Count)
                {
                    metrics["roc_auc"] = Metric.RocAuc(y, p);
                    if (p.All(v => v is >= 0 and <= 1)) metrics["log_loss"] = Metric.LogLoss(y, p);
                }
            }
            else
            {
                var report = Metric.Regression(y, p);
                metrics["rmse"] = report.Rmse;
                metrics["mae"] = report.Mae;
                if (y.Count > 1) metrics["r2"] = report.R2;
            }
        }
        metrics["coverage"] = rows.Count == 0 ? 0 : (double)y.Count / rows.Count;
        return new RealizedSlice(batch, slice, rows.Count, y.Count, metrics);
    }
}
