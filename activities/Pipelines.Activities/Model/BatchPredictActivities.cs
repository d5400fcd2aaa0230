using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Data;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Tuning;
using Pipelines.Quality.Drift;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>Splits a dataset into row ranges that a for_each of batch_predict fans out over.</summary>
[Activity("partitions", "1", "Splits a dataset into N contiguous row ranges for a for_each fan-out.")]
public sealed class PartitionsActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("dataset", SchemaBuilder.Any("A path or an artifact reference."))
            .Required("count", SchemaBuilder.Integer("Number of partitions (fewer when the data has fewer rows)."))
            .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
            .Build(),
        SchemaBuilder.Object()
            .Required("partitions", SchemaBuilder.Array(SchemaBuilder.Any(), "[{index, start, length}]"))
            .Required("rows", SchemaBuilder.Integer())
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken ct)
    {
        var rows = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "dataset", ct), ModelTraining.CsvOf(context.Inputs)).RowCount;
        var count = (int)(JsonNumber.Long(context.Inputs["count"]) ?? 1);
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

/// <summary>
/// Scores one partition with a model (by alias from the registry, default champion, or a model reference) through
/// the model's own feature pipeline. The predictions Parquet goes to an attempt-scoped key: a crashed or retried
/// attempt leaves at most an orphan that no manifest references.
/// </summary>
[Activity("batch_predict", "1", "Scores a dataset partition with the model by alias (default champion); writes predictions Parquet with model_version and run_id.", Cacheable = false)]
public sealed class BatchPredictActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("dataset", SchemaBuilder.Any("A path or an artifact reference."))
            .Optional("partition", SchemaBuilder.Any("{index, start, length} from partitions (default: all rows)."))
            .Optional("model_name", SchemaBuilder.String("Registered model (with alias)."))
            .Optional("alias", SchemaBuilder.String("Alias to score with (default champion)."))
            .Optional("model", SchemaBuilder.Any("A model artifact reference instead of the registry."))
            .Optional("keep_columns", SchemaBuilder.Array(SchemaBuilder.String(), "Input columns copied next to the prediction (e.g. an id)."))
            .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
            .Optional("explain_top_k", SchemaBuilder.Integer("Write each row's k largest SHAP contributions (XGBoost models): columns explain_1_feature, explain_1_value, … (default 0: none)."))
            .Build(),
        SchemaBuilder.Object()
            .Required("predictions", SchemaBuilder.Any("Predictions artifact: row, prediction, model_version, run_id (+ keep_columns, + explain_i_feature/explain_i_value)."))
            .Required("rows", SchemaBuilder.Integer())
            .Required("model_version", SchemaBuilder.String())
            .Required("partition", SchemaBuilder.Integer())
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var inputs = context.Inputs;
        string modelDir, modelVersion, modelLabel;
        if (inputs["model"] is not null)
        {
            modelDir = await ModelResolution.LocalModelAsync(context, "model", ct);
            modelVersion = inputs["model"] is JsonObject o ? $"artifact:{o["artifact"]}" : "local";
            modelLabel = $"model '{ArtifactRefs.DisplayName(inputs["model"])}'";
        }
        else
        {
            var name = context.RequireString("model_name");
            var alias = inputs["alias"]?.GetValue<string>() ?? PipelineTracking.Champion;
            var resolved = await ModelResolution.ByAliasAsync(context, name, alias, "model", ct)
                           ?? throw new ActivityException($"model '{name}' has no '{alias}' alias: nothing to score with", retryable: false);
            modelDir = resolved.Directory;
            modelVersion = resolved.Version;
            modelLabel = $"model {name}@{alias} (version {resolved.Version})";
        }
        var data = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "dataset", ct), ModelTraining.CsvOf(inputs));
        var partition = inputs["partition"] as JsonObject;
        var index = (int)(JsonNumber.Long(partition?["index"]) ?? 0);
        var start = (int)(JsonNumber.Long(partition?["start"]) ?? 0);
        var length = (int)(JsonNumber.Long(partition?["length"]) ?? data.RowCount - start);
        if (start < 0 || length < 0 || start + length > data.RowCount)
            throw new ActivityException($"partition {index} [{start}, {start + length}) is outside the dataset's {data.RowCount} rows", retryable: false);
        var slice = data.Slice(start, length);

        var topK = (int)(JsonNumber.Long(inputs["explain_top_k"]) ?? 0);
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
                throw new ActivityException($"dataset '{ArtifactRefs.DisplayName(inputs["dataset"])}' does not fit {modelLabel}: {e.Message}", retryable: false, e);
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
        foreach (var keep in (inputs["keep_columns"] as JsonArray)?.Select(k => k!.GetValue<string>()) ?? [])
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

/// <summary>
/// Commits a batch scoring: checks every partition artifact against its registered hash, measures drift of the
/// prediction distribution against a reference (PSI, KS), and publishes the manifest — last, so a reader that
/// starts from the manifest never sees a partial result.
/// </summary>
[Activity("publish_predictions", "1", "Writes the manifest of a batch scoring (partition artifacts with hashes) last, with prediction drift against training.")]
public sealed class PublishPredictionsActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("partitions", SchemaBuilder.Array(SchemaBuilder.Any(), "batch_predict outputs, e.g. ${{ steps.score.outputs.predictions }}."))
            .Optional("reference", SchemaBuilder.Any("Reference predictions (Parquet with 'prediction'), e.g. evaluate's predictions output."))
            .Optional("bins", SchemaBuilder.Integer("PSI bins (default 10)."))
            .Optional("psi_alert", SchemaBuilder.Number("PSI above which drift_alert is true (default 0.2)."))
            .Optional("experiment", SchemaBuilder.String("MLflow experiment of the run's parent run, where prediction_psi is logged (default 'pipelines')."))
            .Build(),
        SchemaBuilder.Object()
            .Required("manifest", SchemaBuilder.Any("Manifest artifact."))
            .Required("rows", SchemaBuilder.Integer())
            .Optional("psi", SchemaBuilder.Number())
            .Optional("ks", SchemaBuilder.Number())
            .Required("drift_alert", SchemaBuilder.Boolean())
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var parts = (context.Inputs["partitions"] as JsonArray ?? []).ToList();
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
        if (context.Inputs["reference"] is not null)
        {
            var reference = ModelTraining.Read(await ArtifactRefs.LocalFileAsync(context, "reference", ct), new());
            var r = Enumerable.Range(0, reference.RowCount).Select(i => Convert.ToDouble(reference["prediction"].GetValue(i))).ToArray();
            var (value, table) = DriftMeasures.NumericPsi(r, predictions.ToArray(), (int)(JsonNumber.Long(context.Inputs["bins"]) ?? 10));
            psi = value;
            ks = DriftMeasures.KolmogorovSmirnov(r, predictions.ToArray()).D;
            bins = new JsonArray(table.Select(b => (JsonNode)new JsonObject { ["bin"] = b.Label, ["reference"] = b.ReferenceShare, ["current"] = b.CurrentShare }).ToArray());
        }
        var alert = psi is { } v && v > (JsonNumber.Double(context.Inputs["psi_alert"]) ?? 0.2);
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
