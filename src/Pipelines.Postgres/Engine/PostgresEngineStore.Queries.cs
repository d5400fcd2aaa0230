using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Engine.Model;

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
        while (await r.ReadAsync(ct)) list.Add(ReadSummary(r, r.ReadObject(8)));
        return list;
    }

    private static RunSummary ReadSummary(NpgsqlDataReader r, JsonObject? counts) => new(
        r.GetGuid(0), r.GetString(1), StateNames.ParseRun(r.GetString(2)), r.GetString(3), r.GetString(4), r.ReadTime(5),
        r.ReadTimeOrNull(6), r.ReadStringOrNull(7),
        (counts ?? new JsonObject()).ToDictionary(p => StateNames.ParseStep(p.Key), p => p.Value!.GetValue<int>()));

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
            summary = ReadSummary(r, null);
            parameters = r.ReadObject(8) ?? new();
            started = r.ReadTimeOrNull(9);
        }
        var attempts = new Dictionary<Guid, List<AttemptView>>();
        await using (var cmd = Db.Cmd(conn, tx, "RunAttempts", ("run_id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct))
            {
                var id = r.GetGuid(0);
                if (!attempts.TryGetValue(id, out var list)) attempts[id] = list = new();
                list.Add(new AttemptView(r.GetInt32(1), r.GetString(2), StateNames.ParseAttempt(r.GetString(3)), r.ReadTime(4),
                    r.ReadTimeOrNull(5), r.ReadStringOrNull(6), r.GetString(7)));
            }
        var steps = new List<StepRunView>();
        await using (var cmd = Db.Cmd(conn, tx, "RunSteps", ("run_id", runId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct))
            {
                var id = r.GetGuid(0);
                steps.Add(new StepRunView(id, r.GetString(1), r.IsDBNull(2) ? null : r.GetInt32(2), r.GetString(3),
                    StateNames.ParseStep(r.GetString(4)), r.GetInt32(5), r.GetBoolean(6), r.ReadObject(7), r.ReadObject(8),
                    r.ReadStringOrNull(9), r.ReadTimeOrNull(10), r.ReadTimeOrNull(11), r.IsDBNull(12) ? null : r.GetInt32(12),
                    r.IsDBNull(13) ? null : r.GetInt32(13), attempts.TryGetValue(id, out var a) ? a : []));
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
        r.GetGuid(0), r.GetString(1), r.ReadJson(2), r.ReadTime(3), r.ReadTimeOrNull(4), r.ReadStringOrNull(5),
        r.ReadStringOrNull(6), r.ReadTimeOrNull(7), r.ReadStringOrNull(8), r.GetBoolean(9), r.GetFieldValue<string[]>(10), r.GetGuid(11));

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
            var next = r.ReadTimeOrNull(8);
            if (next is null && r.GetBoolean(6))
            {
                // No leader has planned this schedule yet: plan it as the leader's next tick would. A fire time
                // already due (catch-up) is shown as the next fire: the leader's next tick creates its run.
                var plan = Pipelines.Core.Scheduling.CatchUpPlanner.Plan(Pipelines.Core.Scheduling.CronExpression.Parse(r.GetString(2)),
                    TimeZoneInfo.FindSystemTimeZoneById(r.GetString(3)), r.ReadTimeOrNull(9), r.ReadTime(10), now,
                    Enum.Parse<Pipelines.Core.Definitions.CatchUpPolicy>(r.GetString(4), ignoreCase: true), r.GetInt32(11));
                next = plan.FireNow.Count > 0 ? plan.FireNow[0] : plan.Next;
            }
            list.Add(new ScheduleView(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt32(5),
                r.GetBoolean(6), r.ReadTimeOrNull(7), next));
        }
        return list;
    }
}
