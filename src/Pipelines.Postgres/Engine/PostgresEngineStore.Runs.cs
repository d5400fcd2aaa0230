using System.Text.Json.Nodes;
using NpgsqlTypes;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Approvals;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore
{
    public Task<Guid> SubmitRunAsync(SubmitRun request, CancellationToken ct = default)
    {
        // Every entry point (CLI today, the API later) gets the same checks before anything is written.
        var errors = WorkflowValidator.Validate(request.Definition, Registry);
        if (errors.Count > 0) throw new WorkflowValidationException(errors);
        var parameters = ParameterBinder.Bind(request.Definition, request.Params);
        // Whatever traced span submits the run (the API request) becomes the parent of its steps' spans. Written in the
        // run's own transaction: a worker may claim the first step the moment it commits.
        var traceParent = TraceParentOf(System.Diagnostics.Activity.Current);
        return InTx(async (conn, tx) =>
        {
            var versionId = await UpsertVersionAsync(conn, tx, request.Definition, ct);
            var runId = await InsertRunAsync(conn, tx, request with { Params = parameters }, versionId, RunState.Running, ct);
            if (traceParent is not null) await Db.Cmd(conn, tx, "RecordRunTrace", ("run_id", runId), ("trace_parent", traceParent)).ExecAsync(ct);
            var run = (await LockRunAsync(conn, tx, runId, ct))!;
            await AdvanceAsync(conn, tx, run, ct);
            return runId;
        }, ct);
    }

    private async Task<Guid> InsertRunAsync(Npgsql.NpgsqlConnection conn, Npgsql.NpgsqlTransaction tx, SubmitRun request, long versionId,
        RunState state, CancellationToken ct)
    {
        var d = request.Definition;
        var runId = Guid.CreateVersion7(_time.GetUtcNow());
        await using (var cmd = Db.Cmd(conn, tx, "InsertRun", ("id", runId), ("version_id", versionId), ("workflow", d.Name),
                         ("state", state.Db()), ("params", request.Params), ("trigger", request.FromEvent ? "event" : request.ScheduleId is null ? "manual" : "schedule"),
                         ("created_by", request.CreatedBy), ("now", Now)))
        {
            cmd.Parameters.Add(Db.Typed("schedule_id", NpgsqlDbType.Bigint, request.ScheduleId));
            cmd.Parameters.Add(Db.Typed("scheduled_for", NpgsqlDbType.TimestampTz, request.ScheduledFor?.UtcDateTime));
            cmd.Parameters.Add(Db.Typed("tracking_server", NpgsqlDbType.Text, _options.RunTrackingServer?.Invoke()));
            await cmd.ExecuteNonQueryAsync(ct);
        }

        var descriptors = d.Steps.Select(s => Registry.Find(s.Uses, s.Version)
            ?? throw new NotFoundException($"step '{s.Id}': activity '{s.Uses}' is not registered")).ToList();
        await using (var cmd = Db.Cmd(conn, tx, "InsertStepRuns", ("run_id", runId), ("now", Now)))
        {
            cmd.Parameters.Add(Db.Typed("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, d.Steps.Select(_ => Guid.CreateVersion7()).ToArray()));
            cmd.Parameters.Add(Db.Typed("step_ids", NpgsqlDbType.Array | NpgsqlDbType.Text, d.Steps.Select(s => s.Id).ToArray()));
            cmd.Parameters.Add(Db.Typed("kinds", NpgsqlDbType.Array | NpgsqlDbType.Text, descriptors.Select(x => x.Kind).ToArray()));
            cmd.Parameters.Add(Db.Typed("versions", NpgsqlDbType.Array | NpgsqlDbType.Text, descriptors.Select(x => x.Version).ToArray()));
            cmd.Parameters.Add(Db.Typed("queues", NpgsqlDbType.Array | NpgsqlDbType.Text, d.Steps.Select(s => s.Queue).ToArray()));
            cmd.Parameters.Add(Db.Typed("max_attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer, d.Steps.Select(s => s.Retry.MaxAttempts).ToArray()));
            cmd.Parameters.Add(Db.Typed("timeouts", NpgsqlDbType.Array | NpgsqlDbType.Bigint,
                d.Steps.Select(s => s.Timeout is { } t ? (long?)t.TotalMilliseconds : null).ToArray()));
            cmd.Parameters.Add(Db.Typed("backoffs", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, d.Steps.Select(s => BackoffJson(s.Retry)).ToArray()));
            await cmd.ExecuteNonQueryAsync(ct);
        }
        return runId;
    }

    private static string BackoffJson(Pipelines.Core.Definitions.RetryPolicy p) => new JsonObject
    {
        ["initial_ms"] = p.InitialDelay.TotalMilliseconds,
        ["factor"] = p.Factor,
        ["max_ms"] = p.MaxDelay.TotalMilliseconds,
        ["jitter"] = p.Jitter,
    }.ToJsonString();

    private static Pipelines.Core.Definitions.RetryPolicy BackoffFrom(JsonObject json, int maxAttempts) => new(
        maxAttempts,
        TimeSpan.FromMilliseconds(json["initial_ms"]!.GetValue<double>()),
        json["factor"]!.GetValue<double>(),
        TimeSpan.FromMilliseconds(json["max_ms"]!.GetValue<double>()),
        json["jitter"]!.GetValue<double>());

    public Task CancelRunAsync(Guid runId, string requestedBy, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            var run = await LockRunAsync(conn, tx, runId, ct) ?? throw new NotFoundException($"run {runId} not found");
            if (run.State.IsTerminal()) throw new ConflictException($"run {runId} already {run.State.Db()}");
            if (run.State == RunState.Queued)
            {
                await Db.Cmd(conn, tx, "CancelQueuedRun", ("id", runId), ("by", requestedBy), ("now", Now)).ExecAsync(ct);
                return true;
            }
            await Db.Cmd(conn, tx, "RequestCancel", ("id", runId), ("by", requestedBy), ("now", Now)).ExecAsync(ct);
            // Open steps first, then flag running ones: a job claimed in between is seen as running by the
            // second statement (a new snapshot), so no claimed job escapes the cancel.
            await Db.Cmd(conn, tx, "CancelOpenSteps", ("run_id", runId), ("by", requestedBy), ("now", Now)).ExecAsync(ct);
            await Db.Cmd(conn, tx, "FlagRunningForCancel", ("run_id", runId)).ExecAsync(ct);
            await NotifyAsync(conn, tx, Channels.Cancel, runId.ToString(), ct);
            await AdvanceAsync(conn, tx, run with { CancelRequested = true }, ct);
            return true;
        }, ct);

    public Task RetryRunAsync(Guid runId, string requestedBy, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            var run = await LockRunAsync(conn, tx, runId, ct) ?? throw new NotFoundException($"run {runId} not found");
            if (run.State is not (RunState.Failed or RunState.Cancelled or RunState.Stopped))
                throw new ConflictException($"run {runId} is {run.State.Db()}; only failed, cancelled or stopped runs can be retried");
            await Db.Cmd(conn, tx, "ReopenRun", ("id", runId)).ExecAsync(ct);
            await Db.Cmd(conn, tx, "ResetFailedTopLevel", ("run_id", runId)).ExecAsync(ct);

            // Fan-outs keep their succeeded items; only the failed ones run again.
            var parents = new List<(Guid Id, int MaxParallel)>();
            await using (var cmd = Db.Cmd(conn, tx, "FailedFanOutParents", ("run_id", runId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
                while (await r.ReadAsync(ct)) parents.Add((r.Get<Guid>("id"), r.GetOrDefault<int?>("max_parallel") ?? 0));
            var queues = new HashSet<string>();
            foreach (var (parent, maxParallel) in parents)
            {
                await Db.Cmd(conn, tx, "ResetFailedChildren", ("parent_id", parent)).ExecAsync(ct);
                await Db.Cmd(conn, tx, "ReopenParent", ("id", parent)).ExecAsync(ct);
                // Only as many as max_parallel allows; finishing items release the rest.
                await ReleaseChildrenAsync(conn, tx, parent, maxParallel > 0 ? maxParallel : null, queues, ct);
            }
            foreach (var queue in queues) await NotifyAsync(conn, tx, Channels.Jobs, queue, ct);
            await AdvanceAsync(conn, tx, run with { State = RunState.Running, CancelRequested = false }, ct);
            return true;
        }, ct);

    public Task DecideAsync(Guid runId, string stepId, ApprovalDecision decision, string decidedBy, string? comment, CancellationToken ct = default) =>
        InTx(async (conn, tx) =>
        {
            // The policy's name marks decisions no person made; nobody may sign with it (checked before anything is read).
            if (ApprovalPolicy.ReservedNameRefusal(decidedBy) is { } reserved) throw new PolicyException(reserved);
            var run = await LockRunAsync(conn, tx, runId, ct) ?? throw new NotFoundException($"run {runId} not found");
            Guid stepRunId;
            bool allowSelf;
            string[] approvers;
            string? existing, existingBy;
            StepState state;
            await using (var cmd = Db.Cmd(conn, tx, "WaitingApproval", ("run_id", runId), ("step_id", stepId)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (!await r.ReadAsync(ct)) throw new NotFoundException($"run {runId} has no approval step '{stepId}' waiting or decided");
                stepRunId = r.Get<Guid>("id");
                allowSelf = r.Get<bool>("allow_self_approval");
                approvers = r.Get<string[]>("approvers");
                existing = r.ReadStringOrNull("decision");
                existingBy = r.ReadStringOrNull("decided_by");
                state = StateNames.ParseStep(r.Get<string>("state"));
            }
            if (existing is not null) throw new ConflictException($"approval '{stepId}' of run {runId} was already {existing} by {existingBy}");
            if (state != StepState.Waiting) throw new ConflictException($"approval '{stepId}' of run {runId} is {state.Db()}, not waiting for a decision");
            if (ApprovalPolicy.WhyNot(decidedBy, run.CreatedBy, allowSelf, approvers, runId, stepId) is { } whyNot)
                throw new PolicyException(whyNot);

            var label = decision == ApprovalDecision.Approve ? "approved" : "rejected";
            var recorded = await Db.Cmd(conn, tx, "RecordDecision", ("id", stepRunId), ("decision", label), ("by", decidedBy),
                ("comment", comment), ("now", Now)).ExecAsync(ct);
            if (recorded == 0) throw new ConflictException($"approval '{stepId}' of run {runId} was already decided");

            var outputs = new JsonObject { ["approved"] = decision == ApprovalDecision.Approve, ["decided_by"] = decidedBy, ["comment"] = comment };
            var outcome = decision == ApprovalDecision.Approve ? StepState.Succeeded : StepState.Stopped;
            var error = decision == ApprovalDecision.Approve ? null : $"rejected by {decidedBy}{(string.IsNullOrEmpty(comment) ? "" : ": " + comment)}";
            await Db.Cmd(conn, tx, "FinishWaitingStep", ("id", stepRunId), ("state", outcome.Db()), ("outputs", outputs), ("error", error), ("now", Now)).ExecAsync(ct);
            await AdvanceAsync(conn, tx, run, ct);
            return true;
        }, ct);
}
