using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore
{
    public async Task<IReadOnlyList<RunSummary>> ListRunsAsync(RunFilter filter, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "ListRuns", ("limit", filter.Limit));
        cmd.Parameters.Add(Db.Typed("workflow", NpgsqlTypes.NpgsqlDbType.Text, filter.Workflow));
        cmd.Parameters.Add(Db.Typed("state", NpgsqlTypes.NpgsqlDbType.Text, filter.State?.Db()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<RunSummary>();
        var (c, counts) = (SummaryColumns.Of(r), r.Ordinal("step_counts"));
        while (await r.ReadAsync(ct)) list.Add(ReadSummary(r, c, r.ReadObject(counts)));
        return list;
    }

    private static RunSummary ReadSummary(NpgsqlDataReader r, SummaryColumns c, JsonObject? counts) => new(
        r.GetGuid(c.Id), r.GetString(c.Workflow), StateNames.ParseRun(r.GetString(c.State)), r.GetString(c.CreatedBy), r.GetString(c.Trigger),
        r.ReadTime(c.CreatedAt), r.ReadTimeOrNull(c.FinalizedAt), r.ReadStringOrNull(c.Error),
        (counts ?? new JsonObject()).ToDictionary(p => StateNames.ParseStep(p.Key), p => p.Value!.GetValue<int>()));

    /// <summary>The ordinals of a run's summary columns in ListRuns and RunRow, resolved once per result set.</summary>
    private readonly record struct SummaryColumns(int Id, int Workflow, int State, int CreatedBy, int Trigger, int CreatedAt, int FinalizedAt, int Error)
    {
        public static SummaryColumns Of(NpgsqlDataReader r) => new(r.Ordinal("id"), r.Ordinal("workflow_name"), r.Ordinal("state"),
            r.Ordinal("created_by"), r.Ordinal("trigger"), r.Ordinal("created_at"), r.Ordinal("finalized_at"), r.Ordinal("error"));
    }

    public async Task<RunDetails?> GetRunAsync(Guid runId, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        // One snapshot for the whole view, so counts and steps agree.
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        RunSummary summary;
        JsonObject parameters;
        DateTimeOffset? started;
        await using (var cmd = Db.Cmd(conn, tx, "RunRow", ("id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return null;
            summary = ReadSummary(r, SummaryColumns.Of(r), null);
            parameters = r.ReadObject("params") ?? new();
            started = r.ReadTimeOrNull("started_at");
        }
        var attempts = new Dictionary<Guid, List<AttemptView>>();
        await using (var cmd = Db.Cmd(conn, tx, "RunAttempts", ("run_id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            var (stepRun, attempt, worker, state, startedAt, endedAt, error, logs) = (r.Ordinal("step_run_id"), r.Ordinal("attempt"),
                r.Ordinal("worker_id"), r.Ordinal("state"), r.Ordinal("started_at"), r.Ordinal("ended_at"), r.Ordinal("error"), r.Ordinal("logs"));
            while (await r.ReadAsync(ct))
            {
                var id = r.GetGuid(stepRun);
                if (!attempts.TryGetValue(id, out var list)) attempts[id] = list = new();
                list.Add(new AttemptView(r.GetInt32(attempt), r.GetString(worker), StateNames.ParseAttempt(r.GetString(state)), r.ReadTime(startedAt),
                    r.ReadTimeOrNull(endedAt), r.ReadStringOrNull(error), r.GetString(logs)));
            }
        }
        var steps = new List<StepRunView>();
        await using (var cmd = Db.Cmd(conn, tx, "RunSteps", ("run_id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            // A fan-out's run view lists every item: ordinals once per result set.
            int O(string column) => r.Ordinal(column);
            var (idAt, stepId, itemIndex, kind, state, attempt, cached, inputs, outputs, error, startedAt, finalizedAt, childrenTotal, childrenOpen) =
                (O("id"), O("step_id"), O("item_index"), O("kind"), O("state"), O("attempt"), O("cached"), O("inputs"), O("outputs"),
                 O("error"), O("started_at"), O("finalized_at"), O("children_total"), O("children_open"));
            while (await r.ReadAsync(ct))
            {
                var id = r.GetGuid(idAt);
                steps.Add(new StepRunView(id, r.GetString(stepId), r.IsDBNull(itemIndex) ? null : r.GetInt32(itemIndex), r.GetString(kind),
                    StateNames.ParseStep(r.GetString(state)), r.GetInt32(attempt), r.GetBoolean(cached), r.ReadObject(inputs), r.ReadObject(outputs),
                    r.ReadStringOrNull(error), r.ReadTimeOrNull(startedAt), r.ReadTimeOrNull(finalizedAt),
                    r.IsDBNull(childrenTotal) ? null : r.GetInt32(childrenTotal), r.IsDBNull(childrenOpen) ? null : r.GetInt32(childrenOpen),
                    attempts.TryGetValue(id, out var a) ? a : []));
            }
        }
        var approvals = new List<ApprovalView>();
        await using (var cmd = Db.Cmd(conn, tx, "RunApprovals", ("run_id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) approvals.Add(ReadApproval(r));
        var counts = steps.Where(s => s.ItemIndex is null).GroupBy(s => s.State).ToDictionary(g => g.Key, g => g.Count());
        // Lineage of a triggered run: the event (run, monitored batch or file) that started it.
        var triggeredBy = summary.Trigger == "event" ? await TriggeredByAsync(conn, tx, runId, ct) : null;
        return new RunDetails(summary with { StepCounts = counts }, parameters, started, steps, approvals) { TriggeredBy = triggeredBy };
    }

    private static ApprovalView ReadApproval(NpgsqlDataReader r) => new(
        r.Get<Guid>("step_run_id"), r.Get<string>("step_id"), r.ReadJson("summary"), r.ReadTime("requested_at"), r.ReadTimeOrNull("expires_at"),
        r.ReadStringOrNull("decision"), r.ReadStringOrNull("decided_by"), r.ReadTimeOrNull("decided_at"), r.ReadStringOrNull("comment"),
        r.Get<bool>("allow_self_approval"), r.Get<string[]>("approvers"), r.Get<Guid>("run_id"));

    public async Task<IReadOnlyList<ApprovalView>> ListOpenApprovalsAsync(CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "OpenApprovals");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ApprovalView>();
        while (await r.ReadAsync(ct)) list.Add(ReadApproval(r));
        return list;
    }

    public async Task<IReadOnlyList<ScheduleView>> ListSchedulesAsync(CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "ListSchedules");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ScheduleView>();
        var now = _time.GetUtcNow();
        while (await r.ReadAsync(ct))
        {
            var next = r.ReadTimeOrNull("next_fire_at");
            if (next is null && r.Get<bool>("enabled"))
            {
                // No leader has planned this schedule yet: plan it as the leader's next tick would. A fire time
                // already due (catch-up) is shown as the next fire: the leader's next tick creates its run.
                var plan = Pipelines.Core.Scheduling.CatchUpPlanner.Plan(Pipelines.Core.Scheduling.CronExpression.Parse(r.Get<string>("cron")),
                    TimeZoneInfo.FindSystemTimeZoneById(r.Get<string>("timezone")), r.ReadTimeOrNull("last_fire_at"), r.ReadTime("created_at"), now,
                    Enum.Parse<Pipelines.Core.Definitions.CatchUpPolicy>(r.Get<string>("catch_up"), ignoreCase: true), r.Get<int>("max_catch_up"));
                next = plan.FireNow.Count > 0 ? plan.FireNow[0] : plan.Next;
            }
            list.Add(new ScheduleView(r.Get<long>("id"), r.Get<string>("workflow_name"), r.Get<string>("cron"), r.Get<string>("timezone"),
                r.Get<string>("catch_up"), r.Get<int>("max_concurrent_runs"), r.Get<bool>("enabled"), r.ReadTimeOrNull("last_fired_at"), next));
        }
        return list;
    }
}
