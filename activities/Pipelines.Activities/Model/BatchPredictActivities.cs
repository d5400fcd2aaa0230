using System.Text.Json;
using Pipelines.Data;
using Pipelines.Data.Parquet;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Tuning;
using Pipelines.Quality.Drift;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <param name="Dataset">Fetched by name ("dataset") through <see cref="ArtifactRefs"/>.</param>
public sealed record PartitionsInput(JsonNode Dataset, long Count) : IActivityInput<PartitionsInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("dataset", SchemaBuilder.Any("A path or an artifact reference."))
        .Required("count", SchemaBuilder.Integer("Number of partitions (fewer when the data has fewer rows)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Build();

    // null_tokens is read with the dataset (ModelTraining.CsvOf).
    public static PartitionsInput Bind(ActivityInputs inputs) => new(inputs.Node("dataset")!, inputs.Integer("count"));
}

/// <summary>Splits a dataset into row ranges that a for_each of batch_predict fans out over.</summary>
public sealed class PartitionsActivity : Activity<PartitionsInput>, IActivityDefinition<PartitionsInput>
{
    public static ActivityInfo Info { get; } = new("partitions", "1", "Splits a dataset into N contiguous row ranges for a for_each fan-out.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object()
        .Required("partitions", SchemaBuilder.Array(SchemaBuilder.Any(), "[{index, start, length}]"))
        .Required("rows", SchemaBuilder.Integer())
        .Build();

    public static IActivity Create(IServiceProvider? services) => new PartitionsActivity();

    protected override async Task<ActivityResult> ExecuteAsync(PartitionsInput input, ActivityContext context, CancellationToken ct)
    {
        var rows = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "dataset", ct), ModelTraining.CsvOf(context.Inputs)).RowCount;
        var count = (int)input.Count;
        if (count < 1) throw new ActivityException("count must be at least 1", retryable: false);
        count = Math.Max(1, Math.Min(count, rows));
        var parts = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var start = (int)((long)rows * i / count);
            var end = (int)((long)rows * (i + 1) / count);
            parts.Add(new JsonObject { ["index"] = i, ["start"] = start, ["length"] = end - start });
        }
        return ActivityResult.Success(new JsonObject { ["partitions"] = parts, ["rows"] = rows });
    }
}

