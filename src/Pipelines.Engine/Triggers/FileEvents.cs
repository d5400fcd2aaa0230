using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;

namespace Pipelines.Engine.Triggers;

/// <summary>The files a <c>file</c> trigger's glob matches, and the events they are.</summary>
public static class FileEvents
{
    /// <summary>
    /// A watched file as an event, keyed by path and modification time: a file rewritten later has a new modification
    /// time and is a new event; the same file seen again on the next poll is the same event.
    /// </summary>
    public static TriggerEvent ToEvent(string glob, WatchedFile f) =>
        new(TriggerKind.File, glob, $"{f.Path}@{f.Modified.UtcTicks}", f.Modified, new JsonObject
        {
            ["path"] = f.Path,
            ["name"] = f.Name,
            ["size"] = f.Size,
        });

    /// <summary>
    /// Every file under the glob's folder that matches it, relative paths resolved against the working directory of the
    /// process (the leader). A missing folder is none.
    /// </summary>
    public static IReadOnlyList<WatchedFile> List(string glob)
    {
        var (root, pattern) = TriggerFiring.SplitGlob(glob);
        if (!Directory.Exists(root)) return [];
        var recursive = pattern.Contains('/') || pattern.Contains("**", StringComparison.Ordinal);
        var found = new List<WatchedFile>();
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(root, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            var path = root == "." && !glob.StartsWith("./", StringComparison.Ordinal) ? relative : $"{root.TrimEnd('/')}/{relative}";
            if (!TriggerFiring.GlobMatches(glob, path)) continue;
            var info = new FileInfo(file);
            if (!info.Exists) continue; // removed since it was listed
            found.Add(new WatchedFile(path, info.Name, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero)));
        }
        return found;
    }
}
