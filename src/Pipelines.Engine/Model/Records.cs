using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;

namespace Pipelines.Engine.Model;

public sealed record SubmitRun(
    WorkflowDefinition Definition,
    JsonObject Params,
    string CreatedBy,
    long? ScheduleId = null,
    DateTimeOffset? ScheduledFor = null)
{
    /// <summary>True for a run a declared trigger (<c>on:</c>) started; its trigger is recorded as <c>event</c>.</summary>
    public bool FromEvent { get; init; }
}

/// <summary>A job a worker has claimed: one attempt of one step run, under a lease.</summary>
public sealed record ClaimedJob(
    Guid StepRunId,
    Guid RunId,
    string StepId,
    string Kind,
    string ActivityVersion,
    int Attempt,
    JsonObject Inputs,
    JsonNode? Item,
    int? ItemIndex,
    TimeSpan? Timeout,
    bool CancelRequested,
    JsonObject? Run = null);

public enum AttemptOutcome { Succeeded, Failed, Stopped, Cancelled, TimedOut }

public sealed record JobCompletion(
    Guid StepRunId,
    Guid RunId,
    int Attempt,
    string WorkerId,
    AttemptOutcome Outcome,
    JsonObject? Outputs,
    string? Error,
    bool Retryable,
    string Logs,
    // A fan-out item (ClaimedJob.ItemIndex set): its success is recorded without locking the run's row.
    bool FanOutItem = false);

/// <summary>A completion recorded (false: the lease was lost, nothing changed) and the jobs claimed in the same transaction.</summary>
public sealed record CompletedAndClaimed(bool Recorded, IReadOnlyList<ClaimedJob> Next);

public sealed record HeartbeatResult(IReadOnlySet<Guid> Lost, IReadOnlySet<Guid> CancelRequested);

public sealed record WorkerInfo(string Id, string Host, int Pid, IReadOnlyList<string> Queues, int Concurrency);

public enum ApprovalDecision { Approve, Reject }

public static class Approvers
{
    /// <summary>Who an approval decided by its <c>auto_approve</c> input (a policy's verdict) is recorded as.</summary>
    public const string Policy = "policy";
}

public sealed record RunSummary(
    Guid Id,
    string Workflow,
    RunState State,
    string CreatedBy,
    string Trigger,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinalizedAt,
    string? Error,
    IReadOnlyDictionary<StepState, int> StepCounts);

public sealed record AttemptView(int Attempt, string WorkerId, AttemptState State, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Error, string Logs);

public sealed record ApprovalView(
    Guid StepRunId, string StepId, JsonNode? Summary, DateTimeOffset RequestedAt, DateTimeOffset? ExpiresAt,
    string? Decision, string? DecidedBy, DateTimeOffset? DecidedAt, string? Comment,
    bool AllowSelfApproval, IReadOnlyList<string> Approvers, Guid RunId)
{
    /// <summary>Why <paramref name="user"/> may not decide, or null when they may. The store enforces the same rules.</summary>
    public string? WhyNot(string user, string runCreatedBy)
    {
        if (!AllowSelfApproval && string.Equals(user, runCreatedBy, StringComparison.OrdinalIgnoreCase))
            return $"{user} started this run and may not approve it; another user must decide";
        if (Approvers.Count > 0 && !Approvers.Contains(user, StringComparer.OrdinalIgnoreCase))
            return $"{user} is not among the approvers ({string.Join(", ", Approvers)})";
        return null;
    }
}

public sealed record StepRunView(
    Guid Id,
    string StepId,
    int? ItemIndex,
    string Kind,
    StepState State,
    int Attempt,
    bool Cached,
    JsonObject? Inputs,
    JsonObject? Outputs,
    string? Error,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinalizedAt,
    int? ChildrenTotal,
    int? ChildrenOpen,
    IReadOnlyList<AttemptView> Attempts);

public sealed record RunDetails(
    RunSummary Run,
    JsonObject Params,
    DateTimeOffset? StartedAt,
    IReadOnlyList<StepRunView> Steps,
    IReadOnlyList<ApprovalView> Approvals)
{
    /// <summary>The event that started the run when a declared trigger did (lineage); null for manual and scheduled runs.</summary>
    public RunTriggerView? TriggeredBy { get; init; }
}

/// <summary>
/// The event that started a run: the trigger (kind and source, e.g. <c>monitor_alert</c> of <c>adult-income</c>), the
/// event's facts (the triggering run's id, the monitored batch or the file) and how many later events of the same window
/// were de-duplicated into this run.
/// </summary>
public sealed record RunTriggerView(string Kind, string Source, string EventKey, DateTimeOffset OccurredAt, JsonObject Event, int Deduplicated)
{
    /// <summary>One line for people, e.g. "monitor_alert adult-income: run 0190…, step monitor, batch b1 at 2026-03-01 10:01:00Z".</summary>
    public string Describe()
    {
        string? Fact(string name) => Event[name]?.ToString();
        var what = Kind switch
        {
            "workflow_succeeded" => $"run {Fact("run_id")} succeeded",
            "monitor_alert" => $"run {Fact("run_id")}, step {Fact("step_id")}, batch {Fact("batch")} alerted (max PSI {Fact("max_psi") ?? "n/a"})",
            _ => $"file {Fact("path")} ({Fact("size")} bytes)",
        };
        var later = Deduplicated == 0 ? "" : $"; {Deduplicated} later event(s) in its window de-duplicated into this run";
        return $"{Kind} {Source}: {what} at {OccurredAt:u}{later}";
    }
}

/// <summary>A registered trigger (<c>on:</c> entry) with what it has done so far.</summary>
public sealed record TriggerView(
    long Id, string Workflow, string Kind, string Source, TimeSpan? Window, bool Enabled, DateTimeOffset Since,
    long Events, long RunsStarted, DateTimeOffset? LastEventAt, Guid? LastRunId);

public sealed record ScheduleView(
    long Id, string Workflow, string Cron, string TimeZone, string CatchUp, int MaxConcurrentRuns, bool Enabled,
    DateTimeOffset? LastFireAt, DateTimeOffset? NextFireAt);

public sealed record RunFilter(string? Workflow = null, RunState? State = null, int Limit = 50);
