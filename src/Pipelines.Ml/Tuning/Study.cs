using System.Text.Json.Nodes;
using MathNet.Numerics.Distributions;

namespace Pipelines.Ml.Tuning;

public enum Direction { Minimize, Maximize }

public enum TrialState { Running, Complete, Pruned, Failed }

/// <summary>One configuration tried by a search, with its reported intermediate values and its final value.</summary>
public sealed class Trial(int number, JsonObject parameters)
{
    public int Number { get; } = number;
    public JsonObject Parameters { get; } = parameters;
    public TrialState State { get; internal set; } = TrialState.Running;
    public double? Value { get; internal set; }
    public SortedDictionary<int, double> Intermediate { get; } = new();

    /// <summary>
    /// A trial known from elsewhere, e.g. a sibling of a sweep fanned out over other workers, whose intermediate
    /// values a <see cref="MedianPruner"/> should weigh like those of this process's own trials.
    /// </summary>
    public static Trial Restore(int number, TrialState state, double? value, IEnumerable<KeyValuePair<int, double>> intermediate, JsonObject? parameters = null)
    {
        var t = new Trial(number, parameters ?? new JsonObject()) { State = state, Value = value };
        foreach (var (step, v) in intermediate) t.Intermediate[step] = v;
        return t;
    }

    public double GetDouble(string name) => Seeds.Number(Parameters[name]);
    public long GetLong(string name) => (long)Seeds.Number(Parameters[name]);
}

/// <summary>Chooses the parameters of trial <c>number</c> from the space and the finished trials so far.</summary>
public interface ISampler
{
    JsonObject Suggest(SearchSpace space, int number, IReadOnlyList<Trial> finished, Direction direction);
}

internal static class Seeds
{
    // Random(seed) is the same sequence on every run and platform; derive per-trial seeds arithmetically
    // (never HashCode, which is randomized per process).
    public static Random For(int seed, int trial) => new(unchecked(seed * 1_000_003 + trial * 7919 + 17));

