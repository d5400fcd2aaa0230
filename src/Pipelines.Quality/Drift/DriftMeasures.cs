using Pipelines.Data.Tables;
using Pipelines.Quality.Checks;
using Pipelines.Quality.Reports;

namespace Pipelines.Quality.Drift;

/// <summary>
/// Population Stability Index (numeric columns binned at the reference's quantiles, categorical ones by value,
/// nulls as their own bin) and the two-sample Kolmogorov–Smirnov test for numeric columns.
/// </summary>
public static class DriftMeasures
{
    // An empty bin would make PSI infinite; this floor is the usual convention.
    private const double Floor = 1e-4;

    public static DriftResult Compare(string column, Column reference, Column current, int bins)
    {
        if (Values.IsNumeric(reference.Type) && Values.IsNumeric(current.Type))
        {
            var r = Values.AsDoubles(reference);
            var c = Values.AsDoubles(current);
            var (psi, table) = NumericPsi(r, c, bins);
            var (d, p) = KolmogorovSmirnov(r.Where(v => !double.IsNaN(v)).ToArray(), c.Where(v => !double.IsNaN(v)).ToArray());
            return new DriftResult(column, "numeric", psi, d, p, table);
        }
        var (cpsi, ctable) = CategoricalPsi(reference, current);
        return new DriftResult(column, "categorical", cpsi, null, null, ctable);
    }

    public static (double Psi, IReadOnlyList<DriftBin> Bins) NumericPsi(double[] reference, double[] current, int bins)
    {
        var sorted = reference.Where(v => !double.IsNaN(v)).Order().ToArray();
        var edges = new List<double>();
        for (var i = 1; i < bins && sorted.Length > 0; i++)
        {
            var edge = sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(i * (double)sorted.Length / bins))];
            if (edges.Count == 0 || edge > edges[^1]) edges.Add(edge);
        }
        // Bins are (-inf, e0), [e0, e1), …, [ek, +inf), plus one for nulls.
        int BinOf(double v) => double.IsNaN(v) ? edges.Count + 1 : UpperBound(edges, v);
        var labels = new List<string>();
        for (var i = 0; i <= edges.Count; i++)
            labels.Add(i == 0 ? $"< {Fmt(edges.Count > 0 ? edges[0] : double.PositiveInfinity)}"
                : i == edges.Count ? $"≥ {Fmt(edges[^1])}" : $"[{Fmt(edges[i - 1])}, {Fmt(edges[i])})");
        labels.Add("null");
        return Psi(Histogram(reference, labels.Count, BinOf), Histogram(current, labels.Count, BinOf), labels);
    }

    public static (double Psi, IReadOnlyList<DriftBin> Bins) CategoricalPsi(Column reference, Column current)
    {
        var labels = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        int IndexOf(string? v)
        {
            var key = v ?? "null";
            if (!index.TryGetValue(key, out var i)) { index[key] = i = labels.Count; labels.Add(key); }
            return i;
        }
        for (var i = 0; i < reference.Length; i++) IndexOf(reference.IsNull(i) ? null : reference.Format(i));
        for (var i = 0; i < current.Length; i++) IndexOf(current.IsNull(i) ? null : current.Format(i));
        var r = new double[labels.Count];
        var c = new double[labels.Count];
        for (var i = 0; i < reference.Length; i++) r[IndexOf(reference.IsNull(i) ? null : reference.Format(i))]++;
        for (var i = 0; i < current.Length; i++) c[IndexOf(current.IsNull(i) ? null : current.Format(i))]++;
        return Psi(r, c, labels);
    }

    private static double[] Histogram(double[] values, int count, Func<double, int> binOf)
    {
        var h = new double[count];
        foreach (var v in values) h[binOf(v)]++;
        return h;
    }

    private static (double, IReadOnlyList<DriftBin>) Psi(double[] reference, double[] current, IReadOnlyList<string> labels)
    {
        double rn = reference.Sum(), cn = current.Sum(), psi = 0;
        var bins = new List<DriftBin>();
        for (var i = 0; i < labels.Count; i++)
        {
            var r = rn == 0 ? 0 : reference[i] / rn;
            var c = cn == 0 ? 0 : current[i] / cn;
            if (r == 0 && c == 0) continue;
            var rf = Math.Max(r, Floor);
            var cf = Math.Max(c, Floor);
            psi += (cf - rf) * Math.Log(cf / rf);
            bins.Add(new DriftBin(labels[i], r, c));
        }
        return (psi, bins);
    }

    /// <summary>Two-sample KS statistic D and its asymptotic p-value.</summary>
    public static (double D, double P) KolmogorovSmirnov(double[] a, double[] b)
    {
        if (a.Length == 0 || b.Length == 0) return (0, 1);
        Array.Sort(a);
        Array.Sort(b);
        int i = 0, j = 0;
        double d = 0;
        while (i < a.Length && j < b.Length)
        {
            var x = Math.Min(a[i], b[j]);
            while (i < a.Length && a[i] <= x) i++;
            while (j < b.Length && b[j] <= x) j++;
            d = Math.Max(d, Math.Abs((double)i / a.Length - (double)j / b.Length));
        }
        var en = Math.Sqrt((double)a.Length * b.Length / (a.Length + b.Length));
        return (d, KolmogorovQ((en + 0.12 + 0.11 / en) * d));
    }

    /// <summary>Q_KS(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²), the Kolmogorov distribution's tail.</summary>
    private static double KolmogorovQ(double lambda)
    {
        if (lambda < 1e-3) return 1;
        double sum = 0, sign = 1;
        for (var k = 1; k <= 100; k++)
        {
            var term = sign * Math.Exp(-2 * k * k * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-12) break;
            sign = -sign;
        }
        return Math.Clamp(2 * sum, 0, 1);
    }

    private static int UpperBound(List<double> edges, double v)
    {
        int lo = 0, hi = edges.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (v >= edges[mid]) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static string Fmt(double v) => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
}
