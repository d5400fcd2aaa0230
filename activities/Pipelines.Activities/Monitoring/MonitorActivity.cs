using Pipelines.Activities.Data;
using Pipelines.Activities.Model;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Drift;

namespace Pipelines.Activities.Monitoring;

/// <param name="StopOn">Null: never stop, branch on the outputs instead.</param>
public sealed record MonitorInput(
    string Monitor, JsonNode Data, JsonNode? Predictions, JsonNode? Reference, MonitorThresholds Thresholds, int History, MonitorVerdict? StopOn)
    : IActivityInput<MonitorInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("monitor", SchemaBuilder.String("The monitored series, usually the model name."))
        .Required("data", SchemaBuilder.Any("The scored batch's input rows: an artifact reference or a path."))
        .Optional("predictions", SchemaBuilder.Any("The batch's predictions: batch_predict outputs (a list) or one table with a 'prediction' column."))
        .Optional("reference", SchemaBuilder.Any("A reference profile (JSON artifact or path); default: the monitor's latest stored reference."))
        .Optional("thresholds", SchemaBuilder.Any("{psi, ks_d, missing_rate_change, out_of_range, unseen, prediction_psi: {warn, alert}, schema_change: ok|warn|alert}."))
        .Optional("history", SchemaBuilder.Integer("Batches charted in the report (default 30)."))
        .Optional("stop_on", SchemaBuilder.String("'alert' or 'warn': stop the run at this verdict or worse (default: never, branch on the outputs instead)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Build();

    // null_tokens is read with the data (ModelTraining.CsvOf).
    public static MonitorInput Bind(ActivityInputs inputs)
    {
        var monitor = inputs.String("monitor");
        if (string.IsNullOrWhiteSpace(monitor)) throw new ActivityException("monitor: must not be empty", retryable: false);
        return new(
            monitor,
            inputs.Node("data")!,
            inputs.Node("predictions"),
            inputs.Node("reference"),
            MonitoringInputs.Thresholds(inputs.Node("thresholds")),
            MonitoringInputs.Int(inputs.Json, "history", 30, 1, 1000),
            inputs.OptionalString("stop_on") switch
            {
                null => null,
                "alert" => MonitorVerdict.Alert,
                "warn" => MonitorVerdict.Warn,
                var s => throw new ActivityException($"stop_on: '{s}' is not alert or warn", retryable: false),
            });
    }
}

/// <summary>
/// Watches what is scored: compares a batch (and its predictions) with the monitor's reference profile, judges
/// per-feature drift, schema and range against thresholds, records the result as the next point of the monitor's
/// time series and writes the monitoring report over the last N batches. The verdict is an output (<c>alert</c> is
/// true at alert level) that later steps branch on with <c>if</c>; with <c>stop_on</c> it stops the run instead.
/// </summary>
public sealed class MonitorActivity : Activity<MonitorInput>, IActivityDefinition<MonitorInput>
{
    public static ActivityInfo Info { get; } = new("monitor", "1", "Drift, schema and range checks of a scored batch against a reference profile; ok/warn/alert verdict, time series in PostgreSQL, HTML report.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new MonitorActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("verdict", SchemaBuilder.String("ok, warn or alert."))
            .Required("alert", SchemaBuilder.Boolean("True when the verdict is alert."))
            .Required("warn", SchemaBuilder.Boolean("True when the verdict is warn or alert."))
            .Required("findings", SchemaBuilder.Array(SchemaBuilder.String(), "Why the verdict is not ok, readable."))
            .Required("drifted", SchemaBuilder.Array(SchemaBuilder.String(), "Features whose own verdict is not ok."))
            .Optional("max_psi", SchemaBuilder.Number())
            .Optional("prediction_psi", SchemaBuilder.Number())
            .Required("rows", SchemaBuilder.Integer())
            .Required("report_html", SchemaBuilder.Any("The monitoring report (artifact)."))
            .Required("report_json", SchemaBuilder.Any("This batch's full result (artifact)."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(MonitorInput input, ActivityContext context, CancellationToken ct)
    {
        var monitor = input.Monitor;
        var thresholds = input.Thresholds;
        var historyCount = input.History;
        var stopOn = input.StopOn;
        var store = MonitoringInputs.Store(context);

        ReferenceProfile reference;
        if (input.Reference is not null)
        {
            var file = await ArtifactRefs.LocalFileAsync(context, "reference", ct);
            reference = Parse(await File.ReadAllTextAsync(file, ct), $"reference '{ArtifactRefs.DisplayName(input.Reference)}'");
        }
        else
        {
            if (store is null) throw new ActivityException("no 'reference' given, and this worker has no monitoring store to look one up", retryable: false);
            var stored = await store.LatestReferenceAsync(monitor, ct)
                ?? throw new ActivityException($"monitor '{monitor}' has no reference profile yet: run a 'profile' step with monitor: {monitor} (e.g. after training), or pass 'reference'", retryable: false);
            reference = Parse(stored.ProfileJson, $"stored reference of monitor '{monitor}' (run {stored.RunId}, step '{stored.StepId}')");
        }

        var (batch, _) = await TableFiles.ReadInputAsync(context, "data", ModelTraining.CsvOf(context.Inputs), ct);
        var batchName = ArtifactRefs.DisplayName(input.Data);
        double[]? predictions = null;
        if (input.Predictions is not null)
        {
            predictions = await MonitoringInputs.ReadPredictionsAsync(context, "predictions", ct);
            if (predictions.Length != batch.RowCount)
                context.Log.Write($"note: {predictions.Length} predictions for {batch.RowCount} rows of '{batchName}'");
            if (reference.Prediction is null) context.Log.Write("the reference profile has no predictions: prediction drift is not measured");
        }

        var result = DriftMonitor.Compare(reference, batch, thresholds, predictions);
        var now = context.Time.GetUtcNow();
        var maxPsi = result.Features.Select(f => f.Psi).OfType<double>().DefaultIfEmpty().Max();
        double? predictionPsi = result.Prediction?.Psi;
        var resultJson = MonitoringReport.ResultJson(result);
        var verdict = result.Verdict.ToString().ToLowerInvariant();

        IReadOnlyList<MonitorPoint> history;
        var current = MonitoringReport.PointOf(batchName, now, verdict, result.Rows, result.Features.Count == 0 ? null : maxPsi, predictionPsi, resultJson.ToJsonString());
        if (store is not null)
        {
            await store.RecordBatchAsync(new MonitorBatch(monitor, context.RunId, context.StepId, batchName, now, result.Rows, verdict,
                result.Features.Count == 0 ? null : maxPsi, predictionPsi, resultJson.ToJsonString()), ct);
            history = (await store.RecentBatchesAsync(monitor, historyCount, ct))
                .Select(b => MonitoringReport.PointOf(b.Batch, b.RecordedAt, b.Verdict, b.Rows, b.MaxPsi, b.PredictionPsi, b.ResultJson)).ToList();
        }
        else
        {
            context.Log.Write("this worker has no monitoring store: the result is not kept, and the report shows this batch only");
            history = [current];
        }

        var html = MonitoringReport.Render($"Monitoring: {monitor}", batchName, reference, result, thresholds, history);
        var outputs = new JsonObject
        {
            ["verdict"] = verdict,
            ["alert"] = result.Verdict == MonitorVerdict.Alert,
            ["warn"] = result.Verdict >= MonitorVerdict.Warn,
            ["findings"] = new JsonArray(result.Findings.Select(f => (JsonNode)f).ToArray()),
            ["drifted"] = new JsonArray(result.Features.Where(f => f.Verdict != MonitorVerdict.Ok).Select(f => (JsonNode)f.Name).ToArray()),
            ["rows"] = result.Rows,
            ["report_html"] = await MonitoringInputs.PublishTextAsync(context, "monitoring-report.html", html, ct),
            ["report_json"] = await MonitoringInputs.PublishTextAsync(context, "monitoring-result.json", resultJson.ToJsonString(new() { WriteIndented = true }), ct),
        };
        if (result.Features.Count > 0) outputs["max_psi"] = maxPsi;
        if (predictionPsi is { } pp) outputs["prediction_psi"] = pp;

        // The batch's headline numbers also go to the pipeline run's MLflow parent run, next to what scoring logged.
        if (await ModelTracking.ParentRunAsync(context, ct) is { } parent)
        {
            var metrics = new Dictionary<string, double> { ["monitor.verdict_level"] = (int)result.Verdict, ["monitor.rows"] = result.Rows };
            if (result.Features.Count > 0) metrics["monitor.max_psi"] = maxPsi;
            if (predictionPsi is { } ppsi && double.IsFinite(ppsi)) metrics["monitor.prediction_psi"] = ppsi;
            foreach (var f in result.Features)
                if (f.Psi is { } psi && double.IsFinite(psi)) metrics[$"monitor.psi.{MetricName(f.Name)}"] = psi;
            await ActivityServices.From(context).Tracking!.LogMetricsAsync(parent, metrics, ct: ct);
        }

        foreach (var f in result.Findings) context.Log.Write($"finding: {f}");
        context.Log.Write($"monitor '{monitor}': verdict {verdict} for {result.Rows} rows of '{batchName}' ({result.Features.Count} features, max PSI {maxPsi:0.###}" +
                          (predictionPsi is { } p ? $", prediction PSI {p:0.###}" : "") + ")");
        return stopOn is { } level && result.Verdict >= level
            ? ActivityResult.Stop($"monitor '{monitor}' verdict {verdict} on '{batchName}': {string.Join("; ", result.Findings.Take(5))}", outputs)
            : ActivityResult.Success(outputs);
    }

    /// <summary>MLflow metric names allow letters, digits, '_', '-', '.', ' ' and '/'; anything else becomes '_'.</summary>
    private static string MetricName(string feature) =>
        new(feature.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ' ' or '/' ? c : '_').ToArray());

    private static ReferenceProfile Parse(string json, string source)
    {
        try { return ReferenceProfile.Parse(json, source); }
        catch (FormatException e) { throw new ActivityException(e.Message, retryable: false, e); }
    }
}
