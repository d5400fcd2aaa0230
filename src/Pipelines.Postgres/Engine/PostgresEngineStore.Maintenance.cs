using Npgsql;
using Pipelines.Core.Definitions;
using Pipelines.Core.Scheduling;
using Pipelines.Engine.Model;
using Pipelines.Engine.Rescue;
using Pipelines.Engine.Storage;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore
{
    public async Task<int> RescueExpiredLeasesAsync(CancellationToken ct = default)
    {
        var expired = new List<(Guid Id, Guid RunId, int Attempt, string Owner)>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var cmd = Db.Cmd(conn, null, "ExpiredLeases", ("now", Now)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) expired.Add((r.Get<Guid>("id"), r.Get<Guid>("run_id"), r.Get<int>("attempt"), r.Get<string>("lease_owner")));

        var rescued = 0;
        foreach (var job in expired)
        {
            var done = await InTx(async (conn, tx) =>
            {
                var run = await LockRunAsync(conn, tx, job.RunId, ct);
                if (run is null) return false;
                RescueDecision decision;
                await using (var cmd = Db.Cmd(conn, tx, "LockExpiredStep", ("id", job.Id), ("attempt", job.Attempt), ("now", Now)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                {
                    // Renewed or finished since we looked: nothing to rescue.
                    if (!await r.ReadAsync(ct)) return false;
                    decision = LeaseRescue.Decide(r.Get<bool>("cancel_requested"), r.Get<int>("rescues"), _options.MaxRescues, r.ReadStringOrNull("error"));
                }
                string queue;
                Guid? parent;
                await using (var cmd = Db.Cmd(conn, tx, "RescueStep", ("id", job.Id), ("attempt", job.Attempt), ("state", decision.State.Db()),
                                 ("error", decision.Error), ("final", decision.Final), ("now", Now)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                {
                    if (!await r.ReadAsync(ct)) return false;
                    queue = r.Get<string>("queue");
                    parent = r.GetOrDefault<Guid?>("parent_id");
                }
                var state = decision.State.Db();
                await Db.Cmd(conn, tx, "FinishAttempt", ("id", job.Id), ("attempt", job.Attempt), ("state", AttemptState.Lost.Db()),
                    ("error", $"worker {job.Owner} stopped renewing its lease"), ("logs", ""), ("now", Now)).ExecAsync(ct);
                var queues = new HashSet<string>();
                if (state == StepState.Available.Db()) queues.Add(queue);
                else if (parent is { } p) await ItemEndedAsync(conn, tx, run, p, ct);
                else await AdvanceAsync(conn, tx, run, ct);
                foreach (var q in queues) await NotifyAsync(conn, tx, Channels.Jobs, q, ct);
                return true;
            }, ct);
            if (done) rescued++;
        }
        // Safety net for the check that closes a fan-out after its last item's commit: a process that died (or lost
        // the database) between that commit and the check leaves a parent with no open item; closed here.
        var stranded = new List<(Guid RunId, Guid ParentId)>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var cmd = Db.Cmd(conn, null, "StrandedFanOuts"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) stranded.Add((r.Get<Guid>("run_id"), r.Get<Guid>("id")));
        foreach (var (runId, parentId) in stranded) await CloseFanOutIfDoneAsync(runId, parentId, ct);
        return rescued;
    }

    public Task<int> PromoteDueRetriesAsync(CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            var queues = new HashSet<string>();
            var n = 0;
            await using (var cmd = Db.Cmd(conn, tx, "PromoteDueRetries", ("now", Now)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
                while (await r.ReadAsync(ct)) { queues.Add(r.Get<string>("queue")); n++; }
            foreach (var q in queues) await NotifyAsync(conn, tx, Channels.Jobs, q, ct);
            return n;
        }, ct);

    public async Task<int> ExpireApprovalsAsync(CancellationToken ct = default)
    {
        var due = new List<(Guid StepRunId, Guid RunId)>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var cmd = Db.Cmd(conn, null, "ExpiredApprovals", ("now", Now)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) due.Add((r.Get<Guid>("step_run_id"), r.Get<Guid>("run_id")));
        var expired = 0;
        foreach (var (stepRunId, runId) in due)
        {
            var done = await InTx(async (conn, tx) =>
            {
                var run = await LockRunAsync(conn, tx, runId, ct);
                if (run is null) return false;
                if (await Db.Cmd(conn, tx, "ExpireApproval", ("id", stepRunId), ("now", Now)).ExecAsync(ct) == 0) return false;
                await Db.Cmd(conn, tx, "FinishWaitingStep", ("id", stepRunId), ("state", StepState.Stopped.Db()), ("outputs", null),
                    ("error", "approval timed out without a decision"), ("now", Now)).ExecAsync(ct);
                await AdvanceAsync(conn, tx, run, ct);
                return true;
            }, ct);
            if (done) expired++;
        }
        return expired;
    }

    public async Task<int> FireSchedulesAsync(CancellationToken ct = default)
    {
        var due = new List<long>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var cmd = Db.Cmd(conn, null, "DueSchedules", ("now", Now)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) due.Add(r.Get<long>("id"));
        var fired = 0;
        foreach (var id in due) fired += await FireScheduleAsync(id, ct);
        return fired;
    }

    private Task<int> FireScheduleAsync(long scheduleId, CancellationToken ct) =>
        InTx(async (conn, tx) =>
        {
            long versionId;
            string cron, zone, workflow;
            CatchUpPolicy policy;
            int maxCatchUp, maxConcurrent;
            System.Text.Json.Nodes.JsonObject scheduleParams;
            DateTimeOffset created;
            DateTimeOffset? last;
            await using (var cmd = Db.Cmd(conn, tx, "LockSchedule", ("id", scheduleId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (!await r.ReadAsync(ct)) return 0;
                versionId = r.Get<long>("workflow_version_id");
                cron = r.Get<string>("cron");
                zone = r.Get<string>("timezone");
                policy = Enum.Parse<CatchUpPolicy>(r.Get<string>("catch_up"), ignoreCase: true);
                maxCatchUp = r.Get<int>("max_catch_up");
                maxConcurrent = r.Get<int>("max_concurrent_runs");
                scheduleParams = r.ReadObject("params") ?? new();
                created = r.ReadTime("created_at");
                last = r.ReadTimeOrNull("last_fire_at");
                workflow = r.Get<string>("workflow_name");
            }
            var definition = await DefinitionAsync(conn, tx, versionId, ct);
            var now = _time.GetUtcNow();
            var plan = CatchUpPlanner.Plan(CronExpression.Parse(cron), TimeZoneInfo.FindSystemTimeZoneById(zone), last, created, now, policy, maxCatchUp);

            var fired = 0;
            foreach (var fireTime in plan.FireNow)
            {
                var request = new SubmitRun(definition, ParameterBinder.Bind(definition, scheduleParams), "scheduler", scheduleId, fireTime);
                var state = await AdmissionAsync(conn, tx, workflow, maxConcurrent, ct);
                // The fire row is written first under its primary key: a second scheduler racing on the same
                // fire time inserts nothing, and then creates no run.
                var inserted = await InsertFireAndRunAsync(conn, tx, scheduleId, fireTime, request, versionId, state, ct);
                if (inserted) fired++;
            }
            var lastFire = plan.FireNow.Count > 0 ? plan.FireNow[^1] : (DateTimeOffset?)null;
            await using (var cmd = Db.Cmd(conn, tx, "AdvanceSchedule", ("id", scheduleId)))
            {
                cmd.Parameters.Add(Db.Typed("last", NpgsqlTypes.NpgsqlDbType.TimestampTz, (lastFire ?? last ?? now).UtcDateTime));
                cmd.Parameters.Add(Db.Typed("next", NpgsqlTypes.NpgsqlDbType.TimestampTz, plan.Next?.UtcDateTime));
                await cmd.ExecuteNonQueryAsync(ct);
            }
            return fired;
        }, ct);

    /// <summary>
    /// The state a run the leader starts (a schedule's fire, a trigger's event) is created in: queued while its workflow
    /// already has <paramref name="maxConcurrent"/> active runs (StartQueuedRunsAsync starts it later), else running.
    /// </summary>
    private static async Task<RunState> AdmissionAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string workflow, int maxConcurrent, CancellationToken ct)
    {
        await using var count = Db.Cmd(conn, tx, "ActiveRunCount", ("workflow", workflow));
        return (long)(await count.ExecuteScalarAsync(ct))! >= maxConcurrent ? RunState.Queued : RunState.Running;
    }

    private async Task<bool> InsertFireAndRunAsync(NpgsqlConnection conn, NpgsqlTransaction tx, long scheduleId, DateTimeOffset fireTime,
        SubmitRun request, long versionId, RunState state, CancellationToken ct)
    {
        var runId = await InsertRunAsync(conn, tx, request, versionId, state, ct);
        var inserted = await Db.Cmd(conn, tx, "InsertFire", ("schedule_id", scheduleId), ("fire_time", fireTime.UtcDateTime),
            ("run_id", runId), ("now", Now)).ExecAsync(ct);
        if (inserted == 0)
        {
            // Another scheduler already fired this time; drop the run we prepared.
            await using var delete = new NpgsqlCommand("DELETE FROM runs WHERE id = @id", conn, tx);
            delete.Parameters.AddWithValue("id", runId);
            await delete.ExecuteNonQueryAsync(ct);
            return false;
        }
        if (state == RunState.Running)
            await AdvanceAsync(conn, tx, (await LockRunAsync(conn, tx, runId, ct))!, ct);
        return true;
    }

    public async Task<int> StartQueuedRunsAsync(CancellationToken ct = default)
    {
        var queued = new List<(Guid Id, string Workflow, int Max)>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var cmd = Db.Cmd(conn, null, "QueuedRuns"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) queued.Add((r.Get<Guid>("id"), r.Get<string>("workflow_name"), r.Get<int>("max_concurrent_runs")));
        var started = 0;
        foreach (var (id, workflow, max) in queued)
        {
            var ok = await InTx(async (conn, tx) =>
            {
                // Serialise starters per workflow so two leaders in a hand-over cannot both take the last slot.
                await using (var l = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext(@w))", conn, tx))
                {
                    l.Parameters.AddWithValue("w", "pipelines-start:" + workflow);
                    await l.ExecuteNonQueryAsync(ct);
                }
                await using (var count = Db.Cmd(conn, tx, "ActiveRunCount", ("workflow", workflow)))
                    if ((long)(await count.ExecuteScalarAsync(ct))! >= max) return false;
                var run = await LockRunAsync(conn, tx, id, ct);
                if (run is null || run.State != RunState.Queued) return false;
                await Db.Cmd(conn, tx, "StartQueuedRun", ("id", id), ("now", Now)).ExecAsync(ct);
                await AdvanceAsync(conn, tx, run with { State = RunState.Running }, ct);
                return true;
            }, ct);
            if (ok) started++;
        }
        return started;
    }

    public Task SyncAsync(IReadOnlyList<WorkflowDefinition> definitions, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            foreach (var d in definitions)
            {
                await SyncTriggersAsync(conn, tx, d, ct);
                if (d.Schedule is not { } s)
                {
                    await Db.Cmd(conn, tx, "DisableSchedule", ("workflow", d.Name)).ExecAsync(ct);
                    continue;
                }
                var versionId = await UpsertVersionAsync(conn, tx, d, ct);
                await Db.Cmd(conn, tx, "UpsertSchedule", ("workflow", d.Name), ("version_id", versionId), ("cron", s.Cron),
                    ("timezone", s.TimeZone), ("catch_up", s.CatchUp.ToString().ToLowerInvariant()), ("max_catch_up", s.MaxCatchUp),
                    ("max_concurrent_runs", s.MaxConcurrentRuns), ("now", Now)).ExecAsync(ct);
            }
            return true;
        }, ct);
}
