using Pipelines.Ml;
using Pipelines.Ml.Features;
using Pipelines.Ml.Splits;
using Pipelines.Ml.Trainers;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Activities.Data;

/// <param name="Pipeline">Feature steps; a value that is not a list means none, as before.</param>
/// <param name="Split">Split settings; a value that is not an object means the defaults, as before.</param>
public sealed record FeaturesInput(
    JsonNode Data, string Label, TaskKind Task, string? Positive, JsonNode? LabelMapping, JsonArray? Pipeline, JsonObject Split, IReadOnlyList<string> NullTokens)
    : IActivityInput<FeaturesInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("data", SchemaBuilder.Any("The dataset: an artifact reference or a path."))
        .Required("label", SchemaBuilder.String("Label column."))
        .Optional("task", SchemaBuilder.String("binary (default), multiclass or regression."))
        .Optional("positive", SchemaBuilder.String("Positive class of a binary label."))
        .Optional("label_mapping", SchemaBuilder.Any("Label value mapping, e.g. {'>50K.': '>50K'}."))
        .Optional("pipeline", SchemaBuilder.Any("Feature steps: [{op: one_hot, columns: [...]}, …]."))
        .Optional("split", SchemaBuilder.Any("{method: random|stratified|time, valid: 0.15, test: 0.15, seed: 0, time_column}; default stratified for classification, random for regression."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "For CSV inputs: values read as missing."))
        .Build();

    public static FeaturesInput Bind(ActivityInputs inputs) => new(
        inputs.Node("data")!,
        inputs.String("label"),
        inputs.String("task", "binary") switch
        {
            "binary" => TaskKind.BinaryClassification,
            "multiclass" => TaskKind.MulticlassClassification,
            "regression" => TaskKind.Regression,
            var other => throw new ActivityException($"task must be binary, multiclass or regression, got '{other}'", retryable: false),
        },
        inputs.OptionalString("positive"),
        inputs.Node("label_mapping"),
        inputs.Node("pipeline") as JsonArray,
        inputs.Node("split") as JsonObject ?? new JsonObject(),
        inputs.StringList("null_tokens", [""]));
}

/// <summary>
/// Splits a dataset into train/valid/test (seeded), fits a feature pipeline on the training part only (no
/// statistics leak from valid/test) and applies it to all three. Each output holds the features plus the label as
/// a number (class index, or the value for regression), ready for training.
/// </summary>
public sealed class FeaturesActivity : Activity<FeaturesInput>, IActivityDefinition<FeaturesInput>
{
    public static ActivityInfo Info { get; } = new("features", "1", "Splits data (random, stratified or by time), fits a feature pipeline on train and applies it; Parquet outputs and the fitted pipeline.");

