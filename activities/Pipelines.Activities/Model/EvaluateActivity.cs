using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>
/// Holdout metrics of a candidate model (binary, multiclass or regression, from the model's own label spec), per-slice
/// metrics, and optionally the same for the current champion on the same rows. A JSON and an HTML report are
/// published as artifacts; the holdout predictions are published too (the reference for prediction drift).
/// </summary>
[Activity("evaluate", "1", "Holdout metrics, per-slice metrics and a JSON+HTML report; optionally compared with the registry's champion on the same holdout.", Cacheable = false)]
public sealed class EvaluateActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("model", SchemaBuilder.Any("Candidate: a model artifact reference or an MLflow model directory."))
            .Required("holdout", SchemaBuilder.Any("Holdout data with the label column: a path or an artifact reference."))
            .Optional("slices", SchemaBuilder.Array(SchemaBuilder.String(), "Columns to slice metrics by, e.g. [sex, race]."))
            .Optional("model_name", SchemaBuilder.String("Registered model whose champion to compare with (skipped when it has none)."))
            .Optional("alias", SchemaBuilder.String("Alias to compare with (default champion)."))
            .Optional("threshold", SchemaBuilder.Number("Decision threshold for binary metrics (default 0.5)."))
            .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "CSV values read as missing (default [''])."))
            .Optional("experiment", SchemaBuilder.String("MLflow experiment (default 'pipelines')."))
            .Build(),
        SchemaBuilder.Object()
            .Required("summary", SchemaBuilder.Any("{task, primary_metric, maximize, metrics, slices, champion: {version, metrics, slices} | null} — feed to evaluation_gate."))
            .Required("metrics", SchemaBuilder.Any("Candidate holdout metrics."))
            .Required("report", SchemaBuilder.Any("JSON report artifact."))
            .Required("report_html", SchemaBuilder.Any("HTML report artifact."))
            .Required("predictions", SchemaBuilder.Any("Holdout predictions (Parquet, column 'prediction') artifact."))
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var inputs = context.Inputs;
        var holdout = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "holdout", ct), ModelTraining.CsvOf(inputs));
        var slices = (inputs["slices"] as JsonArray)?.Select(s => s!.GetValue<string>()).ToList() ?? [];
        var threshold = JsonNumber.Double(inputs["threshold"]) ?? 0.5;

        var candidateDir = await ModelResolution.LocalModelAsync(context, "model", ct);
        var holdoutName = ArtifactRefs.DisplayName(inputs["holdout"]);
        var candidate = Evaluate(candidateDir, "the candidate model", holdout, holdoutName, slices, threshold);

        JsonObject? champion = null;
        if (inputs["model_name"]?.GetValue<string>() is { Length: > 0 } modelName)
        {
            var alias = inputs["alias"]?.GetValue<string>() ?? PipelineTracking.Champion;
            if (await ModelResolution.ByAliasAsync(context, modelName, alias, "champion", ct) is { } resolved)
            {
                var c = Evaluate(resolved.Directory, $"{alias} (version {resolved.Version})", holdout, holdoutName, slices, threshold);
                champion = new JsonObject { ["version"] = resolved.Version, ["alias"] = alias, ["metrics"] = c.Metrics, ["slices"] = c.Slices };
            }
            else context.Log.Write($"model '{modelName}' has no '{alias}' yet: nothing to compare with");
        }

        var summary = new JsonObject
        {
            ["task"] = candidate.Task.ToString(),
            ["primary_metric"] = candidate.Primary,
            ["maximize"] = ModelTraining.Maximize(candidate.Primary),
            ["rows"] = holdout.RowCount,
            ["metrics"] = candidate.Metrics.DeepClone(),
            ["slices"] = candidate.Slices.DeepClone(),
            ["champion"] = champion,
        };
        var work = services.WorkDirectory(context);
        var jsonPath = Path.Combine(work, "evaluation.json");
        await File.WriteAllTextAsync(jsonPath, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), ct);
        var htmlPath = Path.Combine(work, "evaluation.html");
        await File.WriteAllTextAsync(htmlPath, Html(summary), ct);
        var predictionsPath = Path.Combine(work, "holdout-predictions.parquet");
        ParquetWriter.WriteTable(predictionsPath, new Table(new Schema([new Field("prediction", DataType.Float64, false)]), [ModelResolution.Doubles(candidate.Scores)]));

        var report = await ArtifactRefs.PublishAsync(context, jsonPath, "evaluation.json", ct: ct);
        var reportHtml = await ArtifactRefs.PublishAsync(context, htmlPath, "evaluation.html", ct: ct);
        var predictions = await ArtifactRefs.PublishAsync(context, predictionsPath, ct: ct);

        if (await ModelTracking.ParentRunAsync(context, ct) is { } parent)
        {
            await ModelTracking.LogDatasetsAsync(context, parent, ["holdout"], ct);
            var tracking = services.Tracking!;
            var metrics = candidate.Metrics.Where(m => m.Value is JsonValue).ToDictionary(m => $"holdout_{m.Key}", m => m.Value!.GetValue<double>());
            await tracking.LogMetricsAsync(parent, metrics, ct: ct);
            await using (var s = File.OpenRead(jsonPath)) await tracking.UploadArtifactAsync(parent, $"evaluation/{context.StepId}/evaluation.json", s, ct);
            await using (var s = File.OpenRead(htmlPath)) await tracking.UploadArtifactAsync(parent, $"evaluation/{context.StepId}/evaluation.html", s, ct);
        }
        context.Log.Write($"holdout {candidate.Primary} = {candidate.Metrics[candidate.Primary]}" +
                          (champion is null ? "" : $" (champion v{champion["version"]}: {champion["metrics"]![candidate.Primary]})"));
        return ActivityResult.Success(new JsonObject
        {
            ["summary"] = summary,
            ["metrics"] = candidate.Metrics.DeepClone(),
            ["report"] = report,
            ["report_html"] = reportHtml,
            ["predictions"] = predictions,
        });
    }

    private sealed record Evaluation(TaskKind Task, string Primary, JsonObject Metrics, JsonArray Slices, double[] Scores);

    private static Evaluation Evaluate(string modelDir, string modelLabel, Table holdout, string holdoutName, IReadOnlyList<string> sliceColumns, double threshold)
    {
        using var model = MlflowModel.Load(modelDir);
        double[] y;
        Predictions p;
        try
        {
            y = model.Pipeline.Labels(holdout);
            p = model.Predict(holdout);
        }
        catch (Pipelines.Ml.ColumnMismatchException e)
        {
            throw new ActivityException($"holdout '{holdoutName}' does not fit {modelLabel}: {e.Message}", retryable: false, e);
        }
        var task = model.Model.Task;
        IReadOnlyDictionary<string, double> metrics;
        IReadOnlyList<MetricSlice> slices;
        string primary;
        double[] scores;
        try
        {
            switch (task)
            {
                case TaskKind.BinaryClassification:
                    metrics = Metric.Binary(y, p.Values, threshold).ToDictionary();
                    slices = SlicedMetrics.Binary(holdout, sliceColumns, y, p.Values, threshold);
                    primary = "roc_auc";
                    scores = p.Values;
                    break;
                case TaskKind.MulticlassClassification:
                    var k = p.Columns;
                    metrics = Metric.Multiclass(y, p.Values, k).ToDictionary();
                    slices = SlicedMetrics.Compute(holdout, sliceColumns, rows =>
                        new Dictionary<string, double> { ["accuracy"] = rows.Count(r => ArgMax(p.Row(r)) == (int)y[r]) / (double)rows.Length });
                    primary = "accuracy";
                    scores = Enumerable.Range(0, p.Rows).Select(r => (double)ArgMax(p.Row(r))).ToArray();
                    break;
                default:
                    metrics = Metric.Regression(y, p.Values).ToDictionary();
                    slices = SlicedMetrics.Compute(holdout, sliceColumns, rows => Metric.Regression(rows.Select(r => y[r]).ToArray(), rows.Select(r => p.Values[r]).ToArray()).ToDictionary());
                    primary = "rmse";
                    scores = p.Values;
                    break;
            }
        }
        catch (Pipelines.Ml.ColumnMismatchException e)
        {
            throw new ActivityException(e.Message, retryable: false, e);
        }
        var m = new JsonObject();
        foreach (var (key, value) in metrics) m[key] = double.IsFinite(value) ? value : null;
        var s = new JsonArray(slices.Select(x =>
        {
            var o = new JsonObject();
            foreach (var (key, value) in x.Metrics) o[key] = double.IsFinite(value) ? value : null;
            return (JsonNode)new JsonObject { ["column"] = x.Column, ["value"] = x.Value, ["rows"] = x.Rows, ["metrics"] = o };
        }).ToArray());
        return new Evaluation(task, primary, m, s, scores);
    }

    private static int ArgMax(ReadOnlySpan<double> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    private static string Html(JsonObject summary)
    {
        static string E(object? o) => WebUtility.HtmlEncode(o?.ToString() ?? "");
        // Numbers to four decimals: enough to compare candidates, short enough to read.
        static string N(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d)
            ? d.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)
            : E(n);
        var champion = summary["champion"] as JsonObject;
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Evaluation</title><style>body{font-family:sans-serif}")
            .Append("table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}</style></head><body>");
        sb.Append($"<h1>Evaluation ({E(summary["task"])}, {E(summary["rows"])} rows)</h1><h2>Metrics</h2><table><tr><th>metric</th><th>candidate</th>");
        if (champion is not null) sb.Append($"<th>champion v{E(champion["version"])}</th>");
        sb.Append("</tr>");
        foreach (var (k, v) in (JsonObject)summary["metrics"]!)
            sb.Append($"<tr><td>{E(k)}</td><td>{N(v)}</td>{(champion is null ? "" : $"<td>{N(champion["metrics"]?[k])}</td>")}</tr>");
        var slices = ((JsonArray)summary["slices"]!).OfType<JsonObject>().ToList();
        var names = slices.SelectMany(s => (s["metrics"] as JsonObject ?? new JsonObject()).Select(p => p.Key)).Distinct().ToList();
        sb.Append("</table><h2>Slices</h2><table><tr><th>column</th><th>value</th><th>rows</th>");
        foreach (var name in names) sb.Append($"<th>{E(name)}</th>");
        sb.Append("</tr>");
        foreach (var s in slices)
        {
            sb.Append($"<tr><td>{E(s["column"])}</td><td>{E(s["value"])}</td><td>{E(s["rows"])}</td>");
            foreach (var name in names) sb.Append($"<td>{N(s["metrics"]?[name])}</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table></body></html>");
        return sb.ToString();
    }
}
