using Pipelines.Engine.Leadership;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Postgres.Artifacts;

/// <summary>When and how much the leader collects; validated at construction.</summary>
public sealed record ArtifactCollectionSchedule
{
    /// <summary>Attempts that ended, and leftover files last written, less than this long ago are left alone.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Pause between passes once nothing is left to collect.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Attempts handled per leader tick, so a backlog never holds up lease rescues for long.</summary>
    public int AttemptsPerTick { get; init; } = 50;
}

/// <summary>
/// Artifact collection as part of the leader's maintenance: on a tick that is due, one bounded batch of ended,
/// unsucceeded attempts (see <see cref="ArtifactCollector"/>); while a backlog remains, the next tick goes on where
/// this one stopped, otherwise the next pass is <see cref="ArtifactCollectionSchedule.Interval"/> later.
/// </summary>
public sealed class ArtifactCollectionSweep : ILeaderSweep
{
    private readonly ArtifactCollector _collector;
    private readonly ArtifactCollectionSchedule _schedule;
    private readonly TimeProvider _time;
    private DateTimeOffset _dueAt = DateTimeOffset.MinValue;
    private AttemptCursor? _cursor;

    public ArtifactCollectionSweep(ArtifactCollector collector, ArtifactCollectionSchedule? schedule = null, TimeProvider? time = null)
    {
        _schedule = schedule ?? new ArtifactCollectionSchedule();
        if (_schedule.Grace < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(schedule), "the grace period cannot be negative");
        if (_schedule.Interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(schedule), "the interval must be positive");
        if (_schedule.AttemptsPerTick < 1) throw new ArgumentOutOfRangeException(nameof(schedule), "at least one attempt per tick");
        _collector = collector;
        _time = time ?? TimeProvider.System;
    }

    public string Name => "collect artifacts of unsucceeded attempts";

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (now < _dueAt) return 0;
        // Set before the pass: a store or database that keeps failing is retried each interval, not each tick.
        _dueAt = now + _schedule.Interval;
        var report = await _collector.CollectAsync(new CollectionOptions
        {
            OlderThan = _schedule.Grace, MaxAttempts = _schedule.AttemptsPerTick, After = _cursor,
        }, ct);
        _cursor = report.Next;
        if (_cursor is not null) _dueAt = now;
        return report.Removed.Count;
    }
}
