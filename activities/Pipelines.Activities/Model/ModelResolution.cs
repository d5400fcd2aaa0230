using System.IO.Compression;
using System.Text;
using Pipelines.Storage.Artifacts;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Activities.Model;

/// <summary>A model version resolved from the registry: its number and the local MLflow directory of its artifact.</summary>
public sealed record ResolvedModel(string Name, string Version, string Directory, JsonObject Artifact);

/// <summary>Models from inputs (a folder path or a model artifact reference) and from the registry by alias.</summary>
public static class ModelResolution
{
    /// <summary>Tag on a registered version naming the model artifact it was registered from.</summary>
    public const string ArtifactTag = "pipelines.artifact";
    /// <summary>Tag with the model artifact's content hash (<c>sha256:…</c>).</summary>
    public const string Sha256Tag = "pipelines.sha256";

    public static async Task<string> LocalModelAsync(ActivityContext context, string inputName, CancellationToken ct)
    {
        var node = context.Inputs[inputName] ?? throw new ActivityException($"input '{inputName}' is required", retryable: false);
        if (node is JsonValue v && v.TryGetValue<string>(out var path))
        {
            if (!Directory.Exists(path)) throw new ActivityException($"input '{inputName}': model directory '{path}' does not exist", retryable: false);
            return path;
        }
        return await ArtifactRefs.LocalModelDirectoryAsync(context, inputName, ct);
    }

    /// <summary>
    /// Resolves <paramref name="alias"/> of <paramref name="modelName"/> to a version and its model artifact (the
    /// version's source is the artifact URI); null when the model or the alias does not exist yet.
    /// </summary>
    public static async Task<ResolvedModel?> ByAliasAsync(ActivityContext context, string modelName, string alias, string lineageName, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var tracking = services.Tracking ?? throw new ActivityException("resolving a model by alias needs MLflow tracking, but this worker has none", retryable: false);
        ModelVersion version;
        try
        {
            version = await tracking.Client.GetModelVersionByAliasAsync(modelName, alias, ct);
        }
        catch (Exception e) when (e is ResourceDoesNotExistException or InvalidParameterValueException)
        {
            return null;
        }
        // Versions Pipelines registers name their model artifact in a tag (their source is the MLflow run's model
        // directory); versions registered before that had the artifact's URI as their source.
        var record = version.Tags?.FirstOrDefault(t => t.Key == ArtifactTag)?.Value is { } tagged && Guid.TryParse(tagged, out var artifactId)
            ? await services.Artifacts.Registry.GetAsync(artifactId, ct)
            : null;
        if (record is null && version.Source is { } source) record = await services.Artifacts.Registry.FindAsync(source, ct);
        if (record is null) return await FromMlflowAsync(context, tracking, version, lineageName, ct);
        var zip = await ArtifactRefs.LocalFileAsync(context, record, lineageName, ct);
        var dir = Path.Combine(services.WorkDirectory(context), lineageName);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        ZipFile.ExtractToDirectory(zip, dir);
        return new ResolvedModel(modelName, version.Version, dir, ArtifactRefs.ToJson(record));
    }

    /// <summary>
    /// A version that is not a Pipelines artifact (e.g. logged from a notebook with <c>mlflow.xgboost.log_model</c>):
    /// its model directory is downloaded from the tracking server into this attempt's folder.
    /// </summary>
    private static async Task<ResolvedModel> FromMlflowAsync(ActivityContext context, Pipelines.Tracking.Pipeline.PipelineTracking tracking,
        ModelVersion version, string lineageName, CancellationToken ct)
    {
        var source = version.Source ?? throw new ActivityException($"model {version.Name} v{version.Version} has no source", retryable: false);
        var dir = Path.Combine(ActivityServices.From(context).WorkDirectory(context), lineageName);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        try
        {
            var uri = await tracking.ModelSourceUriAsync(source, ct);
            await tracking.DownloadDirectoryAsync(uri, dir, ct);
        }
        catch (NotSupportedException e)
        {
            throw new ActivityException($"model {version.Name} v{version.Version}: {e.Message}", retryable: false, e);
        }
        if (!File.Exists(Path.Combine(dir, Pipelines.Ml.Packaging.MlflowModel.MLmodelFile)))
            throw new ActivityException($"model {version.Name} v{version.Version}: its source '{source}' holds no MLmodel file", retryable: false);
        context.Log.Write($"model {version.Name} v{version.Version} is not a Pipelines artifact: downloaded from MLflow ({source})");
        return new ResolvedModel(version.Name, version.Version, dir, new JsonObject { ["mlflow_source"] = source, ["run_id"] = version.RunId });
    }

    public static Column Strings(IEnumerable<string?> values)
    {
        var b = new BinaryBuilder(DataType.String);
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(Encoding.UTF8.GetBytes(v));
        }
        return b.Build();
    }

    public static Column Doubles(IReadOnlyList<double> values)
    {
        var b = new PrimitiveBuilder<double>(DataType.Float64, values.Count);
        foreach (var v in values) b.Append(v);
        return b.Build();
    }

    public static Column NullableDoubles(IEnumerable<double?> values)
    {
        var b = new PrimitiveBuilder<double>(DataType.Float64);
        foreach (var v in values)
        {
            if (v is { } d) b.Append(d);
            else b.AppendNull();
        }
        return b.Build();
    }

    public static Column Longs(IEnumerable<long> values)
    {
        var b = new PrimitiveBuilder<long>(DataType.Int64);
        foreach (var v in values) b.Append(v);
        return b.Build();
    }
}
