using Pipelines.Activities.Data;
using Pipelines.Activities.Model;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Tuning;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Challenger;
using Pipelines.Quality.Drift;

namespace Pipelines.Activities.Monitoring.Challenger;

/// <param name="Key">Row key column; needed with labels, and then read from the champion's predictions.</param>
/// <param name="Tolerance">0 unless given; required for regression.</param>
public sealed record ShadowScoreInput(
    JsonNode Dataset, string ModelName, string Alias, string? Monitor, IReadOnlyList<string> KeepColumns, PredictionTask Task, double Threshold,
    double Tolerance, JsonNode? Labels, string? Key, ChallengerPolicy? Policy) : IActivityInput<ShadowScoreInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("dataset", SchemaBuilder.Any("The batch the champion scored (the same input as its batch_predict)."))
        .Required("predictions", SchemaBuilder.Any("The champion's predictions: batch_predict outputs (a list) or tables with row, prediction, model_version."))
        .Required("model_name", SchemaBuilder.String("Registered model whose alias is the challenger."))
        .Optional("alias", SchemaBuilder.String("Alias of the challenger (default challenger)."))
        .Optional("monitor", SchemaBuilder.String("Record the comparison in this monitor's challenger series (needed by policy)."))
        .Optional("keep_columns", SchemaBuilder.Array(SchemaBuilder.String(), "Input columns copied next to the shadow predictions (e.g. an id)."))
        .Optional("task", SchemaBuilder.String("binary (default), multiclass or regression: when two predictions agree."))
        .Optional("threshold", SchemaBuilder.Number("Binary decision threshold (default 0.5)."))
        .Optional("tolerance", SchemaBuilder.Number("Regression: the largest difference at which two predictions agree (required for regression)."))
        .Optional("labels", SchemaBuilder.Any("Ground truth (one table or a list in arrival order) for realized metrics of both models on the same rows."))
        .Optional("key", SchemaBuilder.String("Row key column, in the champion's predictions (batch_predict keep_columns) and in the labels."))
        .Optional("label", SchemaBuilder.String("Label column of the labels."))
        .Optional("positive", SchemaBuilder.Any("Label value(s) meaning the positive class (binary)."))
        .Optional("order", SchemaBuilder.String("Labels column giving arrival order (later wins); default: as listed."))
        .Optional("policy", SchemaBuilder.Any("{min_batches, metric, margin, min_labelled}: when the challenger is proposed for approval (needs monitor)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Optional("experiment", SchemaBuilder.String("MLflow experiment of the run's parent run (default: the workflow's name)."))
        .Build();

    // The tables (predictions, labels) are read by name from the context, with null_tokens (ModelTraining.CsvOf);
    // label, positive and order by the label join (ChallengerSeries), 'experiment' where the run is tracked.
    public static ShadowScoreInput Bind(ActivityInputs inputs)
    {
        var name = inputs.String("model_name");
        var alias = inputs.OptionalString("alias") is { Length: > 0 } a ? a : ShadowScoreActivity.DefaultAlias;
        var monitor = inputs.OptionalString("monitor");
        var (task, threshold, tolerance) = TaskOf(inputs);
        var policy = ChallengerSeries.Policy(inputs.Node("policy"));
        if (policy is not null && monitor is null) throw new ActivityException("policy: needs 'monitor', whose challenger series holds the evidence", retryable: false);
        return new(inputs.Node("dataset")!, name, alias, monitor, MonitoringInputs.Strings(inputs.Json, "keep_columns") ?? [], task, threshold, tolerance,
            inputs.Node("labels"), inputs.OptionalString("key"), policy);
    }

    private static (PredictionTask Task, double Threshold, double Tolerance) TaskOf(ActivityInputs inputs)
    {
        var task = inputs.String("task", "binary") switch
        {
            "binary" => PredictionTask.Binary,
            "multiclass" => PredictionTask.Multiclass,
            "regression" => PredictionTask.Regression,
            var t => throw new ActivityException($"task: '{t}' is not binary, multiclass or regression", retryable: false),
        };
        var threshold = inputs.Number("threshold", 0.5);
        var tolerance = inputs.OptionalNumber("tolerance");
        if (task == PredictionTask.Regression && tolerance is null) throw new ActivityException("tolerance: required for task regression (how far apart two predictions may be and still agree)", retryable: false);
        if (tolerance is < 0 || tolerance is { } x && double.IsNaN(x)) throw new ActivityException($"tolerance: must be 0 or more, got {tolerance}", retryable: false);
        return (task, threshold, tolerance ?? 0);
    }
}

