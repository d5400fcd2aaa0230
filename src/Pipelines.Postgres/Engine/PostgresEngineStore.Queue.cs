using System.Text.Json.Nodes;
using NpgsqlTypes;
using Pipelines.Engine.Model;
using Pipelines.Engine.Retries;
using Pipelines.Engine.Storage;

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
        await using var cmd = Db.Cmd(conn, null, "Claim", ("worker", workerId), ("max", max), ("now", Now), ("lease_until", Now + lease));
        cmd.Parameters.Add(Db.Typed("queues", NpgsqlDbType.Array | NpgsqlDbType.Text, queues.ToArray()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            jobs.Add(new ClaimedJob(
                StepRunId: r.GetGuid(0), RunId: r.GetGuid(1), StepId: r.GetString(2), Kind: r.GetString(3),
                ActivityVersion: r.GetString(4), Attempt: r.GetInt32(5), Inputs: r.ReadObject(6) ?? new JsonObject(),
                Item: r.ReadJson(7), ItemIndex: r.IsDBNull(8) ? null : r.GetInt32(8),
                Timeout: r.IsDBNull(9) ? null : TimeSpan.FromMilliseconds(r.GetInt64(9)), CancelRequested: r.GetBoolean(10)));
        }
        return jobs;
    }

    public async Task<HeartbeatResult> HeartbeatAsync(string workerId, IReadOnlyList<(Guid StepRunId, int Attempt)> jobs, TimeSpan lease, CancellationToken ct = default)
    {
        var alive = new HashSet<Guid>();
        var cancel = new HashSet<Guid>();
        await using var conn = await _db.OpenConnectionAsync(ct);
        await Db.Cmd(conn, null, "WorkerHeartbeat", ("id", workerId), ("now", Now)).ExecAsync(ct);
        if (jobs.Count > 0)
        {
            await using var cmd = Db.Cmd(conn, null, "Heartbeat", ("worker", workerId), ("lease_until", Now + lease));
            cmd.Parameters.Add(Db.Typed("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, jobs.Select(j => j.StepRunId).ToArray()));
            cmd.Parameters.Add(Db.Typed("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer, jobs.Select(j => j.Attempt).ToArray()));
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                alive.Add(r.GetGuid(0));
                if (r.GetBoolean(1)) cancel.Add(r.GetGuid(0));
            }
        }
        return new HeartbeatResult(jobs.Select(j => j.StepRunId).Where(id => !alive.Contains(id)).ToHashSet(), cancel);
    }

    public Task<bool> CompleteAsync(JobCompletion c, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            var run = await LockRunAsync(conn, tx, c.RunId, ct) ?? throw new NotFoundException($"run {c.RunId} not found");
            Guid? parentId;
            int maxAttempts;
            JsonObject backoff;
            await using (var cmd = Db.Cmd(conn, tx, "LockRunningStep", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                // Not ours any more (lease expired and rescued, or run cancelled and cleaned up): a lost race.
                if (!await r.ReadAsync(ct)) return false;
                parentId = r.IsDBNull(0) ? null : r.GetGuid(0);
                maxAttempts = r.GetInt32(1);
                backoff = r.ReadObject(2)!;
            }

            var retry = c.Outcome is AttemptOutcome.Failed or AttemptOutcome.TimedOut
                        && (c.Retryable || c.Outcome == AttemptOutcome.TimedOut)
                        && c.Attempt < maxAttempts && !run.CancelRequested;
            var (stepState, attemptState) = c.Outcome switch
            {
                AttemptOutcome.Succeeded => (StepState.Succeeded, AttemptState.Succeeded),
                AttemptOutcome.Stopped => (StepState.Stopped, AttemptState.Stopped),
                AttemptOutcome.Cancelled => (StepState.Cancelled, AttemptState.Cancelled),
                AttemptOutcome.TimedOut => (retry ? StepState.Retrying : StepState.Failed, AttemptState.TimedOut),
                _ => (retry ? StepState.Retrying : StepState.Failed, AttemptState.Failed),
            };
            DateTime? availableAt = retry
                ? Now + RetryBackoff.Delay(BackoffFrom(backoff, maxAttempts), c.Attempt, _random())
                : null;
            var error = retry ? $"{c.Error} (attempt {c.Attempt} of {maxAttempts}; retrying)" : c.Error;

            await using (var cmd = Db.Cmd(conn, tx, "FinishAttemptStep", ("id", c.StepRunId), ("attempt", c.Attempt), ("worker", c.WorkerId),
                             ("state", stepState.Db()), ("outputs", c.Outcome == AttemptOutcome.Succeeded ? c.Outputs ?? new JsonObject() : null),
                             ("error", error), ("terminal", stepState.IsTerminal()), ("now", Now)))
            {
                cmd.Parameters.Add(Db.Typed("available_at", NpgsqlDbType.TimestampTz, availableAt));
                if (await cmd.ExecuteNonQueryAsync(ct) == 0) return false;
            }
            await Db.Cmd(conn, tx, "FinishAttempt", ("id", c.StepRunId), ("attempt", c.Attempt), ("state", attemptState.Db()),
                ("error", c.Error), ("logs", c.Logs), ("now", Now)).ExecAsync(ct);

            if (!stepState.IsTerminal()) return true;
            var queues = new HashSet<string>();
            if (parentId is { } parent) await ChildFinishedAsync(conn, tx, run, parent, queues, ct);
            foreach (var q in queues) await NotifyAsync(conn, tx, Channels.Jobs, q, ct);
            await AdvanceAsync(conn, tx, run, ct);
            return true;
        }, ct);

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
