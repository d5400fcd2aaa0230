using Pipelines.Data.Tables;
using Pipelines.Quality.Drift;

namespace Pipelines.Quality.Tests;

/// <summary>
/// Drift statistics and reference profiles against answers worked out by hand or in closed form (no third-party
/// statistics library in the loop): χ² tails with even degrees of freedom are finite sums of exponentials, uniform
/// data has known quantiles, and a uniform shift has known PSI and KS.
/// </summary>
public class MonitoringStatisticsTests
{
    private static Column Doubles(IEnumerable<double?> values)
    {
        var b = (PrimitiveBuilder<double>)ColumnBuilder.Create(DataType.Float64);
        foreach (var v in values) { if (v is { } x) b.Append(x); else b.AppendNull(); }
        return b.Build();
    }

    private static Column Ints(IEnumerable<int?> values)
    {
        var b = (PrimitiveBuilder<int>)ColumnBuilder.Create(DataType.Int32);
        foreach (var v in values) { if (v is { } x) b.Append(x); else b.AppendNull(); }
        return b.Build();
    }

    private static Column Strings(IEnumerable<string?> values)
    {
        var b = (BinaryBuilder)ColumnBuilder.Create(DataType.String);
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v); }
        return b.Build();
    }

    private static Table TableOf(params (string Name, Column Column)[] columns) =>
        new(new Schema(columns.Select(c => new Field(c.Name, c.Column.Type))), columns.Select(c => c.Column).ToArray());

    private static IEnumerable<string> Repeat(string value, int count) => Enumerable.Repeat(value, count);

    /// <summary>n evenly spaced points of U[lo, lo+1): (i + ½)/n + lo.</summary>
    private static double[] Uniform(int n, double lo = 0) => Enumerable.Range(0, n).Select(i => lo + (i + 0.5) / n).ToArray();

    [Test]
    public void ChiSquaredSurvival_MatchesClosedForms()
    {
        foreach (var x in new[] { 0.5, 1.0, 5.0, 10.0, 40.0 })
        {
            // dof 2: e^(−x/2); dof 4: e^(−x/2)(1 + x/2); dof 6: e^(−x/2)(1 + x/2 + x²/8).
            Assert.That(DriftMeasures.ChiSquaredSurvival(x, 2), Is.EqualTo(Math.Exp(-x / 2)).Within(1e-12 + 1e-10 * Math.Exp(-x / 2)));
            Assert.That(DriftMeasures.ChiSquaredSurvival(x, 4), Is.EqualTo(Math.Exp(-x / 2) * (1 + x / 2)).Within(1e-12));
            Assert.That(DriftMeasures.ChiSquaredSurvival(x, 6), Is.EqualTo(Math.Exp(-x / 2) * (1 + x / 2 + x * x / 8)).Within(1e-12));
        }
        // Textbook critical values: χ²(1) 3.841459 and χ²(10) 18.307038 at 5 %, χ²(1) 6.634897 at 1 %.
        Assert.That(DriftMeasures.ChiSquaredSurvival(3.841458820694124, 1), Is.EqualTo(0.05).Within(1e-9));
        Assert.That(DriftMeasures.ChiSquaredSurvival(18.307038053275146, 10), Is.EqualTo(0.05).Within(1e-9));
        Assert.That(DriftMeasures.ChiSquaredSurvival(6.6348966010212145, 1), Is.EqualTo(0.01).Within(1e-9));
        Assert.That(DriftMeasures.ChiSquaredSurvival(0, 3), Is.EqualTo(1));
    }

    [Test]
    public void ChiSquared_GoodnessOfFit_ByHand()
    {
        // Reference shares 50/30/20; 100 current rows 40/40/20: expected 50/30/20, so χ² = 10²/50 + 10²/30 + 0 = 16/3.
        var (x, dof, p) = DriftMeasures.ChiSquared([500, 300, 200], [40, 40, 20]);
        Assert.That(x, Is.EqualTo(16.0 / 3).Within(1e-9));
        Assert.That(dof, Is.EqualTo(2));
        Assert.That(p, Is.EqualTo(Math.Exp(-8.0 / 3)).Within(1e-12));
        // Bins empty on both sides do not count as degrees of freedom.
        Assert.That(DriftMeasures.ChiSquared([500, 300, 200, 0], [40, 40, 20, 0]).DegreesOfFreedom, Is.EqualTo(2));
    }

    [Test]
    public void Psi_OfHistograms_IsTheFormula_AndIgnoresScale()
    {
        var expected = 0.3 * Math.Log(0.8 / 0.5) + -0.3 * Math.Log(0.2 / 0.5);
        Assert.That(DriftMeasures.Psi([0.5, 0.5], [0.8, 0.2]), Is.EqualTo(expected).Within(1e-12));
        Assert.That(DriftMeasures.Psi([5000, 5000], [8, 2]), Is.EqualTo(expected).Within(1e-12));
        Assert.That(DriftMeasures.Psi([1, 1, 0], [1, 1, 0]), Is.EqualTo(0));
        Assert.Throws<ArgumentException>(() => DriftMeasures.Psi([1, 1], [1]));
    }

    [Test]
    public void KolmogorovSmirnov_AgainstQuantiles_OfAShiftedUniform()
    {
        // Reference U[0,1] by its exact percentiles. A current sample of U[0,1) at (i+½)/1000 is as close as a
        // sample of 1000 can be: D = 0.5/1000. Shifted by 0.2, the largest gap is just below x = 0.9995: 0.2 + 0.0005.
        var quantiles = Enumerable.Range(0, 101).Select(k => k / 100.0).ToArray();
        var (same, pSame) = DriftMeasures.KolmogorovSmirnov(quantiles, Uniform(1000), 100_000);
        Assert.That(same, Is.EqualTo(0.0005).Within(1e-12));
        Assert.That(pSame, Is.EqualTo(1).Within(1e-6));
        var (shifted, pShifted) = DriftMeasures.KolmogorovSmirnov(quantiles, Uniform(1000, 0.2), 100_000);
        Assert.That(shifted, Is.EqualTo(0.2005).Within(1e-12));
        Assert.That(pShifted, Is.LessThan(1e-30));
    }

    [Test]
    public void KolmogorovSmirnov_AgainstQuantiles_HandlesPointMasses()
    {
        // Integer feature: half the reference is 1, half 2 (quantiles 1,1,1,2,2). A batch of only 1s jumps from 0 to 1
        // at x = 1, where the reference CDF is 0.5 (the last quantile level equal to 1 is 2/4): D = 0.5.
        var (d, _) = DriftMeasures.KolmogorovSmirnov([1, 1, 1, 2, 2], [1, 1, 1, 1], 1000);
        Assert.That(d, Is.EqualTo(0.5).Within(1e-12));
        // Interpolated quantiles smear point masses; the exact step CDF does not: the same 50/50 mix gives D = 0, a
        // 75/25 mix D = 0.25 (at x = 1: 0.75 against 0.5), and a value between the reference's adds no false jump.
        Assert.That(DriftMeasures.KolmogorovSmirnovDiscrete([1, 2], [0.5, 1], [1, 1, 2, 2], 1000).D, Is.EqualTo(0).Within(1e-12));
        Assert.That(DriftMeasures.KolmogorovSmirnovDiscrete([1, 2], [0.5, 1], [1, 1, 1, 2], 1000).D, Is.EqualTo(0.25).Within(1e-12));
        Assert.That(DriftMeasures.KolmogorovSmirnovDiscrete([1, 2], [0.5, 1], [1, 1.5, 2, 2], 1000).D, Is.EqualTo(0.25).Within(1e-12));

        // The profile keeps the step CDF of an integer feature, so identical integer batches show no drift.
        var ints = Ints(Enumerable.Range(0, 1000).Select(i => (int?)(i % 7)));
        var profile = Profiler.Profile(TableOf(("n", ints)), new ProfileOptions());
        Assert.That(profile.Features[0].Points, Is.EqualTo(new double[] { 0, 1, 2, 3, 4, 5, 6 }));
        Assert.That(DriftMonitor.Compare(profile, TableOf(("n", ints)), new MonitorThresholds()).Features[0].KsD, Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void Profile_OfKnownData_HasExactQuantilesBinsCategoriesAndMissingRates()
    {
        // 0..999 plus 250 nulls; a category column 60 % a, 30 % b, 10 % null.
        var numbers = Ints(Enumerable.Range(0, 1000).Select(i => (int?)i).Concat(Enumerable.Repeat<int?>(null, 250)));
        var cats = Strings(Repeat("a", 750).Concat(Repeat("b", 375)).Concat(Enumerable.Repeat<string?>(null, 125)));
        var profile = Profiler.Profile(TableOf(("n", numbers), ("c", cats)), new ProfileOptions());

        var n = profile.Feature("n")!;
        Assert.That(n.Kind, Is.EqualTo(FeatureKind.Numeric));
        Assert.That((n.Count, n.Missing, n.Min, n.Max, n.Mean), Is.EqualTo((1250L, 250L, (double?)0, (double?)999, (double?)499.5)));
        Assert.That(n.MissingRate, Is.EqualTo(0.2));
        Assert.That(n.Quantiles![50], Is.EqualTo(499.5), "type 7 median of 0..999");
        Assert.That(n.Quantiles[10], Is.EqualTo(99.9).Within(1e-9));
        Assert.That(n.Edges, Is.EqualTo(new[] { 99.9, 199.8, 299.7, 399.6, 499.5, 599.4, 699.3, 799.2, 899.1 }).Within(1e-9));
        Assert.That(n.BinCounts, Is.EqualTo(Enumerable.Repeat(100L, 10)), "each decile bin holds 100 of 1000");

        var c = profile.Feature("c")!;
        Assert.That(c.Kind, Is.EqualTo(FeatureKind.Categorical));
        Assert.That(c.Categories, Is.EqualTo(new Dictionary<string, long> { ["a"] = 750, ["b"] = 375 }));
        Assert.That((c.Missing, c.OtherCount), Is.EqualTo((125L, 0L)));

        var few = Profiler.Profile(TableOf(("c", cats)), new ProfileOptions { MaxCategories = 1 }).Feature("c")!;
        Assert.That((few.Categories!.Keys.Single(), few.OtherCount), Is.EqualTo(("a", 375L)));
    }

    [Test]
    public void Profile_RoundTripsThroughJson_AndBadJsonNamesTheSource()
    {
        var profile = Profiler.Profile(TableOf(("x", Doubles(Uniform(500).Select(v => (double?)v))), ("s", Strings(Repeat("q", 10).Concat(Repeat("r", 490))))),
            new ProfileOptions(), predictions: Uniform(500)) with { Source = "train.parquet" };
        var back = ReferenceProfile.Parse(profile.ToJson(), "profile.json");
        Assert.That(back.ToJson(), Is.EqualTo(profile.ToJson()));
        Assert.That(back.Prediction!.Quantiles, Is.EqualTo(profile.Prediction!.Quantiles));

        var e = Assert.Throws<FormatException>(() => ReferenceProfile.Parse("{\"rows\": 3, \"features\": [ {\"name\": 1} ]}", "ref.json"))!;
        Assert.That(e.Message, Does.StartWith("ref.json: not a reference profile").And.Contain("line 1"));
        e = Assert.Throws<FormatException>(() => ReferenceProfile.Parse("{\"format\": 9, \"rows\": 3, \"features\": []}", "ref.json"))!;
        Assert.That(e.Message, Does.Contain("format 9 is not supported"));
    }

    [Test]
    public void Monitor_AShiftedUniform_HasTheKnownPsiAndKs_AndAlerts()
    {
        var reference = Profiler.Profile(TableOf(("x", Doubles(Uniform(10_000).Select(v => (double?)v)))), new ProfileOptions());
        var thresholds = new MonitorThresholds();

        var same = DriftMonitor.Compare(reference, TableOf(("x", Doubles(Uniform(2000).Select(v => (double?)v)))), thresholds);
        Assert.That(same.Verdict, Is.EqualTo(MonitorVerdict.Ok), string.Join("; ", same.Findings));
        Assert.That(same.Features[0].Psi, Is.EqualTo(0).Within(1e-3));

        // Shifted by 0.2: the two lowest decile bins empty (floored at 1e-4), seven keep 10 %, the top one gets 30 %.
        var shifted = DriftMonitor.Compare(reference, TableOf(("x", Doubles(Uniform(2000, 0.2).Select(v => (double?)v)))), thresholds);
        var x = shifted.Features.Single();
        var psi = 2 * (1e-4 - 0.1) * Math.Log(1e-4 / 0.1) + (0.3 - 0.1) * Math.Log(3);
        Assert.That(x.Psi, Is.EqualTo(psi).Within(1e-3));
        Assert.That(x.KsD, Is.EqualTo(0.2).Within(1e-3));
        Assert.That(x.OutOfRange, Is.EqualTo(0.2).Within(1e-3), "a fifth of the batch lies above the reference maximum");
        Assert.That((x.Verdict, shifted.Verdict), Is.EqualTo((MonitorVerdict.Alert, MonitorVerdict.Alert)));
        Assert.That(shifted.Findings, Has.Some.StartsWith("x: PSI 1.6").And.Some.Contains("outside the reference range"));
    }

    [Test]
    public void Monitor_Categories_ChiSquaredByHand_UnseenValues_MissingRate_AndSchema()
    {
        var reference = Profiler.Profile(TableOf(
            ("c", Strings(Repeat("a", 500).Concat(Repeat("b", 300)).Concat(Repeat("c", 200)))),
            ("n", Doubles(Uniform(1000).Select(v => (double?)v))),
            ("gone", Doubles(Uniform(1000).Select(v => (double?)v)))), new ProfileOptions());

        var batch = TableOf(
            ("c", Strings(Repeat("a", 40).Concat(Repeat("b", 40)).Concat(Repeat("c", 20)))),
            // 30 % missing where the reference had none.
            ("n", Doubles(Uniform(100).Select((v, i) => i % 10 < 3 ? null : (double?)v))));
        var result = DriftMonitor.Compare(reference, batch, new MonitorThresholds());
        var c = result.Features.Single(f => f.Name == "c");
        Assert.That(c.ChiSquared, Is.EqualTo(16.0 / 3).Within(1e-9));
        Assert.That(c.ChiSquaredP, Is.EqualTo(Math.Exp(-8.0 / 3)).Within(1e-12));
        Assert.That(c.Psi, Is.EqualTo(-0.1 * Math.Log(0.4 / 0.5) + 0.1 * Math.Log(0.4 / 0.3)).Within(1e-12));
        Assert.That(c.Unseen, Is.EqualTo(0));
        var n = result.Features.Single(f => f.Name == "n");
        Assert.That((n.ReferenceMissingRate, n.CurrentMissingRate), Is.EqualTo((0.0, 0.3)));
        Assert.That(n.Verdict, Is.EqualTo(MonitorVerdict.Alert), "30 points more missing ≥ the 20-point alert level");
        Assert.That(result.Findings, Does.Contain("column 'gone' is missing from the batch"));

        var unseen = DriftMonitor.Compare(reference, TableOf(("c", Strings(Repeat("a", 90).Concat(Repeat("zz", 10)))),
            ("n", Doubles(Uniform(100).Select(v => (double?)v))), ("gone", Strings(Repeat("text", 100)))), new MonitorThresholds());
        var cu = unseen.Features.Single(f => f.Name == "c");
        Assert.That((cu.Unseen, cu.Verdict), Is.EqualTo(((double?)0.1, MonitorVerdict.Alert)));
        Assert.That(cu.Reasons, Has.Some.Contains("'zz'"));
        Assert.That(unseen.Findings, Has.Some.StartsWith("column 'gone' is string in the batch but was float64 (numeric)"));
    }

    [Test]
    public void Monitor_PredictionDrift_AndWarnLevel()
    {
        var features = TableOf(("x", Doubles(Uniform(1000).Select(v => (double?)v))));
        var reference = Profiler.Profile(features, new ProfileOptions(), predictions: Uniform(1000));
        // Predictions shifted by 0.08: the lowest decile bin keeps 2 %, the top one gets 18 % — PSI ≈ 0.18 (warn, not alert).
        var result = DriftMonitor.Compare(reference, features, new MonitorThresholds(), Uniform(1000, 0.08));
        Assert.That(result.Features.Single().Verdict, Is.EqualTo(MonitorVerdict.Ok));
        var p = result.Prediction!;
        var psi = (0.02 - 0.1) * Math.Log(0.02 / 0.1) + (0.18 - 0.1) * Math.Log(0.18 / 0.1);
        Assert.That(p.Psi, Is.EqualTo(psi).Within(0.01));
        Assert.That((p.Verdict, result.Verdict), Is.EqualTo((MonitorVerdict.Warn, MonitorVerdict.Warn)));
        Assert.That(p.OutOfRange, Is.Not.Null, "reported, though predictions are not range-judged");
        Assert.That(result.Findings, Has.Some.StartsWith("predictions: PSI"));
    }

    [Test]
    public void Monitor_EmptyBatch_Alerts()
    {
        var reference = Profiler.Profile(TableOf(("x", Doubles(Uniform(10).Select(v => (double?)v)))), new ProfileOptions());
        var result = DriftMonitor.Compare(reference, TableOf(("x", Doubles([]))), new MonitorThresholds());
        Assert.That(result.Verdict, Is.EqualTo(MonitorVerdict.Alert));
        Assert.That(result.Findings, Does.Contain("the batch has no rows"));
    }
}
