using System.Globalization;
using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Engine.Orchestration;

namespace Pipelines.Cli.Rendering;

/// <summary>
/// What a run produced, read from its steps' outputs by activity kind (<c>runs show RUN --results</c>, and the
/// demo's closing summary): the sweep's winner against its baseline, holdout metrics against the champion that was
/// current at evaluation, the gate's verdict, approvals, what was promoted, where reports are, and how many rows
/// were scored where. Steps of other kinds are left out; nothing here is computed, only read.
/// </summary>
public static class RunResults
{
    public static IReadOnlyList<string> Lines(RunDetails details)
    {
        var lines = new List<string> { $"{details.Run.Workflow} run {details.Run.Id}: {details.Run.State.Db()}" + (details.Run.Error is null ? "" : $" — {details.Run.Error}") };
        foreach (var step in details.Steps.Where(s => s.ItemIndex is null))
        {
            var kind = step.Kind.Split('@')[0];
            var o = step.Outputs;
            switch (kind)
            {
                case "hpo.leaderboard" when o is not null:
                    lines.AddRange(Sweep(step.StepId, o));
                    break;
                case "evaluate" when o is not null && o["summary"] is JsonObject summary:
                    lines.AddRange(Evaluation(step.StepId, summary));
                    lines.Add($"  reports: {Uri(o["report_html"])} (HTML), {Uri(o["report"])} (JSON)");
                    break;
                case "evaluation_gate" when step.State == StepState.Succeeded:
                    lines.Add($"{step.StepId}: passed" + (Number(o is null ? null : o["improvement"]) is { } gain ? $" (improvement {Signed(gain)})" : ""));
                    break;
                case "evaluation_gate" or "quality_gate" when step.State == StepState.Stopped:
                    lines.Add($"{step.StepId}: stopped the run — {step.Error}");
                    break;
                case "approval":
                    var a = details.Approvals.FirstOrDefault(x => x.StepId == step.StepId);
                    if (a is not null)
                        lines.Add($"{step.StepId}: {a.Decision ?? "waiting"}" + (a.DecidedBy is null ? "" : $" by {a.DecidedBy}") +
                                  (string.IsNullOrEmpty(a.Comment) ? "" : $" — {a.Comment}"));
                    break;
                case "promote" when step.State == StepState.Succeeded && o is not null:
                    var model = step.Inputs?["model_name"]?.ToString() ?? "the model";
                    lines.Add($"promoted: {model} version {o["champion"]} is now champion" +
                              (o["previous_champion"] is { } prev ? $" (previous champion: version {prev})" : " (the first champion)"));
                    break;
                case "promote":
                    lines.Add($"promoted: nothing ({step.StepId} {ProgressView.Label(step)})");
                    break;
                case "publish_predictions" when step.State == StepState.Succeeded && o is not null:
                    var parts = details.Steps.Where(s => s.Kind.Split('@')[0] == "batch_predict" && s.ItemIndex is not null && s.Outputs is not null).ToList();
                    var versions = parts.Select(p => p.Outputs!["model_version"]?.ToString()).Where(v => v is not null).Distinct().ToList();
                    lines.Add($"scored: {o["rows"]} rows in {parts.Count} partitions" +
                              (versions.Count > 0 ? $" with model version {string.Join(", ", versions)}" : "") +
                              (Number(o["psi"]) is { } psi ? $"; prediction PSI against the reference {Format(psi)}" : ""));
                    lines.Add($"  predictions manifest: {Uri(o["manifest"])}");
                    break;
            }
        }
        if (RunTimeline.Of(details) is { } time) lines.Add("time: " + time.Describe());
        return lines;
    }

    private static IEnumerable<string> Sweep(string stepId, JsonObject o)
    {
        var best = o["best"] as JsonObject;
        var baseline = (o["leaderboard"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => r["baseline"]?.GetValue<bool>() == true);
        var metric = best?["metric"]?.ToString() ?? "value";
        var line = $"{stepId}: best trial #{best?["number"]} {metric} {Format(Number(o["best_value"]))} on the validation split";
        if (baseline is not null)
            line += $"; baseline ({baseline["trainer"] ?? "baseline"}) {Format(Number(baseline["value"]))}" +
                    (o["beats_baseline"]?.GetValue<bool>() == true ? ", beaten" : ", NOT beaten");
        yield return line;
        if (best?["params"] is JsonObject p && p.Count > 0)
            yield return $"  winning parameters: {string.Join(", ", p.Select(kv => $"{kv.Key}={kv.Value?.ToJsonString()}"))}";
    }

    private static IEnumerable<string> Evaluation(string stepId, JsonObject summary)
    {
        var metrics = summary["metrics"] as JsonObject ?? [];
        var champion = summary["champion"] as JsonObject;
        var championMetrics = champion?["metrics"] as JsonObject;
        yield return $"{stepId}: holdout of {summary["rows"]} rows, candidate" +
                     (champion is null ? " (no champion yet to compare with)" : $" against the champion at the time, version {champion["version"]}:");
        var width = metrics.Select(m => m.Key.Length).DefaultIfEmpty(6).Max();
        foreach (var (name, value) in metrics)
        {
            if (Number(value) is not { } v) continue;
            var line = $"  {name.PadRight(width)}  {Format(v),10}";
            if (Number(championMetrics?[name]) is { } c) line += $"   champion {Format(c),10}   change {Signed(v - c)}";
            yield return line;
        }
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static string Format(double? value) => value is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "?";

    private static string Signed(double value) => (value >= 0 ? "+" : "") + value.ToString("0.0000", CultureInfo.InvariantCulture);

    /// <summary>An artifact reference's location (a file:// URI for the local folder store).</summary>
    private static string Uri(JsonNode? reference) => reference?["uri"]?.ToString() ?? "(none)";
}
