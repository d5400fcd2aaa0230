using Pipelines.Quality.Drift;

namespace Pipelines.Quality.Challenger;

/// <summary>What a prediction is, which decides when two models "agree" on a row.</summary>
public enum PredictionTask
{
    /// <summary>A score or probability: two predictions agree when both are on the same side of the threshold.</summary>
    Binary,
    /// <summary>A class index: two predictions agree when they name the same class.</summary>
    Multiclass,
    /// <summary>A number: two predictions agree when they are at most the tolerance apart.</summary>
    Regression,
}

/// <summary>
/// The champion and the challenger on the same rows of one batch: how often they agree, how far apart their
/// prediction distributions are (PSI and KS D of the challenger's against the champion's), and their means.
/// </summary>
public sealed record ShadowComparison(
    long Rows, double Agreement, double PredictionPsi, double KsD, double ChampionMean, double ChallengerMean, double MeanAbsoluteDifference);

public static class Shadow
{
    /// <summary>
    /// Compares two models' predictions of the same rows (element i of both is row i). Pure; the caller guarantees
    /// the alignment. <paramref name="threshold"/> is the binary decision threshold, <paramref name="tolerance"/>
    /// the largest difference at which regression predictions still agree.
    /// </summary>
    public static ShadowComparison Compare(IReadOnlyList<double> champion, IReadOnlyList<double> challenger, PredictionTask task,
        double threshold = 0.5, double tolerance = 0)
    {
        if (champion.Count != challenger.Count)
            throw new ArgumentException($"the champion has {champion.Count} predictions and the challenger {challenger.Count}: a shadow comparison needs the same rows");
        if (champion.Count == 0) throw new ArgumentException("a shadow comparison needs at least one row");
        if (task == PredictionTask.Regression && !(tolerance >= 0)) throw new ArgumentException($"tolerance must be 0 or more, got {tolerance}");
        long agree = 0;
        double absDiff = 0;
        for (var i = 0; i < champion.Count; i++)
        {
            var a = champion[i];
            var b = challenger[i];
            var same = task switch
            {
                PredictionTask.Binary => a >= threshold == b >= threshold,
                PredictionTask.Multiclass => a == b,
                _ => Math.Abs(a - b) <= tolerance,
            };
            if (same) agree++;
            absDiff += Math.Abs(a - b);
        }
        var reference = champion.ToArray();
        var current = challenger.ToArray();
        // The champion's predictions are the reference: PSI says how differently the challenger would distribute this batch.
        var (psi, _) = DriftMeasures.NumericPsi(reference, current, 10);
        var (d, _) = DriftMeasures.KolmogorovSmirnov(reference, current);
        return new ShadowComparison(champion.Count, (double)agree / champion.Count, psi, d, reference.Average(), current.Average(), absDiff / champion.Count);
    }
}
