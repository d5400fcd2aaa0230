using System.Text.Json;
using System.Text.Json.Serialization;
using Pipelines.Data.Tables;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Features;

/// <summary>
/// How the label column becomes numbers: an optional value mapping (e.g. <c>&gt;50K.</c> → <c>&gt;50K</c>, for the
/// Adult test file), then class indices by <see cref="Classes"/> (fitted: sorted distinct values, the positive class
/// last for binary tasks), or the numeric value for regression.
/// </summary>
public sealed class LabelSpec
{
    public string Column { get; set; } = "";
    [JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
    public TaskKind Task { get; set; } = TaskKind.BinaryClassification;
    public Dictionary<string, string> Mapping { get; set; } = new();
    /// <summary>For binary tasks: the class that becomes 1.</summary>
    public string? Positive { get; set; }
    public List<string>? Classes { get; set; }
}

/// <summary>A raw input column the fitted pipeline needs, with the kind of type it had at fit time.</summary>
public sealed record InputColumn(string Name, string Kind);

/// <summary>
/// A declarative feature pipeline: a label spec plus ordered steps, fitted once on training data and applied
/// unchanged at prediction time. Serialized as versioned JSON (<see cref="FormatVersion"/>).
/// </summary>
public sealed class FeaturePipeline
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; set; } = CurrentFormatVersion;
    public LabelSpec? Label { get; set; }
    public List<FeatureStep> Steps { get; set; } = [];
    public bool Fitted { get; set; }
    /// <summary>Fitted: the raw columns read (excluding the label) and their type kinds.</summary>
    public List<InputColumn> Inputs { get; set; } = [];
    /// <summary>Fitted: the output feature columns, in matrix order.</summary>
    public List<string> Features { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Steps written by hand or converted from YAML need not put "op" first.
        AllowOutOfOrderMetadataProperties = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static FeaturePipeline FromJson(string json)
    {
        using (var doc = JsonDocument.Parse(json))
        {
            var v = doc.RootElement.TryGetProperty("format_version", out var fv) ? fv.GetInt32() : 0;
            if (v != CurrentFormatVersion)
                throw new NotSupportedException($"feature pipeline format_version {v} is not supported (this build reads {CurrentFormatVersion})");
        }
        return JsonSerializer.Deserialize<FeaturePipeline>(json, Json) ?? throw new JsonException("empty feature pipeline");
    }

    public void Save(string path) => File.WriteAllText(path, ToJson());
    public static FeaturePipeline Load(string path) => FromJson(File.ReadAllText(path));

    public static string KindOf(DataType t) => t.Kind switch
    {
        TypeKind.String => "string",
        TypeKind.Date or TypeKind.Timestamp => "temporal",
        TypeKind.Binary => "binary",
        TypeKind.Time => "time",
        _ => "number",
    };

    /// <summary>Learns every step's parameters on <paramref name="train"/> (each step sees the previous steps' output).</summary>
    public FeaturePipeline Fit(Table train)
    {
        if (Label is not null) FitLabel(train);
        Inputs = train.Schema.Fields.Where(f => f.Name != Label?.Column).Select(f => new InputColumn(f.Name, KindOf(f.Type))).ToList();
        var data = new TableBuilder(WithoutLabel(train));
        foreach (var step in Steps)
        {
            step.Fit(data);
            step.Apply(data);
        }
        Features = data.Names.ToList();
        // Only inputs that survive to a feature or feed a step are required later; keep the check simple and strict:
        // every raw column present at fit time that is not dropped by name.
        var dropped = Steps.OfType<DropStep>().SelectMany(d => d.Columns).ToHashSet();
        var selected = Steps.OfType<SelectStep>().FirstOrDefault()?.Columns.ToHashSet();
        Inputs = Inputs.Where(i => !dropped.Contains(i.Name) && (selected is null || selected.Contains(i.Name) || ReadBeforeSelect(i.Name))).ToList();
        Fitted = true;
        return this;
    }

    private bool ReadBeforeSelect(string column)
    {
        foreach (var step in Steps)
        {
            if (step is SelectStep) return false;
            var cols = step switch
            {
                ImputeStep s => s.Columns, StandardizeStep s => s.Columns, MinMaxStep s => s.Columns, Log1pStep s => s.Columns,
                ClipStep s => s.Columns, OneHotStep s => s.Columns, QuantileBucketizeStep s => s.Columns, DatePartsStep s => s.Columns,
                MapValuesStep s => s.Columns, RenameStep s => s.Mapping.Keys.ToList(), _ => [],
            };
            if (cols.Contains(column)) return true;
        }
        return false;
    }

    private Table WithoutLabel(Table t) =>
        Label is null || t.Schema.IndexOf(Label.Column) < 0 ? t : t.Select(t.Schema.Fields.Where(f => f.Name != Label.Column).Select(f => f.Name).ToArray());

    /// <summary>The features of <paramref name="data"/> as a table with exactly <see cref="Features"/>, in order.</summary>
    public Table Transform(Table data)
    {
        if (!Fitted) throw new InvalidOperationException("the feature pipeline is not fitted");
        foreach (var input in Inputs)
        {
            var i = data.Schema.IndexOf(input.Name);
            if (i < 0) throw new ColumnMismatchException(input.Name, $"column '{input.Name}' is missing (the feature pipeline was fitted with it)");
            var kind = KindOf(data.Schema[i].Type);
            if (kind != input.Kind)
                throw new ColumnMismatchException(input.Name, $"column '{input.Name}' is {data.Schema[i].Type} ({kind}), but the feature pipeline was fitted with a {input.Kind} column");
        }
        var builder = new TableBuilder(WithoutLabel(data));
        foreach (var step in Steps) step.Apply(builder);
        builder.Keep(Features, "output");
        return builder.Build();
    }

    public FeatureMatrix TransformToMatrix(Table data) => FeatureMatrix.FromTable(Transform(data), Features);

    /// <summary>Features and labels for training or evaluation.</summary>
    public TrainingSet ToTrainingSet(Table data) => new(TransformToMatrix(data), Labels(data));

    private void FitLabel(Table train)
    {
        var label = Label!;
        if (label.Task == TaskKind.Regression || label.Classes is not null) return;
        var values = MappedLabels(train).Distinct().OrderBy(v => v, StringComparer.Ordinal).ToList();
        if (label.Task == TaskKind.BinaryClassification)
        {
            if (values.Count > 2) throw new ArgumentException($"label '{label.Column}' has {values.Count} classes ({string.Join(", ", values.Take(5))}…) for a binary task");
            var positive = label.Positive ?? values.Last();
            if (!values.Contains(positive)) throw new ArgumentException($"positive class '{positive}' does not occur in label '{label.Column}'");
            label.Positive = positive;
            values.Remove(positive);
            label.Classes = [.. values, positive];
        }
        else label.Classes = values;
    }

    private string[] MappedLabels(Table data)
    {
        var label = Label!;
        var i = data.Schema.IndexOf(label.Column);
        if (i < 0) throw new ColumnMismatchException(label.Column, $"label column '{label.Column}' is missing");
        var texts = TableOps.Texts(data.Columns[i]);
        var result = new string[texts.Length];
        for (var r = 0; r < texts.Length; r++)
        {
            var t = texts[r] ?? throw new ArgumentException($"label column '{label.Column}' has a missing value in row {r}");
            result[r] = label.Mapping.TryGetValue(t, out var m) ? m : t;
        }
        return result;
    }

    /// <summary>Labels as numbers: class indices (by the fitted classes) or regression values.</summary>
    public double[] Labels(Table data)
    {
        var label = Label ?? throw new InvalidOperationException("the pipeline has no label spec");
        if (label.Task == TaskKind.Regression)
        {
            var i = data.Schema.IndexOf(label.Column);
            if (i < 0) throw new ColumnMismatchException(label.Column, $"label column '{label.Column}' is missing");
            return FeatureMatrix.ToDoubles(data.Columns[i], label.Column);
        }
        var classes = label.Classes ?? throw new InvalidOperationException("the label's classes are not fitted");
        var index = classes.Select((c, k) => (c, k)).ToDictionary(x => x.c, x => (double)x.k, StringComparer.Ordinal);
        return MappedLabels(data).Select(v => index.TryGetValue(v, out var k) ? k
            : throw new ArgumentException($"label '{label.Column}' has value '{v}' that is not a known class ({string.Join(", ", classes)})")).ToArray();
    }
}
