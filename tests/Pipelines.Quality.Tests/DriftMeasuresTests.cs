using Pipelines.Data.Tables;
using Pipelines.Quality.Drift;

namespace Pipelines.Quality.Tests;

public class DriftMeasuresTests
{
    private static Column Strings(params string?[] values)
    {
        var b = (BinaryBuilder)ColumnBuilder.Create(DataType.String);
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v); }
        return b.Build();
    }

    [Test]
    public void CategoricalPsi_MatchesTheFormula()
    {
        // 50/50 against 80/20: (0.8-0.5)·ln(0.8/0.5) + (0.2-0.5)·ln(0.2/0.5)
        var reference = Strings("a", "b", "a", "b", "a", "b", "a", "b", "a", "b");
        var current = Strings("a", "a", "a", "a", "a", "a", "a", "a", "b", "b");
        var (psi, bins) = DriftMeasures.CategoricalPsi(reference, current);
        Assert.That(psi, Is.EqualTo(0.3 * Math.Log(0.8 / 0.5) + -0.3 * Math.Log(0.2 / 0.5)).Within(1e-12));
        Assert.That(bins.Select(b => (b.Label, b.ReferenceShare, b.CurrentShare)), Is.EqualTo(new[] { ("a", 0.5, 0.8), ("b", 0.5, 0.2) }));
    }

    [Test]
    public void NumericPsi_CountsNullsAsTheirOwnBin()
    {
        var reference = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();
        var current = Enumerable.Range(0, 100).Select(i => i < 50 ? double.NaN : i).ToArray();
        var (psi, bins) = DriftMeasures.NumericPsi(reference, current, 10);
        Assert.That(bins.Single(b => b.Label == "null").CurrentShare, Is.EqualTo(0.5));
        Assert.That(psi, Is.GreaterThan(1));
    }

    [Test]
    public void KolmogorovSmirnov_StatisticAndPValue()
    {
        var (d, p) = DriftMeasures.KolmogorovSmirnov([1, 2, 3, 4], [3, 4, 5, 6]);
        Assert.That(d, Is.EqualTo(0.5));
        Assert.That(p, Is.GreaterThan(0.3).And.LessThan(1), "small samples half apart are not significant");

        var (same, pSame) = DriftMeasures.KolmogorovSmirnov(Enumerable.Range(0, 500).Select(i => (double)i).ToArray(),
            Enumerable.Range(0, 500).Select(i => (double)i).ToArray());
        Assert.That((same, pSame), Is.EqualTo((0.0, 1.0)));

        var (far, pFar) = DriftMeasures.KolmogorovSmirnov(Enumerable.Range(0, 500).Select(i => (double)i).ToArray(),
            Enumerable.Range(250, 500).Select(i => (double)i).ToArray());
        Assert.That(far, Is.EqualTo(0.5).Within(1e-12));
        Assert.That(pFar, Is.LessThan(1e-20));
    }
}
