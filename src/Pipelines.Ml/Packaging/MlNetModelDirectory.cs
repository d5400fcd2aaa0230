using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Ml.Features;
using Pipelines.Ml.MlNet;
using Pipelines.Ml.Trainers;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Ml.Packaging;

/// <summary>
/// An ML.NET model as an MLflow model directory: <c>MLmodel</c> with the custom flavor <c>pipelines_mlnet</c>
/// (data file, trainer kind, ML.NET version), the ML.NET zip and the fitted feature pipeline. MLflow lists,
/// registers and serves the directory as files; it has no Python loader (there is no <c>python_function</c>
/// flavor, so <c>mlflow.pyfunc.load_model</c> says so instead of failing later). <see cref="MlflowModel.Load"/>
/// loads it like an XGBoost directory.
/// </summary>
public static class MlNetModelDirectory
{
    public const string Flavor = "pipelines_mlnet";
    public const string ModelFile = "model.mlnet.zip";

    public static string Save(string directory, MlNetModel model, FeaturePipeline pipeline, Guid? modelId = null, DateTime? createdUtc = null)
    {
        if (!pipeline.Fitted) throw new InvalidOperationException("save a fitted feature pipeline with the model");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"model directory '{directory}' is not empty");
        Directory.CreateDirectory(directory);
        model.Save(Path.Combine(directory, ModelFile));
        pipeline.Save(Path.Combine(directory, MlflowModel.PipelineFile));

        var inputs = new JsonArray(pipeline.Features.Select(f => (JsonNode)new JsonObject { ["type"] = "double", ["name"] = f }).ToArray());
        var outputs = model.Task == TaskKind.MulticlassClassification
            ? new JsonArray(Enumerable.Range(0, model.ClassCount).Select(k => (JsonNode)new JsonObject { ["type"] = "float", ["name"] = pipeline.Label?.Classes?[k] ?? $"class_{k}" }).ToArray())
            : new JsonArray(new JsonObject { ["type"] = "float" });
        var root = new YamlMappingNode
        {
            { "artifact_path", "model" },
            {
                "flavors", new YamlMappingNode
                {
                    {
                        Flavor, new YamlMappingNode
                        {
                            { "data", ModelFile },
                            { "trainer", model.Kind },
                            { "mlnet_version", model.MlNetVersionOfModel },
                            { "loader", "Pipelines.Ml.Packaging.MlflowModel.Load" },
                        }
                    },
                }
            },
            { "mlflow_version", MlflowModel.MlflowVersion },
            { "model_uuid", (modelId ?? Guid.NewGuid()).ToString("N") },
            { "utc_time_created", Quoted((createdUtc ?? DateTime.UtcNow).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)) },
            {
                "signature", new YamlMappingNode
                {
                    { "inputs", Quoted(inputs.ToJsonString()) },
                    { "outputs", Quoted(outputs.ToJsonString()) },
                }
            },
            {
                "metadata", new YamlMappingNode
                {
                    { "feature_pipeline", MlflowModel.PipelineFile },
                    { "task", model.Task.ToString() },
                    { "class_count", model.ClassCount.ToString(CultureInfo.InvariantCulture) },
                    { "raw_inputs", Quoted(JsonSerializer.Serialize(pipeline.Inputs.Select(i => new { name = i.Name, kind = i.Kind }))) },
                    { "producer", "Pipelines.Ml" },
                }
            },
        };
        var path = Path.Combine(directory, MlflowModel.MLmodelFile);
        using (var w = new StreamWriter(path)) new YamlStream(new YamlDocument(root)).Save(w, assignAnchors: false);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\n...\n", "\n"));
        return directory;
    }

    /// <summary>Loads the <c>pipelines_mlnet</c> flavor of an MLmodel already parsed by <see cref="MlflowModel.Load"/>.</summary>
    internal static PackagedModel Load(string directory, YamlMappingNode flavor, YamlMappingNode metadata, FeaturePipeline pipeline)
    {
        string? Scalar(YamlMappingNode m, string key) => m.Children.TryGetValue(key, out var v) && v is YamlScalarNode s ? s.Value : null;
        var mlmodel = Path.Combine(directory, MlflowModel.MLmodelFile);
        var data = Scalar(flavor, "data") ?? throw new InvalidDataException($"'{mlmodel}': the {Flavor} flavor names no model file");
        var kind = Scalar(flavor, "trainer") ?? throw new InvalidDataException($"'{mlmodel}': the {Flavor} flavor names no trainer");
        var task = Enum.Parse<TaskKind>(Scalar(metadata, "task") ?? throw new InvalidDataException($"'{mlmodel}': metadata has no task"));
        var classes = int.Parse(Scalar(metadata, "class_count") ?? "2", CultureInfo.InvariantCulture);
        var model = MlNetModel.Load(Path.Combine(directory, data), kind, task, classes);
        return new PackagedModel(model, pipeline, null);
    }

    private static YamlScalarNode Quoted(string s) => new(s) { Style = YamlDotNet.Core.ScalarStyle.SingleQuoted };
}
