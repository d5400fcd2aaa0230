namespace Pipelines.Storage.Artifacts;

/// <summary>An attempt that ended without succeeding (failed, timed out, cancelled, stopped, lost, handed back).</summary>
public sealed record EndedAttempt(StepAttempt Attempt, string State, DateTimeOffset EndedAt, Guid RunId, string StepId, int? ItemIndex);

/// <summary>Where a walk over ended attempts stopped: the last attempt seen, in the order they ended.</summary>
public sealed record AttemptCursor(DateTimeOffset EndedAt, Guid StepRunId, int Attempt);

/// <summary>
/// A registered artifact of an ended attempt. <see cref="Kept"/>: something that stays refers to it — a step attempt
/// that succeeded (or stopped with a verdict, or is still running) read it or anything made from it, committed step
/// outputs or pending inputs name it, or a registered model version's source is it.
/// </summary>
public sealed record AttemptArtifact(Guid Id, string Uri, long Size, StepAttempt Producer, bool Kept, bool Deleted);

/// <summary>One attempt's folder after collection, recorded so it is not listed again.</summary>
public sealed record AttemptSweep(StepAttempt Attempt, int Removed, long RemovedBytes);

/// <summary>What the registry tells the <see cref="ArtifactCollector"/> (PostgreSQL in Pipelines.Postgres).</summary>
public interface IStrayArtifactSource
{
    /// <summary>
    /// Attempts that ended without success before <paramref name="endedBefore"/> and have not been collected from
    /// <paramref name="store"/> yet, in the order they ended, after <paramref name="after"/>. Never a running attempt.
    /// </summary>
    Task<IReadOnlyList<EndedAttempt>> EndedAttemptsAsync(string store, DateTimeOffset endedBefore, AttemptCursor? after, int limit, CancellationToken ct = default);

    /// <summary>Every registered artifact these attempts produced (deleted ones too), each saying whether it must be kept.</summary>
    Task<IReadOnlyList<AttemptArtifact>> ArtifactsOfAsync(IReadOnlyList<StepAttempt> attempts, CancellationToken ct = default);

    /// <summary>Marks artifacts whose bytes were removed from the store; their registry rows stay as history.</summary>
    Task MarkDeletedAsync(IReadOnlyList<Guid> ids, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>Records that these attempts' folders in <paramref name="store"/> hold nothing more to remove.</summary>
    Task MarkSweptAsync(string store, IReadOnlyList<AttemptSweep> sweeps, DateTimeOffset at, CancellationToken ct = default);
}

public sealed record CollectionOptions
{
    /// <summary>Grace period: only attempts that ended, and leftover files last written, longer ago than this.</summary>
    public TimeSpan OlderThan { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Report what would be removed, remove nothing and record nothing.</summary>
    public bool DryRun { get; init; }
    /// <summary>Stop after this many attempts (the report's <see cref="CollectionReport.Next"/> says where to go on).</summary>
    public int MaxAttempts { get; init; } = int.MaxValue;
    /// <summary>Continue after this attempt (from an earlier report's <see cref="CollectionReport.Next"/>).</summary>
    public AttemptCursor? After { get; init; }
}

/// <summary>An object removed from the store (or that would be, in a dry run).</summary>
public sealed record RemovedObject(string Key, string Uri, long Size, Guid? ArtifactId, EndedAttempt Attempt);

public sealed record CollectionReport(
    bool DryRun, DateTimeOffset Cutoff, int Attempts, IReadOnlyList<RemovedObject> Removed, int Kept, int Deferred, AttemptCursor? Next)
{
    public long RemovedBytes => Removed.Sum(r => r.Size);
}

/// <summary>
/// Removes what attempts that did not succeed left in the artifact store: their registered outputs that nothing
/// kept refers to (the registry row is marked deleted, not removed, so history and lineage stay readable), and
/// files under their attempt folder (<c>attempts/STEPRUN/N/</c>) that were never registered (a crash between
/// upload and registration). It never touches an attempt that is running or succeeded, anything outside the
/// attempt folders, or an artifact something kept refers to (see <see cref="AttemptArtifact.Kept"/>).
/// </summary>
/// <remarks>
/// Only attempts that ended longer ago than the grace period are considered, and an unregistered file written
/// within it is left for a later pass (a worker that lost its lease may still be finishing an upload). Bytes go
/// first, the registry mark second: a crash in between leaves a registered artifact without bytes, which the next
/// pass marks. Each collected attempt is recorded per store, so a folder is listed once, not on every pass.
/// </remarks>
public sealed class ArtifactCollector(IArtifactStore store, IStrayArtifactSource source, TimeProvider? time = null)
{
    private const int BatchSize = 100;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The store as the registry knows it: the URI prefix of its keys (no secret).</summary>
    public string StoreId => ArtifactStores.BaseUri(store);

