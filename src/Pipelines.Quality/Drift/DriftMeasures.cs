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
        if (lambda < 1.18)
        {
            // The alternating series converges slowly for small λ; the dual (theta-function) form converges fast there:
            // P(K ≤ λ) = √(2π)/λ · Σ exp(−(2k−1)²π²/(8λ²)).
            double cdf = 0;
            for (var k = 1; k <= 20; k++)
            {
                var m = 2 * k - 1;
                var term = Math.Exp(-m * m * Math.PI * Math.PI / (8 * lambda * lambda));
                cdf += term;
                if (term < 1e-16) break;
            }
            return Math.Clamp(1 - Math.Sqrt(2 * Math.PI) / lambda * cdf, 0, 1);
        }
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

    /// <summary>
    /// PSI of two histograms over the same bins (counts or shares; each side is normalised to shares). Empty bins are
    /// floored at 1e-4 so a category seen on one side only gives a large, finite value; bins empty on both sides add nothing.
    /// </summary>
    public static double Psi(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        if (reference.Length != current.Length) throw new ArgumentException($"{reference.Length} reference bins but {current.Length} current bins");
        double rn = Sum(reference), cn = Sum(current), psi = 0;
        if (rn <= 0 || cn <= 0) return 0;
        for (var i = 0; i < reference.Length; i++)
        {
            double r = reference[i] / rn, c = current[i] / cn;
            if (r == 0 && c == 0) continue;
            var rf = Math.Max(r, Floor);
            var cf = Math.Max(c, Floor);
            psi += (cf - rf) * Math.Log(cf / rf);
        }
        return psi;
    }

    /// <summary>
    /// Pearson's chi-squared goodness-of-fit of the current counts against the reference's shares: Σ (O−E)²/E with
    /// E = n·p. Reference shares are floored at 1e-4 (and renormalised) so a category new in the current data gives a
    /// large statistic rather than a division by zero. Degrees of freedom: bins seen on either side, minus one.
    /// </summary>
    public static (double Statistic, int DegreesOfFreedom, double P) ChiSquared(ReadOnlySpan<double> referenceCounts, ReadOnlySpan<double> currentCounts)
    {
        if (referenceCounts.Length != currentCounts.Length)
            throw new ArgumentException($"{referenceCounts.Length} reference bins but {currentCounts.Length} current bins");
        double rn = Sum(referenceCounts), n = Sum(currentCounts);
        if (rn <= 0 || n <= 0) return (0, 0, 1);
        double floored = 0;
        var k = 0;
        for (var i = 0; i < referenceCounts.Length; i++)
        {
            if (referenceCounts[i] == 0 && currentCounts[i] == 0) continue;
            k++;
            floored += Math.Max(referenceCounts[i] / rn, Floor);
        }
        double x = 0;
        for (var i = 0; i < referenceCounts.Length; i++)
        {
            if (referenceCounts[i] == 0 && currentCounts[i] == 0) continue;
            var expected = n * Math.Max(referenceCounts[i] / rn, Floor) / floored;
            var d = currentCounts[i] - expected;
            x += d * d / expected;
        }
        var dof = Math.Max(k - 1, 0);
        return (x, dof, dof == 0 ? 1 : ChiSquaredSurvival(x, dof));
    }

    /// <summary>P(X ≥ x) for X ~ χ²(dof): the regularised upper incomplete gamma Q(dof/2, x/2).</summary>
    public static double ChiSquaredSurvival(double x, int dof)
    {
        if (dof <= 0) throw new ArgumentOutOfRangeException(nameof(dof), "degrees of freedom must be positive");
        return x <= 0 ? 1 : RegularizedGammaQ(dof / 2.0, x / 2.0);
    }

    /// <summary>
    /// One-sample Kolmogorov–Smirnov of a sorted sample against a reference distribution known only by its quantiles
    /// at p = 0, 1/K, …, 1 (what a reference profile keeps instead of the training rows): the reference CDF is the
    /// piecewise-linear interpolation of those points. The p-value uses the two-sample effective size, since the
    /// quantiles were themselves estimated from <paramref name="referenceCount"/> rows.
    /// </summary>
    public static (double D, double P) KolmogorovSmirnov(ReadOnlySpan<double> referenceQuantiles, ReadOnlySpan<double> sortedCurrent, long referenceCount)
    {
        var n = sortedCurrent.Length;
        if (n == 0 || referenceQuantiles.Length < 2 || referenceCount == 0) return (0, 1);
        double d = 0;
        for (var i = 0; i < n;)
        {
            // Ties jump the empirical CDF once: compare the reference CDF with the level just below and at the value.
            var x = sortedCurrent[i];
            var j = i;
            while (j < n && sortedCurrent[j] == x) j++;
            var (below, at) = InterpolatedCdf(referenceQuantiles, x);
            d = Math.Max(d, Math.Max(Math.Abs((double)i / n - below), Math.Abs((double)j / n - at)));
            i = j;
        }
        var en = Math.Sqrt((double)referenceCount * n / (referenceCount + n));
        return (d, KolmogorovQ((en + 0.12 + 0.11 / en) * d));
    }

    /// <summary>
    /// One-sample Kolmogorov–Smirnov of a sorted sample against a discrete reference: its distinct values
    /// <paramref name="points"/> (ascending) with the share of reference rows at or below each. Exact for features
    /// with few distinct values (ages, counts, codes), where interpolating quantiles would smear point masses.
    /// </summary>
    public static (double D, double P) KolmogorovSmirnovDiscrete(ReadOnlySpan<double> points, ReadOnlySpan<double> cumulative,
        ReadOnlySpan<double> sortedCurrent, long referenceCount)
    {
        if (points.Length != cumulative.Length) throw new ArgumentException($"{points.Length} points but {cumulative.Length} cumulative shares");
        var n = sortedCurrent.Length;
        if (n == 0 || points.Length == 0 || referenceCount == 0) return (0, 1);
        double d = 0;
        for (var i = 0; i < n;)
        {
            var x = sortedCurrent[i];
            var j = i;
            while (j < n && sortedCurrent[j] == x) j++;
            // Reference CDF just below x (last point < x) and at x (last point ≤ x).
            var below = LowerBound(points, x) - 1;
            var at = below + 1 < points.Length && points[below + 1] == x ? below + 1 : below;
            var fBelow = below < 0 ? 0 : cumulative[below];
            var fAt = at < 0 ? 0 : cumulative[at];
            d = Math.Max(d, Math.Max(Math.Abs((double)i / n - fBelow), Math.Abs((double)j / n - fAt)));
            i = j;
        }
        var en = Math.Sqrt((double)referenceCount * n / (referenceCount + n));
        return (d, KolmogorovQ((en + 0.12 + 0.11 / en) * d));
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

    /// <summary>
    /// The interpolated reference CDF just below x and at x. A point mass (several quantiles equal to x, as with integer
    /// features) makes the two differ: below it the CDF is the first quantile level at x, at it the last.
    /// </summary>
    private static (double Below, double At) InterpolatedCdf(ReadOnlySpan<double> q, double x)
    {
        var k = q.Length - 1;
        if (x < q[0]) return (0, 0);
        if (x > q[k]) return (1, 1);
        int first = 0, last = k;
        while (first < k && q[first] < x) first++;
        while (last > 0 && q[last] > x) last--;
        if (first <= last) return ((double)first / k, (double)last / k);   // x equals one or more quantiles
        // q[last] < x < q[first] with first = last + 1: interpolate inside that segment.
        var p = (last + (x - q[last]) / (q[first] - q[last])) / k;
        return (p, p);
    }

    /// <summary>Share of missing values.</summary>
    public static double MissingRate(long missing, long rows) => rows == 0 ? 0 : (double)missing / rows;

    private static double Sum(ReadOnlySpan<double> values)
    {
        double s = 0;
        foreach (var v in values) s += v;
        return s;
    }

    /// <summary>Q(a, x) = Γ(a, x)/Γ(a): series below a+1, Lentz's continued fraction above (Numerical Recipes §6.2).</summary>
    private static double RegularizedGammaQ(double a, double x)
    {
        var logPrefix = -x + a * Math.Log(x) - LogGamma(a);
        if (x < a + 1)
        {
            double sum = 1 / a, term = sum, ap = a;
            for (var n = 0; n < 1000; n++)
            {
                ap++;
                term *= x / ap;
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-15) break;
            }
            return Math.Clamp(1 - sum * Math.Exp(logPrefix), 0, 1);
        }
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (var i = 1; i < 1000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Clamp(Math.Exp(logPrefix) * h, 0, 1);
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9; about 15 significant digits).</summary>
    private static double LogGamma(double x)
    {
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = g[0];
        for (var i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
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
