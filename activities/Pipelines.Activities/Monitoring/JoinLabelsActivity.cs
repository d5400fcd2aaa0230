using System.Globalization;
using Pipelines.Activities.Data;
using Pipelines.Activities.Model;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Drift;

namespace Pipelines.Activities.Monitoring;

/// <param name="Binary">From 'task': binary (true) or regression (false).</param>
public sealed record JoinLabelsInput(
    string Key, string Label, JsonNode? Positive, bool Binary, double Threshold, string? Batch, IReadOnlyList<string> Slices,
    string? Order, DuplicateLabels Duplicates, string? Monitor) : IActivityInput<JoinLabelsInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("predictions", SchemaBuilder.Any("Prediction tables (batch_predict outputs, a list, or paths) with the key and 'prediction'."))
        .Required("labels", SchemaBuilder.Any("Label tables (one or a list, in arrival order) with the key and the label."))
        .Required("key", SchemaBuilder.String("Row key column, in both."))
        .Required("label", SchemaBuilder.String("Label column of the labels."))
        .Optional("positive", SchemaBuilder.Any("Label value(s) meaning the positive class (binary); default: labels are 0/1 or true/false."))
        .Optional("task", SchemaBuilder.String("binary (default) or regression."))
        .Optional("threshold", SchemaBuilder.Number("Score at or above which a prediction is positive (default 0.5)."))
        .Optional("batch", SchemaBuilder.String("Predictions column naming the batch (default run_id; all one batch when absent)."))
        .Optional("slices", SchemaBuilder.Array(SchemaBuilder.String(), "Prediction columns to slice metrics by."))
        .Optional("order", SchemaBuilder.String("Labels column giving arrival order (e.g. labelled_at); default: as listed."))
        .Optional("duplicates", SchemaBuilder.String("A key labelled twice with different values: 'last' (default, later arrival wins) or 'error'."))
        .Optional("monitor", SchemaBuilder.String("Record the realized metrics in this monitor's series."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Build();

    // The tables (predictions, labels) are read by name from the context, with null_tokens (ModelTraining.CsvOf).
    public static JoinLabelsInput Bind(ActivityInputs inputs) => new(
        inputs.String("key"),
        inputs.String("label"),
        inputs.Node("positive"),
        inputs.String("task", "binary") switch
        {
            "binary" => true,
            "regression" => false,
            var t => throw new ActivityException($"task: '{t}' is not binary or regression", retryable: false),
        },
        inputs.Number("threshold", 0.5),
        inputs.OptionalString("batch"),
        MonitoringInputs.Strings(inputs.Json, "slices") ?? [],
        inputs.OptionalString("order"),
        inputs.String("duplicates", "last") switch
        {
            "last" => DuplicateLabels.Last,
            "error" => DuplicateLabels.Error,
            var d => throw new ActivityException($"duplicates: '{d}' is not last or error", retryable: false),
        },
        inputs.OptionalString("monitor"));
}

/// <summary>
/// Delayed labels: joins ground truth that arrived after scoring to the earlier predictions by row key and computes
/// realized metrics per batch and per slice (see <see cref="LabelJoin"/>). Predictions need the row key next to the
/// score (batch_predict's <c>keep_columns</c>); the batch is the predictions' <c>run_id</c> unless named otherwise.
/// </summary>
public sealed class JoinLabelsActivity : Activity<JoinLabelsInput>, IActivityDefinition<JoinLabelsInput>
{
    public static ActivityInfo Info { get; } = new("join_labels", "1", "Joins late-arriving labels to earlier predictions by row key; realized metrics per batch and slice.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new JoinLabelsActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("joined", SchemaBuilder.Any("Parquet: key, batch, prediction, label (null while missing) and the slice columns."))
            .Required("metrics", SchemaBuilder.Array(SchemaBuilder.Any(), "[{batch, slice, predictions, labelled, metrics: {…}}]"))
            .Required("predictions", SchemaBuilder.Integer())
            .Required("labelled", SchemaBuilder.Integer())
            .Required("missing_labels", SchemaBuilder.Integer("Predictions with no label yet."))
            .Required("duplicate_labels", SchemaBuilder.Integer("Labels for a key already labelled."))
            .Required("conflicting_labels", SchemaBuilder.Integer("Duplicates with a different value."))
            .Required("unmatched_labels", SchemaBuilder.Integer("Labels for keys not among these predictions."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(JoinLabelsInput input, ActivityContext context, CancellationToken ct)
    {
        var key = input.Key;
        var labelColumn = input.Label;
        var binary = input.Binary;
        var duplicates = input.Duplicates;
        var threshold = input.Threshold;
        var slices = input.Slices;
        var outcome = Outcome(binary, input.Positive);
        var csv = ModelTraining.CsvOf(context.Inputs);

        var scored = new List<ScoredRow>();
        foreach (var (name, table) in await MonitoringInputs.ReadTablesAsync(context, "predictions", csv, ct))
        {
            var keys = Column(table, key, name, "key");
            var prediction = Column(table, "prediction", name, "prediction");
            if (!Profiler.IsNumeric(prediction.Type)) throw new ActivityException($"predictions '{name}': column 'prediction' is {prediction.Type}, not a number", retryable: false);
            var batchName = input.Batch;
            var batch = batchName is not null ? Column(table, batchName, name, "batch") : table.Schema.IndexOf("run_id") >= 0 ? table["run_id"] : null;
            var sliceColumns = slices.Select(s => Column(table, s, name, "slices")).ToArray();
            var values = Profiler.AsDoubles(prediction);
            for (var i = 0; i < table.RowCount; i++)
            {
                var k = keys.Format(i) ?? throw new ActivityException($"predictions '{name}': row {i + 1} has no key ('{key}' is null)", retryable: false);
                if (double.IsNaN(values[i])) throw new ActivityException($"predictions '{name}': row {i + 1} (key '{k}') has no prediction", retryable: false);
                scored.Add(new ScoredRow(k, batch?.Format(i) ?? "all", values[i], sliceColumns.Select(c => c.Format(i)).ToArray()));
            }
        }

        var labels = await ReadLabelsAsync(context, key, labelColumn, input.Order, csv, ct);

        JoinResult result;
        try { result = LabelJoin.Join(scored, slices, labels, outcome, binary, threshold, duplicates); }
        catch (LabelJoinException e) { throw new ActivityException(e.Message, retryable: false, e); }

        var joined = await TableFiles.PublishTableAsync(context, JoinedTable(result, slices), "joined-labels.parquet", ct);
        var now = context.Time.GetUtcNow();
        var metrics = new JsonArray(result.Slices.Select(s => (JsonNode)SliceJson(s)).ToArray());
        if (input.Monitor is { } monitor)
        {
            if (MonitoringInputs.Store(context) is { } store)
                await store.RecordRealizedAsync(result.Slices.Select(s => new RealizedMetrics(monitor, context.RunId, context.StepId, s.Batch, s.Slice, now,
                    s.Predictions, s.Labelled, SliceJson(s)["metrics"]!.ToJsonString())).ToList(), ct);
            else context.Log.Write($"this worker has no monitoring store: realized metrics are not recorded for '{monitor}'");
        }
        foreach (var c in result.Conflicts) context.Log.Write($"conflicting label: {c}");
        var labelled = result.Rows.LongCount(r => r.Label is not null);
        context.Log.Write($"{labelled} of {result.Rows.Count} predictions labelled ({result.MissingLabels} missing, {result.DuplicateLabels} duplicate labels, " +
                          $"{result.ConflictingLabels} conflicting, {result.UnmatchedLabels} unmatched)");
        return ActivityResult.Success(new JsonObject
        {
            ["joined"] = joined,
            ["metrics"] = metrics,
            ["predictions"] = result.Rows.Count,
            ["labelled"] = labelled,
            ["missing_labels"] = result.MissingLabels,
            ["duplicate_labels"] = result.DuplicateLabels,
            ["conflicting_labels"] = result.ConflictingLabels,
            ["unmatched_labels"] = result.UnmatchedLabels,
        });
    }

    /// <summary>
    /// The labels input in arrival order: the <paramref name="orderColumn"/> when given (ties keep the listed order),
    /// else the order the files and their rows are listed in.
    /// </summary>
    internal static async Task<List<ArrivedLabel>> ReadLabelsAsync(ActivityContext context, string key, string labelColumn, string? orderColumn,
        Pipelines.Data.Csv.CsvOptions csv, CancellationToken ct)
    {
        var labels = new List<ArrivedLabel>();
        var orders = new List<double>();
        foreach (var (name, table) in await MonitoringInputs.ReadTablesAsync(context, "labels", csv, ct))
        {
            var keys = Column(table, key, name, "key");
            var values = Column(table, labelColumn, name, "label");
            double[]? order = null;
            if (orderColumn is not null)
            {
                var oc = Column(table, orderColumn, name, "order");
                order = oc.Type.Kind is TypeKind.Date or TypeKind.Timestamp || Profiler.IsNumeric(oc.Type)
                    ? Profiler.AsDoubles(oc)
                    : throw new ActivityException($"labels '{name}': order column '{orderColumn}' is {oc.Type}, not a number, date or timestamp", retryable: false);
            }
            for (var i = 0; i < table.RowCount; i++)
            {
                var k = keys.Format(i) ?? throw new ActivityException($"labels '{name}': row {i + 1} has no key ('{key}' is null)", retryable: false);
                if (order is not null && double.IsNaN(order[i])) throw new ActivityException($"labels '{name}': row {i + 1} (key '{k}') has no '{orderColumn}'", retryable: false);
                labels.Add(new ArrivedLabel(k, values.Format(i), labels.Count));
                orders.Add(order?[i] ?? 0);
            }
        }
        // Arrival is the order column when given (ties keep the listed order), else the order listed.
        if (orderColumn is not null)
            labels = labels.Select((l, i) => (l, o: orders[i])).OrderBy(x => x.o).ThenBy(x => x.l.Order).Select((x, rank) => x.l with { Order = rank }).ToList();
        return labels;
    }

    /// <summary>
    /// How a label value becomes an outcome: a number (regression), or 1/0 by the <c>positive</c> class names (binary;
    /// without them labels must be 0/1 or true/false). Unreadable labels throw <see cref="LabelJoinException"/>.
    /// </summary>
    internal static Func<string, double?> Outcome(bool binary, JsonNode? positive)
    {
        var positives = positive switch
        {
            null => null,
            JsonArray a => a.Select(v => v?.ToString() ?? "").ToHashSet(StringComparer.Ordinal),
            var v => new HashSet<string>(StringComparer.Ordinal) { v.ToString() },
        };
        return label =>
        {
            if (!binary)
                return double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new LabelJoinException($"label '{label}' is not a number (task: regression)");
            if (positives is not null) return positives.Contains(label) ? 1 : 0;
            return label switch
            {
                "1" or "true" or "1.0" => 1,
                "0" or "false" or "0.0" => 0,
                _ => throw new LabelJoinException($"label '{label}' is not 0/1 or true/false; name the positive class with 'positive'"),
            };
        };
    }

    private static Column Column(Table table, string name, string file, string input)
    {
        var i = table.Schema.IndexOf(name);
        return i >= 0 ? table.Columns[i]
            : throw new ActivityException($"{input}: '{file}' has no column '{name}' (columns: {string.Join(", ", table.Schema.Fields.Select(f => f.Name))})", retryable: false);
    }

    private static JsonObject SliceJson(RealizedSlice s) => new()
    {
        ["batch"] = s.Batch,
        ["slice"] = s.Slice,
        ["predictions"] = s.Predictions,
        ["labelled"] = s.Labelled,
        ["metrics"] = new JsonObject(s.Metrics.Where(m => double.IsFinite(m.Value)).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
    };

    private static Table JoinedTable(JoinResult result, IReadOnlyList<string> slices)
    {
        var fields = new List<Field> { new("key", DataType.String, false), new("batch", DataType.String, false), new("prediction", DataType.Float64, false), new("label", DataType.String) };
        fields.AddRange(slices.Select(s => new Field(s, DataType.String)));
        var builders = fields.Select(f => ColumnBuilder.Create(f.Type, result.Rows.Count)).ToArray();
        foreach (var r in result.Rows)
        {
            ((BinaryBuilder)builders[0]).Append(r.Scored.Key);
            ((BinaryBuilder)builders[1]).Append(r.Scored.Batch);
            ((PrimitiveBuilder<double>)builders[2]).Append(r.Scored.Prediction);
            if (r.Label is null) builders[3].AppendNull(); else ((BinaryBuilder)builders[3]).Append(r.Label);
            for (var i = 0; i < slices.Count; i++)
                if (r.Scored.Slices[i] is { } v) ((BinaryBuilder)builders[4 + i]).Append(v); else builders[4 + i].AppendNull();
        }
        return new Table(new Schema(fields), builders.Select(b => b.Build()).ToArray());
    }
}
