using Pipelines.Data.Tables;

namespace Pipelines.Ml.Metrics;

/// <summary>Binary confusion matrix at a threshold, laid out as scikit-learn's: [[TN, FP], [FN, TP]].</summary>
public sealed record ConfusionMatrix(long TrueNegative, long FalsePositive, long FalseNegative, long TruePositive)
{
    public long[][] ToArray() => [[TrueNegative, FalsePositive], [FalseNegative, TruePositive]];
}

/// <summary>One calibration bin: mean predicted probability, observed positive rate, and row count.</summary>
public sealed record CalibrationBin(double Lower, double Upper, double MeanPredicted, double FractionPositive, int Count);

public sealed record BinaryReport(
    double RocAuc, double PrAuc, double LogLoss, double Accuracy, double Precision, double Recall, double F1,
    double Threshold, ConfusionMatrix Confusion, IReadOnlyList<CalibrationBin> Calibration)
{
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["roc_auc"] = RocAuc, ["pr_auc"] = PrAuc, ["log_loss"] = LogLoss, ["accuracy"] = Accuracy,
        ["precision"] = Precision, ["recall"] = Recall, ["f1"] = F1,
    };
}

public sealed record MulticlassReport(double Accuracy, double MacroF1, double MicroF1, double LogLoss)
{
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["accuracy"] = Accuracy, ["macro_f1"] = MacroF1, ["micro_f1"] = MicroF1, ["log_loss"] = LogLoss,
    };
}

public sealed record RegressionReport(double Rmse, double Mae, double R2, double Mape)
{
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["rmse"] = Rmse, ["mae"] = Mae, ["r2"] = R2, ["mape"] = Mape,
    };
}

/// <summary>
/// Evaluation metrics with scikit-learn's definitions (1.2): ties in scores share a threshold, PR AUC is average
/// precision, log loss clips probabilities to [ε, 1 − ε] with ε = double epsilon, precision/recall/F1 are 0 when
/// undefined, calibration bins are uniform with <c>searchsorted</c> placement.
/// </summary>
public static class Metric
{
    private const double Eps = 2.220446049250313e-16;

    private static void Check(IReadOnlyList<double> y, int n)
    {
        if (y.Count != n) throw new ArgumentException($"{y.Count} labels but {n} predictions");
        if (n == 0) throw new ArgumentException("no rows to evaluate");
    }

    /// <summary>(false positives, true positives) at each distinct score, highest first, starting at (0, 0).</summary>
    private static (long[] Fp, long[] Tp) Curve(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        Check(y, score.Count);
        var order = Enumerable.Range(0, y.Count).OrderByDescending(i => score[i]).ToArray();
        var fp = new List<long> { 0 };
        var tp = new List<long> { 0 };
        long f = 0, t = 0;
        for (var k = 0; k < order.Length; k++)
        {
            if (y[order[k]] == 1) t++; else f++;
            if (k == order.Length - 1 || score[order[k + 1]] != score[order[k]])
            {
                fp.Add(f);
                tp.Add(t);
            }
        }
        return ([.. fp], [.. tp]);
    }

    public static double RocAuc(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        var (fp, tp) = Curve(y, score);
        double p = tp[^1], n = fp[^1];
        if (p == 0 || n == 0) throw new ArgumentException("ROC AUC is undefined when only one class is present");
        double area = 0;
        for (var i = 1; i < fp.Length; i++) area += (fp[i] / n - fp[i - 1] / n) * (tp[i] / p + tp[i - 1] / p) / 2;
        return area;
    }

    /// <summary>Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds (scikit-learn's average_precision_score).</summary>
    public static double PrAuc(IReadOnlyList<double> y, IReadOnlyList<double> score)
    {
        var (fp, tp) = Curve(y, score);
        double p = tp[^1];
        if (p == 0) throw new ArgumentException("PR AUC is undefined without positive labels");
        double ap = 0;
        for (var i = 1; i < tp.Length; i++)
            ap += (tp[i] / p - tp[i - 1] / p) * ((double)tp[i] / (tp[i] + fp[i]));
        return ap;
    }

    public static double LogLoss(IReadOnlyList<double> y, IReadOnlyList<double> probability)
    {
        Check(y, probability.Count);
        double sum = 0;
        for (var i = 0; i < y.Count; i++)
        {
            var p = Math.Clamp(probability[i], Eps, 1 - Eps);
            var q = 1 - p;
            var total = p + q;
            sum -= y[i] == 1 ? Math.Log(p / total) : Math.Log(q / total);
        }
        return sum / y.Count;
    }