    public static IActivity Create(IServiceProvider? services) => new FeaturesActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("train", SchemaBuilder.Any("Transformed training rows (Parquet artifact)."))
            .Required("valid", SchemaBuilder.Any("Transformed validation rows (Parquet artifact)."))
            .Required("test", SchemaBuilder.Any("Transformed test rows (Parquet artifact)."))
            .Required("pipeline", SchemaBuilder.Any("The fitted feature pipeline (JSON artifact)."))
            .Required("features", SchemaBuilder.Array(SchemaBuilder.String(), "Feature columns, in matrix order."))
            .Required("rows", SchemaBuilder.Any("{train, valid, test}."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(FeaturesInput input, ActivityContext context, CancellationToken ct)
    {
        var csv = new Pipelines.Data.Csv.CsvOptions { NullTokens = input.NullTokens };
        var (data, _) = await TableFiles.ReadInputAsync(context, "data", csv, ct);
        var labelColumn = input.Label;
        if (data.Schema.IndexOf(labelColumn) < 0)
            throw new ActivityException($"label column '{labelColumn}' does not exist (columns: {string.Join(", ", data.Schema.Fields.Select(f => f.Name))})", retryable: false);
        var task = input.Task;
        var label = new LabelSpec
        {
            Column = labelColumn,
            Task = task,
            Positive = input.Positive,
            Mapping = TableFiles.StringMap(input.LabelMapping, "label_mapping"),
        };
        var split = input.Split;
        var method = split["method"]?.GetValue<string>() ?? (task == TaskKind.Regression ? "random" : "stratified");
        var validFraction = split["valid"]?.GetValue<double>() ?? 0.15;
        var testFraction = split["test"]?.GetValue<double>() ?? 0.15;
        var seed = (int)(split["seed"]?.GetValue<long>() ?? 0);
        if (validFraction < 0 || testFraction < 0 || validFraction + testFraction >= 1)
            throw new ActivityException($"split fractions must be ≥ 0 and leave rows to train on (valid {validFraction}, test {testFraction})", retryable: false);

        FeaturePipeline pipeline;
        Table train, valid, test;
        try
        {
            pipeline = new FeaturePipeline
            {
                Label = label,
                Steps = input.Pipeline is { } steps
                    ? FeaturePipeline.FromJson(new JsonObject { ["format_version"] = FeaturePipeline.CurrentFormatVersion, ["steps"] = steps.DeepClone() }.ToJsonString()).Steps
                    : [],
            };
            (train, valid, test) = Split(data, pipeline, method, validFraction, testFraction, seed, split["time_column"]?.GetValue<string>());
            if (train.RowCount == 0) throw new ActivityException("the split leaves no training rows", retryable: false);
            pipeline.Fit(train);
        }
        catch (ColumnMismatchException e) { throw new ActivityException(e.Message, retryable: false, e); }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or NotSupportedException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ActivityException($"feature pipeline: {e.Message}", retryable: false, e);
        }

        var outputs = new JsonObject();
        var rows = new JsonObject();
        foreach (var (part, table) in new[] { ("train", train), ("valid", valid), ("test", test) })
        {
            Table transformed;
            try { transformed = WithLabel(pipeline.Transform(table), labelColumn, pipeline.Labels(table)); }
            catch (ColumnMismatchException e) { throw new ActivityException(e.Message, retryable: false, e); }
            catch (ArgumentException e) { throw new ActivityException($"{part}: {e.Message}", retryable: false, e); }
            outputs[part] = await TableFiles.PublishTableAsync(context, transformed, $"{part}.parquet", ct);
            rows[part] = table.RowCount;
        }
        var pipelinePath = Path.Combine(ActivityServices.From(context).WorkDirectory(context), "feature-pipeline.json");
        pipeline.Save(pipelinePath);
        outputs["pipeline"] = await ArtifactRefs.PublishAsync(context, pipelinePath, "feature-pipeline.json", ArtifactKinds.File, ct);
        outputs["features"] = new JsonArray(pipeline.Features.Select(f => (JsonNode)f).ToArray());
        outputs["rows"] = rows;
        context.Log.Write($"{pipeline.Features.Count} features; rows train {train.RowCount}, valid {valid.RowCount}, test {test.RowCount} ({method} split, seed {seed})");
        return ActivityResult.Success(outputs);
    }

    private static (Table Train, Table Valid, Table Test) Split(Table data, FeaturePipeline pipeline, string method, double valid, double test, int seed, string? timeColumn)
    {
        Split First(Table t, double fraction) => method switch
        {
            "random" => Splitter.Random(t.RowCount, fraction, seed),
            // Labels are needed to stratify; fitting only the label spec on all rows leaks no feature statistics.
            "stratified" when pipeline.Label!.Task != TaskKind.Regression =>
                Splitter.Stratified(new FeaturePipeline { Label = pipeline.Label }.Fit(t.Select(pipeline.Label.Column)).Labels(t), fraction, seed),
            "stratified" => throw new ArgumentException("a stratified split needs a classification label; use random or time for regression"),
            "time" => Splitter.TimeBased(TimeColumn(t, timeColumn), fraction),
            _ => throw new ArgumentException($"split.method must be random, stratified or time, got '{method}'"),
        };
        var outer = First(data, test);
        var (rest, testPart) = outer.Apply(data);
        var inner = First(rest, test >= 1 ? 0 : valid / (1 - test));
        var (trainPart, validPart) = inner.Apply(rest);
        // The label spec was fitted on a copy only for stratifying; the real pipeline fits its own on train.
        pipeline.Label!.Classes = null;
        return (trainPart, validPart, testPart);
    }

    private static Column TimeColumn(Table t, string? name)
    {
        if (name is null) throw new ArgumentException("split.time_column is required for a time split");
        var i = t.Schema.IndexOf(name);
        if (i < 0) throw new ColumnMismatchException(name, $"time column '{name}' does not exist");
        if (t.Schema[i].Type.Kind is not (TypeKind.Date or TypeKind.Timestamp))
            throw new ColumnMismatchException(name, $"time column '{name}' is {t.Schema[i].Type}, expected a date or timestamp");
        return t.Columns[i];
    }

    private static Table WithLabel(Table features, string labelColumn, double[] labels)
    {
        var fields = features.Schema.Fields.Append(new Field(labelColumn, DataType.Float64, Nullable: false));
        var columns = features.Columns.Append(new PrimitiveColumn<double>(DataType.Float64, labels, null, labels.Length));
        return new Table(new Schema(fields), columns.ToArray());
    }
}
