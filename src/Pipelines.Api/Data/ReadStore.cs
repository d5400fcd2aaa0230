using NpgsqlTypes;

namespace Pipelines.Api.Data;

public sealed record RunListItem(Guid Id, string Workflow, string State, string StartedBy, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt, string Trigger, string? Error);

public sealed record RunHeader(Guid Id, string Workflow, long VersionId, int? Revision, string Yaml, string Path, string StartedBy);

public sealed record ApprovalRow(Guid Id, Guid RunId, string Workflow, string Step, DateTimeOffset RequestedAt, string RequestedBy,
    JsonNode? Summary, DateTimeOffset? ExpiresAt, string? Decision, string? DecidedBy, DateTimeOffset? DecidedAt, string? Comment,
    bool AllowSelfApproval, IReadOnlyList<string> Approvers, string StepState);

public sealed record ItemRow(int Index, JsonNode? Key, string State, int Attempts, string? Error);
public sealed record AttemptRow(int Attempt, string State, string Worker, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error, string Logs);
public sealed record WorkerRow(string Id, string Host, int Pid, IReadOnlyList<string> Queues, int Concurrency, DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt, DateTimeOffset? StoppedAt);
public sealed record LeaseRow(string Worker, Guid RunId, string Step, int? Item, int Attempt, DateTimeOffset ExpiresAt);
public sealed record QueueRow(string Queue, long Available, long Running, long Failed);
public sealed record AttemptListRow(Guid RunId, string Workflow, string Step, int? Item, int Attempt, string? Worker, DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt, string State, string? Error);

