using System.Net;
using System.Text.Json.Nodes;
using Pipelines.Core.Monitoring;
using Pipelines.Postgres.Monitoring;

namespace Pipelines.Server.Tests;

/// <summary>The web UI's reads for triggers and champion/challenger: the runs a run triggered, and a model's shadow series with the policy's verdicts.</summary>
public class TriggerAndChallengerReadTests
{
    [Test]
    public async Task TriggeredRuns_ListTheRunsAnAlertOfThisRunStarted()
    {
        await using var server = await ServerHarness.StartAsync();
        using var viewer = server.As("vera", "viewer");
        await server.CreateWorkflowAsync(Workflows.Hello);
        await server.Store.SyncAsync([Pipelines.Core.Validation.WorkflowValidator.LoadText(
            Workflows.Hello.Replace("steps:", "on: [{ monitor_alert: hello-model, window: 1h }]\nsteps:"), "hello.yaml", server.Registry)]);
        // A monitor step of run `source` alerted twice in one window: one run started, the second event de-duplicated into it.
        var source = Guid.NewGuid();
        await server.Database.ExecAsync("""
            INSERT INTO monitor_batches (monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, result)
            VALUES ('hello-model', @run, 'monitor', 'b1', now(), 10, 'alert', 0.4, '{}'), ('hello-model', @run, 'monitor2', 'b2', now(), 10, 'alert', 0.5, '{}')
            """, ("run", source));
        Assert.That(await server.Store.FireTriggersAsync(), Is.EqualTo(1), "one run per window");

        var triggered = (await server.GetJsonAsync(viewer, $"/api/v1/runs/{source}/triggered"))["items"]!.AsArray();
        Assert.That(triggered, Has.Count.EqualTo(2), triggered.ToJsonString());
        var started = triggered.Single(t => !t!["deduplicated"]!.GetValue<bool>())!;
        Assert.That((started["workflow"]!.GetValue<string>(), started["on"]!.GetValue<string>(), started["source"]!.GetValue<string>()),
            Is.EqualTo(("hello", "monitor_alert", "hello-model")));
        var runId = started["runId"]!.GetValue<string>();
        Assert.That(triggered.Single(t => t!["deduplicated"]!.GetValue<bool>())!["runId"]!.GetValue<string>(), Is.EqualTo(runId), "recorded against the window's run");
        Assert.That(triggered.Select(t => t!["step"]!.GetValue<string>()), Is.EquivalentTo(new[] { "monitor", "monitor2" }));

        // The other direction: the started run names this run as its trigger.
        var detail = await server.GetJsonAsync(viewer, $"/api/v1/runs/{runId}");
        Assert.That(detail["triggeredBy"]!["event"]!["run_id"]!.GetValue<string>(), Is.EqualTo(source.ToString()));
        Assert.That(detail["triggeredBy"]!["deduplicated"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That((await server.GetJsonAsync(viewer, $"/api/v1/runs/{Guid.NewGuid()}/triggered"))["items"]!.AsArray(), Is.Empty, "a run that triggered nothing");
    }

    [Test]
    public async Task ChallengerSeries_ShowsBothMetricsTheDifferenceAndThePolicyVerdictPerBatch()
    {
        await using var server = await ServerHarness.StartAsync();
        using var viewer = server.As("vera", "viewer");
        var store = new PostgresMonitorStore(server.Database.DataSource);
        var t0 = DateTimeOffset.UtcNow.AddHours(-5);
        async Task Batch(int i, string champion, string challenger, double? a, double? b, long labelled, string monitor = "adult-income") =>
            await store.RecordChallengerBatchAsync(new ChallengerBatch(monitor, Guid.NewGuid(), "shadow", $"batch-{i}", t0.AddMinutes(i), champion, challenger,
                1000, 0.95, 0.01, labelled,
                a is null ? null : $$"""{"roc_auc": {{a}}, "log_loss": 0.4}""", b is null ? null : $$"""{"roc_auc": {{b}}, "log_loss": 0.5}"""));
        await Batch(1, "4", "5", 0.80, 0.82, 100);
        await Batch(2, "4", "5", null, null, 0);        // labels not joined yet: no evidence
        await Batch(3, "4", "5", 0.81, 0.80, 300);
        await Batch(4, "3", "5", 0.70, 0.90, 100);      // another champion: not evidence for the pair 4/5
        await Batch(5, "4", "5", 0.79, 0.79, 100, monitor: "other-model");

        var series = await server.GetJsonAsync(viewer, "/api/v1/models/adult-income/challenger?minBatches=2&margin=0.005");
        Assert.That(series["monitor"]!.GetValue<string>(), Is.EqualTo("adult-income"), "the model's name is its monitor by default");
        Assert.That(series["metrics"]!.AsArray().Select(m => m!.GetValue<string>()), Is.EqualTo(new[] { "log_loss", "roc_auc" }));
        var items = series["items"]!.AsArray();
        Assert.That(items.Select(i => i!["batch"]!.GetValue<string>()), Is.EqualTo(new[] { "batch-1", "batch-2", "batch-3", "batch-4" }));
        Assert.That(items[0]!["difference"]!.GetValue<double>(), Is.EqualTo(0.02).Within(1e-12));
        Assert.That((items[0]!["evidence"]!.GetValue<int>(), items[0]!["propose"]!.GetValue<bool>()), Is.EqualTo((1, false)));
        Assert.That(items[1]!["champion"], Is.Null);
        Assert.That(items[1]!["evidence"]!.GetValue<int>(), Is.EqualTo(1), "an unlabelled batch is no evidence");
        // Two labelled batches of 4/5: weighted means 0.8075 against 0.805, within the margin: proposed.
        Assert.That((items[2]!["evidence"]!.GetValue<int>(), items[2]!["propose"]!.GetValue<bool>()), Is.EqualTo((2, true)), items[2]!["reason"]!.ToString());
        Assert.That(items[2]!["difference"]!.GetValue<double>(), Is.EqualTo(-0.01).Within(1e-12));
        Assert.That((items[3]!["evidence"]!.GetValue<int>(), items[3]!["propose"]!.GetValue<bool>()), Is.EqualTo((1, false)), "the pair 3/5 starts its own evidence");

        // log_loss is lower-better: the difference is champion − challenger, so the challenger's 0.5 against 0.4 is −0.1.
        var loss = await server.GetJsonAsync(viewer, "/api/v1/models/adult-income/challenger?metric=log_loss");
        Assert.That(loss["policy"]!["higherIsBetter"]!.GetValue<bool>(), Is.False);
        Assert.That(loss["items"]![0]!["difference"]!.GetValue<double>(), Is.EqualTo(-0.1).Within(1e-12));
        Assert.That(loss["policy"]!["minBatches"]!.GetValue<int>(), Is.EqualTo(3), "the policy's default");

        using var bad = await viewer.GetAsync("/api/v1/models/adult-income/challenger?metric=f9");
        var problem = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem["errors"]!["metric"]![0]!.GetValue<string>(), Does.Contain("'f9'").And.Contain("roc_auc"));
        using var badBatches = await viewer.GetAsync("/api/v1/models/adult-income/challenger?minBatches=0");
        Assert.That(badBatches.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await server.GetJsonAsync(viewer, "/api/v1/models/none/challenger"))["items"]!.AsArray(), Is.Empty);
    }
}
