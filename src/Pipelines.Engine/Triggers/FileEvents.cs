using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;

namespace Pipelines.Engine.Triggers;

/// <summary>Lists the files a <c>file</c> trigger's glob matches, as events keyed by path and modification time.</summary>
public static class FileEvents
{
    /// <summary>
    /// Every file under the glob's folder that matches it, relative paths resolved against the working directory of the
    /// process (the leader). A missing folder is no event. A file rewritten later has a new modification time and is a
    /// new event; the same file seen again on the next poll is the same event.
    /// </summary>
    public static IReadOnlyList<TriggerEvent> Scan(string glob)
    {
        var (root, pattern) = TriggerFiring.SplitGlob(glob);
        if (!Directory.Exists(root)) return [];
        var recursive = pattern.Contains('/') || pattern.Contains("**", StringComparison.Ordinal);
        var events = new List<TriggerEvent>();
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
            var modified = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero);
            events.Add(new TriggerEvent(TriggerKind.File, glob, $"{path}@{modified.UtcTicks}", modified, new JsonObject
            {
                ["path"] = path,
                ["name"] = info.Name,
                ["size"] = info.Length,
            }));
        }
        return events;
    }
}
