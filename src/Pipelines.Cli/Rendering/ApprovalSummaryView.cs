using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Pipelines.Cli.Rendering;

/// <summary>
/// What a person sees before deciding an approval. An evaluation summary (the <c>evaluate</c> activity's
/// <c>summary</c> output) becomes a candidate-vs-champion table with the change per metric and the slices where the
/// candidate is worse; any other summary is shown as its fields.
/// </summary>
public static class ApprovalSummaryView
{
    public static IRenderable Build(JsonNode? summary)
    {
        if (summary is JsonObject o && o["metrics"] is JsonObject metrics)
            return Evaluation(o, metrics);
        if (summary is JsonObject fields)
        {
            var grid = new Grid().AddColumn().AddColumn();
            foreach (var (key, value) in fields)
                grid.AddRow(new Text(key), new Text(Scalar(value)));
            return grid;
        }
        return new Text(summary?.ToJsonString() ?? "(no summary)");
    }

    private static IRenderable Evaluation(JsonObject summary, JsonObject metrics)
    {
        // The summary is whatever the workflow passed: read it leniently, never fail the progress view over its shape.
        var primary = summary["primary_metric"] is JsonValue p && p.TryGetValue<string>(out var metric) ? metric : null;
        var champion = summary["champion"] as JsonObject;
        var championMetrics = champion?["metrics"] as JsonObject;
        var championLabel = champion is null ? "champion" : $"champion v{Scalar(champion["version"])}";

        var table = new Table().Border(TableBorder.Rounded).AddColumns("metric", "candidate", championLabel, "change");
        var ordered = metrics.Where(m => m.Value is JsonValue)
            .OrderBy(m => m.Key == primary ? 0 : 1).ThenBy(m => m.Key, StringComparer.Ordinal);
        foreach (var (name, value) in ordered)
        {
            var candidate = Number(value);
            var before = championMetrics is null ? null : Number(championMetrics[name]);
            var label = name == primary ? $"[bold]{Markup.Escape(name)}[/] (primary)" : Markup.Escape(name);
            table.AddRow(label, Format(candidate), championMetrics is null ? "–" : Format(before), Change(name, candidate, before));
        }

        var rows = new List<IRenderable>
        {
            new Markup($"Evaluation on the holdout ({Markup.Escape(Scalar(summary["rows"]))} rows, {Markup.Escape(Scalar(summary["task"]))})"),
            table,
        };
        if (champion is null)
            rows.Add(new Markup("[grey]no champion yet: nothing to compare with[/]"));
        else if (primary is not null && Worse(summary, champion, primary) is { Count: > 0 } worse)
            rows.Add(new Markup($"[yellow]slices where the candidate's {Markup.Escape(primary)} is worse than the champion's:[/] " +
                                Markup.Escape(string.Join(", ", worse))));
        return new Rows(rows);
    }

    /// <summary>Slices (column=value) where the candidate is worse than the champion on the primary metric.</summary>
    private static List<string> Worse(JsonObject summary, JsonObject champion, string primary)
    {
        var maximize = summary["maximize"] is not JsonValue m || !m.TryGetValue<bool>(out var max) || max;
        var before = new Dictionary<(string, string), double?>();
        foreach (var s in (champion["slices"] as JsonArray ?? []).OfType<JsonObject>())
            before.TryAdd((Scalar(s["column"]), Scalar(s["value"])), Number((s["metrics"] as JsonObject)?[primary]));
        var worse = new List<string>();
        foreach (var slice in (summary["slices"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = (Scalar(slice["column"]), Scalar(slice["value"]));
            if (Number((slice["metrics"] as JsonObject)?[primary]) is not { } now || !before.TryGetValue(key, out var was) || was is null) continue;
            if (maximize ? now < was : now > was)
                worse.Add($"{key.Item1}={key.Item2} {Format(now)} vs {Format(was)}");
        }
        return worse;
    }

    private static string Change(string metric, double? candidate, double? champion)
    {
        if (candidate is not { } c || champion is not { } b) return "";
        var delta = c - b;
        if (delta == 0) return "0";
        var better = LowerIsBetter(metric) ? delta < 0 : delta > 0;
        return $"[{(better ? "green" : "red")}]{delta.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)}[/]";
    }

    // Error and loss metrics improve downwards; scores (AUC, accuracy, F1, R²…) upwards.
    private static bool LowerIsBetter(string metric) =>
        metric.Contains("loss", StringComparison.OrdinalIgnoreCase) || metric is "rmse" or "mae" or "mape" or "mse" or "brier";

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static string Format(double? value) =>
        value is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "–";

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}