/// <param name="Partition">A value that is not an object means all rows, as before.</param>
public sealed record BatchPredictInput(
    JsonNode Dataset, JsonObject? Partition, string? ModelName, string Alias, JsonNode? Model, IReadOnlyList<string> KeepColumns, long ExplainTopK)
    : IActivityInput<BatchPredictInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("dataset", SchemaBuilder.Any("A path or an artifact reference."))
        .Optional("partition", SchemaBuilder.Any("{index, start, length} from partitions (default: all rows)."))
        .Optional("model_name", SchemaBuilder.String("Registered model (with alias)."))
        .Optional("alias", SchemaBuilder.String("Alias to score with (default champion)."))
        .Optional("model", SchemaBuilder.Any("A model artifact reference instead of the registry."))
        .Optional("keep_columns", SchemaBuilder.Array(SchemaBuilder.String(), "Input columns copied next to the prediction (e.g. an id)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Optional("explain_top_k", SchemaBuilder.Integer("Write each row's k largest SHAP contributions (XGBoost models): columns explain_1_feature, explain_1_value, … (default 0: none)."))
        .Build();

    // null_tokens is read with the dataset (ModelTraining.CsvOf).
    public static BatchPredictInput Bind(ActivityInputs inputs) => new(
        inputs.Node("dataset")!,
        inputs.Node("partition") as JsonObject,
        inputs.OptionalString("model_name"),
        inputs.String("alias", PipelineTracking.Champion),
        inputs.Node("model"),
        inputs.StringList("keep_columns", []),
        inputs.Integer("explain_top_k", 0));
}

/// <summary>
/// Scores one partition with a model (by alias from the registry, default champion, or a model reference) through
/// the model's own feature pipeline. The predictions Parquet goes to an attempt-scoped key: a crashed or retried
/// attempt leaves at most an orphan that no manifest references.
/// </summary>
public sealed class BatchPredictActivity : Activity<BatchPredictInput>, IActivityDefinition<BatchPredictInput>
{
    public static ActivityInfo Info { get; } = new("batch_predict", "1", "Scores a dataset partition with the model by alias (default champion); writes predictions Parquet with model_version and run_id.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new BatchPredictActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("predictions", SchemaBuilder.Any("Predictions artifact: row, prediction, model_version, run_id (+ keep_columns, + explain_i_feature/explain_i_value)."))
            .Required("rows", SchemaBuilder.Integer())
            .Required("model_version", SchemaBuilder.String())
            .Required("partition", SchemaBuilder.Integer())
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(BatchPredictInput input, ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        string modelDir, modelVersion, modelLabel;
        if (input.Model is not null)
        {
            modelDir = await ModelResolution.LocalModelAsync(context, "model", ct);
            modelVersion = input.Model is JsonObject o ? $"artifact:{o["artifact"]}" : "local";
            modelLabel = $"model '{ArtifactRefs.DisplayName(input.Model)}'";
        }
        else
        {
            var name = input.ModelName ?? throw new ActivityException("input 'model_name' is required", retryable: false);
            var alias = input.Alias;
            var resolved = await ModelResolution.ByAliasAsync(context, name, alias, "model", ct)
                           ?? throw new ActivityException($"model '{name}' has no '{alias}' alias: nothing to score with", retryable: false);
            modelDir = resolved.Directory;
            modelVersion = resolved.Version;
            modelLabel = $"model {name}@{alias} (version {resolved.Version})";
        }
        var data = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "dataset", ct), ModelTraining.CsvOf(context.Inputs));
        var partition = input.Partition;
        var index = (int)(JsonNumber.Long(partition?["index"]) ?? 0);
        var start = (int)(JsonNumber.Long(partition?["start"]) ?? 0);
        var length = (int)(JsonNumber.Long(partition?["length"]) ?? data.RowCount - start);
        if (start < 0 || length < 0 || start + length > data.RowCount)
            throw new ActivityException($"partition {index} [{start}, {start + length}) is outside the dataset's {data.RowCount} rows", retryable: false);
        var slice = data.Slice(start, length);

        var topK = (int)input.ExplainTopK;
        if (topK < 0) throw new ActivityException($"explain_top_k must be 0 or more, got {topK}", retryable: false);
        double[] values;
        var explainFields = new List<Field>();
        var explainColumns = new List<Column>();
        using (var model = MlflowModel.Load(modelDir))
        {
            try
            {
                var p = model.Predict(slice);
                values = p.Columns == 1 ? p.Values : Enumerable.Range(0, p.Rows).Select(r => (double)ArgMax(p.Row(r))).ToArray();
                if (topK > 0)
                {
                    if (model.Model is not Pipelines.Ml.Trainers.XGBoostModel xgb)
                        throw new ActivityException($"explain_top_k: {modelLabel} is not an XGBoost model; only XGBoost has native SHAP contributions", retryable: false);
                    var c = xgb.Contributions(model.Pipeline.TransformToMatrix(slice));
                    // Multiclass: the contributions to the predicted class; otherwise the single output (margin units).
                    var tops = Enumerable.Range(0, c.Rows).Select(r => c.TopK(r, topK, c.Outputs > 1 ? (int)values[r] : 0)).ToList();
                    for (var k = 0; k < topK; k++)
                    {
                        var kk = k;
                        explainFields.Add(new Field($"explain_{k + 1}_feature", DataType.String, true));
                        explainColumns.Add(ModelResolution.Strings(tops.Select(t => kk < t.Count ? t[kk].Feature : null)));
                        explainFields.Add(new Field($"explain_{k + 1}_value", DataType.Float64, true));
                        explainColumns.Add(ModelResolution.NullableDoubles(tops.Select(t => kk < t.Count ? t[kk].Value : (double?)null)));
                    }
                }
            }
            catch (Pipelines.Ml.ColumnMismatchException e)
            {
                throw new ActivityException($"dataset '{ArtifactRefs.DisplayName(input.Dataset)}' does not fit {modelLabel}: {e.Message}", retryable: false, e);
            }
        }
        var fields = new List<Field> { new("row", DataType.Int64, false), new("prediction", DataType.Float64, false), new("model_version", DataType.String, false), new("run_id", DataType.String, false) };
        var columns = new List<Column>
        {
            ModelResolution.Longs(Enumerable.Range(start, length).Select(i => (long)i)),
            ModelResolution.Doubles(values),
            ModelResolution.Strings(Enumerable.Repeat<string?>(modelVersion, length)),
            ModelResolution.Strings(Enumerable.Repeat<string?>(context.RunId.ToString(), length)),
        };
        foreach (var keep in input.KeepColumns)
        {
            var i = slice.Schema.IndexOf(keep);
            if (i < 0) throw new ActivityException($"keep_columns: no column '{keep}' in the dataset", retryable: false);
            fields.Add(slice.Schema.Fields[i]);
            columns.Add(slice.Columns[i]);
        }
        fields.AddRange(explainFields);
        columns.AddRange(explainColumns);
        var path = Path.Combine(services.WorkDirectory(context), $"predictions-{index:D5}.parquet");
        ParquetWriter.WriteTable(path, new Table(new Schema(fields), columns));
        JsonObject published;
        try
        {
            published = await ArtifactRefs.PublishAsync(context, path, ct: ct);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException && !ct.IsCancellationRequested)
        {
            // A store hiccup is transient: the next attempt writes under its own key (this one's upload, if any, stays an
            // unregistered orphan that no manifest lists). Unwrapped, the engine would treat it as permanent.
            throw new ActivityException($"partition {index}: publishing the predictions failed: {e.Message}", retryable: true, e);
        }
        published["partition"] = index;
        context.Log.Write($"partition {index}: {length} rows scored with model version {modelVersion}");
        return ActivityResult.Success(new JsonObject { ["predictions"] = published, ["rows"] = length, ["model_version"] = modelVersion, ["partition"] = index });
    }

    private static int ArgMax(ReadOnlySpan<double> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}

/// <param name="Partitions">A value that is not a list counts as empty (and is rejected with the other bad lists).</param>
public sealed record PublishPredictionsInput(JsonArray Partitions, JsonNode? Reference, long Bins, double PsiAlert) : IActivityInput<PublishPredictionsInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("partitions", SchemaBuilder.Array(SchemaBuilder.Any(), "batch_predict outputs, e.g. ${{ steps.score.outputs.predictions }}."))
        .Optional("reference", SchemaBuilder.Any("Reference predictions (Parquet with 'prediction'), e.g. evaluate's predictions output."))
        .Optional("bins", SchemaBuilder.Integer("PSI bins (default 10)."))
        .Optional("psi_alert", SchemaBuilder.Number("PSI above which drift_alert is true (default 0.2)."))
        .Optional("experiment", SchemaBuilder.String("MLflow experiment of the run's parent run, where prediction_psi is logged (default 'pipelines')."))
        .Build();

    // 'experiment' is read where the parent run is found (ModelTracking).
    public static PublishPredictionsInput Bind(ActivityInputs inputs) => new(
        inputs.Node("partitions") as JsonArray ?? [],
        inputs.Node("reference"),
        inputs.Integer("bins", 10),
        inputs.Number("psi_alert", 0.2));
}

