using Pipelines.Quality.Challenger;

namespace Pipelines.Quality.Tests.Challenger;

/// <summary>The shadow comparison and the promotion policy as pure functions, worked by hand.</summary>
public sealed class ChallengerRulesTests
{
    [Test]
    public void Compare_Binary_AgreesOnTheSideOfTheThreshold_AndMeasuresTheDistance()
    {
        // Rows 1 and 4 disagree (0.6 vs 0.4, 0.2 vs 0.5): the threshold belongs to the positive side.
        var champion = new[] { 0.6, 0.9, 0.1, 0.2 };
        var challenger = new[] { 0.4, 0.8, 0.1, 0.5 };
        var c = Shadow.Compare(champion, challenger, PredictionTask.Binary);
        Assert.That((c.Rows, c.Agreement), Is.EqualTo((4L, 0.5)));
        Assert.That(c.MeanAbsoluteDifference, Is.EqualTo((0.2 + 0.1 + 0 + 0.3) / 4).Within(1e-12));
        Assert.That((c.ChampionMean, c.ChallengerMean), Is.EqualTo((0.45, 0.45)).Using<(double, double)>((a, b) => Math.Abs(a.Item1 - b.Item1) < 1e-12 && Math.Abs(a.Item2 - b.Item2) < 1e-12));
        Assert.That(Shadow.Compare(champion, challenger, PredictionTask.Binary, threshold: 0.45).Agreement, Is.EqualTo(0.5), "0.4 / 0.6 and 0.2 / 0.5 still straddle 0.45");
    }

    [Test]
    public void Compare_IdenticalPredictions_AgreeFully_WithNoDistributionDifference()
    {
        var p = Enumerable.Range(0, 100).Select(i => i / 100.0).ToArray();
        var c = Shadow.Compare(p, p, PredictionTask.Binary);
        Assert.That((c.Agreement, c.PredictionPsi, c.KsD, c.MeanAbsoluteDifference), Is.EqualTo((1.0, 0.0, 0.0, 0.0)));
    }

    [Test]
    public void Compare_ShiftedScores_ShowAsPsiAndKs()
    {
        // The challenger predicts every row 500 higher than a uniform champion over 0…999: half its mass is above the
        // champion's maximum, KS D = 0.5. (Whole numbers, so the differences are exact.)
        var champion = Enumerable.Range(0, 1000).Select(i => (double)i).ToArray();
        var challenger = champion.Select(v => v + 500).ToArray();
        var c = Shadow.Compare(champion, challenger, PredictionTask.Regression, tolerance: 500);
        Assert.That(c.KsD, Is.EqualTo(0.5).Within(1e-3));
        Assert.That(c.PredictionPsi, Is.GreaterThan(1));
        Assert.That(c.Agreement, Is.EqualTo(1), "every row within the tolerance of 500");
        Assert.That(Shadow.Compare(champion, challenger, PredictionTask.Regression, tolerance: 499).Agreement, Is.EqualTo(0));
    }

    [Test]
    public void Compare_Multiclass_AgreesOnEqualClasses_AndRejectsMisalignedRows()
    {
        Assert.That(Shadow.Compare([0, 1, 2, 2], [0, 2, 2, 2], PredictionTask.Multiclass).Agreement, Is.EqualTo(0.75));
        Assert.That(() => Shadow.Compare([0, 1], [0], PredictionTask.Multiclass), Throws.ArgumentException.With.Message.Contains("same rows"));
    }

    private static ShadowEvidence Batch(string batch, double champion, double challenger, long labelled = 100, string championV = "1", string challengerV = "2") =>
        new(batch, championV, challengerV, 100, 0.9, labelled,
            new Dictionary<string, double> { ["roc_auc"] = champion, ["log_loss"] = 1 - champion },
            new Dictionary<string, double> { ["roc_auc"] = challenger, ["log_loss"] = 1 - challenger });

    [Test]
    public void Decide_FewerThanMinBatches_ProposesNothing_AndSaysHowManyThereAre()
    {
        var policy = new ChallengerPolicy(MinBatches: 3);
        var d = ChallengerRules.Decide([Batch("b1", 0.80, 0.90), Batch("b2", 0.80, 0.90)], "1", "2", policy);
        Assert.That(d.Propose, Is.False);
        Assert.That(d.EvidenceBatches, Is.EqualTo(2));
        Assert.That(d.Reason, Does.StartWith("2 of 3 batches of shadow evidence (challenger v2 against champion v1"));
    }