/// <summary>The API's read queries (the engine store covers the CLI's; these add paging, filters and the UI's views).</summary>
public sealed class ReadStore(NpgsqlDataSource db)
{
    /// <summary>Newest first. The cursor is the (created_at, id) of the previous page's last run.</summary>
    public Task<List<RunListItem>> RunsAsync(string? workflow, string? state, int limit, (DateTimeOffset At, Guid Id)? after, CancellationToken ct) =>
        Sql.ListAsync(db, """
            SELECT id, workflow_name, state, created_by, created_at, started_at, finalized_at, trigger, error FROM runs
            WHERE (@workflow::text IS NULL OR workflow_name = @workflow) AND (@state::text IS NULL OR state = @state)
              AND (@at::timestamptz IS NULL OR (created_at, id) < (@at, @id))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, r => new RunListItem(r.Get<Guid>("id"), r.Get<string>("workflow_name"), r.Get<string>("state"), r.Get<string>("created_by"),
                r.TimeAt("created_at"), r.TimeOrNull("started_at"), r.TimeOrNull("finalized_at"), r.Get<string>("trigger"), r.StringOrNull("error")),
            ct, Sql.Text("workflow", workflow), Sql.Text("state", state), Sql.Time("at", after?.At), Sql.Uuid("id", after?.Id ?? Guid.Empty),
            new NpgsqlParameter("limit", limit));

    public async Task<RunHeader?> RunHeaderAsync(Guid id, CancellationToken ct) => (await Sql.ListAsync(db, """
        SELECT r.id, r.workflow_name, r.workflow_version_id,
               (SELECT max(revision) FROM api_workflow_revisions x WHERE x.workflow_version_id = r.workflow_version_id) AS revision,
               v.source_text, v.source_path, r.created_by
        FROM runs r JOIN workflow_versions v ON v.id = r.workflow_version_id WHERE r.id = @id
        """, r => new RunHeader(r.Get<Guid>("id"), r.Get<string>("workflow_name"), r.Get<long>("workflow_version_id"), r.IntOrNull("revision"),
            r.Get<string>("source_text"), r.Get<string>("source_path"), r.Get<string>("created_by")),
        ct, Sql.Uuid("id", id))).SingleOrDefault();

    private const string ApprovalSelect = """
        SELECT a.step_run_id, a.run_id, r.workflow_name, s.step_id, a.requested_at, r.created_by, a.summary, a.expires_at, a.decision,
               a.decided_by, a.decided_at, a.comment, a.allow_self_approval, a.approvers, s.state AS step_state
        FROM approvals a JOIN step_runs s ON s.id = a.step_run_id JOIN runs r ON r.id = a.run_id
        """;

    private static ApprovalRow ReadApproval(NpgsqlDataReader r) => new(r.Get<Guid>("step_run_id"), r.Get<Guid>("run_id"),
        r.Get<string>("workflow_name"), r.Get<string>("step_id"), r.TimeAt("requested_at"), r.Get<string>("created_by"), r.JsonOrNull("summary"),
        r.TimeOrNull("expires_at"), r.StringOrNull("decision"), r.StringOrNull("decided_by"), r.TimeOrNull("decided_at"), r.StringOrNull("comment"),
        r.Get<bool>("allow_self_approval"), r.Get<string[]>("approvers"), r.Get<string>("step_state"));

    /// <summary>Waiting approvals (oldest first) or decided ones (newest first, at most <paramref name="limit"/>).</summary>
    public Task<List<ApprovalRow>> ApprovalsAsync(bool waiting, int limit, CancellationToken ct) => Sql.ListAsync(db,
        ApprovalSelect + (waiting
            ? " WHERE a.decision IS NULL AND s.state = 'waiting' ORDER BY a.requested_at LIMIT @limit"
            : " WHERE a.decision IS NOT NULL ORDER BY a.decided_at DESC LIMIT @limit"),
        ReadApproval, ct, new NpgsqlParameter("limit", limit));

    public async Task<ApprovalRow?> ApprovalAsync(Guid id, CancellationToken ct) =>
        (await Sql.ListAsync(db, ApprovalSelect + " WHERE a.step_run_id = @id", ReadApproval, ct, Sql.Uuid("id", id))).SingleOrDefault();

    public async Task<Guid?> StepRunIdAsync(Guid runId, string step, CancellationToken ct) => (await Sql.ListAsync(db,
        "SELECT id FROM step_runs WHERE run_id = @run AND step_id = @step AND parent_id IS NULL", r => r.Get<Guid>("id"), ct,
        Sql.Uuid("run", runId), Sql.Text("step", step))).Cast<Guid?>().SingleOrDefault();

    /// <summary>A step's own row and its fan-out items' rows: tracked runs name the row they came from.</summary>
    public Task<List<Guid>> StepRunIdsAsync(Guid stepRun, CancellationToken ct) => Sql.ListAsync(db,
        "SELECT id FROM step_runs WHERE id = @sr OR parent_id = @sr", r => r.Get<Guid>("id"), ct, Sql.Uuid("sr", stepRun));

    /// <summary>
    /// Per run, its newest evaluation report (<c>evaluation.html</c>, as the <c>evaluate</c> step writes it) that
    /// artifact collection has not removed: what an approver reads before deciding.
    /// </summary>
    public async Task<Dictionary<Guid, Guid>> EvaluationReportsAsync(IReadOnlyList<Guid> runs, CancellationToken ct)
    {
        if (runs.Count == 0) return [];
        var rows = await Sql.ListAsync(db, """
            SELECT DISTINCT ON (s.run_id) s.run_id, a.id AS report_id
            FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id
            WHERE s.run_id = ANY(@runs) AND a.name = 'evaluation.html' AND a.deleted_at IS NULL
            ORDER BY s.run_id, a.created_at DESC
            """, r => (Run: r.Get<Guid>("run_id"), Report: r.Get<Guid>("report_id")), ct, new NpgsqlParameter("runs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = runs.ToArray() });
        return rows.ToDictionary(r => r.Run, r => r.Report);
    }

    public Task<List<ItemRow>> ItemsAsync(Guid parent, int limit, int after, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT item_index, item, state, attempt, error FROM step_runs WHERE parent_id = @parent AND item_index > @after
        ORDER BY item_index LIMIT @limit
        """, r => new ItemRow(r.Get<int>("item_index"), r.JsonOrNull("item"), r.Get<string>("state"), r.Get<int>("attempt"), r.StringOrNull("error")), ct,
        Sql.Uuid("parent", parent), new NpgsqlParameter("after", after), new NpgsqlParameter("limit", limit));

