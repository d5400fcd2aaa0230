using Pipelines.Ml.Tuning;

namespace Pipelines.Ml.Tests.Tuning;

/// <summary>Trials restored from elsewhere (siblings of a sweep on other workers) count for the median rule as trials of a study do.</summary>
public class RestoredTrialTests
{
    private static IEnumerable<KeyValuePair<int, double>> Curve(double level, int steps) =>
        Enumerable.Range(0, steps).Select(s => KeyValuePair.Create(s, level + 1.0 / (s + 1)));

    [Test]
    public void MedianRule_DecidesAlike_ForStudyTrialsAndRestoredOnes()
    {
        var levels = new[] { 0.1, 0.2, 0.3, 0.9 };
        var space = new SearchSpace([new Uniform("q", 0, 1)]);
        var study = new Study(space, new RandomSampler(1), Direction.Minimize, new MedianPruner(startupTrials: 3, warmupSteps: 2));
        var decisions = new List<bool>();
        foreach (var level in levels)
        {
            var t = study.Ask();
            var pruned = false;
            foreach (var (step, v) in Curve(level, 6))
                if (pruned = study.Report(t, step, v)) break;
            decisions.Add(pruned);
            if (pruned) study.Prune(t); else study.Tell(t, level);
        }

        // The same history, rebuilt from what siblings would have stored, and the same last trial asked step by step.
        var pruner = new MedianPruner(startupTrials: 3, warmupSteps: 2);
        var siblings = study.Trials.Take(3).Select(t => Trial.Restore(t.Number, t.State, t.Value, t.Intermediate)).ToList();
        var last = new Trial(3, new());
        int? stoppedAt = null;
        foreach (var (step, v) in Curve(levels[3], 6))
        {
            last.Intermediate[step] = v;
            if (pruner.ShouldPrune(last, step, siblings, Direction.Minimize)) { stoppedAt = step; break; }
        }

        Assert.That(decisions, Is.EqualTo(new[] { false, false, false, true }), "the worst trial is pruned once three have completed");
        Assert.That(stoppedAt, Is.EqualTo(study.Trials[3].Intermediate.Keys.Max()), "restored siblings stop it at the same step");
        Assert.That(siblings.Select(s => (s.State, s.Value)), Is.EqualTo(study.Trials.Take(3).Select(s => (s.State, s.Value))));

        // Running and failed trials say nothing yet: restored as such, they do not count.
        var unfinished = siblings.Select(s => Trial.Restore(s.Number, TrialState.Running, null, s.Intermediate)).ToList();
        var again = new Trial(3, new());
        foreach (var (step, v) in Curve(levels[3], 6))
        {
            again.Intermediate[step] = v;
            Assert.That(pruner.ShouldPrune(again, step, unfinished, Direction.Minimize), Is.False);
        }
    }
}
