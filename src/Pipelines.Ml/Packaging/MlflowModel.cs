using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Data.Tables;
using Pipelines.Ml.Features;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.XGBoost;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Ml.Packaging;

/// <summary>
/// An MLflow model directory: <c>MLmodel</c> (xgboost and python_function flavors, signature), the XGBoost model
/// file, the fitted feature pipeline, and environment files. Python loads it with <c>mlflow.xgboost.load_model(dir)</c>
/// (a <c>xgboost.Booster</c>) or <c>xgboost.Booster(model_file=dir/model.ubj)</c>; the Booster takes the
/// pipeline's output features, named as in the signature.
/// </summary>
public static class MlflowModel
{
    public const string MLmodelFile = "MLmodel";
    public const string PipelineFile = "feature_pipeline.json";
    /// <summary>The MLflow version whose model format we write (the fields mlflow.xgboost reads have been stable since 1.x).</summary>
    public const string MlflowVersion = "2.3.0";

    /// <summary>Writes the directory (which must not exist or be empty) and returns its path.</summary>
    public static string Save(string directory, XGBoostModel model, FeaturePipeline pipeline, ModelFormat format = ModelFormat.Ubj,
        Guid? modelId = null, DateTime? createdUtc = null)
    {
        if (!pipeline.Fitted) throw new InvalidOperationException("save a fitted feature pipeline with the model");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"model directory '{directory}' is not empty");
        Directory.CreateDirectory(directory);
        var modelFile = format == ModelFormat.Json ? "model.json" : "model.ubj";
        model.Save(Path.Combine(directory, modelFile));
        pipeline.Save(Path.Combine(directory, PipelineFile));
        var xgbVersion = XGBoostLibrary.Version.ToString(3);

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
                        "python_function", new YamlMappingNode
                        {
                            { "data", modelFile },
                            { "env", new YamlMappingNode { { "conda", "conda.yaml" }, { "virtualenv", "python_env.yaml" } } },
                            { "loader_module", "mlflow.xgboost" },
                            { "python_version", "3.11" },
                        }
                    },
                    {
                        "xgboost", new YamlMappingNode
                        {
                            { "code", new YamlScalarNode("null") { Style = YamlDotNet.Core.ScalarStyle.Plain } },
                            { "data", modelFile },
                            { "model_class", "xgboost.core.Booster" },
                            { "model_format", format == ModelFormat.Json ? "json" : "ubj" },
                            { "xgb_version", xgbVersion },
                        }
                    },
                }
            },
            { "mlflow_version", MlflowVersion },
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
                    { "feature_pipeline", PipelineFile },
                    { "task", model.Task.ToString() },
                    { "class_count", model.ClassCount.ToString(CultureInfo.InvariantCulture) },
                    { "raw_inputs", Quoted(JsonSerializer.Serialize(pipeline.Inputs.Select(i => new { name = i.Name, kind = i.Kind }))) },
                    { "producer", "Pipelines.Ml" },
                }
            },
        };
        using (var w = new StreamWriter(Path.Combine(directory, MLmodelFile)))
            new YamlStream(new YamlDocument(root)).Save(w, assignAnchors: false);
        // YamlDotNet ends documents with "...": harmless for PyYAML, but keep the file as MLflow writes it.
        var text = File.ReadAllText(Path.Combine(directory, MLmodelFile)).Replace("\n...\n", "\n");
        File.WriteAllText(Path.Combine(directory, MLmodelFile), text);

        File.WriteAllText(Path.Combine(directory, "requirements.txt"), $"mlflow\nxgboost=={xgbVersion}\n");
        File.WriteAllText(Path.Combine(directory, "python_env.yaml"),
            $"python: 3.11\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n");
        File.WriteAllText(Path.Combine(directory, "conda.yaml"),
            $"channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip\n- pip:\n  - mlflow\n  - xgboost=={xgbVersion}\nname: mlflow-env\n");
        return directory;
    }

    private static YamlScalarNode Quoted(string s) => new(s) { Style = YamlDotNet.Core.ScalarStyle.SingleQuoted };

    /// <summary>Loads a directory written by <see cref="Save"/> (or any MLflow xgboost model plus our pipeline file).</summary>
    public static PackagedModel Load(string directory, int threads = 1)
    {
        var path = Path.Combine(directory, MLmodelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{directory}' is not an MLflow model directory (no MLmodel)", path);
        var yaml = new YamlStream();
        using (var r = new StreamReader(path)) yaml.Load(r);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        string? Scalar(YamlMappingNode m, string key) => m.Children.TryGetValue(key, out var v) && v is YamlScalarNode s ? s.Value : null;
        var flavors = (YamlMappingNode)root["flavors"];
        var meta = root.Children.TryGetValue("metadata", out var m) ? (YamlMappingNode)m : new YamlMappingNode();
        if (flavors.Children.TryGetValue(MlNetModelDirectory.Flavor, out var mlnet))
            return MlNetModelDirectory.Load(directory, (YamlMappingNode)mlnet, meta, FeaturePipeline.Load(Path.Combine(directory, Scalar(meta, "feature_pipeline") ?? PipelineFile)));
        if (!flavors.Children.TryGetValue("xgboost", out var xgbNode)) throw new InvalidDataException($"'{path}' has neither an xgboost nor a {MlNetModelDirectory.Flavor} flavor");
        var data = Scalar((YamlMappingNode)xgbNode, "data") ?? throw new InvalidDataException($"'{path}': the xgboost flavor names no model file");
        var pipeline = FeaturePipeline.Load(Path.Combine(directory, Scalar(meta, "feature_pipeline") ?? PipelineFile));
        var task = Enum.Parse<TaskKind>(Scalar(meta, "task") ?? nameof(TaskKind.BinaryClassification));
        var classes = int.Parse(Scalar(meta, "class_count") ?? "2", CultureInfo.InvariantCulture);
        var model = XGBoostModel.Load(Path.Combine(directory, data), task, classes, threads);
        return new PackagedModel(model, pipeline, Scalar((YamlMappingNode)xgbNode, "xgb_version"));
    }
}

/// <summary>A loaded model directory (XGBoost or ML.NET): raw table in, predictions out, with the same feature pipeline as in training.</summary>
public sealed class PackagedModel(ITrainedModel model, FeaturePipeline pipeline, string? xgbVersion) : IDisposable
{
    public ITrainedModel Model => model;
    public FeaturePipeline Pipeline => pipeline;
    public string? XGBoostVersion => xgbVersion;

    public Predictions Predict(Table raw) => model.Predict(pipeline.TransformToMatrix(raw));

    public void Dispose() => model.Dispose();
}
