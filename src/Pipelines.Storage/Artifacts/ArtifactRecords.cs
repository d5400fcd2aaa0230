namespace Pipelines.Storage.Artifacts;

/// <summary>Kinds of artifact: a table (Parquet/CSV, with schema and row count), a model, or any other file.</summary>
public static class ArtifactKinds
{
    public const string Table = "table", Model = "model", File = "file";
}

/// <summary>The step attempt that wrote an artifact or read one.</summary>
public readonly record struct StepAttempt(Guid StepRunId, int Attempt);

/// <summary>What is registered once an upload has completed.</summary>
public sealed record NewArtifact(
    string Uri, string Sha256, long Size, string MediaType, string Kind, string? Name,
    string? SchemaJson, long? RowCount, StepAttempt? ProducedBy);

/// <summary>
/// A registered artifact, with what is known about its producer (null for hand-registered ones).
/// <see cref="DeletedAt"/>: when artifact collection removed its bytes (it was produced by an attempt that did not
/// succeed and nothing kept referred to it); the row stays as history.
/// </summary>
public sealed record ArtifactRecord(
    Guid Id, string Uri, string Sha256, long Size, string MediaType, string Kind, string? Name,
    string? SchemaJson, long? RowCount, DateTimeOffset CreatedAt, ProducerInfo? Producer, DateTimeOffset? DeletedAt = null);

/// <summary>The producing step attempt and the code that ran: workflow version hash and activity version.</summary>
/// <remarks><see cref="AttemptState"/> tells outputs of attempts that did not succeed (a lost or failed attempt's
/// file may be registered; nothing downstream uses it) from the ones steps went on with.</remarks>
public sealed record ProducerInfo(
    Guid StepRunId, int Attempt, Guid RunId, string StepId, int? ItemIndex, string ActivityKind, string ActivityVersion,
    string Workflow, string WorkflowContentHash, string? AttemptState = null);

/// <summary>A step attempt that read an artifact.</summary>
public sealed record ArtifactConsumer(
    Guid StepRunId, int Attempt, string InputName, DateTimeOffset RecordedAt, Guid RunId, string StepId, int? ItemIndex,
    string ActivityKind, string ActivityVersion, string Workflow, string RunState, string AttemptState);

/// <summary>An ancestor of an artifact: <see cref="Depth"/> 1 is a direct input of its producer.</summary>
public sealed record LineageEntry(int Depth, ArtifactRecord Artifact, StepAttempt ConsumedBy, string InputName);

/// <summary>What to list; artifacts whose bytes were collected only with <paramref name="IncludeDeleted"/>.</summary>
public sealed record ArtifactFilter(Guid? RunId = null, string? Kind = null, string? Sha256 = null, string? UriPrefix = null, int Limit = 50,
    bool IncludeDeleted = false);

/// <summary>"What data and code made this model": every upstream artifact and every step that produced one.</summary>
public sealed record ModelLineage(ArtifactRecord Model, IReadOnlyList<LineageEntry> Data, IReadOnlyList<ProducerInfo> Code)
{
    /// <summary>Root inputs: upstream artifacts nobody in this graph produced (ingested or hand-registered data).</summary>
    public IEnumerable<ArtifactRecord> Sources => Data.Select(d => d.Artifact)
        .Where(a => a.Producer is not { } p || !Data.Any(d => d.ConsumedBy.StepRunId == p.StepRunId && d.ConsumedBy.Attempt == p.Attempt))
        .DistinctBy(a => a.Id);

    /// <summary>Distinct workflow versions (name, content hash) whose steps contributed.</summary>
    public IEnumerable<(string Workflow, string ContentHash)> WorkflowVersions => Code.Select(c => (c.Workflow, c.WorkflowContentHash)).Distinct();

    /// <summary>Distinct activities (kind@version) that ran.</summary>
    public IEnumerable<string> Activities => Code.Select(c => $"{c.ActivityKind}@{c.ActivityVersion}").Distinct().Order(StringComparer.Ordinal);
}

/// <summary>The registry of artifacts and their lineage (PostgreSQL in Pipelines.Postgres).</summary>
public interface IArtifactRegistry
{
    /// <summary>
    /// Registers an artifact. Idempotent for the same URI and hash (returns the existing row); the same URI
    /// with a different hash throws <see cref="ArtifactConflictException"/> — artifacts are immutable.
    /// </summary>
    Task<ArtifactRecord> RegisterAsync(NewArtifact artifact, CancellationToken ct = default);

    /// <summary>Records that <paramref name="consumer"/> read <paramref name="artifactId"/> as input <paramref name="inputName"/>.</summary>
    Task RecordInputAsync(StepAttempt consumer, string inputName, Guid artifactId, CancellationToken ct = default);

    Task<ArtifactRecord?> GetAsync(Guid id, CancellationToken ct = default);
    Task<ArtifactRecord?> GetByUriAsync(string uri, CancellationToken ct = default);
    Task<IReadOnlyList<ArtifactRecord>> ListAsync(ArtifactFilter filter, CancellationToken ct = default);
    Task<IReadOnlyList<ArtifactConsumer>> ConsumersAsync(Guid id, CancellationToken ct = default);
    Task<IReadOnlyList<LineageEntry>> UpstreamAsync(Guid id, CancellationToken ct = default);
}

public sealed class ArtifactConflictException(string message) : ArtifactStoreException(message);

public static class ArtifactRegistryExtensions
{
    public static async Task<ModelLineage> ModelLineageAsync(this IArtifactRegistry registry, Guid id, CancellationToken ct = default)
    {
        var model = await registry.GetAsync(id, ct) ?? throw new ArtifactNotFoundException(id.ToString());
        var data = await registry.UpstreamAsync(id, ct);
        var code = data.Select(d => d.Artifact.Producer).Prepend(model.Producer).OfType<ProducerInfo>()
            .DistinctBy(p => (p.StepRunId, p.Attempt)).ToList();
        return new ModelLineage(model, data, code);
    }

    /// <summary>Finds by id or by URI.</summary>
    public static async Task<ArtifactRecord?> FindAsync(this IArtifactRegistry registry, string idOrUri, CancellationToken ct = default) =>
        Guid.TryParse(idOrUri, out var id) ? await registry.GetAsync(id, ct) : await registry.GetByUriAsync(idOrUri, ct);
}
