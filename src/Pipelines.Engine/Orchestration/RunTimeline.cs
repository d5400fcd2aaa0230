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
    /// <remarks>Plain arrays and loops rather than LINQ: `runs show` computes this once per CLI process, where each
    /// LINQ operator over a tuple type is a generic instantiation ReadyToRun cannot precompile (about 15 ms of JIT).</remarks>
    public static RunTimeline? Of(RunDetails run)
    {
        if (run.Run.FinalizedAt is not { } end) return null;
        var start = run.Run.CreatedAt;
        var count = 0;
        foreach (var step in run.Steps) count += step.Attempts.Count;
        var busy = new (DateTimeOffset From, DateTimeOffset To)[count + run.Approvals.Count];
        var i = 0;
        DateTimeOffset? first = null;
        foreach (var step in run.Steps)
            foreach (var a in step.Attempts)
            {
                busy[i++] = (a.StartedAt, a.EndedAt ?? end);
                if (first is not { } f || a.StartedAt < f) first = a.StartedAt;
            }
        foreach (var a in run.Approvals) busy[i++] = (a.RequestedAt, a.DecidedAt ?? end);
        var inSteps = Covered(busy.AsSpan(0, count), start, end);
        var people = Covered(busy.AsSpan(count), start, end);
        var all = Covered(busy, start, end);
        var wall = end - start;
        return new RunTimeline(wall, inSteps, people, wall - all, first - start);
    }

    /// <summary>Length of the union of the intervals, clipped to [start, end].</summary>
    public static TimeSpan Covered(ReadOnlySpan<(DateTimeOffset From, DateTimeOffset To)> intervals, DateTimeOffset start, DateTimeOffset end)
    {
        // Clipped, non-empty intervals in order of their start; a copy, so the caller's order is kept.
        var clipped = new (DateTimeOffset From, DateTimeOffset To)[intervals.Length];
        var n = 0;
        foreach (var (from, to) in intervals)
        {
            var f = from < start ? start : from;
            var t = to > end ? end : to;
            if (t > f) clipped[n++] = (f, t);
        }
        var starts = new long[n];
        for (var k = 0; k < n; k++) starts[k] = clipped[k].From.UtcTicks;
        Array.Sort(starts, clipped, 0, n);

        var total = TimeSpan.Zero;
        for (var k = 0; k < n;)
        {
            var (openFrom, openTo) = clipped[k++];
            while (k < n && clipped[k].From <= openTo)
            {
                if (clipped[k].To > openTo) openTo = clipped[k].To;
                k++;
            }
            total += openTo - openFrom;
        }
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
