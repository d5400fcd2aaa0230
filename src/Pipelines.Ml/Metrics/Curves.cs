namespace Pipelines.Ml.Metrics;

/// <summary>ROC curve points with the score threshold at which each is reached (the first point's threshold is +∞).</summary>
public sealed record RocCurve(double[] FalsePositiveRate, double[] TruePositiveRate, double[] Thresholds);

/// <summary>Precision-recall curve as scikit-learn returns it: thresholds increasing, a final (recall 0, precision 1) point without a threshold.</summary>
public sealed record PrecisionRecallCurve(double[] Precision, double[] Recall, double[] Thresholds);

/// <summary>
/// The curves behind ROC AUC and average precision, with scikit-learn's definitions (roc_curve with
/// <c>drop_intermediate=True</c>, precision_recall_curve), so a report's chart agrees with the metric beside it.
/// </summary>
public static class Curves
{
    /// <summary>(false positives, true positives, threshold) at each distinct score, highest first (scikit-learn's _binary_clf_curve).</summary>
    private static (double[] Fp, double[] Tp, double[] Thresholds) Cumulative(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        if (y.Count != score.Count) throw new ArgumentException($"{y.Count} labels but {score.Count} predictions");
        if (y.Count == 0) throw new ArgumentException("no rows to evaluate");
        var order = Enumerable.Range(0, y.Count).OrderByDescending(i => score[i]).ToArray();
        var fp = new List<double>();
        var tp = new List<double>();
        var th = new List<double>();
        double f = 0, t = 0;
        for (var k = 0; k < order.Length; k++)
        {
            if (y[order[k]] == 1) t++; else f++;
            if (k == order.Length - 1 || score[order[k + 1]] != score[order[k]])
            {
                fp.Add(f);
                tp.Add(t);
                th.Add(score[order[k]]);
            }
        }
        return ([.. fp], [.. tp], [.. th]);
    }

    /// <summary>scikit-learn's roc_curve (drop_intermediate=True: points on a straight segment are dropped).</summary>
    public static RocCurve Roc(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        var (fp, tp, th) = Cumulative(y, score);
        // Keep the ends and every point where the curve bends (a non-zero second difference in fps or tps).
        var keep = new List<int>();
        for (var i = 0; i < fp.Length; i++)
            if (i == 0 || i == fp.Length - 1 || fp[i + 1] - 2 * fp[i] + fp[i - 1] != 0 || tp[i + 1] - 2 * tp[i] + tp[i - 1] != 0)
                keep.Add(i);
        double n = fp[^1], p = tp[^1];
        if (n == 0 || p == 0) throw new ArgumentException("the ROC curve is undefined when only one class is present");
        var fpr = new double[keep.Count + 1];
        var tpr = new double[keep.Count + 1];
        var thresholds = new double[keep.Count + 1];
        thresholds[0] = double.PositiveInfinity;
        for (var j = 0; j < keep.Count; j++)
        {
            fpr[j + 1] = fp[keep[j]] / n;
            tpr[j + 1] = tp[keep[j]] / p;
            thresholds[j + 1] = th[keep[j]];
        }
        return new RocCurve(fpr, tpr, thresholds);
    }

    /// <summary>scikit-learn's precision_recall_curve (1.1 and later): every distinct score, reversed to increasing thresholds.</summary>
    public static PrecisionRecallCurve PrecisionRecall(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        var (fp, tp, th) = Cumulative(y, score);
        var total = tp[^1];
        if (total == 0) throw new ArgumentException("the precision-recall curve is undefined without positive labels");
        var last = tp.Length - 1;
        var precision = new double[last + 2];
        var recall = new double[last + 2];
        var thresholds = new double[last + 1];
        for (var j = 0; j <= last; j++)
        {
            var i = last - j;
            precision[j] = tp[i] / (tp[i] + fp[i]);
            recall[j] = tp[i] / total;
            thresholds[j] = th[i];
        }
        precision[last + 1] = 1;
        recall[last + 1] = 0;
        return new PrecisionRecallCurve(precision, recall, thresholds);
    }
}
