using Pipelines.Core.Definitions;
using Pipelines.Engine.Model;

namespace Pipelines.Engine.Storage;

/// <summary>What clients (the CLI, the HTTP API) do to runs. Every call is one transaction.</summary>
public interface IRunCommands
{
    Task<Guid> SubmitRunAsync(SubmitRun request, CancellationToken ct = default);

    /// <summary>Cancels pending work now; running attempts are told to stop and finish as cancelled.</summary>
    Task CancelRunAsync(Guid runId, string requestedBy, CancellationToken ct = default);

    /// <summary>Re-runs a finished, unsuccessful run from its failed, cancelled, stopped or skipped steps; succeeded steps keep their outputs.</summary>
    Task RetryRunAsync(Guid runId, string requestedBy, CancellationToken ct = default);

    /// <summary>Decides a waiting approval. Exactly one of several concurrent decisions wins; the others get <see cref="ConflictException"/>.</summary>
    Task DecideAsync(Guid runId, string stepId, ApprovalDecision decision, string decidedBy, string? comment, CancellationToken ct = default);
}

/// <summary>Read side for the CLI and the HTTP API.</summary>
public interface IRunQueries
{
    Task<IReadOnlyList<RunSummary>> ListRunsAsync(RunFilter filter, CancellationToken ct = default);
    Task<RunDetails?> GetRunAsync(Guid runId, CancellationToken ct = default);
    Task<IReadOnlyList<ApprovalView>> ListOpenApprovalsAsync(CancellationToken ct = default);
    Task<IReadOnlyList<ScheduleView>> ListSchedulesAsync(CancellationToken ct = default);
    /// <summary>The registered event triggers (<c>on:</c>), disabled ones included.</summary>
    Task<IReadOnlyList<TriggerView>> ListTriggersAsync(CancellationToken ct = default);
}

/// <summary>
/// What a front end (the HTTP API, the CLI) asks of the engine: runs, approvals and schedules. The API depends on
/// this interface, never on the PostgreSQL store that implements it.
/// </summary>
public interface IRunStore : IRunCommands, IRunQueries, IScheduleRegistry
{
}

/// <summary>The worker's side of the queue. Every transition is guarded on state, attempt and lease owner.</summary>
public interface IJobQueue
{
    Task RegisterWorkerAsync(WorkerInfo worker, CancellationToken ct = default);
    Task UnregisterWorkerAsync(string workerId, CancellationToken ct = default);

    /// <summary>Claims up to <paramref name="max"/> available jobs in one statement (SKIP LOCKED).</summary>
    Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string workerId, IReadOnlyList<string> queues, int max, TimeSpan lease, CancellationToken ct = default);

    /// <summary>Renews leases; reports those lost (taken away or finished elsewhere) and those asked to cancel.</summary>
    Task<HeartbeatResult> HeartbeatAsync(string workerId, IReadOnlyList<(Guid StepRunId, int Attempt)> jobs, TimeSpan lease, CancellationToken ct = default);

    /// <summary>Records the attempt's end and advances the run. False when the lease was lost: nothing was changed.</summary>
    Task<bool> CompleteAsync(JobCompletion completion, CancellationToken ct = default);

    /// <summary>
    /// <see cref="CompleteAsync"/>, then claims up to <paramref name="max"/> jobs for the same worker: a store that can
    /// does both in one transaction, so a worker moves to the next step (often the one this completion made ready)
    /// without another round trip or waiting for a wake-up.
    /// </summary>
    async Task<CompletedAndClaimed> CompleteAndClaimAsync(JobCompletion completion, IReadOnlyList<string> queues, int max, TimeSpan lease,
        CancellationToken ct = default)
    {
        var recorded = await CompleteAsync(completion, ct);
        return new CompletedAndClaimed(recorded, max > 0 ? await ClaimAsync(completion.WorkerId, queues, max, lease, ct) : []);
    }

    /// <summary>Gives an unfinished attempt back to the queue (graceful shutdown). False when the lease was lost.</summary>
    Task<bool> HandBackAsync(Guid stepRunId, Guid runId, int attempt, string workerId, string logs, CancellationToken ct = default);
}

/// <summary>Work only the elected leader does, each an idempotent sweep.</summary>
public interface IMaintenance
{
    /// <summary>Running jobs whose lease expired go back to the queue (or fail once rescues are exhausted).</summary>
    Task<int> RescueExpiredLeasesAsync(CancellationToken ct = default);
    Task<int> PromoteDueRetriesAsync(CancellationToken ct = default);
    Task<int> ExpireApprovalsAsync(CancellationToken ct = default);
    /// <summary>Creates the runs of due schedule fire times (one run per fire time, however many schedulers race).</summary>
    Task<int> FireSchedulesAsync(CancellationToken ct = default);
    Task<int> StartQueuedRunsAsync(CancellationToken ct = default);
    /// <summary>
    /// Detects the events declared triggers start on (succeeded runs, monitor alerts, new files) and starts their runs:
    /// each event is recorded once per trigger, and at most one run per de-duplication window, however many leaders race.
    /// </summary>
    Task<int> FireTriggersAsync(CancellationToken ct = default);
}

public interface IScheduleRegistry
{
    /// <summary>
    /// Creates or updates the schedules and event triggers (<c>on:</c>) of these definitions; a definition without a
    /// schedule disables its schedule, and triggers it no longer declares are disabled.
    /// </summary>
    Task SyncAsync(IReadOnlyList<WorkflowDefinition> definitions, CancellationToken ct = default);
}

/// <summary>Leadership among all processes sharing the database.</summary>
public interface ILeaderElection : IAsyncDisposable
{
    /// <summary>Tries to become (or stay) leader. Cheap to call every tick.</summary>
    Task<bool> TryLeadAsync(CancellationToken ct = default);
}

/// <summary>Wake-ups pushed by the database; the worker also polls, so a missed one only costs latency.</summary>
public interface IWakeups : IAsyncDisposable
{
    event Action<string>? JobsAvailable;
    event Action<Guid>? CancelRequested;
    Task StartAsync(CancellationToken ct);
}