    [Test]
    public void Decide_CountsOnlyLabelledBatchesOfTheSamePair()
    {
        var policy = new ChallengerPolicy(MinBatches: 2, MinLabelled: 10);
        var unlabelled = Batch("b1", 0.8, 0.9) with { Labelled = 0, ChampionMetrics = null, ChallengerMetrics = null };
        var fewLabels = Batch("b2", 0.8, 0.9, labelled: 5);
        var otherChampion = Batch("b3", 0.8, 0.9, championV: "0");
        var otherChallenger = Batch("b4", 0.8, 0.9, challengerV: "3");
        var good = Batch("b5", 0.8, 0.9);
        var d = ChallengerRules.Decide([unlabelled, fewLabels, otherChampion, otherChallenger, good], "1", "2", policy);
        Assert.That((d.Propose, d.EvidenceBatches), Is.EqualTo((false, 1)));
        Assert.That(ChallengerRules.Decide([good, good with { Batch = "b6" }], "1", "2", policy).Propose, Is.True);
    }

    [Test]
    public void Decide_WeighsBatchesByLabelledRows_AndProposesWithinTheMargin()
    {
        // Champion: (0.80·100 + 0.90·300) / 400 = 0.875; challenger: (0.84·100 + 0.86·300) / 400 = 0.855 → 0.02 worse.
        var series = new[] { Batch("b1", 0.80, 0.84, 100), Batch("b2", 0.90, 0.86, 300) };
        var strict = ChallengerRules.Decide(series, "1", "2", new ChallengerPolicy(MinBatches: 2, Margin: 0.01));
        Assert.That(strict.Propose, Is.False);
        Assert.That(strict.ChampionMetric, Is.EqualTo(0.875).Within(1e-12));
        Assert.That(strict.ChallengerMetric, Is.EqualTo(0.855).Within(1e-12));
        Assert.That(strict.Reason, Does.Contain("roc_auc 0.855 against the champion's 0.875 over 2 batches (400 labelled rows) is worse by 0.02, more than the margin 0.01"));
        var lenient = ChallengerRules.Decide(series, "1", "2", new ChallengerPolicy(MinBatches: 2, Margin: 0.025));
        Assert.That(lenient.Propose, Is.True, lenient.Reason);
        Assert.That(lenient.Reason, Does.EndWith("proposed for approval"));
    }

    [Test]
    public void Decide_LowerIsBetterMetrics_AreComparedTheOtherWay()
    {
        // log_loss = 1 − AUC here: the challenger's higher AUC is a lower (better) log loss.
        var series = new[] { Batch("b1", 0.80, 0.90) };
        Assert.That(ChallengerRules.Decide(series, "1", "2", new ChallengerPolicy(MinBatches: 1, Metric: "log_loss")).Propose, Is.True);
        Assert.That(ChallengerRules.Decide([Batch("b1", 0.90, 0.80)], "1", "2", new ChallengerPolicy(MinBatches: 1, Metric: "log_loss")).Propose, Is.False);
    }

    [Test]
    public void Decide_SameVersion_OrABadPolicy_IsRefusedClearly()
    {
        Assert.That(ChallengerRules.Decide([Batch("b1", 0.8, 0.9)], "2", "2", new ChallengerPolicy(1)).Reason, Does.Contain("already the champion"));
        Assert.That(() => ChallengerRules.Decide([], "1", "2", new ChallengerPolicy(0)), Throws.ArgumentException.With.Message.Contains("min_batches must be at least 1"));
        Assert.That(() => ChallengerRules.Decide([], "1", "2", new ChallengerPolicy(Metric: "f1")), Throws.ArgumentException.With.Message.Contains("metric 'f1'"));
        Assert.That(() => ChallengerRules.Decide([], "1", "2", new ChallengerPolicy(Margin: -0.1)), Throws.ArgumentException.With.Message.Contains("margin"));
    }
}
