using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Activities.Tests.Monitoring;

/// <summary>trigger_workflow on engine workers: one run per key and window, however many alerts ask at once.</summary>
public sealed class TriggerWorkflowTests
{
    private DataActivityServices _s = null!;

    [OneTimeSetUp] public async Task SetUp() => _s = await DataActivityServices.CreateAsync();
    [OneTimeTearDown] public async Task TearDown() => await _s.DisposeAsync();

    private static string Hello => Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "hello.yaml");

    private static string Alerts(string key, int count) => $$$"""
        name: alerts-{{{Guid.NewGuid():N}}}
        steps:
          - id: items
            uses: range
            with: { count: {{{count}}} }
          - id: retrain
            uses: trigger_workflow
            cache: false
            for_each: { items: "${{ steps.items.outputs.items }}", max_parallel: {{{count}}} }
            with: { workflow: "{{{Hello}}}", params: { greeting: hi, count: 1 }, dedup_key: {{{key}}}, reason: "alert ${{ item }}" }
        """;

    [Test]
    public async Task ConcurrentAlerts_StartOneRunPerWindow_AndLaterAlertsGetThatRun()
    {
        var (run, step) = await _s.RunYamlAsync(Alerts("retrain-adult", 4), "retrain");
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), run.Run.Error);
        var started = step.Outputs!["started"]!.AsArray().Select(n => n!.GetValue<bool>()).ToList();
        Assert.That(started.Count(s => s), Is.EqualTo(1), "exactly one of four concurrent alerts starts the run");
        Assert.That(step.Outputs["triggered_by"]!.AsArray().Select(n => n!.GetValue<string>()).Distinct().Single(), Is.EqualTo(run.Run.Id.ToString()));
        Assert.That(await _s.Database.ScalarAsync<long>("SELECT count(*) FROM runs WHERE workflow_name = 'hello'"), Is.EqualTo(1));
        var startedRun = await _s.Database.ScalarAsync<Guid>("SELECT started_run_id FROM monitor_triggers WHERE dedup_key = 'retrain-adult'");
        Assert.That(await _s.Database.ScalarAsync<string>($"SELECT created_by FROM runs WHERE id = '{startedRun}'"),
            Does.StartWith($"trigger:{run.Run.Id}/retrain"), "lineage: the started run names the run and step that triggered it");

        // A later alert in the same window gets the same run; another key starts its own.
        (run, step) = await _s.RunYamlAsync(Alerts("retrain-adult", 1), "retrain");
        Assert.That(step.Outputs!["started"]![0]!.GetValue<bool>(), Is.False);
        Assert.That(step.Outputs["run_id"]![0]!.GetValue<string>(), Is.EqualTo(startedRun.ToString()));
        (_, step) = await _s.RunYamlAsync(Alerts("retrain-energy", 1), "retrain");
        Assert.That(step.Outputs!["started"]![0]!.GetValue<bool>(), Is.True);
        Assert.That(await _s.Database.ScalarAsync<long>("SELECT count(*) FROM runs WHERE workflow_name = 'hello'"), Is.EqualTo(2));
    }

    [Test]
    public async Task SixteenSimultaneousClaims_OfOneWindow_HaveOneWinner_ThatEveryoneSees()
    {
        // Straight at the store, released together: the unique (key, window) decides, not timing.
        var store = _s.MonitorStore;
        var window = new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
        var runs = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToList();
        using var go = new ManualResetEventSlim();
        var claims = await Task.WhenAll(runs.Select(r => Task.Run(async () =>
        {
            go.Wait();
            return await store.ClaimTriggerAsync("race", window, r, "alert", "retrain.yaml", "{}", null, window);
        })).ToList().Also(_ => go.Set()));
        Assert.That(claims.Select(c => c.RunId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(runs, Does.Contain(claims[0].RunId));
        Assert.That(await _s.Database.ScalarAsync<long>("SELECT count(*) FROM monitor_triggers WHERE dedup_key = 'race'"), Is.EqualTo(1));
    }

    [Test]
    public async Task BadParameters_FailTheStep_AndGiveTheWindowBack()
    {
        var error = await _s.FailAsync("trigger_workflow", new JsonObject
        {
            ["workflow"] = Hello, ["params"] = new JsonObject { ["greeting"] = "howdy" }, ["dedup_key"] = "bad-params",
        });
        Assert.That(error, Does.Contain("cannot start").And.Contain("greeting"));
        Assert.That(await _s.Database.ScalarAsync<long>("SELECT count(*) FROM monitor_triggers WHERE dedup_key = 'bad-params'"), Is.EqualTo(0));
        error = await _s.FailAsync("trigger_workflow", new JsonObject { ["workflow"] = Hello, ["window"] = "soon" });
        Assert.That(error, Does.Contain("window: 'soon' is not a positive duration"));
    }
}

internal static class TaskListExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
