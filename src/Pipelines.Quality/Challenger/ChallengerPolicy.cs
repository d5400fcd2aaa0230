using System.Globalization;

namespace Pipelines.Quality.Challenger;

/// <summary>
/// When a challenger is proposed for approval: after at least <see cref="MinBatches"/> shadow-scored batches with
/// realized <see cref="Metric"/> for both models (on the same labelled rows), when the challenger's value is not worse
/// than the champion's by more than <see cref="Margin"/>. A batch counts only with at least <see cref="MinLabelled"/>
/// labelled rows.
/// </summary>
public sealed record ChallengerPolicy(int MinBatches = 3, string Metric = "roc_auc", double Margin = 0, long MinLabelled = 1)
{
    /// <summary>Realized metrics whose better direction is known (what <c>join_labels</c> and <c>shadow_score</c> compute).</summary>
    public static readonly IReadOnlyDictionary<string, bool> HigherIsBetter = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["roc_auc"] = true, ["accuracy"] = true, ["precision"] = true, ["recall"] = true, ["r2"] = true,
        ["log_loss"] = false, ["rmse"] = false, ["mae"] = false,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the field that is out of range.</summary>
    public ChallengerPolicy Validate()
    {
        if (MinBatches < 1) throw new ArgumentException($"min_batches must be at least 1, got {MinBatches}");
        if (!HigherIsBetter.ContainsKey(Metric))
            throw new ArgumentException($"metric '{Metric}' is not one the policy can compare (known: {string.Join(", ", HigherIsBetter.Keys)})");
        if (!(Margin >= 0)) throw new ArgumentException($"margin must be 0 or more, got {Margin}");
        if (MinLabelled < 1) throw new ArgumentException($"min_labelled must be at least 1, got {MinLabelled}");
        return this;
    }
}

/// <summary>One shadow-scored batch as the policy sees it: which versions were compared and their realized metrics (null until labelled).</summary>
public sealed record ShadowEvidence(
    string Batch, string ChampionVersion, string ChallengerVersion, long Rows, double Agreement, long Labelled,
    IReadOnlyDictionary<string, double>? ChampionMetrics, IReadOnlyDictionary<string, double>? ChallengerMetrics);

/// <summary>The policy's answer, with a reason a person can read; the metrics are the labelled-row-weighted means over the evidence.</summary>
public sealed record ChallengerDecision(bool Propose, string Reason, int EvidenceBatches, double? ChampionMetric, double? ChallengerMetric);

public static class ChallengerRules
{
    /// <summary>
    /// Decides whether the challenger is proposed. Evidence is only what compared these two versions: a batch scored
    /// against another champion, or by another challenger, says nothing about this pair.
    /// </summary>
    public static ChallengerDecision Decide(IEnumerable<ShadowEvidence> series, string championVersion, string challengerVersion, ChallengerPolicy policy)
    {
        policy.Validate();
        var pair = $"challenger v{challengerVersion} against champion v{championVersion}";
        if (championVersion == challengerVersion)
            return new ChallengerDecision(false, $"challenger v{challengerVersion} is already the champion: nothing to propose", 0, null, null);
        var evidence = series
            .Where(e => e.ChampionVersion == championVersion && e.ChallengerVersion == challengerVersion && e.Labelled >= policy.MinLabelled)
            .Where(e => e.ChampionMetrics?.GetValueOrDefault(policy.Metric, double.NaN) is { } a && double.IsFinite(a)
                        && e.ChallengerMetrics?.GetValueOrDefault(policy.Metric, double.NaN) is { } b && double.IsFinite(b))
            .ToList();
        if (evidence.Count < policy.MinBatches)
            return new ChallengerDecision(false,
                $"{evidence.Count} of {policy.MinBatches} batches of shadow evidence ({pair}, each with realized {policy.Metric} on ≥ {policy.MinLabelled} labelled rows): not proposed yet",
                evidence.Count, null, null);

        var weight = (double)evidence.Sum(e => e.Labelled);
        var champion = evidence.Sum(e => e.ChampionMetrics![policy.Metric] * e.Labelled) / weight;
        var challenger = evidence.Sum(e => e.ChallengerMetrics![policy.Metric] * e.Labelled) / weight;
        var higher = ChallengerPolicy.HigherIsBetter[policy.Metric];
        var shortfall = higher ? champion - challenger : challenger - champion;
        var numbers = $"{policy.Metric} {F(challenger)} against the champion's {F(champion)} over {evidence.Count} batches ({weight:0} labelled rows)";
        if (shortfall > policy.Margin)
            return new ChallengerDecision(false,
                $"{pair}: {numbers} is worse by {F(shortfall)}, more than the margin {F(policy.Margin)}: not proposed", evidence.Count, champion, challenger);
        return new ChallengerDecision(true,
            $"{pair}: {numbers}, within the margin {F(policy.Margin)} ({policy.MinBatches} batches required): proposed for approval", evidence.Count, champion, challenger);
    }

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
