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
        return (await ReadAll(cmd, r => ReadArtifact(r, 0), ct)).SingleOrDefault();
    }

    public async Task<ArtifactRecord?> GetByUriAsync(string uri, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactGetByUri"));
        cmd.Parameters.AddWithValue("uri", uri);
        return (await ReadAll(cmd, r => ReadArtifact(r, 0), ct)).SingleOrDefault();
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
        return await ReadAll(cmd, r => ReadArtifact(r, 0), ct);
    }

    public async Task<IReadOnlyList<ArtifactConsumer>> ConsumersAsync(Guid id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactConsumers"));
        cmd.Parameters.AddWithValue("id", id);
        return await ReadAll(cmd, r => new ArtifactConsumer(
            r.GetGuid(0), r.GetInt32(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3), r.GetGuid(4), r.GetString(5),
            r.IsDBNull(6) ? null : r.GetInt32(6), r.GetString(7), r.GetString(8), r.GetString(9), r.GetString(10), r.GetString(11)), ct);
    }

    public async Task<IReadOnlyList<LineageEntry>> UpstreamAsync(Guid id, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ArtifactUpstream"));
        cmd.Parameters.AddWithValue("id", id);
        return await ReadAll(cmd, r => new LineageEntry(r.GetInt32(0), ReadArtifact(r, 4), new StepAttempt(r.GetGuid(1), r.GetInt32(2)), r.GetString(3)), ct);
    }

    private static async Task<List<T>> ReadAll<T>(NpgsqlCommand cmd, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) list.Add(read(reader));
        return list;
    }

    // The columns of the artifact_details view (migration 0008), starting at column o.
    private static ArtifactRecord ReadArtifact(NpgsqlDataReader r, int o)
    {
        string? Str(int i) => r.IsDBNull(o + i) ? null : r.GetString(o + i);
        ProducerInfo? producer = r.IsDBNull(o + 10) || r.IsDBNull(o + 12) ? null : new ProducerInfo(
            r.GetGuid(o + 10), r.GetInt32(o + 11), r.GetGuid(o + 12), r.GetString(o + 13), r.IsDBNull(o + 14) ? null : r.GetInt32(o + 14),
            r.GetString(o + 15), r.GetString(o + 16), r.GetString(o + 17), r.GetString(o + 18), Str(20));
        return new ArtifactRecord(
            r.GetGuid(o), r.GetString(o + 1), r.GetString(o + 2), r.GetInt64(o + 3), r.GetString(o + 4), r.GetString(o + 5), Str(6),
            Str(7), r.IsDBNull(o + 8) ? null : r.GetInt64(o + 8), r.GetFieldValue<DateTimeOffset>(o + 9), producer,
            r.IsDBNull(o + 19) ? null : r.GetFieldValue<DateTimeOffset>(o + 19));
    }
}
