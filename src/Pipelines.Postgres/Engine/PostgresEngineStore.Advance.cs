using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Approvals;
using Pipelines.Engine.Model;
using Pipelines.Engine.Orchestration;
using Pipelines.Engine.Storage;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore
{
    /// <summary>
    /// Moves a run forward after any change: plans from the current snapshot, applies the decisions, and
    /// repeats until nothing changes (a cache hit can make further steps ready at once). Runs inside the
    /// caller's transaction with the run's row locked.
    /// </summary>
    private async Task AdvanceAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, CancellationToken ct,
        List<PlanStep>? snapshot = null)
    {
        if (run.State != RunState.Running) return;
        var definition = await DefinitionAsync(conn, tx, run.VersionId, ct);
        var facts = new JsonObject
        {
            ["id"] = run.Id.ToString(),
            ["workflow"] = run.Workflow,
            ["created_by"] = run.CreatedBy,
            ["created_at"] = run.CreatedAt.ToString("O"),
            ["scheduled_for"] = run.ScheduledFor?.ToString("O"),
        };
        var queues = new HashSet<string>();
        for (var round = 0; round <= definition.Steps.Count + 1; round++)
        {
            var steps = round == 0 && snapshot is not null ? snapshot : await TopLevelStepsAsync(conn, tx, run.Id, ct);

            var plan = RunPlanner.Plan(new PlanInput(definition, Registry, run.Params, facts, run.CancelRequested, steps));
            if (plan.FinalState is { } final)
            {
                await Db.Cmd(conn, tx, "FinalizeRun", ("id", run.Id), ("state", final.Db()), ("error", plan.FinalError), ("now", Now)).ExecAsync(ct);
                break;
            }
            if (plan.Decisions.Count == 0) break;
            foreach (var decision in plan.Decisions)
                await ApplyAsync(conn, tx, run, decision, queues, ct);
        }
        // NOTIFY serialises committing transactions on a global lock, so only wake-ups that matter are sent:
        // new jobs. Progress views poll.
        foreach (var queue in queues) await NotifyAsync(conn, tx, Channels.Jobs, queue, ct);
    }

    private static async Task<List<PlanStep>> TopLevelStepsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid runId, CancellationToken ct)
    {
        await using var cmd = Db.Cmd(conn, tx, "TopLevelSteps", ("run_id", runId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await ReadPlanStepsAsync(r, ct);
    }

    private static async Task<List<PlanStep>> ReadPlanStepsAsync(NpgsqlDataReader r, CancellationToken ct)
    {
        var steps = new List<PlanStep>();
        // Read on every completion: ordinals once per result set.
        var (id, stepId, state, outputs, error) = (r.Ordinal("id"), r.Ordinal("step_id"), r.Ordinal("state"), r.Ordinal("outputs"), r.Ordinal("error"));
        while (await r.ReadAsync(ct))
            steps.Add(new PlanStep(r.GetGuid(id), r.GetString(stepId), StateNames.ParseStep(r.GetString(state)), r.ReadObject(outputs),
                r.ReadStringOrNull(error)));
        return steps;
    }

    private async Task ApplyAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, StepDecision decision, HashSet<string> queues, CancellationToken ct)
    {
        switch (decision)
        {
            case SkipStep s:
                await SetPendingTerminal(s.StepRunId, StepState.Skipped, s.Reason);
                break;
            case CancelStep c:
                await SetPendingTerminal(c.StepRunId, StepState.Cancelled, "cancelled");
                break;
            case FailStep f:
                await SetPendingTerminal(f.StepRunId, StepState.Failed, f.Error);
                break;
            case EnqueueStep e:
                if (e.CacheKey is not null && await TryCompleteFromCacheAsync(conn, tx, e.StepRunId, e.Inputs, e.CacheKey, ct)) break;
                await using (var cmd = Db.Cmd(conn, tx, "EnqueueStep", ("id", e.StepRunId), ("inputs", e.Inputs), ("cache_key", e.CacheKey), ("now", Now)))
                    if (await cmd.ExecuteScalarAsync(ct) is string queue) queues.Add(queue);
                break;
            case AwaitApproval a:
                await SuspendForApprovalAsync(conn, tx, run, a, ct);
                break;
            case FanOutStep f:
                if (f.CacheKey is not null && await TryCompleteFromCacheAsync(conn, tx, f.StepRunId, new JsonObject(), f.CacheKey, ct)) break;
                await FanOutAsync(conn, tx, run, f, queues, ct);
                break;
            default:
                throw new InvalidOperationException($"unknown decision {decision.GetType().Name}");
        }

        Task SetPendingTerminal(Guid id, StepState state, string error) =>
            Db.Cmd(conn, tx, "SetPendingTerminal", ("id", id), ("state", state.Db()), ("error", error), ("now", Now)).ExecAsync(ct);
    }

    private async Task<bool> TryCompleteFromCacheAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid id, JsonObject inputs, string key, CancellationToken ct)
    {
        Guid from;
        JsonObject? outputs;
        await using (var cmd = Db.Cmd(conn, tx, "FindCached", ("cache_key", key), ("id", id)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return false;
            from = r.Get<Guid>("id");
            outputs = r.ReadObject("outputs");
        }
        await Db.Cmd(conn, tx, "CompleteFromCache", ("id", id), ("inputs", inputs), ("cache_key", key),
            ("outputs", outputs ?? new JsonObject()), ("cached_from", from), ("now", Now)).ExecAsync(ct);
        return true;
    }

    private async Task SuspendForApprovalAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, AwaitApproval a, CancellationToken ct)
    {
        await Db.Cmd(conn, tx, "SuspendForApproval", ("id", a.StepRunId), ("inputs", a.Inputs), ("now", Now)).ExecAsync(ct);
        var request = ApprovalRequest.FromInputs(a.Inputs);
        DateTime? expires = request.Timeout is { } timeout ? Now + timeout : null;
        await using var cmd = Db.Cmd(conn, tx, "InsertApproval", ("step_run_id", a.StepRunId), ("run_id", run.Id),
            ("summary", request.Summary), ("allow_self", request.AllowSelfApproval), ("now", Now));
        cmd.Parameters.Add(Db.Typed("approvers", NpgsqlDbType.Array | NpgsqlDbType.Text, request.Approvers.ToArray()));
        cmd.Parameters.Add(Db.Typed("expires_at", NpgsqlDbType.TimestampTz, expires));
        await cmd.ExecAsync(ct);

        if (!request.AutoApprove) return;
        // A policy decided (e.g. the evaluation gate's auto-approve rule held): recorded like a person's decision,
        // in the same transaction, so the approval never shows as waiting and the next steps are planned at once.
        var reason = request.AutoApproveReason;
        await Db.Cmd(conn, tx, "RecordDecision", ("id", a.StepRunId), ("decision", "approved"), ("by", Approvers.Policy), ("comment", reason), ("now", Now)).ExecAsync(ct);
        var outputs = new JsonObject { ["approved"] = true, ["decided_by"] = Approvers.Policy, ["comment"] = reason };
        await Db.Cmd(conn, tx, "FinishWaitingStep", ("id", a.StepRunId), ("state", StepState.Succeeded.Db()), ("outputs", outputs), ("error", null), ("now", Now)).ExecAsync(ct);
    }

    private async Task FanOutAsync(NpgsqlConnection conn, NpgsqlTransaction tx, LockedRun run, FanOutStep f, HashSet<string> queues, CancellationToken ct)
    {
        string queue;
        string kind;
        await using (var cmd = Db.Cmd(conn, tx, "StartFanOut", ("id", f.StepRunId), ("cache_key", f.CacheKey), ("n", f.Items.Count),
                         ("max_parallel", f.MaxParallel), ("now", Now)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return;
            kind = r.Get<string>("kind");
            queue = r.Get<string>("queue");
        }
        if (f.Items.Count == 0)
        {
            // Nothing to fan out over: the fan-in of zero items is an empty list per declared output.
            var outputs = new JsonObject();
            foreach (var name in OutputNames(kind)) outputs[name] = new JsonArray();
            await Db.Cmd(conn, tx, "FinishParent", ("id", f.StepRunId), ("state", StepState.Succeeded.Db()), ("outputs", outputs),
                ("error", null), ("now", Now)).ExecAsync(ct);
            return;
        }
        await using (var insert = Db.Cmd(conn, tx, "InsertChildren", ("parent_id", f.StepRunId), ("max_parallel", f.MaxParallel), ("now", Now)))
        {
            insert.Parameters.Add(Db.Typed("indexes", NpgsqlDbType.Array | NpgsqlDbType.Integer, Enumerable.Range(0, f.Items.Count).ToArray()));
            insert.Parameters.Add(Db.Typed("items", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, f.Items.Select(i => i.Item?.ToJsonString() ?? "null").ToArray()));
            insert.Parameters.Add(Db.Typed("inputs", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, f.Items.Select(i => i.Inputs.ToJsonString()).ToArray()));
            await insert.ExecAsync(ct);
        }
        queues.Add(queue);
    }

    private IEnumerable<string> OutputNames(string kind) =>
        (Registry.Find(kind)?.OutputSchema["properties"] as JsonObject)?.Select(p => p.Key) ?? [];

    /// <summary>
    /// A child of a fan-out reached a terminal state: release the next sibling (max_parallel), and have the parent
    /// checked for closing once this transaction committed. Nothing here locks the parent's row, so the items of one
    /// fan-out finish in parallel (issue 19).
    /// </summary>
    private async Task ChildFinishedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid runId, Guid parentId, int maxParallel,
        bool cancelRequested, HashSet<string> queues, CancellationToken ct)
    {
        if (maxParallel > 0 && !cancelRequested) await ReleaseChildrenAsync(conn, tx, parentId, 1, queues, ct);
        var fanOuts = _outbox.GetOrAdd(tx, _ => new Outbox()).FanOuts;
        lock (fanOuts) fanOuts.Add((runId, parentId));
    }

    /// <summary>
    /// After an item's completion committed: when no item of the parent is open any more, close the parent with the
    /// items' outputs and advance the run (under the run's lock, once: later callers find the parent closed). Also
    /// advances the run when the parent was closed already (a cancelled run finalises after its last running item).
    /// </summary>
    private async Task CloseFanOutIfDoneAsync(Guid runId, Guid parentId, CancellationToken ct)
    {
        await using (var conn = await _db.OpenConnectionAsync(ct))
        await using (var check = Db.Cmd(conn, null, "FanOutToClose", ("parent_id", parentId)))
            if (await check.ExecuteScalarAsync(ct) is not true) return;
        await InTx(async (conn, tx) =>
        {
            var run = await LockRunAsync(conn, tx, runId, ct);
            if (run is null) return false;
            StepState parentState;
            bool open;
            await using (var cmd = Db.Cmd(conn, tx, "LockFanOut", ("parent_id", parentId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (!await r.ReadAsync(ct)) return false;
                parentState = StateNames.ParseStep(r.Get<string>("state"));
                open = r.Get<bool>("open");
            }
            if (parentState == StepState.Waiting)
            {
                if (open) return false;
                var children = new List<(int Index, StepState State, JsonObject? Outputs, string? Error)>();
                await using (var cmd = Db.Cmd(conn, tx, "ChildrenOf", ("parent_id", parentId)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                {
                    var (indexAt, stateAt, outputsAt, errorAt) = (r.Ordinal("item_index"), r.Ordinal("state"), r.Ordinal("outputs"), r.Ordinal("error"));
                    while (await r.ReadAsync(ct))
                        children.Add((r.GetInt32(indexAt), StateNames.ParseStep(r.GetString(stateAt)), r.ReadObject(outputsAt), r.ReadStringOrNull(errorAt)));
                }
                var (state, outputs, error) = FanIn(children);
                await Db.Cmd(conn, tx, "FinishParent", ("id", parentId), ("state", state.Db()), ("outputs", outputs), ("error", error), ("now", Now)).ExecAsync(ct);
            }
            await AdvanceAsync(conn, tx, run, ct);
            return true;
        }, ct);
    }

    private async Task ReleaseChildrenAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid parentId, int? limit, HashSet<string> queues, CancellationToken ct)
    {
        await using var cmd = Db.Cmd(conn, tx, "ReleaseChildren", ("parent_id", parentId), ("now", Now));
        cmd.Parameters.Add(Db.Typed("limit", NpgsqlDbType.Integer, limit));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var queue = r.Ordinal("queue");
        while (await r.ReadAsync(ct)) queues.Add(r.GetString(queue));
    }

    /// <summary>The parent's outputs: for each output name, the list of every child's value in item order.</summary>
    internal static (StepState State, JsonObject? Outputs, string? Error) FanIn(IReadOnlyList<(int Index, StepState State, JsonObject? Outputs, string? Error)> children)
    {
        var failed = children.Where(c => c.State == StepState.Failed).ToList();
        if (failed.Count > 0)
            return (StepState.Failed, null, $"{failed.Count} of {children.Count} items failed; item {failed[0].Index}: {failed[0].Error}");
        var stopped = children.Where(c => c.State == StepState.Stopped).ToList();
        if (stopped.Count > 0)
            return (StepState.Stopped, null, $"item {stopped[0].Index}: {stopped[0].Error}");
        if (children.Any(c => c.State != StepState.Succeeded))
            return (StepState.Cancelled, null, "cancelled");
        var names = children.SelectMany(c => c.Outputs?.Select(p => p.Key) ?? []).Distinct().ToList();
        var outputs = new JsonObject();
        foreach (var name in names)
            outputs[name] = new JsonArray(children.Select(c => c.Outputs?[name]?.DeepClone()).ToArray());
        return (StepState.Succeeded, outputs, null);
    }
}
