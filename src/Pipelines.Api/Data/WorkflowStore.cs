using Pipelines.Core.Definitions;

namespace Pipelines.Api.Data;

public sealed record WorkflowSummary(string Name, int Version, string? Description, DateTimeOffset UpdatedAt, string UpdatedBy, string Yaml);
public sealed record WorkflowRevision(int Version, DateTimeOffset CreatedAt, string CreatedBy, string? Comment, string Yaml, long VersionId);

/// <summary>
/// Workflows managed through the API: each save adds a numbered revision pointing at the engine's immutable
/// <c>workflow_versions</c> row (runs keep executing exactly the text they were started with).
/// </summary>
public sealed class WorkflowStore(NpgsqlDataSource db, TimeProvider time)
{
    public Task<List<WorkflowSummary>> ListAsync(CancellationToken ct) => Sql.ListAsync(db, """
        SELECT w.name, w.current_revision, w.updated_at, w.updated_by, v.source_text
        FROM api_workflows w JOIN api_workflow_revisions r ON r.name = w.name AND r.revision = w.current_revision
        JOIN workflow_versions v ON v.id = r.workflow_version_id
        WHERE w.deleted_at IS NULL ORDER BY w.name
        """, r => new WorkflowSummary(r.Get<string>("name"), r.Get<int>("current_revision"), null, r.TimeAt("updated_at"),
            r.Get<string>("updated_by"), r.Get<string>("source_text")), ct);

    public async Task<WorkflowSummary?> GetAsync(string name, CancellationToken ct) =>
        (await ListAsync(ct)).FirstOrDefault(w => w.Name == name);

    public Task<List<WorkflowRevision>> RevisionsAsync(string name, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT r.revision, r.created_at, r.created_by, r.comment, v.source_text, v.id AS version_id
        FROM api_workflow_revisions r JOIN api_workflows w ON w.name = r.name AND w.deleted_at IS NULL
        JOIN workflow_versions v ON v.id = r.workflow_version_id
        WHERE r.name = @name ORDER BY r.revision DESC
        """, r => new WorkflowRevision(r.Get<int>("revision"), r.TimeAt("created_at"), r.Get<string>("created_by"), r.StringOrNull("comment"),
            r.Get<string>("source_text"), r.Get<long>("version_id")),
        ct, Sql.Text("name", name));

    /// <summary>
    /// Saves a validated definition as the workflow's next revision (creating the workflow when <paramref name="create"/>).
    /// One transaction: the revision, the engine's version row and the pointer move together or not at all.
    /// Returns the new revision, or null when creating a name that exists (or updating one that does not).
    /// </summary>
    public async Task<int?> SaveAsync(WorkflowDefinition definition, string user, string? comment, bool create, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        long versionId;
        await using (var cmd = Sql.Cmd(conn, """
            INSERT INTO workflow_versions (name, content_hash, source_path, source_text, created_at)
            VALUES (@name, @hash, @path, @text, @now)
            ON CONFLICT (name, content_hash) DO UPDATE SET source_path = workflow_versions.source_path
            RETURNING id
            """, tx, ("name", definition.Name), ("hash", definition.ContentHash), ("path", definition.SourcePath),
            ("text", definition.SourceText), ("now", now.UtcDateTime)))
            versionId = (long)(await cmd.ExecuteScalarAsync(ct))!;

        int revision;
        if (create)
        {
            // A deleted workflow's name may be taken again; its history continues.
            await using var cmd = Sql.Cmd(conn, """
                INSERT INTO api_workflows (name, current_revision, updated_at, updated_by) VALUES (@name, 1, @now, @user)
                ON CONFLICT (name) DO UPDATE SET current_revision = api_workflows.current_revision + 1, updated_at = @now,
                    updated_by = @user, deleted_at = NULL
                WHERE api_workflows.deleted_at IS NOT NULL
                RETURNING current_revision
                """, tx, ("name", definition.Name), ("now", now.UtcDateTime), ("user", user));
            var r = await cmd.ExecuteScalarAsync(ct);
            if (r is null) return null;
            revision = (int)r;
        }
        else
        {
            await using var cmd = Sql.Cmd(conn, """
                UPDATE api_workflows SET current_revision = current_revision + 1, updated_at = @now, updated_by = @user
                WHERE name = @name AND deleted_at IS NULL RETURNING current_revision
                """, tx, ("name", definition.Name), ("now", now.UtcDateTime), ("user", user));
            var r = await cmd.ExecuteScalarAsync(ct);
            if (r is null) return null;
            revision = (int)r;
        }
        await using (var cmd = Sql.Cmd(conn, """
            INSERT INTO api_workflow_revisions (name, revision, workflow_version_id, created_at, created_by, comment)
            VALUES (@name, @rev, @vid, @now, @user, @comment)
            """, tx, ("name", definition.Name), ("rev", revision), ("vid", versionId), ("now", now.UtcDateTime), ("user", user), ("comment", comment)))
            await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return revision;
    }

    public async Task<bool> DeleteAsync(string name, string user, CancellationToken ct) =>
        await Sql.ExecAsync(db, "UPDATE api_workflows SET deleted_at = @now, updated_by = @user WHERE name = @name AND deleted_at IS NULL", ct,
            Sql.Text("name", name), Sql.Text("user", user), Sql.Time("now", time.GetUtcNow())) == 1;

    /// <summary>Whether the name was ever registered (deleted ones too), so imports do not resurrect deleted workflows.</summary>
    public async Task<bool> KnownAsync(string name, CancellationToken ct) =>
        (await Sql.ListAsync(db, "SELECT 1 FROM api_workflows WHERE name = @name", _ => 1, ct, Sql.Text("name", name))).Count > 0;
}
