using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Server.Tests;

/// <summary>Workflows and runs through the real HTTP API, executed by real workers on PostgreSQL.</summary>
public class WorkflowAndRunTests
{
    [Test]
    public async Task Workflows_CreateReadUpdateWithHistoryAndDiff_InvalidUpdatesStoreNothing()
    {
        await using var server = await ServerHarness.StartAsync();
        var created = await server.CreateWorkflowAsync(Workflows.Hello);
        Assert.That(created["version"]!.GetValue<int>(), Is.EqualTo(1));

        using var viewer = server.As("vera", "viewer");
        var list = await server.GetJsonAsync(viewer, "/api/v1/workflows");
        Assert.That(list["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "hello" }));
        Assert.That(list["items"]![0]!["updatedBy"]!.GetValue<string>(), Is.EqualTo("root"));

        var one = await server.GetJsonAsync(viewer, "/api/v1/workflows/hello");
        Assert.That(one["yaml"]!.GetValue<string>(), Is.EqualTo(Workflows.Hello));
        var steps = one["graph"]!["steps"]!.AsArray();
        Assert.That(steps.Select(s => s!["id"]!.GetValue<string>()), Is.EqualTo(new[] { "numbers", "greet" }));
        Assert.That(steps[1]!["needs"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "numbers" }));
        Assert.That(steps[1]!["forEach"]!["maxParallel"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(one["graph"]!["params"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("count"));
        Assert.That(one["errors"]!.AsArray(), Is.Empty);

        using var admin = server.As("root", "admin");
        // An invalid update: 400 naming line and column, and no new version.
        var broken = Workflows.Hello.Replace("uses: log", "uses: no_such_activity");
        using (var bad = await admin.PutAsJsonAsync("/api/v1/workflows/hello", new { yaml = broken, comment = "broken" }))
        {
            var body = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
            Assert.That(bad.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
            var error = body["workflowErrors"]![0]!;
            Assert.That(error["line"]!.GetValue<int>(), Is.EqualTo(10));
            Assert.That(error["message"]!.GetValue<string>(), Does.Contain("no_such_activity"));
            Assert.That(body["errors"]!["yaml"], Is.Not.Null, "the field at fault is named");
        }
        var versions = await server.GetJsonAsync(viewer, "/api/v1/workflows/hello/versions");
        Assert.That(versions["items"]!.AsArray(), Has.Count.EqualTo(1), "nothing half-written");

        var changed = Workflows.Hello.Replace("hello #", "hi #");
        using (var ok = await admin.PutAsJsonAsync("/api/v1/workflows/hello", new { yaml = changed, comment = "friendlier" }))
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
        versions = await server.GetJsonAsync(viewer, "/api/v1/workflows/hello/versions");
        Assert.That(versions["items"]!.AsArray().Select(v => (v!["version"]!.GetValue<int>(), v["comment"]?.GetValue<string>())),
            Is.EqualTo(new[] { (2, (string?)"friendlier"), (1, (string?)null) }));
        var v1 = await server.GetJsonAsync(viewer, "/api/v1/workflows/hello/versions/1");
        Assert.That(v1["yaml"]!.GetValue<string>(), Is.EqualTo(Workflows.Hello));
        var diff = (await server.GetJsonAsync(viewer, "/api/v1/workflows/hello/diff?from=1&to=2"))["unifiedDiff"]!.GetValue<string>();
        Assert.That(diff, Does.Contain("-    with: { message: \"hello #${{ item }}\" }"));
        Assert.That(diff, Does.Contain("+    with: { message: \"hi #${{ item }}\" }"));
        using (var badDiff = await viewer.GetAsync("/api/v1/workflows/hello/diff?from=1&to=x"))
        {
            Assert.That(badDiff.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(JsonNode.Parse(await badDiff.Content.ReadAsStringAsync())!["errors"]!["to"], Is.Not.Null);
        }

        // Creating an existing name conflicts; deleting hides it.
        using (var again = await admin.PostAsJsonAsync("/api/v1/workflows", new { yaml = Workflows.Hello }))
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        using (var del = await admin.DeleteAsync("/api/v1/workflows/hello"))
            Assert.That(del.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        using (var gone = await viewer.GetAsync("/api/v1/workflows/hello"))
            Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Validate_ReportsErrorsWithPositions_WithoutStoring()
    {
        await using var server = await ServerHarness.StartAsync();
        using var viewer = server.As("vera", "viewer");
        using var response = await viewer.PostAsJsonAsync("/api/v1/workflows/validate", new { yaml = "name: x\nsteps:\n  - id: a\n    uses: log\n    with: { nope: 1 }\n" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(body["valid"]!.GetValue<bool>(), Is.False);
        Assert.That(body["errors"]!.AsArray().Select(e => e!["line"]!.GetValue<int>()), Has.Member(5).Or.Member(3));
        using var missing = await viewer.PostAsJsonAsync("/api/v1/workflows/validate", new { text = "x" });
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["errors"]!["yaml"], Is.Not.Null);
        using var list = await viewer.GetAsync("/api/v1/workflows");
        Assert.That(JsonNode.Parse(await list.Content.ReadAsStringAsync())!["items"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task Runs_StartListShowItemsAttemptsLogs_OnRealWorkers()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Hello);
        await server.StartWorkersAsync();

        using var op = server.As("olga", "operator");
        using (var badParam = await op.PostAsJsonAsync("/api/v1/runs", new { workflow = "hello", @params = new { count = "many" } }))
        {
            var problem = JsonNode.Parse(await badParam.Content.ReadAsStringAsync())!;
            Assert.That(badParam.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToJsonString());
            Assert.That(problem["detail"]!.GetValue<string>(), Does.Contain("count"));
        }
        using (var unknown = await op.PostAsJsonAsync("/api/v1/runs", new { workflow = "nope" }))
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["errors"]!["workflow"], Is.Not.Null);
        }

        var id = await server.StartRunAsync("hello", "olga", new { count = 3 });
        var run = await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the run to succeed");
        Assert.That(run["startedBy"]!.GetValue<string>(), Is.EqualTo("olga"));
        Assert.That(run["version"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(run["params"]!["count"]!.GetValue<int>(), Is.EqualTo(3));
        var greet = run["steps"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == "greet")!;
        Assert.That(greet["needs"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "numbers" }));
        Assert.That(greet["items"]!["total"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(greet["items"]!["succeeded"]!.GetValue<int>(), Is.EqualTo(3));

        using var viewer = server.As("vera", "viewer");
        var page1 = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/greet/items?limit=2");
        Assert.That(page1["items"]!.AsArray().Select(i => i!["index"]!.GetValue<int>()), Is.EqualTo(new[] { 0, 1 }));
        var page2 = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/greet/items?limit=2&cursor={page1["nextCursor"]!.GetValue<string>()}");
        Assert.That(page2["items"]!.AsArray().Select(i => i!["index"]!.GetValue<int>()), Is.EqualTo(new[] { 2 }));
        Assert.That(page2["nextCursor"], Is.Null);

        var attempts = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/numbers/attempts");
        Assert.That(attempts["items"]!.AsArray().Single()!["state"]!.GetValue<string>(), Is.EqualTo("succeeded"));
        var logs = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/greet/logs?item=1");
        Assert.That(logs["lines"]!.AsArray().Select(l => l!["message"]!.GetValue<string>()), Has.Some.Contains("hello #1"));

        // Paging through runs with a cursor, and filters.
        for (var i = 0; i < 2; i++) await server.StartRunAsync("hello", "olga");
        var first = await server.GetJsonAsync(viewer, "/api/v1/runs?limit=2&workflow=hello");
        var second = await server.GetJsonAsync(viewer, $"/api/v1/runs?limit=2&workflow=hello&cursor={first["nextCursor"]!.GetValue<string>()}");
        var ids = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(r => r!["id"]!.GetValue<string>()).ToList();
        Assert.That(ids, Has.Count.EqualTo(3).And.Unique);
        Assert.That(ids, Has.Member(id.ToString()));
        using (var badState = await viewer.GetAsync("/api/v1/runs?state=sleeping"))
        {
            Assert.That(badState.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(JsonNode.Parse(await badState.Content.ReadAsStringAsync())!["errors"]!["state"], Is.Not.Null);
        }
        using (var badLimit = await viewer.GetAsync("/api/v1/runs?limit=0"))
            Assert.That(JsonNode.Parse(await badLimit.Content.ReadAsStringAsync())!["errors"]!["limit"], Is.Not.Null);
        using (var badCursor = await viewer.GetAsync("/api/v1/runs?cursor=zzz"))
            Assert.That(JsonNode.Parse(await badCursor.Content.ReadAsStringAsync())!["errors"]!["cursor"], Is.Not.Null);
    }

    [Test]
    public async Task FailedRun_IsRetriedAndCancelled_ThroughTheApi()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Failing);
        await server.StartWorkersAsync();
        var id = await server.StartRunAsync("failing", "olga");
        var run = await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "failed", "the run to fail");
        Assert.That(run["steps"]![0]!["error"]!.GetValue<string>(), Does.Contain("it broke"));

        using var viewer = server.As("vera", "viewer");
        var failed = await server.GetJsonAsync(viewer, "/api/v1/attempts?state=failed");
        Assert.That(failed["items"]!.AsArray().Select(a => a!["runId"]!.GetValue<string>()), Has.Member(id.ToString()));

        using var op = server.As("olga", "operator");
        using (var retry = await op.PostAsync($"/api/v1/runs/{id}/steps/boom/retry", null))
            Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retry.Content.ReadAsStringAsync());
        await server.WaitForRunAsync(id, r => r["steps"]![0]!["attempts"]!.GetValue<int>() >= 2 && r["state"]!.GetValue<string>() == "failed",
            "the retried run to fail again");
        using (var cancel = await op.PostAsync($"/api/v1/runs/{id}/cancel", null))
            Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.Conflict).Or.EqualTo(HttpStatusCode.Accepted), "a finished run cannot be cancelled");
        using (var missing = await op.PostAsync($"/api/v1/runs/{Guid.NewGuid()}/cancel", null))
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