    /// <summary>Attempts of a step run, or of one of its fan-out items when <paramref name="item"/> is given.</summary>
    public Task<List<AttemptRow>> AttemptsAsync(Guid stepRun, int? item, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT a.attempt, a.state, a.worker_id, a.started_at, a.ended_at, a.error, a.logs
        FROM attempts a JOIN step_runs s ON s.id = a.step_run_id
        WHERE (@item::int IS NULL AND s.id = @sr) OR (s.parent_id = @sr AND s.item_index = @item)
        ORDER BY a.attempt
        """, r => new AttemptRow(r.Get<int>("attempt"), r.Get<string>("state"), r.Get<string>("worker_id"), r.TimeAt("started_at"),
            r.TimeOrNull("ended_at"), r.StringOrNull("error"), r.Get<string>("logs")),
        ct, Sql.Uuid("sr", stepRun), new NpgsqlParameter("item", NpgsqlDbType.Integer) { Value = (object?)item ?? DBNull.Value });

    public Task<List<WorkerRow>> WorkersAsync(CancellationToken ct) => Sql.ListAsync(db, """
        SELECT id, host, pid, queues, concurrency, started_at, heartbeat_at, stopped_at FROM workers
        ORDER BY stopped_at IS NOT NULL, heartbeat_at DESC LIMIT 500
        """, r => new WorkerRow(r.Get<string>("id"), r.Get<string>("host"), r.Get<int>("pid"), r.Get<string[]>("queues"), r.Get<int>("concurrency"),
            r.TimeAt("started_at"), r.TimeAt("heartbeat_at"), r.TimeOrNull("stopped_at")), ct);

    public Task<List<LeaseRow>> LeasesAsync(CancellationToken ct) => Sql.ListAsync(db, """
        SELECT lease_owner, run_id, step_id, item_index, attempt, lease_expires_at FROM step_runs WHERE state = 'running' ORDER BY lease_expires_at
        """, r => new LeaseRow(r.Get<string>("lease_owner"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.IntOrNull("item_index"),
            r.Get<int>("attempt"), r.TimeAt("lease_expires_at")), ct);

    public Task<List<QueueRow>> QueuesAsync(CancellationToken ct) => Sql.ListAsync(db, """
        SELECT queue, count(*) FILTER (WHERE state = 'available') AS available, count(*) FILTER (WHERE state = 'running') AS running,
               count(*) FILTER (WHERE state = 'failed') AS failed
        FROM step_runs WHERE kind <> 'approval' GROUP BY queue ORDER BY queue
        """, r => new QueueRow(r.Get<string>("queue"), r.Get<long>("available"), r.Get<long>("running"), r.Get<long>("failed")), ct);

    public Task<List<AttemptListRow>> AttemptListAsync(string state, int limit, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT s.run_id, r.workflow_name, s.step_id, s.item_index, a.attempt, a.worker_id, a.started_at, a.ended_at, a.state, a.error
        FROM attempts a JOIN step_runs s ON s.id = a.step_run_id JOIN runs r ON r.id = s.run_id
        WHERE a.state = @state ORDER BY a.started_at DESC LIMIT @limit
        """, r => new AttemptListRow(r.Get<Guid>("run_id"), r.Get<string>("workflow_name"), r.Get<string>("step_id"), r.IntOrNull("item_index"),
            r.Get<int>("attempt"), r.StringOrNull("worker_id"), r.TimeAt("started_at"), r.TimeOrNull("ended_at"), r.Get<string>("state"),
            r.StringOrNull("error")), ct, Sql.Text("state", state), new NpgsqlParameter("limit", limit));
}
