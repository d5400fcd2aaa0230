using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Postgres.Artifacts;

/// <summary>The artifact registry on PostgreSQL (tables from migration 0002, statements in Artifacts/Sql/artifacts.sql).</summary>
public sealed class PostgresArtifactRegistry(NpgsqlDataSource db, TimeProvider? time = null) : IArtifactRegistry
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<ArtifactRecord> RegisterAsync(NewArtifact a, CancellationToken ct = default)
    {
        if (a.Kind == ArtifactKinds.Table && (a.SchemaJson is null || a.RowCount is null))
            throw new ArgumentException("a table artifact needs its schema and row count", nameof(a));
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactInsert"));
        cmd.Parameters.AddWithValue("id", Guid.CreateVersion7());
        cmd.Parameters.AddWithValue("uri", a.Uri);
        cmd.Parameters.AddWithValue("sha256", a.Sha256.ToLowerInvariant());
        cmd.Parameters.AddWithValue("size", a.Size);
        cmd.Parameters.AddWithValue("media_type", a.MediaType);
        cmd.Parameters.AddWithValue("kind", a.Kind);
        cmd.Parameters.Add(new NpgsqlParameter("name", NpgsqlDbType.Text) { Value = (object?)a.Name ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("schema", NpgsqlDbType.Text) { Value = (object?)a.SchemaJson ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("row_count", NpgsqlDbType.Bigint) { Value = (object?)a.RowCount ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("step_run_id", NpgsqlDbType.Uuid) { Value = (object?)a.ProducedBy?.StepRunId ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("attempt", NpgsqlDbType.Integer) { Value = (object?)a.ProducedBy?.Attempt ?? DBNull.Value });
        cmd.Parameters.AddWithValue("created_at", _time.GetUtcNow());
        var inserted = await cmd.ExecuteScalarAsync(ct);
        var record = inserted is Guid id
            ? await GetAsync(id, ct)
            : await GetByUriAsync(a.Uri, ct);
        if (record is null) throw new InvalidOperationException($"artifact {a.Uri} vanished right after registration");
        // ON CONFLICT DO NOTHING: the URI was taken. Same bytes (a retried registration) is fine; other bytes are not.
        if (inserted is null && (record.Sha256 != a.Sha256.ToLowerInvariant() || record.Producer?.StepRunId != a.ProducedBy?.StepRunId || record.Producer?.Attempt != a.ProducedBy?.Attempt))
            throw new ArtifactConflictException($"{a.Uri} is already registered with sha256 {record.Sha256} (by another producer or with other content); artifacts are immutable");
        return record;
    }

    public async Task RecordInputAsync(StepAttempt consumer, string inputName, Guid artifactId, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactInputInsert"));
        cmd.Parameters.AddWithValue("step_run_id", consumer.StepRunId);
        cmd.Parameters.AddWithValue("attempt", consumer.Attempt);
        cmd.Parameters.AddWithValue("input_name", inputName);
        cmd.Parameters.AddWithValue("artifact_id", artifactId);
        cmd.Parameters.AddWithValue("recorded_at", _time.GetUtcNow());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<ArtifactRecord?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactGet"));
        cmd.Parameters.AddWithValue("id", id);
        return (await ReadAll(cmd, ArtifactReader, ct)).SingleOrDefault();
    }

    public async Task<ArtifactRecord?> GetByUriAsync(string uri, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactGetByUri"));
        cmd.Parameters.AddWithValue("uri", uri);
        return (await ReadAll(cmd, ArtifactReader, ct)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<ArtifactRecord>> ListAsync(ArtifactFilter filter, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactList"));
        cmd.Parameters.Add(new NpgsqlParameter("run_id", NpgsqlDbType.Uuid) { Value = (object?)filter.RunId ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("kind", NpgsqlDbType.Text) { Value = (object?)filter.Kind ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("sha256", NpgsqlDbType.Text) { Value = (object?)filter.Sha256?.ToLowerInvariant() ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("uri_prefix", NpgsqlDbType.Text) { Value = (object?)filter.UriPrefix ?? DBNull.Value });
        cmd.Parameters.AddWithValue("limit", filter.Limit);
        cmd.Parameters.AddWithValue("include_deleted", filter.IncludeDeleted);
        return await ReadAll(cmd, ArtifactReader, ct);
    }

    public async Task<IReadOnlyList<ArtifactConsumer>> ConsumersAsync(Guid id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactConsumers"));
        cmd.Parameters.AddWithValue("id", id);
        return await ReadAll<ArtifactConsumer>(cmd, r => () => new ArtifactConsumer(
            r.Get<Guid>("step_run_id"), r.Get<int>("attempt"), r.Get<string>("input_name"), r.Get<DateTimeOffset>("recorded_at"),
            r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.GetOrDefault<int?>("item_index"), r.Get<string>("kind"),
            r.Get<string>("activity_version"), r.Get<string>("workflow_name"), r.Get<string>("run_state"), r.Get<string>("attempt_state")), ct);
    }

    public async Task<IReadOnlyList<LineageEntry>> UpstreamAsync(Guid id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactUpstream"));
        cmd.Parameters.AddWithValue("id", id);
        return await ReadAll<LineageEntry>(cmd, r =>
        {
            var artifact = ArtifactReader(r);
            var (depth, consumer, consumerAttempt, input) =
                (r.Ordinal("depth"), r.Ordinal("consumer_step_run_id"), r.Ordinal("consumer_attempt"), r.Ordinal("input_name"));
            return () => new LineageEntry(r.GetInt32(depth), artifact(), new StepAttempt(r.GetGuid(consumer), r.GetInt32(consumerAttempt)),
                r.GetString(input));
        }, ct);
    }

    /// <summary>
    /// Every row of <paramref name="cmd"/>'s result; <paramref name="prepare"/> runs once per result set (to resolve
    /// column ordinals by name) and returns the function that reads one row.
    /// </summary>
    private static async Task<List<T>> ReadAll<T>(NpgsqlCommand cmd, Func<NpgsqlDataReader, Func<T>> prepare, CancellationToken ct)
    {
        var list = new List<T>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var read = prepare(reader);
        while (await reader.ReadAsync(ct)) list.Add(read());
        return list;
    }

    /// <summary>Reads the columns of the artifact_details view (migration 0008) by name, resolved once per result set.</summary>
    private static Func<ArtifactRecord> ArtifactReader(NpgsqlDataReader r)
    {
        int O(string column) => r.Ordinal(column);
        var (id, uri, sha256, size, mediaType, kind, name, schema, rowCount, createdAt) =
            (O("id"), O("uri"), O("sha256"), O("size"), O("media_type"), O("kind"), O("name"), O("schema"), O("row_count"), O("created_at"));
        var (stepRun, attempt, run, step, itemIndex, activityKind, activityVersion, workflow, contentHash, deletedAt, attemptState) =
            (O("step_run_id"), O("attempt"), O("run_id"), O("step_id"), O("item_index"), O("activity_kind"), O("activity_version"),
             O("workflow_name"), O("content_hash"), O("deleted_at"), O("attempt_state"));
        string? Str(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return () =>
        {
            // No producer when the artifact was registered outside a step attempt, or its step run is gone.
            ProducerInfo? producer = r.IsDBNull(stepRun) || r.IsDBNull(run) ? null : new ProducerInfo(
                r.GetGuid(stepRun), r.GetInt32(attempt), r.GetGuid(run), r.GetString(step), r.IsDBNull(itemIndex) ? null : r.GetInt32(itemIndex),
                r.GetString(activityKind), r.GetString(activityVersion), r.GetString(workflow), r.GetString(contentHash), Str(attemptState));
            return new ArtifactRecord(
                r.GetGuid(id), r.GetString(uri), r.GetString(sha256), r.GetInt64(size), r.GetString(mediaType), r.GetString(kind), Str(name),
                Str(schema), r.IsDBNull(rowCount) ? null : r.GetInt64(rowCount), r.GetFieldValue<DateTimeOffset>(createdAt), producer,
                r.IsDBNull(deletedAt) ? null : r.GetFieldValue<DateTimeOffset>(deletedAt));
        };
    }
}