    /// <summary>A JSON number however it was created (long, int, double, or parsed text).</summary>
    public static double Number(JsonNode? v) => v switch
    {
        JsonValue x when x.TryGetValue<double>(out var d) => d,
        JsonValue x when x.TryGetValue<long>(out var l) => l,
        JsonValue x when x.TryGetValue<int>(out var i) => i,
        JsonValue x when x.TryGetValue<float>(out var f) => f,
        null => throw new ArgumentException("missing number"),
        _ => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>Independent uniform draws; trial n's parameters depend only on the seed and n (so parallel suggestion is stable).</summary>
public sealed class RandomSampler(int seed) : ISampler
{
    public JsonObject Suggest(SearchSpace space, int number, IReadOnlyList<Trial> finished, Direction direction)
    {
        var rng = Seeds.For(seed, number);
        var o = new JsonObject();
        foreach (var d in space.Dimensions) o[d.Name] = d.Sample(rng);
        return o;
    }
}

/// <summary>The cartesian product of each dimension's grid, in order (the last dimension varies fastest).</summary>
public sealed class GridSampler(int pointsPerDimension = 3) : ISampler
{
    public int Size(SearchSpace space) => space.Dimensions.Aggregate(1, (n, d) => n * d.Grid(pointsPerDimension).Count);

    public JsonObject Suggest(SearchSpace space, int number, IReadOnlyList<Trial> finished, Direction direction)
    {
        var grids = space.Dimensions.Select(d => d.Grid(pointsPerDimension)).ToList();
        var total = grids.Aggregate(1, (n, g) => n * g.Count);
        if (number >= total) throw new InvalidOperationException($"the grid has {total} points; trial {number} is beyond it");
        var o = new JsonObject();
        var rest = number;
        for (var i = grids.Count - 1; i >= 0; i--)
        {
            o[space.Dimensions[i].Name] = grids[i][rest % grids[i].Count].DeepClone();
            rest /= grids[i].Count;
        }
        return new JsonObject(space.Dimensions.Select(d => KeyValuePair.Create<string, JsonNode?>(d.Name, o[d.Name]!.DeepClone())));
    }
}

/// <summary>
/// Tree-structured Parzen Estimator (Bergstra et al. 2011), univariate as in Optuna's default: after
/// <see cref="StartupTrials"/> random trials, finished trials are split into the best γ fraction and the rest;
/// each dimension draws candidates from the Parzen density of the good ones, l(x), and keeps the candidate with
/// the largest l(x)/g(x). Deterministic for a seed and a history.
/// </summary>
public sealed class TpeSampler(int seed, int startupTrials = 10, int candidates = 24, double gamma = 0.25) : ISampler
{
    public int StartupTrials => startupTrials;

    public JsonObject Suggest(SearchSpace space, int number, IReadOnlyList<Trial> finished, Direction direction)
    {
        var done = finished.Where(t => t.State == TrialState.Complete && t.Value is not null).OrderBy(t => t.Number).ToList();
        if (done.Count < startupTrials) return new RandomSampler(seed).Suggest(space, number, finished, direction);
        var rng = Seeds.For(seed, number);
        var sorted = done.OrderBy(t => direction == Direction.Minimize ? t.Value!.Value : -t.Value!.Value).ThenBy(t => t.Number).ToList();
        var nBelow = Math.Clamp((int)Math.Ceiling(gamma * sorted.Count), 1, 25);
        var below = sorted.Take(nBelow).ToList();
        var above = sorted.Skip(nBelow).ToList();
        var o = new JsonObject();
        foreach (var d in space.Dimensions) o[d.Name] = SuggestOne(d, below, above, rng);
        return o;
    }

    private JsonNode SuggestOne(Dimension d, List<Trial> below, List<Trial> above, Random rng)
    {
        if (d is Choice c)
        {
            var k = c.Values.Count;
            double[] Weights(List<Trial> ts)
            {
                var w = Enumerable.Repeat(1.0 / k, k).ToArray(); // prior
                foreach (var t in ts)
                {
                    var i = Index(c, t.Parameters[d.Name]);
                    if (i >= 0) w[i] += 1;
                }
                var s = w.Sum();
                return w.Select(x => x / s).ToArray();
            }
            var l = Weights(below);
            var g = Weights(above);
            var bestIndex = -1;
            var bestScore = double.NegativeInfinity;
            for (var n = 0; n < candidates; n++)
            {
                var u = rng.NextDouble();
                var i = 0;
                for (var acc = l[0]; acc < u && i < k - 1; acc += l[++i]) { }
                var score = Math.Log(l[i]) - Math.Log(g[i]);
                if (score > bestScore) (bestScore, bestIndex) = (score, i);
            }
            return c.Values[bestIndex].DeepClone();
        }
        var (lo, hi, log, integer) = d switch
        {
            Uniform u => (u.Low, u.High, false, false),
            LogUniform lu => (Math.Log(lu.Low), Math.Log(lu.High), true, false),
            IntRange ir when ir.Log => (Math.Log(ir.Low - 0.5 <= 0 ? ir.Low : ir.Low - 0.5), Math.Log(ir.High + 0.5), true, true),
            IntRange ir => (ir.Low - 0.5, ir.High + 0.5, false, true),
            _ => throw new NotSupportedException(d.GetType().Name),
        };
        double Internal(JsonNode? v)
        {
            var x = Seeds.Number(v);
            return log ? Math.Log(x) : x;
        }
        var pl = Parzen.Build(below.Select(t => Internal(t.Parameters[d.Name])).ToArray(), lo, hi);
        var pg = Parzen.Build(above.Select(t => Internal(t.Parameters[d.Name])).ToArray(), lo, hi);
        var best = double.NaN;
        var bestRatio = double.NegativeInfinity;
        for (var n = 0; n < candidates; n++)
        {
            var x = pl.Sample(rng);
            var ratio = pl.LogPdf(x) - pg.LogPdf(x);
            if (ratio > bestRatio) (bestRatio, best) = (ratio, x);
        }
        var value = log ? Math.Exp(best) : best;
        if (integer)
        {
            var ir = (IntRange)d;
            return JsonValue.Create(Math.Clamp((long)Math.Round(value), ir.Low, ir.High));
        }
        return JsonValue.Create(Math.Clamp(value, d is LogUniform l2 ? l2.Low : ((Uniform)d).Low, d is LogUniform h2 ? h2.High : ((Uniform)d).High));
    }

    private static int Index(Choice c, JsonNode? v)
    {
        for (var i = 0; i < c.Values.Count; i++) if (JsonNode.DeepEquals(c.Values[i], v)) return i;
        return -1;
    }

    /// <summary>A mixture of Gaussians truncated to [lo, hi]: one wide prior component plus one per observation.</summary>
    private sealed record Parzen(double[] Mu, double[] Sigma, double Lo, double Hi)
    {
        public static Parzen Build(double[] observations, double lo, double hi)
        {
            var mus = observations.Append((lo + hi) / 2).ToArray();
            var order = mus.Select((m, i) => (m, i)).OrderBy(x => x.m).ToArray();
            var sigma = new double[mus.Length];
            var range = hi - lo;
            var minSigma = range / Math.Min(100.0, 1 + mus.Length);
            for (var k = 0; k < order.Length; k++)
            {
                var left = k > 0 ? order[k].m - order[k - 1].m : order[k].m - lo;
                var right = k < order.Length - 1 ? order[k + 1].m - order[k].m : hi - order[k].m;
                sigma[order[k].i] = Math.Clamp(Math.Max(left, right), minSigma, range);
            }
            sigma[^1] = range; // the prior
            return new Parzen(mus, sigma, lo, hi);
        }

        public double Sample(Random rng)
        {
            var k = rng.Next(Mu.Length);
            for (var attempt = 0; attempt < 100; attempt++)
            {
                // Box–Muller from the seeded generator, so runs repeat exactly.
                var u1 = 1.0 - rng.NextDouble();
                var u2 = rng.NextDouble();
                var x = Mu[k] + Sigma[k] * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                if (x >= Lo && x <= Hi) return x;
            }
            return Math.Clamp(Mu[k], Lo, Hi);
        }

        public double LogPdf(double x)
        {
            double p = 0;
            for (var k = 0; k < Mu.Length; k++)
            {
                var mass = Normal.CDF(Mu[k], Sigma[k], Hi) - Normal.CDF(Mu[k], Sigma[k], Lo);
                p += Normal.PDF(Mu[k], Sigma[k], x) / Math.Max(mass, 1e-12);
            }
            return Math.Log(p / Mu.Length + 1e-300);
        }
    }
}

/// <summary>
/// Median rule: after <see cref="StartupTrials"/> finished trials and <see cref="WarmupSteps"/> steps, a trial is
/// pruned at step s when its best intermediate value so far is worse than the median of other trials' values at s.
/// </summary>
public sealed class MedianPruner(int startupTrials = 5, int warmupSteps = 0)
{
    public int StartupTrials => startupTrials;
    public int WarmupSteps => warmupSteps;

    public bool ShouldPrune(Trial trial, int step, IReadOnlyList<Trial> others, Direction direction)
    {
        if (step < warmupSteps) return false;
        var finished = others.Where(t => t.Number != trial.Number && t.State is TrialState.Complete or TrialState.Pruned).ToList();
        if (finished.Count(t => t.State == TrialState.Complete) < startupTrials) return false;
        var atStep = finished.Where(t => t.Intermediate.ContainsKey(step)).Select(t => t.Intermediate[step]).OrderBy(v => v).ToArray();
        if (atStep.Length == 0) return false;
        var median = atStep.Length % 2 == 1 ? atStep[atStep.Length / 2] : (atStep[atStep.Length / 2 - 1] + atStep[atStep.Length / 2]) / 2;
        var mine = trial.Intermediate.Where(kv => kv.Key <= step).Select(kv => kv.Value).ToArray();
        if (mine.Length == 0) return false;
        return direction == Direction.Minimize ? mine.Min() > median : mine.Max() < median;
    }
}

/// <summary>
/// A sequential search: ask for a trial, report intermediate values (which may prune it), tell its final value.
/// Everything random derives from the sampler's seed, so the same objective gives the same study.
/// </summary>
public sealed class Study(SearchSpace space, ISampler sampler, Direction direction, MedianPruner? pruner = null)
{
    private readonly List<Trial> _trials = new();

    public SearchSpace Space => space;
    public Direction Direction => direction;
    public IReadOnlyList<Trial> Trials => _trials;

    public Trial Ask()
    {
        var t = new Trial(_trials.Count, sampler.Suggest(space, _trials.Count, _trials, direction));
        _trials.Add(t);
        return t;
    }

    /// <summary>Records an intermediate value; returns true when the trial should stop (pruned).</summary>
    public bool Report(Trial trial, int step, double value)
    {
        trial.Intermediate[step] = value;
        return pruner?.ShouldPrune(trial, step, _trials, direction) ?? false;
    }

    public void Tell(Trial trial, double value) => (trial.Value, trial.State) = (value, TrialState.Complete);
    public void Prune(Trial trial) => (trial.Value, trial.State) = (trial.Intermediate.Count > 0 ? trial.Intermediate.Last().Value : null, TrialState.Pruned);
    public void Fail(Trial trial) => trial.State = TrialState.Failed;

    public Trial? Best => Leaderboard().FirstOrDefault();

    /// <summary>Completed trials, best first (ties by trial number).</summary>
    public IReadOnlyList<Trial> Leaderboard() =>
        _trials.Where(t => t.State == TrialState.Complete && t.Value is not null)
            .OrderBy(t => direction == Direction.Minimize ? t.Value!.Value : -t.Value!.Value).ThenBy(t => t.Number).ToList();

    /// <summary>
    /// Runs <paramref name="trials"/> trials one after another. The objective gets the trial and a report function
    /// (step, value) → prune?; it returns the final value, or null when it stopped because it was pruned.
    /// </summary>
    public Trial? Optimize(Func<Trial, Func<int, double, bool>, double?> objective, int trials)
    {
        for (var i = 0; i < trials; i++)
        {
            var t = Ask();
            try
            {
                var v = objective(t, (step, value) => Report(t, step, value));
                if (v is { } value) Tell(t, value); else Prune(t);
            }
            catch
            {
                Fail(t);
                throw;
            }
        }
        return Best;
    }
}
