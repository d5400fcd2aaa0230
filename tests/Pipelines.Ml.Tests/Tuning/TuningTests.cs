using System.Text.Json.Nodes;
using Pipelines.Ml.Tuning;

namespace Pipelines.Ml.Tests.Tuning;

public class TuningTests
{
    private static SearchSpace Space() => SearchSpace.FromJson(JsonNode.Parse("""
        {
          "x": { "type": "uniform", "low": -5, "high": 5 },
          "lr": { "type": "log_uniform", "low": 0.001, "high": 1 },
          "depth": { "type": "int", "low": 2, "high": 10 },
          "booster": { "type": "choice", "values": ["gbtree", "dart", "gblinear"] }
        }
        """)!.AsObject());

    // Known optimum: x = 1.5, lr = 0.05, depth = 6, booster = dart.
    private static double Objective(Trial t) =>
        Math.Pow(t.GetDouble("x") - 1.5, 2) + Math.Pow(Math.Log10(t.GetDouble("lr")) - Math.Log10(0.05), 2)
        + Math.Pow(t.GetLong("depth") - 6, 2) / 10 + (t.Parameters["booster"]!.GetValue<string>() == "dart" ? 0 : 1);

    private static Study Run(ISampler sampler, int trials)
    {
        var s = new Study(Space(), sampler, Direction.Minimize);
        s.Optimize((t, _) => Objective(t), trials);
        return s;
    }

    [Test]
    public void Samples_StayInsideTheirDomains()
    {
        var s = Run(new RandomSampler(1), 200);
        foreach (var t in s.Trials)
        {
            Assert.That(t.GetDouble("x"), Is.InRange(-5.0, 5.0));
            Assert.That(t.GetDouble("lr"), Is.InRange(0.001, 1.0));
            Assert.That(t.GetLong("depth"), Is.InRange(2L, 10L));
            Assert.That(new[] { "gbtree", "dart", "gblinear" }, Does.Contain(t.Parameters["booster"]!.GetValue<string>()));
        }
        Assert.That(s.Trials.Select(t => t.GetLong("depth")).Distinct().Count(), Is.EqualTo(9), "every integer is reachable");
        // Log-uniform: about half the draws below the geometric middle (0.0316).
        Assert.That(s.Trials.Count(t => t.GetDouble("lr") < Math.Sqrt(0.001)), Is.InRange(70, 130));
    }

    [Test]
    public void EveryStrategy_IsDeterministic_WithASeed()
    {
        foreach (var make in new Func<ISampler>[] { () => new RandomSampler(9), () => new TpeSampler(9), () => new GridSampler(2) })
        {
            var a = Run(make(), 24).Trials.Select(t => t.Parameters.ToJsonString()).ToList();
            var b = Run(make(), 24).Trials.Select(t => t.Parameters.ToJsonString()).ToList();
            Assert.That(b, Is.EqualTo(a), make().GetType().Name);
        }
        Assert.That(Run(new TpeSampler(10), 24).Trials.Select(t => t.Parameters.ToJsonString()),
            Is.Not.EqualTo(Run(new TpeSampler(9), 24).Trials.Select(t => t.Parameters.ToJsonString())));
    }

    [Test]
    public void Grid_EnumeratesTheCartesianProduct()
    {
        var grid = new GridSampler(3);
        var space = Space();
        Assert.That(grid.Size(space), Is.EqualTo(3 * 3 * 3 * 3));
        var all = Enumerable.Range(0, 81).Select(i => grid.Suggest(space, i, [], Direction.Minimize).ToJsonString()).ToList();
        Assert.That(all.Distinct().Count(), Is.EqualTo(81));
        Assert.That(grid.Suggest(space, 0, [], Direction.Minimize)["lr"]!.GetValue<double>(), Is.EqualTo(0.001).Within(1e-15));
        Assert.Throws<InvalidOperationException>(() => grid.Suggest(space, 81, [], Direction.Minimize));
    }

    [Test]
    public void Tpe_FindsBetterConfigurationsThanRandom_OnAKnownObjective()
    {
        // Same budget, several seeds: TPE's median best beats random's median best.
        var tpe = Enumerable.Range(0, 5).Select(seed => Run(new TpeSampler(seed), 60).Best!.Value!.Value).OrderBy(v => v).ToList();
        var random = Enumerable.Range(0, 5).Select(seed => Run(new RandomSampler(seed), 60).Best!.Value!.Value).OrderBy(v => v).ToList();
        TestContext.Out.WriteLine($"best values: tpe {string.Join(", ", tpe.Select(v => v.ToString("F3")))}; random {string.Join(", ", random.Select(v => v.ToString("F3")))}");
        Assert.That(tpe[2], Is.LessThan(random[2]));
        // TPE's later trials concentrate near the optimum.
        var late = Run(new TpeSampler(0), 60).Trials.Skip(30).ToList();
        Assert.That(late.Count(t => t.Parameters["booster"]!.GetValue<string>() == "dart"), Is.GreaterThan(late.Count / 2));
    }

    [Test]
    public void MedianRule_PrunesTrialsWorseThanTheMedian()
    {
        // Trial i reports a curve whose level is its "quality"; bad trials are pruned after warm-up.
        var space = new SearchSpace([new Uniform("q", 0, 1)]);
        var study = new Study(space, new RandomSampler(3), Direction.Minimize, new MedianPruner(startupTrials: 3, warmupSteps: 2));
        var stepsRun = new List<int>();
        study.Optimize((t, report) =>
        {
            var q = t.GetDouble("q");
            for (var step = 0; step < 10; step++)
            {
                if (report(step, q + 1.0 / (step + 1)))
                {
                    stepsRun.Add(step + 1);
                    return null;
                }
            }
            stepsRun.Add(10);
            return q;
        }, 20);
        var pruned = study.Trials.Where(t => t.State == TrialState.Pruned).ToList();
        var complete = study.Trials.Where(t => t.State == TrialState.Complete).ToList();
        Assert.That(pruned, Is.Not.Empty);
        Assert.That(study.Trials.Take(3).All(t => t.State == TrialState.Complete), Is.True, "no pruning during start-up trials");
        Assert.That(pruned.All(t => t.Intermediate.Keys.Max() >= 2), Is.True, "no pruning during warm-up steps");
        // Every pruned trial was worse than the median of the finished ones when it was stopped.
        Assert.That(pruned.Min(t => t.GetDouble("q")), Is.GreaterThan(complete.Min(t => t.GetDouble("q"))));
        Assert.That(study.Best!.Value, Is.EqualTo(complete.Min(t => t.GetDouble("q"))));
        Assert.That(stepsRun.Sum(), Is.LessThan(20 * 10));
    }
}
