using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipelines.Engine.Storage;

namespace Pipelines.Engine.Leadership;

/// <summary>
/// Every process runs one; only the elected leader sweeps: it rescues expired leases, promotes due retries,
/// expires approvals, starts queued runs, fires schedules and event triggers, then runs the extra <paramref name="sweeps"/> the
/// process was given (e.g. artifact collection). Each sweep is idempotent and guarded in the database, so a brief
/// overlap of two leaders during hand-over does no harm.
/// </summary>
public sealed class LeaderService(ILeaderElection election, IMaintenance maintenance, TimeSpan interval, ILogger? log = null,
    IReadOnlyList<ILeaderSweep>? sweeps = null)
{
    /// <summary>How often the leader sweeps by default: expired leases are found at most this long after they ran out.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(500);

    private readonly ILogger _log = log ?? NullLogger.Instance;
    private readonly IReadOnlyList<ILeaderSweep> _sweeps = sweeps ?? [];

    public bool IsLeader { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await TickAsync(ct);
                await Task.Delay(interval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>One round of leadership and sweeps; public so tests can drive it step by step.</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        var leading = await election.TryLeadAsync(ct);
        if (leading != IsLeader) _log.LogInformation(leading ? "became leader" : "lost leadership");
        IsLeader = leading;
        if (!leading) return;
        await Sweep("rescue expired leases", () => maintenance.RescueExpiredLeasesAsync(ct));
        await Sweep("promote due retries", () => maintenance.PromoteDueRetriesAsync(ct));
        await Sweep("expire approvals", () => maintenance.ExpireApprovalsAsync(ct));
        await Sweep("start queued runs", () => maintenance.StartQueuedRunsAsync(ct));
        await Sweep("fire schedules", () => maintenance.FireSchedulesAsync(ct));
        await Sweep("fire triggers", () => maintenance.FireTriggersAsync(ct));
        foreach (var extra in _sweeps) await Sweep(extra.Name, () => extra.RunAsync(ct));
    }

    private async Task Sweep(string name, Func<Task<int>> sweep)
    {
        try
        {
            var n = await sweep();
            if (n > 0) _log.LogInformation("{Sweep}: {Count}", name, n);
        }
        catch (OperationCanceledException) { throw; }
        catch (Exception e)
        {
            _log.LogWarning(e, "{Sweep} failed: {ErrorType}: {Error}", name, e.GetType().Name, e.Message);
        }
    }
}

/// <summary>
/// Periodic work beyond the engine's own that only the elected leader does, after its sweeps on every tick. An
/// implementation decides itself when it is due and keeps each call short: the next lease rescue waits for it.
/// </summary>
public interface ILeaderSweep
{
    /// <summary>Shown in the leader's log ("NAME: n", "NAME failed: …").</summary>
    string Name { get; }

    /// <returns>How many things it handled (logged when not zero).</returns>
    Task<int> RunAsync(CancellationToken ct);
}
