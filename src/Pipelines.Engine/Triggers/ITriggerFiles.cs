namespace Pipelines.Engine.Triggers;

/// <summary>One file (or blob) a <c>file</c> trigger's glob matches.</summary>
/// <param name="Path">As the run's <c>event.path</c> shows it: the local path, or the blob's URL (never with credentials).</param>
public sealed record WatchedFile(string Path, string Name, long Size, DateTimeOffset Modified);

/// <summary>
/// Lists what a <c>file</c> trigger watches: a local or mounted folder, or (where the process is configured for it) a
/// blob container named by URL. The leader's sweep calls it; the engine's rules (<see cref="TriggerFiring"/>) decide
/// what counts as a new event.
/// </summary>
public interface ITriggerFiles
{
    /// <summary>Every file the glob matches now; a missing folder or container is none.</summary>
    Task<IReadOnlyList<WatchedFile>> ListAsync(string glob, CancellationToken ct);
}

/// <summary>Folders on this machine (relative globs against the working directory).</summary>
public sealed class LocalTriggerFiles : ITriggerFiles
{
    public Task<IReadOnlyList<WatchedFile>> ListAsync(string glob, CancellationToken ct) => Task.FromResult(FileEvents.List(glob));
}