    /// <summary>Multiclass log loss; <paramref name="probabilities"/> is row-major rows × k.</summary>
    public static double LogLoss(IReadOnlyList<double> y, ReadOnlySpan<double> probabilities, int k)
    {
        Check(y, probabilities.Length / k);
        double sum = 0;
        for (var i = 0; i < y.Count; i++)
        {
            var row = probabilities.Slice(i * k, k);
            double total = 0;
            for (var c = 0; c < k; c++) total += Math.Clamp(row[c], Eps, 1 - Eps);
            sum -= Math.Log(Math.Clamp(row[(int)y[i]], Eps, 1 - Eps) / total);
        }
        return sum / y.Count;
    }

    public static ConfusionMatrix Confusion(IReadOnlyList<double> y, IReadOnlyList<double> probability, double threshold = 0.5)
    {
        Check(y, probability.Count);
        long tn = 0, fp = 0, fn = 0, tp = 0;
        for (var i = 0; i < y.Count; i++)
        {
            var predicted = probability[i] >= threshold;
            if (y[i] == 1) { if (predicted) tp++; else fn++; }
            else { if (predicted) fp++; else tn++; }
        }
        return new ConfusionMatrix(tn, fp, fn, tp);
    }

    private static double Div(double a, double b) => b == 0 ? 0 : a / b;

    public static IReadOnlyList<CalibrationBin> Calibration(IReadOnlyList<double> y, IReadOnlyList<double> probability, int bins = 10)
    {
        Check(y, probability.Count);
        var sumP = new double[bins];
        var sumY = new double[bins];
        var count = new int[bins];
        for (var i = 0; i < y.Count; i++)
        {
            // searchsorted(edges[1:-1], p, side="left"): the number of inner edges strictly below p.
            var b = 0;
            while (b < bins - 1 && (double)(b + 1) / bins < probability[i]) b++;
            sumP[b] += probability[i];
            sumY[b] += y[i];
            count[b]++;
        }
        var result = new List<CalibrationBin>();
        for (var b = 0; b < bins; b++)
            if (count[b] > 0) result.Add(new CalibrationBin((double)b / bins, (double)(b + 1) / bins, sumP[b] / count[b], sumY[b] / count[b], count[b]));
        return result;
    }

    public static BinaryReport Binary(IReadOnlyList<double> y, IReadOnlyList<double> probability, double threshold = 0.5, int calibrationBins = 10)
    {
        var cm = Confusion(y, probability, threshold);
        var precision = Div(cm.TruePositive, cm.TruePositive + cm.FalsePositive);
        var recall = Div(cm.TruePositive, cm.TruePositive + cm.FalseNegative);
        // With a single class the ranking metrics are undefined: report NaN rather than fail the whole report.
        var oneClass = cm.TruePositive + cm.FalseNegative == 0 || cm.TrueNegative + cm.FalsePositive == 0;
        return new BinaryReport(oneClass ? double.NaN : RocAuc(y, probability), cm.TruePositive + cm.FalseNegative == 0 ? double.NaN : PrAuc(y, probability), LogLoss(y, probability),
            (double)(cm.TruePositive + cm.TrueNegative) / y.Count, precision, recall, Div(2 * precision * recall, precision + recall),
            threshold, cm, Calibration(y, probability, calibrationBins));
    }

    /// <summary>Multiclass metrics from row-major probabilities (rows × k); the prediction is the arg max.</summary>
    public static MulticlassReport Multiclass(IReadOnlyList<double> y, ReadOnlySpan<double> probabilities, int k)
    {
        var n = probabilities.Length / k;
        Check(y, n);
        var predicted = new int[n];
        for (var i = 0; i < n; i++)
        {
            var row = probabilities.Slice(i * k, k);
            var best = 0;
            for (var c = 1; c < k; c++) if (row[c] > row[best]) best = c;
            predicted[i] = best;
        }
        var tp = new long[k];
        var fp = new long[k];
        var fn = new long[k];
        var present = new bool[k];
        long correct = 0;
        for (var i = 0; i < n; i++)
        {
            var t = (int)y[i];
            present[t] = present[predicted[i]] = true;
            if (t == predicted[i]) { tp[t]++; correct++; }
            else { fp[predicted[i]]++; fn[t]++; }
        }
        double macro = 0;
        var labels = 0;
        for (var c = 0; c < k; c++)
        {
            if (!present[c]) continue; // scikit-learn averages over labels seen in y_true or y_pred
            labels++;
            var p = Div(tp[c], tp[c] + fp[c]);
            var r = Div(tp[c], tp[c] + fn[c]);
            macro += Div(2 * p * r, p + r);
        }
        double tpSum = tp.Sum(), fpSum = fp.Sum(), fnSum = fn.Sum();
        var microP = Div(tpSum, tpSum + fpSum);
        var microR = Div(tpSum, tpSum + fnSum);
        return new MulticlassReport((double)correct / n, macro / labels, Div(2 * microP * microR, microP + microR), LogLoss(y, probabilities, k));
    }

