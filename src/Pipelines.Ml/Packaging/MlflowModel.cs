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
/// An MLflow model directory of a model Pipelines trained (see <see cref="MlflowModelDirectory"/> for the MLflow
/// parts): the model file, the fitted feature pipeline (<c>feature_pipeline.json</c>), <c>pipelines_model.json</c>
/// saying how to predict, and a <c>python_function</c> flavor whose loader (<c>code/pipelines_pyfunc.py</c>) applies
/// the feature pipeline, so <c>mlflow.pyfunc.load_model(dir).predict(raw_df)</c> takes the raw input columns the
/// signature lists and returns what Pipelines predicts. XGBoost models also carry the <c>xgboost</c> flavor:
/// <c>mlflow.xgboost.load_model(dir)</c> returns the <c>xgboost.Booster</c>, which takes the pipeline's output features.
/// </summary>
public static class MlflowModel
{
    public const string MLmodelFile = MlflowModelDirectory.MLmodelFile;
    public const string PipelineFile = "feature_pipeline.json";
    /// <summary>How the pyfunc loader predicts: kind (xgboost, linear, constant), model file, task, classes.</summary>
    public const string DescriptorFile = "pipelines_model.json";
    public const string MlflowVersion = MlflowModelDirectory.MlflowVersion;
    /// <summary>Raw input rows kept as the input example.</summary>
    public const int ExampleRows = 5;

    /// <summary>
    /// Writes the directory (which must not exist or be empty) and returns its path. <paramref name="inputExample"/>
    /// (raw rows as the model will be given them; the first <see cref="ExampleRows"/> are kept) gives the
    /// signature its exact column types; without it the types follow the pipeline's input kinds.
    /// </summary>
    public static string Save(string directory, XGBoostModel model, FeaturePipeline pipeline, ModelFormat format = ModelFormat.Ubj,
        Guid? modelId = null, DateTime? createdUtc = null, Table? inputExample = null)
    {
        Prepare(directory, pipeline);
        var modelFile = format == ModelFormat.Json ? "model.json" : "model.ubj";
        model.Save(Path.Combine(directory, modelFile));
        var xgbVersion = XGBoostLibrary.Version.ToString(3);
        Finish(directory, pipeline, model.Task, model.ClassCount, "xgboost", modelFile, inputExample, modelId, createdUtc,
            new Dictionary<string, IReadOnlyDictionary<string, object?>>
            {
                ["xgboost"] = new Dictionary<string, object?>
                {
                    ["code"] = null,
                    ["data"] = modelFile,
                    ["model_class"] = "xgboost.core.Booster",
                    ["model_format"] = format == ModelFormat.Json ? "json" : "ubj",
                    ["xgb_version"] = xgbVersion,
                },
            },
            [$"xgboost=={xgbVersion}", "numpy", "pandas"]);
        return directory;
    }

