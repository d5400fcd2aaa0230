using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Data.Parquet;

namespace Pipelines.Storage.Artifacts;

public sealed record PublishOptions
{
    /// <summary>The artifact's name (last key segment); default: the file name.</summary>
    public string? Name { get; init; }
    public string? MediaType { get; init; }
    /// <summary>Default: <c>table</c> for Parquet, else <c>file</c>.</summary>
    public string? Kind { get; init; }
    /// <summary>The step attempt writing it; null for hand-registered artifacts.</summary>
    public StepAttempt? ProducedBy { get; init; }
}

/// <summary>
/// Writes a step output once to an immutable location and registers it after the upload completed:
/// attempt-scoped (<c>attempts/STEPRUN/N/NAME</c>) when a step attempt produced it, content-addressed
/// (<c>sha256/ab/HASH/NAME</c>) otherwise. Parquet outputs are registered as tables with the schema and
/// row count from their footer.
/// </summary>
public sealed class ArtifactPublisher(IArtifactStore store, IArtifactRegistry registry)
{
    public IArtifactStore Store => store;
    public IArtifactRegistry Registry => registry;

    public async Task<ArtifactRecord> PublishFileAsync(string path, PublishOptions? options = null, CancellationToken ct = default)
    {
        options ??= new PublishOptions();
        var name = options.Name ?? Path.GetFileName(path);
        var mediaType = options.MediaType ?? MediaTypes.FromFileName(name);
        var kind = options.Kind ?? (mediaType == MediaTypes.Parquet ? ArtifactKinds.Table : ArtifactKinds.File);
        string? schema = null;
        long? rows = null;
        if (mediaType == MediaTypes.Parquet) (schema, rows) = DescribeParquet(path);
        else if (kind == ArtifactKinds.Table) throw new ArgumentException($"'{name}': only Parquet files can be registered as tables");

        string key, sha256;
        long size;
        if (options.ProducedBy is { } by)
        {
            key = ArtifactKey.Validate(AttemptFolder(by) + name);
            (sha256, size) = await UploadOrVerifyAsync(key, path, mediaType, ct);
        }
        else
        {
            (sha256, size) = await HashFileAsync(path, ct);
            key = ArtifactKey.Validate($"{ArtifactKey.ContentAddressed(sha256)}/{name}");
            var (uploaded, _) = await UploadOrVerifyAsync(key, path, mediaType, ct);
            if (uploaded != sha256) throw new ArtifactIntegrityException($"'{path}' changed while it was being published");
        }
        // Crash point: the bytes are stored but not registered. A retry finds them (same key), checks the
        // hash and registers; an unregistered leftover is never referenced by anything.
        return await registry.RegisterAsync(new NewArtifact(store.UriFor(key), sha256, size, mediaType, kind, name, schema, rows, options.ProducedBy), ct);
    }

    /// <summary>The folder of a step attempt's outputs, <c>attempts/STEPRUN/N/</c>: nothing else is ever written there.</summary>
    public static string AttemptFolder(StepAttempt attempt) => $"attempts/{attempt.StepRunId:N}/{attempt.Attempt}/";

    /// <summary>Records that a step attempt read an artifact (call when the activity resolves its inputs).</summary>
    public Task RecordInputAsync(StepAttempt consumer, string inputName, Guid artifactId, CancellationToken ct = default) =>
        registry.RecordInputAsync(consumer, inputName, artifactId, ct);

    private async Task<(string Sha256, long Size)> UploadOrVerifyAsync(string key, string path, string mediaType, CancellationToken ct)
    {
        try
        {
            await using var file = File.OpenRead(path);
            var stored = await store.CreateAsync(key, file, new PutOptions { ContentType = mediaType }, ct);
            return (stored.Sha256, stored.Size);
        }
        catch (ArtifactExistsException)
        {
            // Written before (a retried publish): accept it only if it holds exactly these bytes.
            var local = await HashFileAsync(path, ct);
            await using var remote = await store.OpenReadAsync(key, null, ct);
            var (remoteSha, remoteSize) = await HashAsync(remote, ct);
            if (remoteSha != local.Sha256 || remoteSize != local.Size)
                throw new ArtifactConflictException($"'{key}' already exists with different content; artifacts are immutable");
            return local;
        }
    }

    private static async Task<(string Sha256, long Size)> HashFileAsync(string path, CancellationToken ct)
    {
        await using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await HashAsync(f, ct);
    }

    internal static async Task<(string Sha256, long Size)> HashAsync(Stream s, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long size = 0;
        int n;
        while ((n = await s.ReadAsync(buffer, ct)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            size += n;
        }
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), size);
    }

    /// <summary>Schema (as JSON: name, type, nullable per column) and row count from a Parquet footer.</summary>
    public static (string SchemaJson, long RowCount) DescribeParquet(string path)
    {
        using var reader = ParquetReader.Open(path);
        var fields = new JsonArray(reader.Schema.Fields
            .Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type.ToString(), ["nullable"] = f.Nullable }).ToArray());
        return (fields.ToJsonString(new JsonSerializerOptions { WriteIndented = false }), reader.RowCount);
    }
}

public static class MediaTypes
{
    public const string Parquet = "application/vnd.apache.parquet";

    public static string FromFileName(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".parquet" => Parquet,
        ".csv" => "text/csv",
        ".json" => "application/json",
        ".txt" or ".log" => "text/plain",
        ".yaml" or ".yml" => "application/yaml",
        ".ubj" or ".xgb" or ".bin" => "application/octet-stream",
        ".tar" => "application/x-tar",
        ".gz" or ".tgz" => "application/gzip",
        _ => "application/octet-stream",
    };
}
