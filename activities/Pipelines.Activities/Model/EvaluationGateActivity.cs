using System.Globalization;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Model;

/// <param name="Min">Bounds objects (min, max, slice_min, auto_approve) that are not objects count as none, as before.</param>
public sealed record EvaluationGateInput(
    JsonObject Evaluation, JsonObject? Min, JsonObject? Max, double? MinImprovement, JsonObject? SliceMin, long MinSliceRows,
    double? MaxSliceRegression, JsonNode? MaxDisparity, JsonObject? AutoApprove) : IActivityInput<EvaluationGateInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("evaluation", SchemaBuilder.Any("The summary output of evaluate."))
        .Optional("min", SchemaBuilder.Any("Lower bounds on candidate metrics, e.g. {roc_auc: 0.85}."))
        .Optional("max", SchemaBuilder.Any("Upper bounds on candidate metrics, e.g. {log_loss: 0.4}."))
        .Optional("min_improvement", SchemaBuilder.Number("Primary-metric improvement required over the champion (in its better direction); ignored without a champion."))
        .Optional("slice_min", SchemaBuilder.Any("Lower bounds per slice, e.g. {roc_auc: 0.8}."))
        .Optional("min_slice_rows", SchemaBuilder.Integer("Slices with fewer rows are not judged (default 30)."))
        .Optional("max_slice_regression", SchemaBuilder.Number("Largest allowed primary-metric drop of any slice versus the champion's same slice."))
        .Optional("max_disparity", SchemaBuilder.Any("Fairness bound over each slice column (binary): a number for both measures, or {demographic_parity_difference, equal_opportunity_difference}."))
        .Optional("auto_approve", SchemaBuilder.Any("Policy {min_improvement, max_slice_regression (default 0)}: auto_approve is true when both hold against a champion."))
        .Build();

    public static EvaluationGateInput Bind(ActivityInputs inputs) => new(
        inputs.Node("evaluation") as JsonObject ?? throw new ActivityException("input 'evaluation' must be evaluate's summary", retryable: false),
        inputs.Node("min") as JsonObject,
        inputs.Node("max") as JsonObject,
        inputs.OptionalNumber("min_improvement"),
        inputs.Node("slice_min") as JsonObject,
        inputs.Integer("min_slice_rows", 30),
        inputs.OptionalNumber("max_slice_regression"),
        inputs.Node("max_disparity"),
        inputs.Node("auto_approve") as JsonObject);
}

/// <summary>
/// Judges an <c>evaluate</c> summary: absolute thresholds, minimum improvement over the champion, per-slice
/// thresholds and slice regressions. Any violation stops the run (a verdict, never retried), so a later promote
/// step never runs. Also evaluates the auto-approve policy and outputs it as a boolean for an <c>if:</c>.
/// </summary>
public sealed class EvaluationGateActivity : Activity<EvaluationGateInput>, IActivityDefinition<EvaluationGateInput>
{
    public static ActivityInfo Info { get; } = new("evaluation_gate", "1", "Stops the run when the candidate misses thresholds or does not improve on the champion; outputs auto_approve.");

    public static IActivity Create(IServiceProvider? services) => new EvaluationGateActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("passed", SchemaBuilder.Boolean())
            .Required("violations", SchemaBuilder.Array(SchemaBuilder.String()))
            .Required("auto_approve", SchemaBuilder.Boolean("True when the auto-approve policy holds."))
            .Required("auto_approve_reason", SchemaBuilder.String())
            .Required("improvement", SchemaBuilder.Any("Primary-metric improvement over the champion (null without one)."))
            .Build();