    public static RegressionReport Regression(IReadOnlyList<double> y, IReadOnlyList<double> predicted)
    {
        Check(y, predicted.Count);
        var n = y.Count;
        double se = 0, ae = 0, ape = 0, mean = 0;
        for (var i = 0; i < n; i++) mean += y[i];
        mean /= n;
        double ssTot = 0;
        for (var i = 0; i < n; i++)
        {
            var e = y[i] - predicted[i];
            se += e * e;
            ae += Math.Abs(e);
            ape += Math.Abs(e) / Math.Max(Math.Abs(y[i]), Eps);
            ssTot += (y[i] - mean) * (y[i] - mean);
        }
        var r2 = ssTot == 0 ? (se == 0 ? 1.0 : 0.0) : 1 - se / ssTot;
        return new RegressionReport(Math.Sqrt(se / n), ae / n, r2, ape / n);
    }
}

/// <summary>Metrics for each value of chosen columns (e.g. per sex, per race), to spot groups a model serves badly.</summary>
public sealed record MetricSlice(string Column, string Value, int Rows, IReadOnlyDictionary<string, double> Metrics);

public static class SlicedMetrics
{
    /// <summary>
    /// Groups rows by each column's values (missing as <c>__missing__</c>) and calls <paramref name="compute"/>
    /// with the row indices of each group. Groups where the metric is undefined (e.g. one class only) are reported
    /// with the metrics that could be computed omitted.
    /// </summary>
    public static IReadOnlyList<MetricSlice> Compute(Table data, IEnumerable<string> columns,
        Func<int[], IReadOnlyDictionary<string, double>> compute)
    {
        var result = new List<MetricSlice>();
        foreach (var name in columns)
        {
            var i = data.Schema.IndexOf(name);
            if (i < 0) throw new ColumnMismatchException(name, $"slice column '{name}' is missing");
            var texts = TableOps.Texts(data.Columns[i]);
            foreach (var g in Enumerable.Range(0, texts.Length).GroupBy(r => texts[r] ?? "__missing__").OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var rows = g.ToArray();
                IReadOnlyDictionary<string, double> metrics;
                try { metrics = compute(rows); }
                catch (ArgumentException) { metrics = new Dictionary<string, double>(); }
                result.Add(new MetricSlice(name, g.Key, rows.Length, metrics));
            }
        }
        return result;
    }

    /// <summary>Binary metrics per slice.</summary>
    public static IReadOnlyList<MetricSlice> Binary(Table data, IEnumerable<string> columns, IReadOnlyList<double> y, IReadOnlyList<double> p, double threshold = 0.5) =>
        Compute(data, columns, rows =>
        {
            var ys = rows.Select(r => y[r]).ToArray();
            var ps = rows.Select(r => p[r]).ToArray();
            var d = new Dictionary<string, double>();
            var cm = Metric.Confusion(ys, ps, threshold);
            d["accuracy"] = (double)(cm.TruePositive + cm.TrueNegative) / rows.Length;
            d["log_loss"] = Metric.LogLoss(ys, ps);
            d["positive_rate"] = ys.Average();
            // Fairness inputs: the share predicted positive, and the true positive rate (recall) where the slice has positives.
            d[Fairness.SelectionRate] = (double)(cm.TruePositive + cm.FalsePositive) / rows.Length;
            if (cm.TruePositive + cm.FalseNegative > 0) d[Fairness.TruePositiveRate] = (double)cm.TruePositive / (cm.TruePositive + cm.FalseNegative);
            if (ys.Distinct().Count() == 2) d["roc_auc"] = Metric.RocAuc(ys, ps);
            return d;
        });
}
