using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Storage;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/workflows</c>: list, read (YAML, graph, errors), validate, create, update with history, diff, delete.</summary>
public static class WorkflowEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/workflows", async (WorkflowStore workflows, IRunStore engine, CancellationToken ct) =>
        {
            var schedules = (await engine.ListSchedulesAsync(ct)).ToDictionary(s => s.Workflow);
            var items = new JsonArray();
            foreach (var w in await workflows.ListAsync(ct))
            {
                var o = new JsonObject
                {
                    ["name"] = w.Name,
                    ["version"] = w.Version,
                    ["description"] = Description(w.Yaml, w.Name),
                    ["updatedAt"] = w.UpdatedAt,
                    ["updatedBy"] = w.UpdatedBy,
                };
                if (schedules.TryGetValue(w.Name, out var s))
                    o["schedule"] = new JsonObject { ["cron"] = s.Cron, ["timezone"] = s.TimeZone, ["paused"] = !s.Enabled, ["nextFire"] = s.NextFireAt };
                items.Add(o);
            }
            return Results.Json(new JsonObject { ["items"] = items, ["nextCursor"] = null });
        }).Requires(Role.Viewer).WithName("listWorkflows");

        api.MapGet("/workflows/{name}", async (string name, WorkflowStore workflows, ActivityRegistry registry, CancellationToken ct) =>
        {
            var w = await workflows.GetAsync(name, ct);
            if (w is null) return Problems.NotFound($"workflow '{name}' not found");
            var (d, errors) = WorkflowGraph.Check(w.Yaml, name + ".yaml", registry);
            return Results.Json(new JsonObject
            {
                ["name"] = w.Name,
                ["version"] = w.Version,
                ["description"] = d?.Description,
                ["yaml"] = w.Yaml,
                ["graph"] = d is null ? null : WorkflowGraph.Of(d),
                ["errors"] = WorkflowGraph.Errors(errors),
                ["updatedAt"] = w.UpdatedAt,
                ["updatedBy"] = w.UpdatedBy,
            });
        }).Requires(Role.Viewer).WithName("getWorkflow");

        api.MapPost("/workflows/validate", async (HttpContext http, ActivityRegistry registry) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "yaml", true, out var yaml, out error)) return error!;
            var (d, errors) = WorkflowGraph.Check(yaml!, "workflow.yaml", registry);
            var result = new JsonObject { ["valid"] = errors.Count == 0, ["errors"] = WorkflowGraph.Errors(errors) };
            if (d is not null) result["graph"] = WorkflowGraph.Of(d);
            return Results.Json(result);
        }).Requires(Role.Viewer).WithName("validateWorkflow");

        api.MapPost("/workflows", async (HttpContext http, WorkflowStore workflows, ActivityRegistry registry, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "yaml", true, out var yaml, out error)) return error!;
            if (!Requests.String(body!, "name", false, out var name, out error)) return error!;
            if (!Requests.String(body!, "comment", false, out var comment, out error)) return error!;
            var (d, problem) = Checked(yaml!, name, registry);
            if (problem is not null) return problem;
            var revision = await workflows.SaveAsync(d!, http.User.Name(), comment, create: true, ct);
            if (revision is null) return Problems.Conflict($"workflow '{d!.Name}' already exists; update it with PUT /api/v1/workflows/{d.Name}");
            return Results.Created($"/api/v1/workflows/{d!.Name}", new JsonObject { ["name"] = d.Name, ["version"] = revision });
        }).Requires(Role.Admin).WithName("createWorkflow");

        api.MapPut("/workflows/{name}", async (string name, HttpContext http, WorkflowStore workflows, ActivityRegistry registry, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "yaml", true, out var yaml, out error)) return error!;
            if (!Requests.String(body!, "comment", false, out var comment, out error)) return error!;
            var (d, problem) = Checked(yaml!, name, registry);
            if (problem is not null) return problem;
            var revision = await workflows.SaveAsync(d!, http.User.Name(), comment, create: false, ct);
            if (revision is null) return Problems.NotFound($"workflow '{name}' not found; create it with POST /api/v1/workflows");
            return Results.Json(new JsonObject { ["name"] = d!.Name, ["version"] = revision });
        }).Requires(Role.Admin).WithName("updateWorkflow");

        api.MapDelete("/workflows/{name}", async (string name, HttpContext http, WorkflowStore workflows, CancellationToken ct) =>
            await workflows.DeleteAsync(name, http.User.Name(), ct) ? Results.NoContent() : Problems.NotFound($"workflow '{name}' not found"))
            .Requires(Role.Admin).WithName("deleteWorkflow");

        api.MapGet("/workflows/{name}/versions", async (string name, WorkflowStore workflows, CancellationToken ct) =>
        {
            var revisions = await workflows.RevisionsAsync(name, ct);
            if (revisions.Count == 0) return Problems.NotFound($"workflow '{name}' not found");
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. revisions.Select(r => (JsonNode?)new JsonObject
                {
                    ["version"] = r.Version, ["createdAt"] = r.CreatedAt, ["createdBy"] = r.CreatedBy, ["comment"] = r.Comment,
                })]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Viewer).WithName("listWorkflowVersions");

        api.MapGet("/workflows/{name}/versions/{version:int}", async (string name, int version, WorkflowStore workflows, CancellationToken ct) =>
        {
            var r = (await workflows.RevisionsAsync(name, ct)).FirstOrDefault(x => x.Version == version);
            return r is null ? Problems.NotFound($"workflow '{name}' has no version {version}")
                : Results.Json(new JsonObject { ["version"] = r.Version, ["yaml"] = r.Yaml, ["createdAt"] = r.CreatedAt, ["createdBy"] = r.CreatedBy, ["comment"] = r.Comment });
        }).Requires(Role.Viewer).WithName("getWorkflowVersion");

        api.MapGet("/workflows/{name}/diff", async (string name, HttpContext http, WorkflowStore workflows, CancellationToken ct) =>
        {
            var revisions = await workflows.RevisionsAsync(name, ct);
            if (revisions.Count == 0) return Problems.NotFound($"workflow '{name}' not found");
            WorkflowRevision? Pick(string field, out IResult? problem)
            {
                problem = null;
                var text = http.Request.Query[field].ToString();
                if (!int.TryParse(text, out var v)) { problem = Problems.Field(field, $"expected a version number, got '{Requests.Clip(text)}'"); return null; }
                var r = revisions.FirstOrDefault(x => x.Version == v);
                if (r is null) problem = Problems.Field(field, $"workflow '{name}' has no version {v}", StatusCodes.Status404NotFound);
                return r;
            }
            var from = Pick("from", out var p1);
            if (p1 is not null) return p1;
            var to = Pick("to", out var p2);
            if (p2 is not null) return p2;
            return Results.Json(new JsonObject { ["unifiedDiff"] = UnifiedDiff.Create(from!.Yaml, to!.Yaml, $"{name}@{from.Version}", $"{name}@{to.Version}") });
        }).Requires(Role.Viewer).WithName("diffWorkflowVersions");
    }

    /// <summary>A valid definition whose name matches the URL's (or the body's), or a 400 listing every error with its line and column.</summary>
    private static (WorkflowDefinition?, IResult?) Checked(string yaml, string? name, ActivityRegistry registry)
    {
        var (d, errors) = WorkflowGraph.Check(yaml, (name ?? "workflow") + ".yaml", registry);
        if (errors.Count > 0 || d is null)
            return (null, Results.Problem(statusCode: 400, title: "Invalid workflow",
                detail: string.Join("; ", errors.Take(5).Select(e => $"yaml:{e.Location.Line}:{e.Location.Column}: {e.Key}: {e.Message}")),
                extensions: new Dictionary<string, object?>
                {
                    ["errors"] = new Dictionary<string, string[]> { ["yaml"] = [.. errors.Select(e => $"{e.Location.Line}:{e.Location.Column}: {e.Key}: {e.Message}")] },
                    ["workflowErrors"] = WorkflowGraph.Errors(errors),
                }));
        if (name is not null && d.Name != name)
            return (null, Problems.Field("yaml", $"the workflow's name is '{d.Name}' but the request is for '{name}'"));
        return (d, null);
    }

    private static string? Description(string yaml, string name)
    {
        try { return WorkflowParser.Parse(yaml, name + ".yaml").Description; }
        catch (Pipelines.Core.Validation.WorkflowValidationException) { return null; }
    }
}
