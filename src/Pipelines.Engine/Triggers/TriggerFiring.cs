using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;

namespace Pipelines.Engine.Triggers;

/// <summary>
/// Something that happened and may start workflows: a run that succeeded, a monitored batch that alerted, a file that
/// appeared. <see cref="Key"/> identifies it for good (a run id, a monitor step, a path and its modification time), so
/// an event fires a trigger at most once however often it is seen. <see cref="Facts"/> are what <c>event.NAME</c> reads.
/// </summary>
public sealed record TriggerEvent(TriggerKind Kind, string Source, string Key, DateTimeOffset OccurredAt, JsonObject Facts);

/// <summary>What the engine does with an event a trigger has not seen yet.</summary>
public abstract record TriggerDecision
{
    /// <summary>Start a run; with a window, it becomes the window's run.</summary>
    public sealed record Start(DateTimeOffset? WindowStart) : TriggerDecision;
    /// <summary>The window already has a run: record the event against it, start nothing.</summary>
    public sealed record Deduplicate(Guid RunId, DateTimeOffset WindowStart) : TriggerDecision;
}

/// <summary>The trigger rules as pure functions: which triggers an event matches, windows, parameters, file globs.</summary>
public static class TriggerFiring
{
    /// <summary>The start of the de-duplication window holding <paramref name="at"/>, aligned to the Unix epoch in UTC
    /// (as <c>trigger_workflow</c>'s windows are), so every leader computes the same window for the same event.</summary>
    public static DateTimeOffset WindowStart(DateTimeOffset at, TimeSpan window)
    {
        if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), "a window must be positive");
        var ticks = at.UtcTicks - DateTime.UnixEpoch.Ticks;
        var offset = ((ticks % window.Ticks) + window.Ticks) % window.Ticks;
        return new DateTimeOffset(at.UtcTicks - offset, TimeSpan.Zero);
    }

    /// <summary>
    /// Decides an event the trigger has not recorded yet: without a window every event starts a run; with one, the first
    /// event of a window starts it and later ones are recorded against that run (<paramref name="windowRun"/> looks the
    /// window's run up, or null when it has none).
    /// </summary>
    public static TriggerDecision Decide(TimeSpan? window, DateTimeOffset occurredAt, Func<DateTimeOffset, Guid?> windowRun)
    {
        if (window is not { } w) return new TriggerDecision.Start(null);
        var start = WindowStart(occurredAt, w);
        return windowRun(start) is { } run ? new TriggerDecision.Deduplicate(run, start) : new TriggerDecision.Start(start);
    }

    /// <summary>Whether <paramref name="e"/> is an event <paramref name="trigger"/> starts on.</summary>
    public static bool Matches(TriggerDefinition trigger, TriggerEvent e) =>
        trigger.Kind == e.Kind && (trigger.Kind == TriggerKind.File
            ? e.Facts["path"]?.GetValue<string>() is { } path && GlobMatches(trigger.Source, path)
            : string.Equals(trigger.Source, e.Source, StringComparison.Ordinal));

    /// <summary>
    /// Whether an event counts now for a trigger registered (or re-enabled) at <paramref name="since"/>. A run or alert
    /// from before does not start runs, so registering a trigger never replays history. A file must have stayed
    /// unchanged for the trigger's settle time, so one still being written is not picked up half-way; its age does not
    /// matter (a file moved into the folder keeps its old modification time): files already there are the baseline
    /// the first scan records instead (<see cref="NeedsBaseline"/>).
    /// </summary>
    public static bool IsDue(TriggerDefinition trigger, TriggerEvent e, DateTimeOffset since, DateTimeOffset now) =>
        trigger.Kind == TriggerKind.File ? e.OccurredAt <= now - trigger.Settle : e.OccurredAt >= since;

    /// <summary>A file trigger not scanned since it was registered (or re-enabled) first records what is there, firing nothing.</summary>
    public static bool NeedsBaseline(TriggerDefinition trigger, DateTimeOffset? lastScan) => trigger.Kind == TriggerKind.File && lastScan is null;

    /// <summary>
    /// How far back the leader's scan of runs and alerts looks behind its last scan: a row's time is taken before its
    /// transaction commits (and alerts carry the worker's clock), so a row can appear with a time a little before the last
    /// scan; anything within this of it is still read (the event's primary key stops a second firing).
    /// </summary>
    public static readonly TimeSpan ScanLookback = TimeSpan.FromMinutes(10);

    /// <summary>Where the next scan starts: the registration time, or the last scan less <see cref="ScanLookback"/> if later.</summary>
    public static DateTimeOffset ScanFrom(DateTimeOffset since, DateTimeOffset? checkedTo) =>
        checkedTo is { } c && c - ScanLookback > since ? c - ScanLookback : since;

    /// <summary>The run's parameters: the trigger's <c>params</c> with <c>event.NAME</c> resolved from the event's facts.</summary>
    /// <exception cref="ExpressionException">an expression fails on this event (e.g. a missing fact).</exception>
    public static JsonObject Params(TriggerDefinition trigger, TriggerEvent e)
    {
        var facts = (JsonObject)e.Facts.DeepClone();
        facts["kind"] = trigger.KindName;
        facts["occurred_at"] = e.OccurredAt.ToString("O");
        return (JsonObject)Templates.Resolve(trigger.Params, new ExpressionContext { Event = facts })!;
    }

    /// <summary>Who the run was created by, e.g. <c>trigger:monitor_alert:adult-income</c>.</summary>
    public static string CreatedBy(TriggerDefinition trigger) => $"trigger:{trigger.Key}";

    /// <summary>
    /// Splits a file glob into the folder to list (its leading segments without wildcards) and the pattern below it:
    /// <c>data/incoming/**/*.csv</c> → (<c>data/incoming</c>, <c>**/*.csv</c>).
    /// </summary>
    public static (string Root, string Pattern) SplitGlob(string glob)
    {
        var parts = glob.Replace('\\', '/').Split('/');
        var fixedCount = 0;
        while (fixedCount < parts.Length - 1 && parts[fixedCount].IndexOfAny(['*', '?', '[']) < 0) fixedCount++;
        var root = string.Join('/', parts[..fixedCount]);
        if (root.Length == 0 && glob.StartsWith('/')) root = "/";
        return (root.Length == 0 ? "." : root, string.Join('/', parts[fixedCount..]));
    }

    /// <summary>
    /// Glob match on '/'-separated paths: <c>*</c> and <c>?</c> stay within one segment, <c>**</c> spans any number of
    /// segments (including none). Ordinal, so case matters as it does on Linux.
    /// </summary>
    public static bool GlobMatches(string glob, string path) =>
        GlobRegex(glob.Replace('\\', '/')).IsMatch(path.Replace('\\', '/'));

    private static Regex GlobRegex(string glob)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                // "**/" matches zero or more whole segments; a trailing "**" anything below.
                if (i + 2 < glob.Length && glob[i + 2] == '/') { sb.Append("(?:[^/]*/)*"); i += 2; }
                else { sb.Append(".*"); i++; }
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
