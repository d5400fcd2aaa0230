using System.Text.Json.Nodes;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Splits;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;

namespace Pipelines.Ml.Tests.Tuning;

/// <summary>An in-process study over real XGBoost training, pruned from the per-iteration validation metric.</summary>
public class XGBoostSweepTests
{
    [Test]
    public void TpeStudy_PrunesXGBoostTrials_FromPerIterationMetrics_AndIsRepeatable()
    {
        var x = TestData.SyntheticFixture(out var y);
        var split = Splitter.Stratified(y, 0.3, seed: 2);
        TrainingSet Part(int[] rows)
        {
            var values = rows.SelectMany(r => x.Row(r).ToArray()).ToArray();
            return new TrainingSet(new FeatureMatrix(values, rows.Length, x.Columns), rows.Select(r => y[r]).ToArray());
        }
        var train = Part(split.Train);
        var valid = Part(split.Test);
        var space = SearchSpace.FromJson(JsonNode.Parse("""
            { "eta": { "type": "log_uniform", "low": 0.001, "high": 0.5 }, "max_depth": { "type": "int", "low": 1, "high": 6 } }
            """)!.AsObject());

        (Study Study, int Rounds) Sweep()
        {
            var study = new Study(space, new TpeSampler(seed: 3, startupTrials: 5), Direction.Minimize, new MedianPruner(startupTrials: 3, warmupSteps: 3));
            var rounds = 0;
            study.Optimize((trial, report) =>
            {
                var pruned = false;
                using var model = new XGBoostTrainer(new XGBoostOptions
                {
                    Rounds = 30, Seed = 1, Threads = 1,
                    Parameters = SearchSpace.ToStrings(trial.Parameters),
                }).Train(train, [("valid", valid)], r =>
                {
                    rounds++;
                    pruned = report(r.Iteration, r.Get("valid", "logloss")!.Value);
                    return !pruned;
                });
                return pruned ? null : Metric.LogLoss(valid.Labels, model.Predict(valid.Features).Values);
            }, 16);
            return (study, rounds);
        }

        var (a, roundsA) = Sweep();
        var (b, _) = Sweep();
        Assert.That(a.Trials.Select(t => (t.State, t.Value)), Is.EqualTo(b.Trials.Select(t => (t.State, t.Value))), "same seed, same study");
        Assert.That(a.Trials.Count(t => t.State == TrialState.Pruned), Is.GreaterThan(0));
        Assert.That(roundsA, Is.LessThan(16 * 30), "pruned trials stopped early");
        // Tiny learning rates barely move the log loss: the median rule stops them.
        Assert.That(a.Trials.Where(t => t.State == TrialState.Pruned).Min(t => t.GetDouble("eta")),
            Is.LessThan(a.Best!.GetDouble("eta")));
        Assert.That(a.Best!.Value, Is.LessThan(0.4));
    }
}
