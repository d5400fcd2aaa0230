using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>Health probes, the OpenAPI document (checked into docs/openapi.json), the catalog and operations views.</summary>
public class OperationsTests
{
    [Test]
    public async Task Health_AliveAndReady_WithoutAuthentication()
    {
        await using var server = await ServerHarness.StartAsync();
        using var anonymous = server.Client();
        using (var alive = await anonymous.GetAsync("/healthz")) Assert.That(alive.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var ready = await anonymous.GetAsync("/readyz");
        var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["checks"]!["database"]!.GetValue<string>(), Is.EqualTo("ok"));
        using (var unknown = await anonymous.GetAsync("/api/v1/nothing-here"))
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "unknown API paths are problems, never the web UI's page");
            Assert.That(unknown.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        }
    }

    [Test]
    public async Task OpenApi_ServedDocument_MatchesTheCheckedInOne()
    {
        await using var server = await ServerHarness.StartAsync();
        using var anonymous = server.Client();
        var served = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        var paths = served["paths"]!.AsObject().Select(p => p.Key).ToHashSet();
        var routes = server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText!).Where(r => r.StartsWith("/api/v1", StringComparison.Ordinal))
            .Select(r => System.Text.RegularExpressions.Regex.Replace(r, @"\{(\w+)(:[^}]*)?\}", "{$1}")).ToHashSet();
        Assert.That(routes.Except(paths), Is.Empty, "every API route is in the document");

        var file = Path.Combine(TestPostgres.RepositoryRoot(), "docs", "openapi.json");
        var text = served.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("PIPELINES_UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(file, text);
        Assert.That(File.Exists(file), $"{file} is checked in (regenerate with PIPELINES_UPDATE_OPENAPI=1)");
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        Assert.That(JsonNode.DeepEquals(served, checkedIn), Is.True,
            "docs/openapi.json differs from the served document: the API changed; regenerate with PIPELINES_UPDATE_OPENAPI=1 and review the diff");
    }

    [Test]
    public async Task Catalog_Schedules_Workers_Queues()
    {
        await using var server = await ServerHarness.StartAsync();
        using var viewer = server.As("vera", "viewer");
        var activities = await server.GetJsonAsync(viewer, "/api/v1/activities");
        var log = activities["items"]!.AsArray().Single(a => a!["kind"]!.GetValue<string>() == "log")!;
        Assert.That(log["inputSchema"]!["properties"]!["message"], Is.Not.Null);

        await server.CreateWorkflowAsync(Workflows.Hello.Replace("steps:", "schedule: { cron: \"0 2 * * *\", timezone: UTC }\nsteps:"));
        await server.Store.SyncAsync([Pipelines.Core.Validation.WorkflowValidator.LoadText(
            Workflows.Hello.Replace("steps:", "schedule: { cron: \"0 2 * * *\", timezone: UTC }\non: [{ monitor_alert: hello-model, window: 1h }]\nsteps:"),
            "hello.yaml", server.Registry)]);
        var schedules = await server.GetJsonAsync(viewer, "/api/v1/schedules");
        Assert.That(schedules["items"]![0]!["paused"]!.GetValue<bool>(), Is.False);
        var trigger = (await server.GetJsonAsync(viewer, "/api/v1/triggers"))["items"]!.AsArray().Single()!;
        Assert.That((trigger["workflow"]!.GetValue<string>(), trigger["on"]!.GetValue<string>(), trigger["source"]!.GetValue<string>(), trigger["window"]!.GetValue<string>()),
            Is.EqualTo(("hello", "monitor_alert", "hello-model", "1h")));
        using var admin = server.As("root", "admin");
        using (var pause = await admin.PostAsync("/api/v1/schedules/hello/pause", null)) Assert.That(pause.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await server.GetJsonAsync(viewer, "/api/v1/schedules"))["items"]![0]!["paused"]!.GetValue<bool>(), Is.True);
        using (var resume = await admin.PostAsync("/api/v1/schedules/hello/resume", null)) Assert.That(resume.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var op = server.As("olga", "operator");
        using (var fire = await op.PostAsync("/api/v1/schedules/hello/fire", null))
        {
            var body = JsonNode.Parse(await fire.Content.ReadAsStringAsync())!;
            Assert.That(fire.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
            Assert.That(Guid.TryParse(body["runId"]!.GetValue<string>(), out _));
        }

        await server.StartWorkersAsync();
        // An alert of the monitor hello declares it starts on: the workers' leader starts a run, whose detail names the event.
        await server.Database.ExecAsync("""
            INSERT INTO monitor_batches (monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, result)
            VALUES ('hello-model', @run, 'monitor', 'b1', now(), 10, 'alert', 0.4, '{}')
            """, ("run", Guid.NewGuid()));
        static JsonNode? EventRun(JsonObject list) => list["items"]!.AsArray().FirstOrDefault(i => i!["trigger"]!.GetValue<string>() == "event");
        var runs = await Eventually.WaitAsync(() => server.GetJsonAsync(viewer, "/api/v1/runs?workflow=hello"), r => EventRun(r) is not null,
            TimeSpan.FromSeconds(30), "the leader to start the triggered run");
        var detail = await server.GetJsonAsync(viewer, $"/api/v1/runs/{EventRun(runs)!["id"]!.GetValue<string>()}");
        Assert.That(detail["triggeredBy"]!["kind"]!.GetValue<string>(), Is.EqualTo("monitor_alert"));
        Assert.That(detail["triggeredBy"]!["summary"]!.GetValue<string>(), Does.Contain("monitor_alert hello-model: run ").And.Contain("step monitor, batch b1 alerted (max PSI 0.4)"));
        var workers = await Eventually.WaitAsync(() => server.GetJsonAsync(viewer, "/api/v1/workers"), w => w["items"]!.AsArray().Count > 0,
            TimeSpan.FromSeconds(30), "the worker to register");
        Assert.That(workers["items"]![0]!["queues"]!.AsArray().Select(q => q!.GetValue<string>()), Has.Member("default"));
        var queues = await server.GetJsonAsync(viewer, "/api/v1/queues");
        Assert.That(queues["items"]!.AsArray().Select(q => q!["queue"]!.GetValue<string>()), Has.Member("default"));
    }
}
