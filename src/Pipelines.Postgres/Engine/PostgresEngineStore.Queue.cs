using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Engine.Model;
using Pipelines.Engine.Orchestration;
using Pipelines.Engine.Retries;
using Pipelines.Engine.Storage;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore
{
    public async Task RegisterWorkerAsync(WorkerInfo worker, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "RegisterWorker", ("id", worker.Id), ("host", worker.Host), ("pid", worker.Pid),
            ("concurrency", worker.Concurrency), ("now", Now));
        cmd.Parameters.Add(Db.Typed("queues", NpgsqlDbType.Array | NpgsqlDbType.Text, worker.Queues.ToArray()));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task UnregisterWorkerAsync(string workerId, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await Db.Cmd(conn, null, "UnregisterWorker", ("id", workerId), ("now", Now)).ExecAsync(ct);
    }

    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string workerId, IReadOnlyList<string> queues, int max, TimeSpan lease, CancellationToken ct = default)
    {
        var jobs = new List<ClaimedJob>();
        if (max <= 0) return jobs;
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = ClaimCommand(conn, null, workerId, queues, max, lease);
        jobs.AddRange(await ReadClaimsAsync(cmd, ct));
        // The claimed steps' state changes wrote event rows.
        if (jobs.Count > 0) _notifier.EventsWritten();
        return jobs;
    }

    /// <summary>
    /// Claims attempt <paramref name="attempt"/> of one step for <paramref name="workerId"/>, guarded like
    /// <see cref="ClaimAsync"/>: null unless the step is available and that attempt is its next one. An executor that
    /// delivers attempts itself (Hangfire) calls this, so a repeated delivery finds nothing to run.
    /// </summary>
    public async Task<ClaimedJob?> ClaimAttemptAsync(string workerId, Guid stepRunId, int attempt, TimeSpan lease, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "ClaimAttempt", ("worker", workerId), ("id", stepRunId), ("attempt", attempt), ("now", Now),
            ("lease_until", Now + lease));
        var job = (await ReadClaimsAsync(cmd, ct)).SingleOrDefault();
        if (job is not null) _notifier.EventsWritten();
        return job;
    }

    private static async Task<List<ClaimedJob>> ReadClaimsAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        var jobs = new List<ClaimedJob>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        // The claim path is hot: names are resolved once per result set, not per row.
        var c = ClaimColumns.Of(r);
        while (await r.ReadAsync(ct))
        {
            jobs.Add(new ClaimedJob(
                StepRunId: r.GetGuid(c.Id), RunId: r.GetGuid(c.RunId), StepId: r.GetString(c.StepId), Kind: r.GetString(c.Kind),
                ActivityVersion: r.GetString(c.ActivityVersion), Attempt: r.GetInt32(c.Attempt), Inputs: r.ReadObject(c.Inputs) ?? new JsonObject(),
                Item: r.ReadJson(c.Item), ItemIndex: r.IsDBNull(c.ItemIndex) ? null : r.GetInt32(c.ItemIndex),
                Timeout: r.IsDBNull(c.TimeoutMs) ? null : TimeSpan.FromMilliseconds(r.GetInt64(c.TimeoutMs)),
                CancelRequested: r.GetBoolean(c.CancelRequested),
                Run: new JsonObject
                {
                    ["id"] = r.GetGuid(c.RunId).ToString(),
                    ["workflow"] = r.GetString(c.WorkflowName),
                    ["workflow_version"] = r.GetString(c.ContentHash),
                    ["params"] = r.ReadObject(c.Params),
                    ["created_by"] = r.GetString(c.CreatedBy),
                    ["scheduled_for"] = r.ReadTimeOrNull(c.ScheduledFor)?.ToString("O"),
                    ["tracking_server"] = r.ReadStringOrNull(c.TrackingServer),
                }));
        }
        return jobs;
    }

    /// <summary>The ordinals of the columns that Claim and ClaimAttempt return, by name.</summary>
    private readonly record struct ClaimColumns(int Id, int RunId, int StepId, int Kind, int ActivityVersion, int Attempt, int Inputs,
        int Item, int ItemIndex, int TimeoutMs, int CancelRequested, int WorkflowName, int ContentHash, int Params, int CreatedBy,
        int ScheduledFor, int TrackingServer)
    {
        public static ClaimColumns Of(NpgsqlDataReader r) => new(r.Ordinal("id"), r.Ordinal("run_id"), r.Ordinal("step_id"),
            r.Ordinal("kind"), r.Ordinal("activity_version"), r.Ordinal("attempt"), r.Ordinal("inputs"), r.Ordinal("item"),
            r.Ordinal("item_index"), r.Ordinal("timeout_ms"), r.Ordinal("cancel_requested"), r.Ordinal("workflow_name"),
            r.Ordinal("content_hash"), r.Ordinal("params"), r.Ordinal("created_by"), r.Ordinal("scheduled_for"),
            r.Ordinal("tracking_server"));
    }

    private NpgsqlCommand ClaimCommand(NpgsqlConnection conn, NpgsqlTransaction? tx, string workerId, IReadOnlyList<string> queues, int max, TimeSpan lease)
    {
        var cmd = Db.Cmd(conn, tx, "Claim", ("worker", workerId), ("max", max), ("now", Now), ("lease_until", Now + lease));
        cmd.Parameters.Add(Db.Typed("queues", NpgsqlDbType.Array | NpgsqlDbType.Text, queues.ToArray()));
        return cmd;
    }

    public async Task<HeartbeatResult> HeartbeatAsync(string workerId, IReadOnlyList<(Guid StepRunId, int Attempt)> jobs, TimeSpan lease, CancellationToken ct = default)
    {
        var alive = new HashSet<Guid>();
        var cancel = new HashSet<Guid>();
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using (var cmd = Db.Cmd(conn, null, "Heartbeat", ("worker", workerId), ("now", Now), ("lease_until", Now + lease)))
        {
            cmd.Parameters.Add(Db.Typed("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, jobs.Select(j => j.StepRunId).ToArray()));
            cmd.Parameters.Add(Db.Typed("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer, jobs.Select(j => j.Attempt).ToArray()));
            await using var r = await cmd.ExecuteReaderAsync(ct);
            var (id, cancelRequested) = (r.Ordinal("id"), r.Ordinal("cancel_requested"));
            while (await r.ReadAsync(ct))
            {
                alive.Add(r.GetGuid(id));
                if (r.GetBoolean(cancelRequested)) cancel.Add(r.GetGuid(id));
            }
        }
        return new HeartbeatResult(jobs.Select(j => j.StepRunId).Where(id => !alive.Contains(id)).ToHashSet(), cancel);
    }

    public async Task<bool> CompleteAsync(JobCompletion c, CancellationToken ct = default) =>
        (await CompleteAndClaimAsync(c, [], 0, TimeSpan.Zero, ct)).Recorded;

    public Task<CompletedAndClaimed> CompleteAndClaimAsync(JobCompletion c, IReadOnlyList<string> queues, int max, TimeSpan lease,
        CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            var terminalOutcome = c.Outcome is AttemptOutcome.Succeeded or AttemptOutcome.Stopped or AttemptOutcome.Cancelled;
            var recorded = terminalOutcome
                ? c.FanOutItem ? await CompleteItemAsync(conn, tx, c, ct) : await CompleteTerminalAsync(conn, tx, c, ct)
                : await CompleteFailureAsync(conn, tx, c, ct);
            if (max <= 0) return new CompletedAndClaimed(recorded, []);
            // Same transaction: the worker's next job, often the step this completion just made ready.
            await using var claim = ClaimCommand(conn, tx, c.WorkerId, queues, max, lease);
            return new CompletedAndClaimed(recorded, await ReadClaimsAsync(claim, ct));
        }, ct);

    private static (StepState Step, AttemptState Attempt) TerminalStates(AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.Succeeded => (StepState.Succeeded, AttemptState.Succeeded),
        AttemptOutcome.Stopped => (StepState.Stopped, AttemptState.Stopped),
        _ => (StepState.Cancelled, AttemptState.Cancelled),
    };

    /// <summary>
    /// A fan-out item's terminal end, in one statement that locks only the item's row: the run's row and the parent's
    /// are left alone, so a fan-out's items complete in parallel. The parent is closed after commit by whoever finds
    /// no item open (see <see cref="CloseFanOutIfDoneAsync"/>).
    /// </summary>
    private async Task<bool> CompleteItemAsync(NpgsqlConnection conn, NpgsqlTransaction tx, JobCompletion c, CancellationToken ct)
    {
        var (stepState, attemptState) = TerminalStates(c.Outcome);
        Guid parentId;
        int maxParallel;
        bool cancelRequested;
        await using (var cmd = Db.Cmd(conn, tx, "FinishItemAttempt", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId),
                         ("state", stepState.Db()), ("attempt_state", attemptState.Db()),
                         ("outputs", c.Outcome == AttemptOutcome.Cancelled ? null : c.Outputs ?? new JsonObject()),
                         ("error", c.Error), ("logs", c.Logs), ("now", Now)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            // No row: not ours any more (lease lost), or not an item after all.
            if (!await r.ReadAsync(ct)) return false;
            parentId = r.Get<Guid>("parent_id");
            maxParallel = r.Get<int>("max_parallel");
            cancelRequested = r.Get<bool>("cancel_requested");
        }
        var queues = new HashSet<string>();
        await ChildFinishedAsync(conn, tx, c.RunId, parentId, maxParallel, cancelRequested, queues, ct);
        foreach (var q in queues) await NotifyAsync(conn, tx, Channels.Jobs, q, ct);
        return true;
    }

    /// <summary>
    /// The common path, in one round trip: lock the run, finish the step (guarded on state, attempt and
    /// lease owner) and record the attempt; then advance the run.
    /// </summary>
    private async Task<bool> CompleteTerminalAsync(NpgsqlConnection conn, NpgsqlTransaction tx, JobCompletion c, CancellationToken ct)
    {
        var (stepState, attemptState) = TerminalStates(c.Outcome);
        LockedRun? run;
        Guid? parentId;
        List<PlanStep> snapshot;
        await using (var batch = new NpgsqlBatch(conn, tx))
        {
            batch.BatchCommands.Add(Db.BatchCmd("LockRun", ("id", c.RunId)));
            var finish = Db.BatchCmd("FinishAttemptStep", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId),
                // A gate's verdict keeps its outputs (report links, violations) so the run view can show them.
                ("state", stepState.Db()), ("outputs", c.Outcome == AttemptOutcome.Cancelled ? null : c.Outputs ?? new JsonObject()),
                ("error", c.Error), ("terminal", true), ("now", Now));
            finish.Parameters.Add(Db.Typed("available_at", NpgsqlDbType.TimestampTz, null));
            batch.BatchCommands.Add(finish);
            batch.BatchCommands.Add(Db.BatchCmd("FinishAttempt", ("id", c.StepRunId), ("attempt", c.Attempt), ("state", attemptState.Db()),
                ("error", c.Error), ("logs", c.Logs), ("now", Now)));
            // Statements in a batch see the earlier ones' effects: this is the snapshot after the step finished.
            batch.BatchCommands.Add(Db.BatchCmd("TopLevelSteps", ("run_id", c.RunId)));
            await using var r = await batch.ExecuteReaderAsync(ct);
            run = await ReadLockedRunAsync(r, c.RunId, ct);
            await r.NextResultAsync(ct);
            // No row: not ours any more (lease expired and rescued, or finished elsewhere). A lost race.
            if (!await r.ReadAsync(ct)) return false;
            parentId = r.GetOrDefault<Guid?>("parent_id");
            await r.NextResultAsync(ct);
            await r.NextResultAsync(ct);
            snapshot = await ReadPlanStepsAsync(r, ct);
        }
        if (run is null) throw new NotFoundException($"run {c.RunId} not found");
        await AfterTerminalAsync(conn, tx, run, parentId, parentId is null ? snapshot : null, ct);
        return true;
    }

    private async Task AfterTerminalAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, Guid? parentId, List<PlanStep>? snapshot,
        CancellationToken ct)
    {
        if (parentId is { } parent)
        {
            // A fan-out item: the run advances when its parent closes, after commit.
            await ItemEndedAsync(conn, tx, run, parent, ct);
            return;
        }
        await AdvanceAsync(conn, tx, run, ct, snapshot);
    }

    /// <summary>An item ended on a path that holds the run's lock (failure, rescue).</summary>
    private async Task ItemEndedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, Guid parentId, CancellationToken ct)
    {
        int maxParallel;
        await using (var cmd = Db.Cmd(conn, tx, "MaxParallel", ("id", parentId)))
            maxParallel = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
        var queues = new HashSet<string>();
        await ChildFinishedAsync(conn, tx, run.Id, parentId, maxParallel, run.CancelRequested, queues, ct);
        foreach (var q in queues) await NotifyAsync(conn, tx, Channels.Jobs, q, ct);
    }

    /// <summary>A failed or timed-out attempt: retried with backoff while the policy allows and the error is retryable.</summary>
    private async Task<bool> CompleteFailureAsync(NpgsqlConnection conn, NpgsqlTransaction tx, JobCompletion c, CancellationToken ct)
    {
        var run = await LockRunAsync(conn, tx, c.RunId, ct) ?? throw new NotFoundException($"run {c.RunId} not found");
        int maxAttempts;
        JsonObject backoff;
        await using (var cmd = Db.Cmd(conn, tx, "LockRunningStep", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return false;
            maxAttempts = r.Get<int>("max_attempts");
            backoff = r.ReadObject("backoff")!;
        }

        var decision = AttemptOutcomes.DecideFailure(c.Outcome, c.Retryable, c.Error, c.Attempt, BackoffFrom(backoff, maxAttempts),
            run.CancelRequested, Now, _random());
        var retry = decision is FailedAttemptDecision.Retry;
        DateTime? availableAt = decision is FailedAttemptDecision.Retry r0 ? r0.At : null;

        Guid? parentId;
        await using (var cmd = Db.Cmd(conn, tx, "FinishAttemptStep", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId),
                         ("state", decision.StepState.Db()), ("outputs", null), ("error", decision.StepError), ("terminal", !retry), ("now", Now)))
        {
            cmd.Parameters.Add(Db.Typed("available_at", NpgsqlDbType.TimestampTz, availableAt));
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (!await r.ReadAsync(ct)) return false;
            parentId = r.GetOrDefault<Guid?>("parent_id");
        }
        await Db.Cmd(conn, tx, "FinishAttempt", ("id", c.StepRunId), ("attempt", c.Attempt), ("state", decision.AttemptState.Db()),
            ("error", c.Error), ("logs", c.Logs), ("now", Now)).ExecAsync(ct);
        if (!retry) await AfterTerminalAsync(conn, tx, run, parentId, null, ct);
        return true;
    }

    public Task<bool> HandBackAsync(Guid stepRunId, Guid runId, int attempt, string workerId, string logs, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            await LockRunAsync(conn, tx, runId, ct);
            await using (var cmd = Db.Cmd(conn, tx, "LockRunningStep", ("id", stepRunId), ("attempt", attempt), ("worker", workerId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
                if (!await r.ReadAsync(ct)) return false;
            await using (var cmd = Db.Cmd(conn, tx, "FinishAttemptStep", ("id", stepRunId), ("attempt", attempt), ("worker", workerId),
                             ("state", StepState.Available.Db()), ("outputs", null), ("error", null), ("terminal", false), ("now", Now)))
            {
                cmd.Parameters.Add(Db.Typed("available_at", NpgsqlDbType.TimestampTz, Now));
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await Db.Cmd(conn, tx, "FinishAttempt", ("id", stepRunId), ("attempt", attempt), ("state", AttemptState.HandedBack.Db()),
                ("error", "worker shut down; handed back"), ("logs", logs), ("now", Now)).ExecAsync(ct);
            await NotifyAsync(conn, tx, Channels.Jobs, "*", ct);
            return true;
        }, ct);
}
