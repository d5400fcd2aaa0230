using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Triggers;

namespace Pipelines.Engine.Tests.Triggers;

/// <summary>The trigger rules without a database: matching, due events, windows, parameters, globs.</summary>
public class TriggerFiringTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private static TriggerDefinition Rule(TriggerKind kind, string source, TimeSpan? window = null, JsonObject? parameters = null) =>
        new(kind, source, parameters ?? new JsonObject(), window, TimeSpan.FromSeconds(2), SourceLocation.None("t"));

    private static TriggerEvent Alert(string monitor, DateTimeOffset at) =>
        new(TriggerKind.MonitorAlert, monitor, $"{Guid.NewGuid()}/monitor", at, new JsonObject { ["monitor"] = monitor, ["batch"] = "b1" });

    private static TriggerEvent File(string path, DateTimeOffset at) =>
        new(TriggerKind.File, "", $"{path}@{at.UtcTicks}", at, new JsonObject { ["path"] = path, ["name"] = Path.GetFileName(path), ["size"] = 10 });

    [Test]
    public void Matches_TheKindAndSourceOfTheSubscription()
    {
        var alert = Alert("adult-income", T0);
        Assert.Multiple(() =>
        {
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.MonitorAlert, "adult-income"), alert), Is.True);
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.MonitorAlert, "energy"), alert), Is.False, "another monitor");
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.WorkflowSucceeded, "adult-income"), alert), Is.False, "another kind, same name");
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.File, "in/*.csv"), File("in/a.csv", T0)), Is.True);
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.File, "in/*.csv"), File("in/sub/a.csv", T0)), Is.False, "* stays in one folder");
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.File, "in/**/*.csv"), File("in/sub/a.csv", T0)), Is.True);
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.File, "in/**/*.csv"), File("in/a.csv", T0)), Is.True, "** also matches no folder");
            Assert.That(TriggerFiring.Matches(Rule(TriggerKind.File, "in/*.csv"), File("in/a.csv.tmp", T0)), Is.False);
        });
    }

    [Test]
    public void IsDue_SkipsHistoryBeforeRegistration_AndFilesStillBeingWritten_WhateverTheirAge()
    {
        var alert = Rule(TriggerKind.MonitorAlert, "m");
        var file = Rule(TriggerKind.File, "in/*.csv");
        Assert.Multiple(() =>
        {
            Assert.That(TriggerFiring.IsDue(alert, Alert("m", T0.AddSeconds(-1)), since: T0, now: T0.AddMinutes(1)), Is.False);
            Assert.That(TriggerFiring.IsDue(alert, Alert("m", T0), since: T0, now: T0), Is.True);
            Assert.That(TriggerFiring.IsDue(file, File("in/a.csv", T0.AddSeconds(1)), since: T0, now: T0.AddSeconds(2)), Is.False, "changed 1 s ago, settle 2 s");
            Assert.That(TriggerFiring.IsDue(file, File("in/a.csv", T0.AddSeconds(1)), since: T0, now: T0.AddSeconds(3)), Is.True);
            Assert.That(TriggerFiring.IsDue(file, File("in/a.csv", T0.AddDays(-3)), since: T0, now: T0), Is.True,
                "a file moved in keeps its old time; the baseline, not the time, says what was there before");
            Assert.That(TriggerFiring.NeedsBaseline(file, lastScan: null), Is.True);
            Assert.That(TriggerFiring.NeedsBaseline(file, lastScan: T0), Is.False);
            Assert.That(TriggerFiring.NeedsBaseline(alert, lastScan: null), Is.False, "runs and alerts have times to go by");
        });
    }

    [Test]
    public void WindowStart_IsAlignedToTheEpoch_SoEveryLeaderAgrees()
    {
        var day = TimeSpan.FromDays(1);
        Assert.Multiple(() =>
        {
            Assert.That(TriggerFiring.WindowStart(T0, day), Is.EqualTo(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));
            Assert.That(TriggerFiring.WindowStart(new DateTimeOffset(2026, 3, 1, 23, 59, 59, TimeSpan.FromHours(-5)), day),
                Is.EqualTo(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero)), "read in UTC, whatever the offset");
            Assert.That(TriggerFiring.WindowStart(T0.AddMinutes(25), TimeSpan.FromMinutes(30)), Is.EqualTo(T0));
            Assert.That(TriggerFiring.WindowStart(new DateTimeOffset(1969, 12, 31, 12, 0, 0, TimeSpan.Zero), day),
                Is.EqualTo(new DateTimeOffset(1969, 12, 31, 0, 0, 0, TimeSpan.Zero)), "before the epoch too");
        });
    }

    [Test]
    public void Decide_StartsTheFirstEventOfAWindow_AndRecordsLaterOnesAgainstItsRun()
    {
        var run = Guid.NewGuid();
        var window = TimeSpan.FromHours(24);
        var windowStart = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(TriggerFiring.Decide(null, T0, _ => run), Is.EqualTo(new TriggerDecision.Start(null)), "no window: every event");
            Assert.That(TriggerFiring.Decide(window, T0, _ => null), Is.EqualTo(new TriggerDecision.Start(windowStart)));
            Assert.That(TriggerFiring.Decide(window, T0, ws => ws == windowStart ? run : null), Is.EqualTo(new TriggerDecision.Deduplicate(run, windowStart)));
            Assert.That(TriggerFiring.Decide(window, T0.AddDays(1), ws => ws == windowStart ? run : null),
                Is.EqualTo(new TriggerDecision.Start(windowStart.AddDays(1))), "the next window starts again");
        });
    }

    [Test]
    public void ScanFrom_LooksBackBehindTheLastScan_ButNeverBeforeRegistration()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TriggerFiring.ScanFrom(T0, null), Is.EqualTo(T0), "first scan: from registration");
            Assert.That(TriggerFiring.ScanFrom(T0, T0.AddMinutes(5)), Is.EqualTo(T0), "the lookback would reach before registration");
            Assert.That(TriggerFiring.ScanFrom(T0, T0.AddHours(1)), Is.EqualTo(T0.AddHours(1) - TriggerFiring.ScanLookback));
        });
    }

    [Test]
    public void Params_AreResolvedFromTheEvent()
    {
        var rule = Rule(TriggerKind.File, "in/*.csv", parameters: new JsonObject { ["data"] = "${{ event.path }}", ["why"] = "new ${{ event.kind }} ${{ event.name }}", ["n"] = 3 });
        var p = TriggerFiring.Params(rule, File("in/a.csv", T0));
        Assert.That(p.ToJsonString(), Is.EqualTo("""{"data":"in/a.csv","why":"new file a.csv","n":3}"""));
    }

    [TestCase("data/incoming/*.csv", "data/incoming", "*.csv")]
    [TestCase("data/**/x.csv", "data", "**/x.csv")]
    [TestCase("*.csv", ".", "*.csv")]
    [TestCase("/srv/drop/*.parquet", "/srv/drop", "*.parquet")]
    public void SplitGlob_ListsTheFolderBeforeTheFirstWildcard(string glob, string root, string pattern) =>
        Assert.That(TriggerFiring.SplitGlob(glob), Is.EqualTo((root, pattern)));
}