/// <summary>
/// Champion / challenger: scores the rows the champion scored (its batch_predict outputs name them by <c>row</c>)
/// with the model under the <c>challenger</c> alias, writes those predictions to an artifact of this step's own, and
/// compares both on the same rows: agreement, prediction PSI and KS, and, with labels, realized metrics of both on the
/// same labelled rows. The comparison is a point of the monitor's challenger series (PostgreSQL) and metrics on the
/// pipeline run's MLflow run; with a <c>policy</c>, the series decides whether the challenger is proposed for approval.
/// The champion's predictions are only read: nothing here writes to them, their manifest or their step's outputs.
/// A model without the alias is a skip (<c>skipped: true</c>), not a failure.
/// </summary>
public sealed class ShadowScoreActivity : Activity<ShadowScoreInput>, IActivityDefinition<ShadowScoreInput>
{
    public const string DefaultAlias = "challenger";

    public static ActivityInfo Info { get; } = new("shadow_score", "1", "Shadow-scores the champion's rows with the challenger alias into a separate artifact, compares both (agreement, distributions, realized metrics) and applies the promotion policy.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new ShadowScoreActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("skipped", SchemaBuilder.Boolean("True when there is no challenger to score with (the reason says why)."))
            .Required("propose", SchemaBuilder.Boolean("True when the policy proposes the challenger for approval."))
            .Required("reason", SchemaBuilder.String("Why skipped, or the policy's reason, readable."))
            .Optional("predictions", SchemaBuilder.Any("The challenger's predictions (artifact): row, prediction, champion_prediction, model_version, champion_version, run_id (+ keep_columns)."))
            .Optional("champion_version", SchemaBuilder.String())
            .Optional("challenger_version", SchemaBuilder.String())
            .Optional("rows", SchemaBuilder.Integer())
            .Optional("agreement", SchemaBuilder.Number())
            .Optional("prediction_psi", SchemaBuilder.Number())
            .Optional("ks_d", SchemaBuilder.Number())
            .Optional("mean_difference", SchemaBuilder.Number("Challenger's mean prediction minus the champion's."))
            .Optional("labelled", SchemaBuilder.Integer())
            .Optional("champion_metrics", SchemaBuilder.Any())
            .Optional("challenger_metrics", SchemaBuilder.Any())
            .Optional("evidence_batches", SchemaBuilder.Integer("Batches of this pair that count for the policy."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(ShadowScoreInput input, ActivityContext context, CancellationToken ct)
    {
        var (name, alias, monitor, policy) = (input.ModelName, input.Alias, input.Monitor, input.Policy);
        var (task, threshold, tolerance) = (input.Task, input.Threshold, input.Tolerance);
        var store = MonitoringInputs.Store(context);
        if (policy is not null && store is null) throw new ActivityException("policy: this worker has no monitoring store to keep the evidence in", retryable: false);
        var csv = ModelTraining.CsvOf(context.Inputs);

        // The champion's rows first (cheap, and a bad input should fail before a model is downloaded).
        var champion = await ChampionRowsAsync(context, input.Key, ct);

        var resolved = await ModelResolution.ByAliasAsync(context, name, alias, "challenger_model", ct);
        if (resolved is null)
            return Skip(context, $"model '{name}' has no '{alias}' alias: nothing to shadow-score");
        if (resolved.Version == champion.Version)
            return Skip(context, $"'{alias}' of model '{name}' is version {resolved.Version}, the champion that scored this batch: nothing to compare");

        var dataLabel = ArtifactRefs.DisplayName(input.Dataset);
        var data = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "dataset", ct), csv);
        var aligned = Rows(data, champion.Rows, dataLabel);
        var challenger = MonitoringInputs.Predict(resolved.Directory, aligned, $"model {name}@{alias} (version {resolved.Version})", dataLabel);

        ShadowComparison comparison;
        try { comparison = Shadow.Compare(champion.Predictions, challenger, task, threshold, tolerance); }
        catch (ArgumentException e) { throw new ActivityException(e.Message, retryable: false, e); }

        // The shadow predictions: an artifact of this step, under its own name; the champion's files are only read.
        var fields = new List<Field>
        {
            new("row", DataType.Int64, false), new("prediction", DataType.Float64, false), new("champion_prediction", DataType.Float64, false),
            new("model_version", DataType.String, false), new("champion_version", DataType.String, false), new("run_id", DataType.String, false),
        };
        var n = aligned.RowCount;
        var columns = new List<Column>
        {
            ModelResolution.Longs(champion.Rows), ModelResolution.Doubles(challenger), ModelResolution.Doubles(champion.Predictions),
            ModelResolution.Strings(Enumerable.Repeat<string?>(resolved.Version, n)), ModelResolution.Strings(Enumerable.Repeat<string?>(champion.Version, n)),
            ModelResolution.Strings(Enumerable.Repeat<string?>(context.RunId.ToString(), n)),
        };
        foreach (var keep in input.KeepColumns)
        {
            var i = aligned.Schema.IndexOf(keep);
            if (i < 0) throw new ActivityException($"keep_columns: no column '{keep}' in dataset '{dataLabel}'", retryable: false);
            fields.Add(aligned.Schema.Fields[i]);
            columns.Add(aligned.Columns[i]);
        }
        var published = await TableFiles.PublishTableAsync(context, new Table(new Schema(fields), columns), "challenger-predictions.parquet", ct);

        var realized = input.Labels is null ? null : await RealizedAsync(context, input.Key, champion, challenger, task, threshold, csv, ct);
        var meanDifference = comparison.ChallengerMean - comparison.ChampionMean;
        var (championMetrics, challengerMetrics) = realized is { } rm
            ? (ChallengerSeries.MetricsJson(rm.Champion), ChallengerSeries.MetricsJson(rm.Challenger))
            : (null, null);
        var outputs = new JsonObject
        {
            ["skipped"] = false,
            ["predictions"] = published,
            ["champion_version"] = champion.Version,
            ["challenger_version"] = resolved.Version,
            ["rows"] = comparison.Rows,
            ["agreement"] = comparison.Agreement,
            ["prediction_psi"] = Finite(comparison.PredictionPsi),
            ["ks_d"] = Finite(comparison.KsD),
            ["mean_difference"] = meanDifference,
        };
        if (realized is { } r)
        {
            outputs["labelled"] = r.Labelled;
            outputs["champion_metrics"] = championMetrics;
            outputs["challenger_metrics"] = challengerMetrics;
        }

        if (monitor is not null)
        {
            if (store is not null)
                await store.RecordChallengerBatchAsync(new ChallengerBatch(monitor, context.RunId, context.StepId, dataLabel, context.Time.GetUtcNow(),
                    champion.Version, resolved.Version, comparison.Rows, comparison.Agreement, Finite(comparison.PredictionPsi), realized?.Labelled ?? 0,
                    championMetrics?.ToJsonString(), challengerMetrics?.ToJsonString()), ct);
            else context.Log.Write($"this worker has no monitoring store: the comparison is not kept in '{monitor}'");
        }

        var reason = $"challenger v{resolved.Version} shadow-scored {comparison.Rows} rows beside champion v{champion.Version}: agreement {comparison.Agreement:0.####}";
        var propose = false;
        if (policy is not null)
        {
            var decision = await ChallengerSeries.DecideAsync(store!, monitor!, champion.Version, resolved.Version, policy, ct);
            (propose, reason) = (decision.Propose, decision.Reason);
            outputs["evidence_batches"] = decision.EvidenceBatches;
        }
        outputs["propose"] = propose;
        outputs["reason"] = reason;

        if (await ModelTracking.ParentRunAsync(context, ct) is { } parent)
        {
            var metrics = new Dictionary<string, double>
            {
                ["challenger.rows"] = comparison.Rows, ["challenger.agreement"] = comparison.Agreement,
                ["challenger.mean_difference"] = meanDifference,
            };
            if (double.IsFinite(comparison.PredictionPsi)) metrics["challenger.prediction_psi"] = comparison.PredictionPsi;
            if (double.IsFinite(comparison.KsD)) metrics["challenger.ks_d"] = comparison.KsD;
            if (realized is { } m)
            {
                metrics["challenger.labelled"] = m.Labelled;
                foreach (var (k, v) in m.Champion) if (double.IsFinite(v)) metrics[$"challenger.realized.champion.{k}"] = v;
                foreach (var (k, v) in m.Challenger) if (double.IsFinite(v)) metrics[$"challenger.realized.challenger.{k}"] = v;
            }
            if (policy is not null) metrics["challenger.proposed"] = propose ? 1 : 0;
            await ActivityServices.From(context).Tracking!.LogMetricsAsync(parent, metrics, ct: ct);
        }
        context.Log.Write(reason);
        return ActivityResult.Success(outputs);
    }

    private static ActivityResult Skip(ActivityContext context, string reason)
    {
        context.Log.Write($"skipped: {reason}");
        return ActivityResult.Success(new JsonObject { ["skipped"] = true, ["propose"] = false, ["reason"] = reason });
    }

    private sealed record ChampionRows(long[] Rows, double[] Predictions, string Version, string?[]? Keys);

    /// <summary>The champion's predictions in partition order: which rows, their scores, the version, and the row keys when asked for.</summary>
    private static async Task<ChampionRows> ChampionRowsAsync(ActivityContext context, string? key, CancellationToken ct)
    {
        var rows = new List<long>();
        var predictions = new List<double>();
        var keys = key is null ? null : new List<string?>();
        var versions = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (label, table) in await MonitoringInputs.ReadTablesAsync(context, "predictions", null, ct))
        {
            Column Need(string column) => table.Schema.IndexOf(column) is var i and >= 0 ? table.Columns[i]
                : throw new ActivityException($"predictions: '{label}' has no column '{column}' (columns: {string.Join(", ", table.Schema.Fields.Select(f => f.Name))})", retryable: false);
            var row = Profiler.AsDoubles(Need("row"));
            var prediction = Profiler.AsDoubles(Need("prediction"));
            var version = Need("model_version");
            var keyColumn = key is null ? null : Need(key);
            for (var i = 0; i < table.RowCount; i++)
            {
                if (double.IsNaN(row[i]) || double.IsNaN(prediction[i])) throw new ActivityException($"predictions: '{label}' row {i + 1} has no row number or no prediction", retryable: false);
                rows.Add((long)row[i]);
                predictions.Add(prediction[i]);
                versions.Add(version.Format(i) ?? "");
                keys?.Add(keyColumn!.Format(i));
            }
        }
        if (rows.Count == 0) throw new ActivityException("predictions: the champion scored no rows", retryable: false);
        if (versions.Count != 1)
            throw new ActivityException($"predictions: the champion's predictions come from versions {string.Join(", ", versions)}; a shadow comparison needs one champion", retryable: false);
        return new ChampionRows(rows.ToArray(), predictions.ToArray(), versions.Single(), keys?.ToArray());
    }