    protected override Task<ActivityResult> ExecuteAsync(EvaluationGateInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var eval = input.Evaluation;
        var metrics = eval["metrics"] as JsonObject ?? new JsonObject();
        var primary = eval["primary_metric"]?.GetValue<string>() ?? throw new ActivityException("evaluation has no primary_metric", retryable: false);
        var maximize = eval["maximize"]?.GetValue<bool>() ?? true;
        var champion = eval["champion"] as JsonObject;
        var violations = new List<string>();
        static string F(double v) => v.ToString("0.#####", CultureInfo.InvariantCulture);

        foreach (var (name, bound) in input.Min ?? [])
            Check(name, JsonNumber.Double(metrics[name]), JsonNumber.Double(bound)!.Value, atLeast: true, "");
        foreach (var (name, bound) in input.Max ?? [])
            Check(name, JsonNumber.Double(metrics[name]), JsonNumber.Double(bound)!.Value, atLeast: false, "");

        double? improvement = null;
        if (champion is not null && JsonNumber.Double(metrics[primary]) is { } mine && JsonNumber.Double(champion["metrics"]?[primary]) is { } theirs)
        {
            improvement = maximize ? mine - theirs : theirs - mine;
            if (input.MinImprovement is { } need && improvement < need)
                violations.Add($"{primary} improves on champion v{champion["version"]} by {F(improvement.Value)} ({F(mine)} vs {F(theirs)}), needs at least {F(need)}");
        }

        var minRows = input.MinSliceRows;
        var slices = (eval["slices"] as JsonArray ?? []).OfType<JsonObject>().Where(s => (JsonNumber.Long(s["rows"]) ?? 0) >= minRows).ToList();
        foreach (var (name, bound) in input.SliceMin ?? [])
            foreach (var s in slices)
                Check(name, JsonNumber.Double(s["metrics"]?[name]), JsonNumber.Double(bound)!.Value, atLeast: true, $"slice {s["column"]}={s["value"]}: ");

        if (input.MaxDisparity is { } bounds)
            violations.AddRange(DisparityViolations(slices, bounds, minRows));

        var worstSliceDrop = WorstSliceDrop(slices, champion, primary, maximize);
        if (input.MaxSliceRegression is { } maxDrop && worstSliceDrop is { } drop && drop.Drop > maxDrop)
            violations.Add($"slice {drop.Slice}: {primary} drops by {F(drop.Drop)} versus the champion (at most {F(maxDrop)} allowed)");

        var (auto, why) = AutoApprove(input.AutoApprove, improvement, worstSliceDrop, violations.Count == 0);
        var outputs = new JsonObject
        {
            ["passed"] = violations.Count == 0,
            ["violations"] = new JsonArray(violations.Select(v => (JsonNode)v).ToArray()),
            ["auto_approve"] = auto,
            ["auto_approve_reason"] = why,
            ["improvement"] = improvement,
        };
        foreach (var v in violations) context.Log.Write("violation: " + v);
        context.Log.Write($"auto_approve: {auto} ({why})");
        return Task.FromResult(violations.Count == 0
            ? ActivityResult.Success(outputs)
            : ActivityResult.Stop($"evaluation gate failed: {string.Join("; ", violations)}", outputs));

        void Check(string name, double? value, double bound, bool atLeast, string where)
        {
            if (value is not { } v) violations.Add($"{where}{name} is missing");
            else if (atLeast ? v < bound : v > bound) violations.Add($"{where}{name} = {F(v)} is {(atLeast ? "below" : "above")} {F(bound)}");
        }
    }

