using System.IO.Compression;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Activities.Hosting;

/// <summary>
/// How artifacts travel between steps: as JSON references <c>{artifact, uri, sha256, name, media_type, kind, rows}</c>.
/// Because a reference carries the content hash, equal references mean equal data, which is what the engine's
/// step cache keys on. Models travel as a zip of their MLflow directory.
/// </summary>
public static class ArtifactRefs
{
    public static JsonObject ToJson(ArtifactRecord a) => new()
    {
        ["artifact"] = a.Id.ToString(),
        ["uri"] = a.Uri,
        ["sha256"] = a.Sha256,
        ["name"] = a.Name,
        ["media_type"] = a.MediaType,
        ["kind"] = a.Kind,
        ["rows"] = a.RowCount,
    };

    public static bool IsReference(JsonNode? node) => node is JsonObject o && o["artifact"] is not null && o["sha256"] is not null;

    /// <summary>
    /// How an error names an input's data for the person reading it: the artifact's name (which carries the source
    /// file's name, e.g. adult.parquet from adult.data) or the path given.
    /// </summary>
    public static string DisplayName(JsonNode? node) => node switch
    {
        JsonObject o when IsReference(o) => o["name"]?.GetValue<string>() ?? o["uri"]?.GetValue<string>() ?? o["artifact"]!.ToString(),
        JsonValue v when v.TryGetValue<string>(out var path) => path,
        null => "(none)",
        _ => node.ToJsonString(),
    };

    /// <summary>
    /// A local file for an input: a plain path is used as is; an artifact reference is fetched through the
    /// verified cache and recorded as consumed by this attempt (lineage).
    /// </summary>
    public static async Task<string> LocalFileAsync(ActivityContext context, string inputName, CancellationToken ct)
    {
        var node = context.Inputs[inputName] ?? throw new ActivityException($"input '{inputName}' is required", retryable: false);
        if (node is JsonValue v && v.TryGetValue<string>(out var path))
        {
            if (!File.Exists(path)) throw new ActivityException($"input '{inputName}': file '{path}' does not exist", retryable: false);
            return path;
        }
        if (!IsReference(node)) throw new ActivityException($"input '{inputName}' must be a file path or an artifact reference", retryable: false);
        var services = ActivityServices.From(context);
        var id = Guid.Parse(node["artifact"]!.GetValue<string>());
        var record = await services.Artifacts.Registry.GetAsync(id, ct)
            ?? throw new ActivityException($"input '{inputName}': artifact {id} is not registered", retryable: false);
        return await LocalFileAsync(context, record, inputName, ct);
    }

    /// <summary>A registered artifact fetched through the verified cache and recorded as read by this attempt under <paramref name="inputName"/>.</summary>
    public static async Task<string> LocalFileAsync(ActivityContext context, ArtifactRecord record, string inputName, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var id = record.Id;
        if (record.DeletedAt is { } gone)
            throw new ActivityException($"input '{inputName}': artifact {id} ({record.Uri}) was removed by artifact collection at {gone:u}: " +
                                        "it was produced by an attempt that did not succeed", retryable: false);
        var key = KeyOf(services, record.Uri);
        var local = await services.Cache.GetAsync(key, record.Sha256, ct);
        await services.Artifacts.RecordInputAsync(new StepAttempt(context.StepRunId, context.Attempt), inputName, id, ct);
        return local;
    }

    /// <summary>A model input unpacked into a folder of this attempt (see <see cref="PublishModelAsync"/>).</summary>
    public static async Task<string> LocalModelDirectoryAsync(ActivityContext context, string inputName, CancellationToken ct)
    {
        var zip = await LocalFileAsync(context, inputName, ct);
        var dir = Path.Combine(ActivityServices.From(context).WorkDirectory(context), inputName);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        ZipFile.ExtractToDirectory(zip, dir);
        return dir;
    }

    /// <summary>Uploads an output file to an attempt-scoped key and registers it as produced by this attempt.</summary>
    public static async Task<JsonObject> PublishAsync(ActivityContext context, string file, string? name = null, string? kind = null, CancellationToken ct = default)
    {
        var services = ActivityServices.From(context);
        var record = await services.Artifacts.PublishFileAsync(file, new PublishOptions
        {
            Name = name ?? Path.GetFileName(file),
            Kind = kind,
            ProducedBy = new StepAttempt(context.StepRunId, context.Attempt),
        }, ct);
        return ToJson(record);
    }

    /// <summary>Publishes a model directory as one zip artifact of kind <c>model</c>.</summary>
    public static async Task<JsonObject> PublishModelAsync(ActivityContext context, string modelDirectory, string name, CancellationToken ct)
    {
        var zip = Path.Combine(ActivityServices.From(context).WorkDirectory(context), name + ".zip");
        if (File.Exists(zip)) File.Delete(zip);
        ZipFile.CreateFromDirectory(modelDirectory, zip, CompressionLevel.Optimal, includeBaseDirectory: false);
        return await PublishAsync(context, zip, name + ".zip", ArtifactKinds.Model, ct);
    }

    private static string KeyOf(ActivityServices services, string uri)
    {
        // The store's URI prefix, derived from a probe key (an empty key is not a valid key).
        var probe = services.Artifacts.Store.UriFor("x");
        var prefix = probe[..^1];
        return uri.StartsWith(prefix, StringComparison.Ordinal)
            ? uri[prefix.Length..]
            : throw new ActivityException($"artifact '{uri}' is not in this worker's artifact store ({services.Artifacts.Store.Location})", retryable: false);
    }
}
