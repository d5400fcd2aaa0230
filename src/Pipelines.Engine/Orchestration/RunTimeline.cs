using Pipelines.Engine.Model;

namespace Pipelines.Engine.Orchestration;

/// <summary>
/// Where a finished run's wall time went: inside step attempts (any worker, overlapping attempts counted once),
/// waiting for a person (approvals, from request to decision), or neither — the engine's own cost: creating the run,
/// handing a finished step's successors to a worker, cache lookups, finalising. The last is what orchestration
/// overhead means; a person's wait is not the engine's cost and is left out of both sides.
/// </summary>
public sealed record RunTimeline(TimeSpan Wall, TimeSpan InSteps, TimeSpan WaitingForPeople, TimeSpan Orchestration, TimeSpan? FirstClaim)
{
    /// <summary>Orchestration as a share of the wall time without people's waits (0 when nothing ran).</summary>
    public double OrchestrationShare
    {
        get
        {
            var machine = Wall - WaitingForPeople;
            return machine <= TimeSpan.Zero ? 0 : Orchestration / machine;
        }
    }

    /// <summary>Null until the run has finished.</summary>
    public static RunTimeline? Of(RunDetails run)
    {
        if (run.Run.FinalizedAt is not { } end) return null;
        var start = run.Run.CreatedAt;
        var attempts = run.Steps.SelectMany(s => s.Attempts).Select(a => (From: a.StartedAt, To: a.EndedAt ?? end)).ToList();
        var waits = run.Approvals.Select(a => (From: a.RequestedAt, To: a.DecidedAt ?? end)).ToList();
        var inSteps = Covered(attempts, start, end);
        var people = Covered(waits, start, end);
        var busy = Covered([.. attempts, .. waits], start, end);
        var wall = end - start;
        DateTimeOffset? first = attempts.Count == 0 ? null : attempts.Min(a => a.From);
        return new RunTimeline(wall, inSteps, people, wall - busy, first - start);
    }

    /// <summary>Length of the union of the intervals, clipped to [start, end].</summary>
    public static TimeSpan Covered(IEnumerable<(DateTimeOffset From, DateTimeOffset To)> intervals, DateTimeOffset start, DateTimeOffset end)
    {
        var total = TimeSpan.Zero;
        DateTimeOffset? openFrom = null, openTo = null;
        foreach (var (from, to) in intervals
                     .Select(i => (From: i.From < start ? start : i.From, To: i.To > end ? end : i.To))
                     .Where(i => i.To > i.From)
                     .OrderBy(i => i.From))
        {
            if (openTo is { } t && from <= t)
            {
                if (to > t) openTo = to;
                continue;
            }
            if (openFrom is { } f) total += openTo!.Value - f;
            (openFrom, openTo) = (from, to);
        }
        if (openFrom is { } last) total += openTo!.Value - last;
        return total;
    }

    /// <summary>One line for people, e.g. "9.52 s: 8.90 s in steps, 0.62 s orchestration (6.5 %), first step claimed 0.041 s after creation".</summary>
    public string Describe()
    {
        var people = WaitingForPeople > TimeSpan.Zero ? $", {WaitingForPeople.TotalSeconds:F2} s waiting for approval" : "";
        var first = FirstClaim is { } c ? $", first step claimed {c.TotalSeconds:F3} s after creation" : "";
        return $"{Wall.TotalSeconds:F2} s: {InSteps.TotalSeconds:F2} s in steps{people}, {Orchestration.TotalSeconds:F2} s orchestration ({OrchestrationShare:P1}){first}";
    }
}