/// <summary>
/// Commits a batch scoring: checks every partition artifact against its registered hash, measures drift of the
/// prediction distribution against a reference (PSI, KS), and publishes the manifest — last, so a reader that
/// starts from the manifest never sees a partial result.
/// </summary>
public sealed class PublishPredictionsActivity : Activity<PublishPredictionsInput>, IActivityDefinition<PublishPredictionsInput>
{
    public static ActivityInfo Info { get; } = new("publish_predictions", "1", "Writes the manifest of a batch scoring (partition artifacts with hashes) last, with prediction drift against training.");

    public static IActivity Create(IServiceProvider? services) => new PublishPredictionsActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("manifest", SchemaBuilder.Any("Manifest artifact."))
            .Required("rows", SchemaBuilder.Integer())
            .Optional("psi", SchemaBuilder.Number())
            .Optional("ks", SchemaBuilder.Number())
            .Required("drift_alert", SchemaBuilder.Boolean())
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(PublishPredictionsInput input, ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var parts = input.Partitions.ToList();
        if (parts.Count == 0 || parts.Any(p => !ArtifactRefs.IsReference(p)))
            throw new ActivityException("input 'partitions' must be a non-empty list of prediction artifact references", retryable: false);
        var entries = new JsonArray();
        var predictions = new List<double>();
        var versions = new HashSet<string>();
        long rows = 0;
        foreach (var (node, i) in parts.Select((p, i) => (p!, i)).OrderBy(x => JsonNumber.Long(x.Item1["partition"]) ?? x.i))
        {
            var id = Guid.Parse(node["artifact"]!.GetValue<string>());
            var record = await services.Artifacts.Registry.GetAsync(id, ct) ?? throw new ActivityException($"partition artifact {id} is not registered", retryable: false);
            if (record.Sha256 != node["sha256"]!.GetValue<string>()) throw new ActivityException($"partition artifact {id}: hash differs from its reference", retryable: false);
            var file = await ArtifactRefs.LocalFileAsync(context, record, $"partition-{i}", ct); // the cache verifies the bytes against the hash
            var table = ModelTraining.Read(file, new());
            var p = table["prediction"];
            for (var r = 0; r < table.RowCount; r++) predictions.Add(Convert.ToDouble(p.GetValue(r)));
            var mv = table["model_version"];
            if (table.RowCount > 0) versions.Add(mv.GetValue(0)!.ToString()!);
            rows += table.RowCount;
            entries.Add(new JsonObject
            {
                ["partition"] = JsonNumber.Long(node["partition"]) ?? i,
                ["artifact"] = record.Id.ToString(), ["uri"] = record.Uri, ["sha256"] = record.Sha256, ["rows"] = table.RowCount,
            });
        }
        double? psi = null, ks = null;
        JsonArray? bins = null;
        if (input.Reference is not null)
        {
            var reference = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "reference", ct), new());
            var r = Enumerable.Range(0, reference.RowCount).Select(i => Convert.ToDouble(reference["prediction"].GetValue(i))).ToArray();
            var (value, table) = DriftMeasures.NumericPsi(r, predictions.ToArray(), (int)input.Bins);
            psi = value;
            ks = DriftMeasures.KolmogorovSmirnov(r, predictions.ToArray()).D;
            bins = new JsonArray(table.Select(b => (JsonNode)new JsonObject { ["bin"] = b.Label, ["reference"] = b.ReferenceShare, ["current"] = b.CurrentShare }).ToArray());
        }
        var alert = psi is { } v && v > input.PsiAlert;
        var manifest = new JsonObject
        {
            ["run_id"] = context.RunId.ToString(),
            ["model_versions"] = new JsonArray(versions.Order().Select(x => (JsonNode)x).ToArray()),
            ["rows"] = rows,
            ["partitions"] = entries,
            ["drift"] = new JsonObject { ["psi"] = psi, ["ks"] = ks, ["alert"] = alert, ["bins"] = bins },
        };
        var path = Path.Combine(services.WorkDirectory(context), "manifest.json");
        await File.WriteAllTextAsync(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), ct);
        // Commit point: the manifest is the only entry into this scoring's results, and it is written last.
        var published = await ArtifactRefs.PublishAsync(context, path, "manifest.json", ct: ct);
        if (await ModelTracking.ParentRunAsync(context, ct) is { } parent && psi is { } pv)
            await services.Tracking!.LogMetricsAsync(parent, new Dictionary<string, double> { ["prediction_psi"] = pv }, ct: ct);
        context.Log.Write($"manifest: {entries.Count} partitions, {rows} rows" + (psi is { } x ? $", prediction PSI {x:F4}{(alert ? " (ALERT)" : "")}" : ""));
        return ActivityResult.Success(new JsonObject { ["manifest"] = published, ["rows"] = rows, ["psi"] = psi, ["ks"] = ks, ["drift_alert"] = alert });
    }
}