    /// <summary>
    /// Fairness violations: per slice column (slices of at least <paramref name="minRows"/> rows) the spread of selection
    /// rate / true positive rate between its groups, against the bound; each message names the column, the measure and
    /// the two slices that make the spread.
    /// </summary>
    public static IReadOnlyList<string> DisparityViolations(IReadOnlyList<JsonObject> slices, JsonNode bounds, long minRows)
    {
        var limits = new Dictionary<string, double>();
        if (bounds is JsonValue && JsonNumber.Double(bounds) is { } all)
            foreach (var measure in Fairness.Measures.Keys) limits[measure] = all;
        else if (bounds is JsonObject o)
            foreach (var (measure, bound) in o)
            {
                if (!Fairness.Measures.ContainsKey(measure))
                    throw new ActivityException($"max_disparity: unknown measure '{measure}' (known: {string.Join(", ", Fairness.Measures.Keys)})", retryable: false);
                limits[measure] = JsonNumber.Double(bound) ?? throw new ActivityException($"max_disparity.{measure} must be a number", retryable: false);
            }
        else throw new ActivityException("max_disparity must be a number or an object of measures", retryable: false);

        var parsed = slices.Select(s => new MetricSlice(s["column"]?.ToString() ?? "", s["value"]?.ToString() ?? "", (int)(JsonNumber.Long(s["rows"]) ?? 0),
            (s["metrics"] as JsonObject ?? []).Where(m => JsonNumber.Double(m.Value) is not null).ToDictionary(m => m.Key, m => JsonNumber.Double(m.Value)!.Value))).ToList();
        if (parsed.Count > 0 && !parsed.Any(s => s.Metrics.ContainsKey(Fairness.SelectionRate)))
            throw new ActivityException("max_disparity needs a binary model's slices (selection_rate, tpr): give evaluate 'slices' on a binary model", retryable: false);
        static string F(double v) => v.ToString("0.#####", CultureInfo.InvariantCulture);
        return Fairness.Disparities(parsed, (int)minRows)
            .Where(d => limits.TryGetValue(d.Measure, out var limit) && d.Difference > limit)
            .Select(d => $"slice {d.Column}={d.LowValue}: {d.Measure} over '{d.Column}' = {F(d.Difference)} " +
                         $"({Fairness.Measures[d.Measure]} {d.Column}={d.HighValue} {F(d.High)} vs {d.Column}={d.LowValue} {F(d.Low)}) is above max_disparity {F(limits[d.Measure])}")
            .ToList();
    }

    /// <summary>The slice whose primary metric fell the most versus the champion's same slice (positive = worse).</summary>
    public static (string Slice, double Drop)? WorstSliceDrop(IReadOnlyList<JsonObject> slices, JsonObject? champion, string metric, bool maximize)
    {
        if (champion?["slices"] is not JsonArray theirs) return null;
        (string, double)? worst = null;
        foreach (var s in slices)
        {
            var match = theirs.OfType<JsonObject>().FirstOrDefault(t => t["column"]?.ToString() == s["column"]?.ToString() && t["value"]?.ToString() == s["value"]?.ToString());
            if (JsonNumber.Double(s["metrics"]?[metric]) is not { } mine || JsonNumber.Double(match?["metrics"]?[metric]) is not { } other) continue;
            var drop = maximize ? other - mine : mine - other;
            if (worst is null || drop > worst.Value.Item2) worst = ($"{s["column"]}={s["value"]}", drop);
        }
        return worst;
    }

    /// <summary>Auto-approve holds when the gate passed, a champion exists, the improvement reaches the policy's and no slice regresses beyond its limit.</summary>
    public static (bool Approve, string Reason) AutoApprove(JsonObject? policy, double? improvement, (string Slice, double Drop)? worstSlice, bool passed)
    {
        if (policy is null) return (false, "no auto-approve policy");
        if (!passed) return (false, "the gate failed");
        if (improvement is not { } imp) return (false, "no champion to compare with: a person must approve the first model");
        var need = JsonNumber.Double(policy["min_improvement"]) ?? 0;
        if (imp < need) return (false, $"improvement {imp:0.#####} is below the policy's {need:0.#####}");
        var maxDrop = JsonNumber.Double(policy["max_slice_regression"]) ?? 0;
        if (worstSlice is { } w && w.Drop > maxDrop) return (false, $"slice {w.Slice} regresses by {w.Drop:0.#####}");
        return (true, $"improvement {imp:0.#####} ≥ {need:0.#####} and no slice regresses by more than {maxDrop:0.#####}");
    }
}
