using Pipelines.Engine.Leadership;
using Pipelines.Core.Activities.State;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>
/// Ends the MLflow parent runs of pipeline runs that have ended, with the pipeline's outcome: succeeded → FINISHED,
/// failed → FAILED, stopped (by a gate or a rejection) and cancelled → KILLED, with the end time the pipeline run
/// ended at and the outcome and reason as tags (<c>pipelines.outcome</c>, <c>pipelines.stop_reason</c> or
/// <c>pipelines.error</c>). The leader sweeps it; <c>pipelines run</c> also calls it once its run has ended, so the
/// parent run is closed before the process (and the built-in endpoint it hosts) exits.
/// </summary>
/// <remarks>
/// Each tracking server that holds parent runs to close (found from the records) is reached as a step of that run
/// would reach it (<c>trackingFor</c>: the built-in store, or an external server with this process's credentials
/// only if it is the one this process is configured for); a server that cannot be reached or refuses is skipped
/// this pass and tried again on the next. A parent run deleted from MLflow meanwhile is recorded closed and left
/// alone. Closing twice (two leaders in a hand-over) sets the same status and tags: harmless.
/// </remarks>
/// <param name="trackingFor">The client for a server; null to leave that server's parent runs to another process.</param>
public sealed class ParentRunCloser(IParentRunRecords records, Func<string, CancellationToken, ValueTask<PipelineTracking?>> trackingFor,
    Action<string>? log = null) : ILeaderSweep
{
    /// <summary>Closes the parent runs on the one server <paramref name="services"/> track to (none when they do not track).</summary>
    public ParentRunCloser(IParentRunRecords records, ActivityServices services, Action<string>? log = null)
        : this(records, (server, _) => ValueTask.FromResult(server == services.TrackingServer ? services.Tracking : null), log)
    {
    }

    public const string OutcomeTag = "pipelines.outcome";
    public const string StopReasonTag = "pipelines.stop_reason";
    public const string ErrorTag = "pipelines.error";
    /// <summary>MLflow's limit on a run tag value.</summary>
    private const int MaxTagValue = 8000;
    private const int PerPass = 50;
    private static readonly TimeSpan Rest = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PerServer = TimeSpan.FromSeconds(20);
    // Servers that failed, until when they are left alone; a leader sweeps from one task at a time.
    private readonly Dictionary<string, DateTimeOffset> _resting = new();

    public string Name => "close MLflow parent runs of ended pipeline runs";

    public Task<int> RunAsync(CancellationToken ct) => CloseEndedAsync(ct);

    /// <summary>Closes what has ended (up to a bounded batch); returns how many were closed.</summary>
    public async Task<int> CloseEndedAsync(CancellationToken ct = default)
    {
        var closed = 0;
        foreach (var server in await records.ServersWithEndedAsync(ct))
        {
            if (_resting.TryGetValue(server, out var until) && DateTimeOffset.UtcNow < until) continue;
            // The leader sweeps one thing after another: a server that hangs must not hold up lease rescue and schedules.
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
            budget.CancelAfter(PerServer);
            try
            {
                if (await trackingFor(server, budget.Token) is not { } tracking) continue;
                closed += await CloseEndedAsync(server, tracking, budget.Token);
                _resting.Remove(server);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // One unreachable or refusing server must neither keep the others' parent runs open nor hold up every
                // pass of the leader (a client retries for a while): it rests, and is tried again later.
                _resting[server] = DateTimeOffset.UtcNow + Rest;
                log?.Invoke($"parent runs on {server} not closed (tried again in {Rest.TotalMinutes:0} min): {e.Message}");
            }
        }
        return closed;
    }

    private async Task<int> CloseEndedAsync(string server, PipelineTracking tracking, CancellationToken ct)
    {
        var ended = await records.EndedAsync($"{ModelTracking.ParentRunKeyPrefix}/{server}/", PerPass, ct);
        var closed = 0;
        foreach (var e in ended)
        {
            var runId = JsonNode.Parse(e.Value)?["run_id"]?.GetValue<string>();
            var (status, reasonTag) = e.State switch
            {
                "succeeded" => (RunStatus.Finished, null),
                "failed" => (RunStatus.Failed, ErrorTag),
                "stopped" => (RunStatus.Killed, StopReasonTag),
                _ => (RunStatus.Killed, StopReasonTag),
            };
            if (runId is null)
            {
                await records.MarkClosedAsync(e.Key, "unreadable record", ct);
                continue;
            }
            try
            {
                var tags = new List<Tag> { new(OutcomeTag, e.State) };
                if (reasonTag is not null)
                {
                    var reason = e.Error is { Length: > 0 } error ? error : e.State == "cancelled" ? "cancelled" : "(no reason recorded)";
                    tags.Add(new Tag(reasonTag, reason.Length > MaxTagValue ? reason[..MaxTagValue] : reason));
                }
                await tracking.Client.LogBatchAsync(runId, tags: tags, ct: ct);
                await tracking.Client.UpdateRunAsync(runId, status, e.FinalizedAt.ToUnixTimeMilliseconds(), ct: ct);
                await records.MarkClosedAsync(e.Key, status, ct);
                closed++;
            }
            catch (ResourceDoesNotExistException)
            {
                await records.MarkClosedAsync(e.Key, "gone", ct);
            }
            catch (InvalidParameterValueException ex)
            {
                // e.g. the run was deleted (MLflow refuses to change a deleted run): nothing to close any more.
                log?.Invoke($"parent run {runId}: {ex.Message}; left as it is");
                await records.MarkClosedAsync(e.Key, "refused", ct);
            }
        }
        return closed;
    }
}