    /// <summary>
    /// Writes a baseline (logistic or ridge regression, or the constant prior) as a pyfunc-only MLflow model directory:
    /// Python predicts with the same coefficients after the same feature pipeline. Other model types are refused.
    /// </summary>
    public static string SaveBaseline(string directory, ITrainedModel model, FeaturePipeline pipeline, Guid? modelId = null,
        DateTime? createdUtc = null, Table? inputExample = null)
    {
        object parameters;
        string kind;
        switch (model)
        {
            case LinearModel linear:
                kind = "linear";
                parameters = new
                {
                    mean = linear.Standardizer.Mean, scale = linear.Standardizer.Scale,
                    coefficients = linear.Coefficients.Select(c => c.ToArray()).ToArray(),
                };
                break;
            case ConstantTrainer.ConstantModel constant:
                kind = "constant";
                parameters = new { values = constant.Values };
                break;
            default:
                throw new ArgumentException($"{model.GetType().Name} has no MLflow packaging (xgboost models use Save)");
        }
        Prepare(directory, pipeline);
        const string modelFile = "baseline.json";
        File.WriteAllText(Path.Combine(directory, modelFile), JsonSerializer.Serialize(parameters, new JsonSerializerOptions
        {
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        Finish(directory, pipeline, model.Task, model.ClassCount, kind, modelFile, inputExample, modelId, createdUtc,
            new Dictionary<string, IReadOnlyDictionary<string, object?>>(), ["numpy", "pandas"]);
        return directory;
    }

    private static void Prepare(string directory, FeaturePipeline pipeline)
    {
        if (!pipeline.Fitted) throw new InvalidOperationException("save a fitted feature pipeline with the model");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"model directory '{directory}' is not empty");
        Directory.CreateDirectory(directory);
    }

    private static void Finish(string directory, FeaturePipeline pipeline, TaskKind task, int classCount, string kind, string modelFile,
        Table? inputExample, Guid? modelId, DateTime? createdUtc, IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> flavors,
        IReadOnlyList<string> requirements)
    {
        pipeline.Save(Path.Combine(directory, PipelineFile));
        var classes = pipeline.Label?.Classes;
        File.WriteAllText(Path.Combine(directory, DescriptorFile), MlflowModelDirectory.Json(new Dictionary<string, object?>
        {
            ["kind"] = kind, ["model_file"] = modelFile, ["feature_pipeline"] = PipelineFile, ["task"] = task.ToString(),
            ["class_count"] = classCount, ["classes"] = classes, ["features"] = pipeline.Features,
        }));
        var inputNames = pipeline.Inputs.Select(i => i.Name).ToList();
        Table? example = null;
        IReadOnlyList<MlflowColumn> inputs;
        if (inputExample is not null && inputNames.All(n => inputExample.Schema.IndexOf(n) >= 0))
        {
            example = inputExample.Select(inputNames.ToArray());
            example = example.Slice(0, Math.Min(ExampleRows, example.RowCount));
            inputs = MlflowModelDirectory.SignatureOf(inputExample.Schema, inputNames);
        }
        else
            inputs = pipeline.Inputs.Select(i => new MlflowColumn(i.Name, i.Kind switch
            {
                "string" => "string", "temporal" => "datetime", "binary" => "binary", _ => "double",
            })).ToList();
        IReadOnlyList<MlflowColumn> outputs = task == TaskKind.MulticlassClassification
            ? Enumerable.Range(0, classCount).Select(k => new MlflowColumn(classes?.ElementAtOrDefault(k) ?? $"class_{k}", "double")).ToList()
            : [new MlflowColumn(null, task == TaskKind.Regression ? "double" : "float")];
        new MlflowModelDirectory
        {
            LoaderModule = MlflowModelDirectory.PipelinesLoader,
            CodeFiles = new Dictionary<string, string> { [MlflowModelDirectory.PipelinesLoader + ".py"] = MlflowModelDirectory.PipelinesLoaderSource() },
            Flavors = flavors,
            Inputs = inputs,
            Outputs = outputs,
            InputExample = example,
            Requirements = requirements,
            ModelId = modelId,
            CreatedUtc = createdUtc,
            Metadata = new Dictionary<string, string>
            {
                ["feature_pipeline"] = PipelineFile,
                ["task"] = task.ToString(),
                ["class_count"] = classCount.ToString(CultureInfo.InvariantCulture),
                ["features"] = JsonSerializer.Serialize(pipeline.Features),
                ["producer"] = "Pipelines.Ml",
            },
        }.Write(directory);
    }

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
        var pipelineFile = Path.Combine(directory, Scalar(meta, "feature_pipeline") ?? PipelineFile);
        if (!File.Exists(pipelineFile))
            return LoadForeign(path, root, Path.Combine(directory, data), Scalar((YamlMappingNode)xgbNode, "xgb_version"), threads);
        var pipeline = FeaturePipeline.Load(pipelineFile);
        var task = Enum.Parse<TaskKind>(Scalar(meta, "task") ?? nameof(TaskKind.BinaryClassification));
        var classes = int.Parse(Scalar(meta, "class_count") ?? "2", CultureInfo.InvariantCulture);
        var model = XGBoostModel.Load(Path.Combine(directory, data), task, classes, threads);
        return new PackagedModel(model, pipeline, Scalar((YamlMappingNode)xgbNode, "xgb_version"));
    }

    /// <summary>
    /// An xgboost-flavor model logged by MLflow itself (e.g. <c>mlflow.xgboost.log_model</c> in a notebook): no
    /// feature pipeline, so the features are the signature's input columns, in order, taken as numbers (as
    /// <c>xgboost.DMatrix(df)</c> takes them); the task follows the booster's objective.
    /// </summary>
    private static PackagedModel LoadForeign(string mlmodel, YamlMappingNode root, string modelFile, string? xgbVersion, int threads)
    {
        var signature = root.Children.TryGetValue("signature", out var s) && s is YamlMappingNode sig
                        && sig.Children.TryGetValue("inputs", out var i) && i is YamlScalarNode inputs && inputs.Value is { Length: > 0 } json
            ? JsonNode.Parse(json) as JsonArray
            : null;
        var names = signature?.Select(c => c?["name"]?.GetValue<string>()).ToList();
        if (names is null || names.Count == 0 || names.Any(n => n is null))
            throw new InvalidDataException($"'{mlmodel}' has no feature pipeline and no signature with named input columns: the model's features are unknown");
        var booster = Booster.Load(modelFile);
        var config = booster.Configuration();
        var objective = config["learner"]?["objective"]?["name"]?.GetValue<string>() ?? "";
        var classCount = int.TryParse(config["learner"]?["learner_model_param"]?["num_class"]?.GetValue<string>(), out var k) ? k : 0;
        booster.Dispose();
        var task = objective.StartsWith("binary:", StringComparison.Ordinal) ? TaskKind.BinaryClassification
            : objective.StartsWith("multi:", StringComparison.Ordinal) ? TaskKind.MulticlassClassification
            : TaskKind.Regression;
        var pipeline = new FeaturePipeline
        {
            Fitted = true,
            Inputs = names.Select(n => new InputColumn(n!, "number")).ToList(),
            Features = names.Select(n => n!).ToList(),
        };
        var model = XGBoostModel.Load(modelFile, task, task == TaskKind.BinaryClassification ? 2 : classCount, threads);
        return new PackagedModel(model, pipeline, xgbVersion);
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
