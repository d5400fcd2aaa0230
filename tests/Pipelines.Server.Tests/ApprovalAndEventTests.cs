using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Server.Tests;

/// <summary>Approvals (four eyes) and the live event stream, with real workers.</summary>
public class ApprovalAndEventTests
{
    [Test]
    public async Task Approval_FourEyes_TheStarterIsRefusedAnotherApproverDecides()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Gated);
        await server.StartWorkersAsync();
        var id = await server.StartRunAsync("gated", "alice");
        await server.WaitForRunAsync(id, r => r["steps"]![0]!["state"]!.GetValue<string>() == "waiting", "the approval to wait");

        using var alice = server.As("alice", "operator", "approver");
        var mine = await server.GetJsonAsync(alice, "/api/v1/approvals");
        var approval = mine["items"]!.AsArray().Single()!;
        Assert.That(approval["canDecide"]!.GetValue<bool>(), Is.False);
        Assert.That(approval["whyNot"]!.GetValue<string>(), Does.Contain("four-eyes"));
        Assert.That(approval["candidate"]!["metrics"]!["auc"]!.GetValue<double>(), Is.EqualTo(0.91));
        Assert.That(approval["champion"]!["metrics"]!["auc"]!.GetValue<double>(), Is.EqualTo(0.89));
        var approvalId = approval["id"]!.GetValue<string>();

        using (var refused = await alice.PostAsJsonAsync($"/api/v1/approvals/{approvalId}/decision", new { approved = true, comment = "mine" }))
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>(), Does.Contain("four-eyes"));
        }
        using var bob = server.As("bob", "approver");
        Assert.That((await server.GetJsonAsync(bob, "/api/v1/approvals/count"))["mine"]!.GetValue<int>(), Is.EqualTo(1));
        using (var missing = await bob.PostAsJsonAsync($"/api/v1/approvals/{approvalId}/decision", new { comment = "no verdict" }))
            Assert.That(JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["errors"]!["approved"], Is.Not.Null);
        using (var ok = await bob.PostAsJsonAsync($"/api/v1/approvals/{approvalId}/decision", new { approved = true, comment = "looks good" }))
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
        using (var twice = await bob.PostAsJsonAsync($"/api/v1/approvals/{approvalId}/decision", new { approved = false }))
            Assert.That(twice.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));

        var run = await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the approved run to succeed");
        Assert.That(run["outputs"]!["done"]!["message"]!.GetValue<string>(), Is.EqualTo("approved by bob"));
        var decided = await server.GetJsonAsync(bob, "/api/v1/approvals?state=decided");
        var decision = decided["items"]![0]!["decision"]!;
        Assert.That((decision["approved"]!.GetValue<bool>(), decision["by"]!.GetValue<string>(), decision["comment"]!.GetValue<string>()),
            Is.EqualTo((true, "bob", "looks good")));
    }

    [Test]
    public async Task Approval_ShowsAnEvaluationSummary_MetricsSlicesWorseFirst_AndTheRunsReport()
    {
        // The shape evaluate's summary has (the nightly passes it to its approval step).
        const string yaml = """
            name: evaluated
            steps:
              - id: evaluate
                uses: log
                with: { message: "evaluated" }
              - id: review
                uses: approval
                needs: evaluate
                with:
                  summary:
                    task: binary
                    primary_metric: roc_auc
                    maximize: true
                    metrics: { roc_auc: 0.92, log_loss: 0.30, rows: 1000 }
                    slices:
                      - { column: sex, value: Female, rows: 330, metrics: { roc_auc: 0.90 } }
                      - { column: sex, value: Male, rows: 670, metrics: { roc_auc: 0.93 } }
                      - { column: race, value: Other, rows: 12, metrics: { roc_auc: 0.70 } }
                    champion:
                      version: "3"
                      metrics: { roc_auc: 0.91, log_loss: 0.31 }
                      slices:
                        - { column: sex, value: Female, rows: 330, metrics: { roc_auc: 0.91 } }
                        - { column: sex, value: Male, rows: 670, metrics: { roc_auc: 0.92 } }
                        - { column: race, value: Other, rows: 12, metrics: { roc_auc: 0.75 } }
            """;
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(yaml);
        await server.StartWorkersAsync();
        var id = await server.StartRunAsync("evaluated", "alice");
        await server.WaitForRunAsync(id, r => r["steps"]![1]!["state"]!.GetValue<string>() == "waiting", "the approval to wait");

        using var bob = server.As("bob", "approver");
        var approval = (await server.GetJsonAsync(bob, "/api/v1/approvals"))["items"]!.AsArray().Single()!;
        // (PostgreSQL's jsonb keeps keys in its own order: compared as sets.)
        Assert.That(JsonNode.DeepEquals(approval["candidate"]!["metrics"], JsonNode.Parse("""{"roc_auc":0.92,"log_loss":0.3,"rows":1000}""")), Is.True,
            approval["candidate"]!.ToJsonString());
        Assert.That(JsonNode.DeepEquals(approval["champion"]!["metrics"], JsonNode.Parse("""{"roc_auc":0.91,"log_loss":0.31}""")), Is.True,
            approval["champion"]!.ToJsonString());
        Assert.That(approval["primaryMetric"]!.GetValue<string>(), Is.EqualTo("roc_auc"));
        var slices = approval["slices"]!.AsArray();
        Assert.That(slices.Select(x => ($"{x!["column"]}={x["value"]}", x["worse"]!.GetValue<bool>())),
            Is.EqualTo(new[] { ("race=Other", true), ("sex=Female", true), ("sex=Male", false) }), "worse slices first, the largest drop first");
        Assert.That(slices[0]!["change"]!.GetValue<double>(), Is.EqualTo(0.70 - 0.75).Within(1e-12));
        Assert.That(approval["reportArtifactId"], Is.Null, "the run has no evaluation report yet");

        // Once the run has an evaluation.html (as evaluate writes one), the approval links it.
        var report = Guid.NewGuid();
        await using (var cmd = server.Database.DataSource.CreateCommand("""
            INSERT INTO artifacts (id, uri, sha256, size, media_type, kind, name, step_run_id, attempt, created_at)
            SELECT $1, 'file:///reports/' || $1::text || '/evaluation.html', repeat('a', 64), 10, 'text/html', 'file', 'evaluation.html', a.step_run_id, a.attempt, now()
            FROM attempts a JOIN step_runs s ON s.id = a.step_run_id WHERE s.run_id = $2 AND s.step_id = 'evaluate'
            """))
        {
            cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = report });
            cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = id });
            Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }
        var linked = await server.GetJsonAsync(bob, $"/api/v1/approvals/{approval["id"]!.GetValue<string>()}");
        Assert.That(linked["reportArtifactId"]!.GetValue<string>(), Is.EqualTo(report.ToString()));
        var listed = (await server.GetJsonAsync(bob, "/api/v1/approvals"))["items"]!.AsArray().Single()!;
        Assert.That(listed["reportArtifactId"]!.GetValue<string>(), Is.EqualTo(report.ToString()));
    }

    [Test]
    public async Task Events_StreamStepChanges_AndResumeFromLastEventIdWithoutLoss()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Gated);
        await server.StartWorkersAsync();

        using var viewer = server.As("vera", "viewer");
        viewer.Timeout = Timeout.InfiniteTimeSpan;
        var id = await server.StartRunAsync("gated", "alice");

        // First connection, from the beginning (id 0: the run may have moved before we connect): read until the
        // approval is requested, remember the last id, disconnect.
        var seen = new List<SseEvent>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        await using (var stream = await SseEvent.OpenAsync(viewer, $"/api/v1/events?runId={id}", 0, cts.Token))
        {
            await foreach (var e in stream.ReadAsync(cts.Token))
            {
                seen.Add(e);
                if (e.Kind == "approval") break;
            }
        }
        Assert.That(seen.Select(e => e.Kind), Has.Member("run").And.Member("step").And.Member("approval"));
        Assert.That(seen.Select(e => e.Id), Is.Ordered.Ascending.And.Unique);
        Assert.That(seen.All(e => e.Data["runId"]!.GetValue<string>() == id.ToString()));
        var last = seen[^1].Id;

        // While nobody listens, the run moves on: approve it and let it finish.
        using var bob = server.As("bob", "approver");
        var approvalId = seen[^1].Data["approvalId"]!.GetValue<string>();
        using (var ok = await bob.PostAsJsonAsync($"/api/v1/approvals/{approvalId}/decision", new { approved = true }))
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the run to succeed");

        // Reconnect with Last-Event-ID: everything after it arrives, in order, nothing before it.
        var resumed = new List<SseEvent>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        await using (var stream = await SseEvent.OpenAsync(viewer, $"/api/v1/events?runId={id}", last, cts.Token))
        {
            await foreach (var e in stream.ReadAsync(cts.Token))
            {
                resumed.Add(e);
                if (e.Kind == "run" && e.Data["state"]!.GetValue<string>() == "succeeded") break;
            }
        }
        Assert.That(resumed.Select(e => e.Id), Is.Ordered.Ascending.And.Unique);
        Assert.That(resumed.All(e => e.Id > last));
        Assert.That(resumed.Any(e => e.Kind == "approval" && e.Data["state"]!.GetValue<string>() == "approved"));
        Assert.That(resumed.Any(e => e.Kind == "step" && e.Data["step"]!.GetValue<string>() == "done" && e.Data["state"]!.GetValue<string>() == "succeeded"));
        Assert.That(resumed.Any(e => e.Kind == "log" && e.Data["line"]!.GetValue<string>().Contains("approved by bob")));

        // The union of both connections is exactly what the database recorded for the run, in order.
        var all = seen.Concat(resumed).Select(e => e.Id).ToList();
        var recorded = await server.Database.ScalarAsync<long>("SELECT count(*) FROM events WHERE run_id = @r AND position <= @p",
            ("r", id), ("p", resumed[^1].Id));
        Assert.That(all, Has.Count.EqualTo(recorded));
    }

    [Test]
    public async Task Events_LiveStreamSeesAStepChangeCommittedByAnotherConnection()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Gated);
        using var viewer = server.As("vera", "viewer");
        viewer.Timeout = Timeout.InfiniteTimeSpan;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var stream = await SseEvent.OpenAsync(viewer, "/api/v1/events", null, cts.Token);
        // No workers: the run is created (queued → running) and its first step becomes waiting only when the run is planned.
        var id = await server.StartRunAsync("gated", "alice");
        SseEvent? step = null;
        await foreach (var e in stream.ReadAsync(cts.Token))
            if (e.Kind == "step" && e.Data["runId"]!.GetValue<string>() == id.ToString()) { step = e; break; }
        Assert.That(step, Is.Not.Null, "a step event of the new run arrives on a stream opened before it");
    }
}