    /// <summary>The dataset's rows in the order the champion's predictions list them (contiguous ranges sliced, then joined).</summary>
    private static Table Rows(Table data, long[] rows, string dataLabel)
    {
        var parts = new List<Table>();
        var start = 0;
        while (start < rows.Length)
        {
            var end = start + 1;
            while (end < rows.Length && rows[end] == rows[end - 1] + 1) end++;
            var first = rows[start];
            if (first < 0 || rows[end - 1] >= data.RowCount)
                throw new ActivityException($"predictions name row {(first < 0 ? first : rows[end - 1])}, but dataset '{dataLabel}' has {data.RowCount} rows: are they of this batch?", retryable: false);
            parts.Add(data.Slice((int)first, end - start));
            start = end;
        }
        return parts.Count == 1 ? parts[0] : Table.Concat(data.Schema, parts);
    }

    /// <summary>Labels joined by key to the same rows for both models: both sets of metrics cover exactly the same labelled rows.</summary>
    private static async Task<ChallengerSeries.Realized> RealizedAsync(ActivityContext context, string? key, ChampionRows champion, double[] challenger,
        PredictionTask task, double threshold, Pipelines.Data.Csv.CsvOptions csv, CancellationToken ct)
    {
        key = key ?? throw new ActivityException("labels: needs 'key', the row key column in the champion's predictions and the labels", retryable: false);
        var keys = champion.Keys!.Select((k, i) => k ?? throw new ActivityException($"predictions: row {champion.Rows[i]} has no key ('{key}' is null)", retryable: false)).ToList();
        return await ChallengerSeries.RealizeAsync(context, keys, champion.Predictions, challenger, task, threshold, csv, ct);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