    public async Task<CollectionReport> CollectAsync(CollectionOptions options, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.OlderThan, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1);
        var now = _time.GetUtcNow();
        var cutoff = now - options.OlderThan;
        var removed = new List<RemovedObject>();
        int attemptsSeen = 0, kept = 0, deferred = 0;
        var cursor = options.After;
        while (true)
        {
            var limit = Math.Min(BatchSize, options.MaxAttempts - attemptsSeen);
            var attempts = await source.EndedAttemptsAsync(StoreId, cutoff, cursor, limit, ct);
            if (attempts.Count == 0) return Report(null);
            var registered = await source.ArtifactsOfAsync(attempts.Select(a => a.Attempt).ToList(), ct);
            var byUri = registered.ToDictionary(a => a.Uri, StringComparer.Ordinal);
            var sweeps = new List<AttemptSweep>();
            var deleted = new List<Guid>();
            var doomed = new List<RemovedObject>();
            foreach (var attempt in attempts)
            {
                var (sweep, k, d) = await CollectAttemptAsync(attempt, byUri, registered, cutoff, doomed, deleted, ct);
                kept += k;
                deferred += d;
                if (sweep is not null) sweeps.Add(sweep);
            }
            if (!options.DryRun)
            {
                // Marked first, then removed: from the moment the bytes start to go, a reader is told "removed by
                // artifact collection" rather than meeting a missing object. A crash in between leaves marked rows
                // whose bytes the next pass removes (the attempt is not recorded as swept until then).
                if (deleted.Count > 0) await source.MarkDeletedAsync(deleted, now, ct);
                foreach (var obj in doomed) await store.DeleteAsync(obj.Key, ct);
                if (sweeps.Count > 0) await source.MarkSweptAsync(StoreId, sweeps, now, ct);
            }
            removed.AddRange(doomed);
            attemptsSeen += attempts.Count;
            var last = attempts[^1];
            cursor = new AttemptCursor(last.EndedAt, last.Attempt.StepRunId, last.Attempt.Attempt);
            if (attempts.Count < limit) return Report(null);
            if (attemptsSeen >= options.MaxAttempts) return Report(cursor);
        }

        CollectionReport Report(AttemptCursor? next) => new(options.DryRun, cutoff, attemptsSeen, removed, kept, deferred, next);
    }

    /// <returns>The sweep to record (null when something was deferred to a later pass), and counts of kept and deferred objects.</returns>
    private async Task<(AttemptSweep? Sweep, int Kept, int Deferred)> CollectAttemptAsync(EndedAttempt attempt, Dictionary<string, AttemptArtifact> byUri,
        IReadOnlyList<AttemptArtifact> registered, DateTimeOffset cutoff, List<RemovedObject> removed, List<Guid> deleted, CancellationToken ct)
    {
        var prefix = ArtifactPublisher.AttemptFolder(attempt.Attempt);
        int count = 0, kept = 0, deferred = 0;
        long bytes = 0;
        var listed = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var obj in store.ListAllAsync(prefix, ct: ct))
        {
            var uri = store.UriFor(obj.Key);
            listed.Add(uri);
            byUri.TryGetValue(uri, out var artifact);
            if (artifact is { Kept: true }) { kept++; continue; }
            // Unregistered and recent: its writer may still be about to register it. Look again on a later pass.
            if (artifact is null && obj.LastModified > cutoff) { deferred++; continue; }
            removed.Add(new RemovedObject(obj.Key, uri, obj.Size, artifact?.Id, attempt));
            count++;
            bytes += obj.Size;
            if (artifact is { Deleted: false }) deleted.Add(artifact.Id);
        }
        // Registered here but no longer in the folder: removed by an earlier pass that stopped before marking it.
        foreach (var a in registered)
            if (a.Producer == attempt.Attempt && a is { Kept: false, Deleted: false } && !listed.Contains(a.Uri)
                && ArtifactStores.KeyOf(store, a.Uri) is { } key && key.StartsWith(prefix, StringComparison.Ordinal))
                deleted.Add(a.Id);
        return (deferred == 0 ? new AttemptSweep(attempt.Attempt, count, bytes) : null, kept, deferred);
    }
}
