using System.Text.Json;
using Pipelines.Data.Parquet;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <param name="Model">Fetched by name ("model") through <see cref="ModelResolution"/>.</param>
/// <param name="ModelName">Empty counts as not given: no champion to compare with.</param>
public sealed record EvaluateInput(
    JsonNode Model, JsonNode Holdout, IReadOnlyList<string> Slices, string? ModelName, string Alias, double Threshold,
    bool Explain, long ExplainRows, long MinSliceRows) : IActivityInput<EvaluateInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("model", SchemaBuilder.Any("Candidate: a model artifact reference or an MLflow model directory."))
        .Required("holdout", SchemaBuilder.Any("Holdout data with the label column: a path or an artifact reference."))
        .Optional("slices", SchemaBuilder.Array(SchemaBuilder.String(), "Columns to slice metrics by, e.g. [sex, race]."))
        .Optional("model_name", SchemaBuilder.String("Registered model whose champion to compare with (skipped when it has none)."))
        .Optional("alias", SchemaBuilder.String("Alias to compare with (default champion)."))
        .Optional("threshold", SchemaBuilder.Number("Decision threshold for binary metrics (default 0.5)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "CSV values read as missing (default [''])."))
        .Optional("experiment", SchemaBuilder.String("MLflow experiment (default 'pipelines')."))
        .Optional("explain", SchemaBuilder.Boolean("Global importance (gain) and mean |SHAP| of an XGBoost candidate in the report (default true)."))
        .Optional("explain_rows", SchemaBuilder.Integer("Holdout rows whose SHAP values are computed for the summary (default 5000, the first rows)."))
        .Optional("min_slice_rows", SchemaBuilder.Integer("Slices with fewer rows are left out of the fairness disparities (default 30)."))
        .Build();

    // null_tokens is read with the holdout (ModelTraining.CsvOf), 'experiment' where the run is tracked (ModelTracking).
    public static EvaluateInput Bind(ActivityInputs inputs) => new(
        inputs.Node("model")!,
        inputs.Node("holdout")!,
        inputs.StringList("slices", []),
        inputs.OptionalString("model_name") is { Length: > 0 } name ? name : null,
        inputs.String("alias", PipelineTracking.Champion),
        inputs.Number("threshold", 0.5),
        inputs.Boolean("explain", true),
        inputs.Integer("explain_rows", 5000),
        inputs.Integer("min_slice_rows", 30));
}

/// <summary>
/// Holdout metrics of a candidate model (binary, multiclass or regression, from the model's own label spec), per-slice
/// metrics, and optionally the same for the current champion on the same rows. A JSON and an HTML report are
/// published as artifacts; the holdout predictions are published too (the reference for prediction drift).
/// </summary>
public sealed class EvaluateActivity : Activity<EvaluateInput>, IActivityDefinition<EvaluateInput>
{
    public static ActivityInfo Info { get; } = new("evaluate", "1", "Holdout metrics, per-slice metrics and a JSON+HTML report; optionally compared with the registry's champion on the same holdout.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new EvaluateActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("summary", SchemaBuilder.Any("{task, primary_metric, maximize, metrics, slices, fairness, champion: {version, metrics, slices} | null} — feed to evaluation_gate."))
            .Required("metrics", SchemaBuilder.Any("Candidate holdout metrics."))
            .Required("report", SchemaBuilder.Any("JSON report artifact (evaluation.json): the summary plus charts (ROC, PR, calibration, confusion matrix) and explanations."))
            .Required("report_html", SchemaBuilder.Any("HTML report artifact."))
            .Required("predictions", SchemaBuilder.Any("Holdout predictions (Parquet, column 'prediction') artifact."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(EvaluateInput input, ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var holdout = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "holdout", ct), ModelTraining.CsvOf(context.Inputs));
        var slices = input.Slices.ToList();
        var threshold = input.Threshold;
        var minSliceRows = (int)input.MinSliceRows;

        var candidateDir = await ModelResolution.LocalModelAsync(context, "model", ct);
        var holdoutName = ArtifactRefs.DisplayName(input.Holdout);
        var candidate = Evaluate(candidateDir, "the candidate model", holdout, holdoutName, slices, threshold);
        JsonObject? explanations = null;
        if (input.Explain)
            explanations = Explain(candidateDir, holdout, (int)input.ExplainRows, context);

        JsonObject? champion = null;
        JsonObject? championCharts = null;
        if (input.ModelName is { } modelName)
        {
            var alias = input.Alias;
            if (await ModelResolution.ByAliasAsync(context, modelName, alias, "champion", ct) is { } resolved)
            {
                var c = Evaluate(resolved.Directory, $"{alias} (version {resolved.Version})", holdout, holdoutName, slices, threshold);
                champion = new JsonObject { ["version"] = resolved.Version, ["alias"] = alias, ["metrics"] = c.Metrics, ["slices"] = c.Slices };
                championCharts = c.Task == TaskKind.BinaryClassification ? Charts(c, threshold) : null;
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
            ["fairness"] = candidate.Task == TaskKind.BinaryClassification ? FairnessJson(candidate.SliceList, minSliceRows) : null,
            ["champion"] = champion,
        };
        // The report file is the summary plus what only people and the UI read: charts and explanations (kept out of
        // the step output, which every later step and the run view load).
        var full = (JsonObject)summary.DeepClone();
        full["threshold"] = threshold;
        full["charts"] = candidate.Task == TaskKind.BinaryClassification ? Charts(candidate, threshold) : null;
        full["champion_charts"] = championCharts;
        full["explanations"] = explanations;
        var work = services.WorkDirectory(context);
        var jsonPath = Path.Combine(work, "evaluation.json");
        await File.WriteAllTextAsync(jsonPath, full.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), ct);
        var htmlPath = Path.Combine(work, "evaluation.html");
        await File.WriteAllTextAsync(htmlPath, EvaluationReport.Html(full), ct);
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

    private sealed record Evaluation(TaskKind Task, string Primary, JsonObject Metrics, JsonArray Slices, double[] Scores, double[] Labels, IReadOnlyList<MetricSlice> SliceList);

    /// <summary>ROC and PR curves, calibration bins and the confusion matrix of a binary model's holdout scores.</summary>
    private static JsonObject? Charts(Evaluation e, double threshold)
    {
        static JsonArray A(IEnumerable<double> v) => new(v.Select(x => (JsonNode?)(double.IsFinite(x) ? x : null)).ToArray());
        var charts = new JsonObject();
        var cm = Metric.Confusion(e.Labels, e.Scores, threshold);
        charts["confusion"] = new JsonObject
        {
            ["labels"] = new JsonArray("negative", "positive"),
            ["matrix"] = new JsonArray(cm.ToArray().Select(r => (JsonNode)new JsonArray(r.Select(v => (JsonNode)v).ToArray())).ToArray()),
            ["threshold"] = threshold,
        };
        charts["calibration"] = new JsonArray(Metric.Calibration(e.Labels, e.Scores).Select(b => (JsonNode)new JsonObject
        {
            ["lower"] = b.Lower, ["upper"] = b.Upper, ["mean_predicted"] = b.MeanPredicted, ["fraction_positive"] = b.FractionPositive, ["count"] = b.Count,
        }).ToArray());
        // One class only: the curves are undefined (as their AUCs, reported null); the other charts still are.
        if (e.Labels.Distinct().Count() == 2)
        {
            var roc = Curves.Roc(e.Labels, e.Scores);
            charts["roc"] = new JsonObject { ["fpr"] = A(roc.FalsePositiveRate), ["tpr"] = A(roc.TruePositiveRate), ["thresholds"] = A(roc.Thresholds) };
            var pr = Curves.PrecisionRecall(e.Labels, e.Scores);
            charts["pr"] = new JsonObject { ["precision"] = A(pr.Precision), ["recall"] = A(pr.Recall), ["thresholds"] = A(pr.Thresholds) };
        }
        return charts;
    }

    private static JsonArray FairnessJson(IReadOnlyList<MetricSlice> slices, int minRows) =>
        new(Fairness.Disparities(slices, minRows).Select(d => (JsonNode)new JsonObject
        {
            ["column"] = d.Column, ["measure"] = d.Measure, ["difference"] = d.Difference,
            ["high"] = new JsonObject { ["value"] = d.HighValue, ["metric"] = d.High },
            ["low"] = new JsonObject { ["value"] = d.LowValue, ["metric"] = d.Low },
            ["groups"] = d.Groups,
        }).ToArray());

    /// <summary>
    /// Global importance of an XGBoost model: gain per feature and mean |SHAP| over the first <paramref name="rows"/>
    /// holdout rows (XGBoost's own TreeSHAP). Other model kinds have no native contributions: null, with a log line.
    /// </summary>
    private static JsonObject? Explain(string modelDir, Table holdout, int rows, ActivityContext context)
    {
        if (rows <= 0) throw new ActivityException($"explain_rows must be positive, got {rows}", retryable: false);
        using var model = MlflowModel.Load(modelDir);
        if (model.Model is not XGBoostModel xgb)
        {
            context.Log.Write("explanations: only XGBoost models have native SHAP contributions; skipped");
            return null;
        }
        var sample = holdout.RowCount > rows ? holdout.Slice(0, rows) : holdout;
        var contributions = xgb.Contributions(model.Pipeline.TransformToMatrix(sample));
        var summary = contributions.Summary(xgb.Booster.FeatureImportance("gain"));
        return new JsonObject
        {
            ["rows"] = sample.RowCount,
            ["method"] = "xgboost TreeSHAP (pred_contribs), margin units",
            ["features"] = new JsonArray(summary.Select(f => (JsonNode)new JsonObject
            {
                ["feature"] = f.Feature, ["gain"] = f.Gain, ["mean_abs_shap"] = f.MeanAbsShap, ["mean_shap"] = f.MeanShap,
            }).ToArray()),
        };
    }

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
        return new Evaluation(task, primary, m, s, scores, y, slices);
    }

    private static int ArgMax(ReadOnlySpan<double> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}
