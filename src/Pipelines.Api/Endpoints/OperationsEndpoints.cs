using Pipelines.Core.Activities;
using Pipelines.Engine.Storage;

namespace Pipelines.Api.Endpoints;

/// <summary>Schedules, event triggers, workers, queues, attempts, the activity catalog, and the health probes.</summary>
public static class OperationsEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/schedules", async (IRunStore engine, CancellationToken ct) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. (await engine.ListSchedulesAsync(ct)).Select(s => (JsonNode?)new JsonObject
            {
                ["workflow"] = s.Workflow, ["cron"] = s.Cron, ["timezone"] = s.TimeZone, ["catchUp"] = s.CatchUp,
                ["maxConcurrentRuns"] = s.MaxConcurrentRuns, ["paused"] = !s.Enabled, ["nextFire"] = s.NextFireAt, ["lastFire"] = s.LastFireAt,
            })]),
            ["nextCursor"] = null,
        })).Requires(Role.Viewer).WithName("listSchedules");

        // Event triggers (on:), registered by the same sync as schedules.
        api.MapGet("/triggers", async (IRunStore engine, CancellationToken ct) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. (await engine.ListTriggersAsync(ct)).Select(t => (JsonNode?)new JsonObject
            {
                ["workflow"] = t.Workflow, ["on"] = t.Kind, ["source"] = t.Source,
                ["window"] = t.Window is { } w ? Pipelines.Core.Definitions.Durations.Format(w) : null, ["enabled"] = t.Enabled, ["since"] = t.Since,
                ["events"] = t.Events, ["runsStarted"] = t.RunsStarted, ["lastEventAt"] = t.LastEventAt, ["lastRunId"] = t.LastRunId,
            })]),
            ["nextCursor"] = null,
        })).Requires(Role.Viewer).WithName("listTriggers");

        api.MapPost("/schedules/{workflow}/pause", (string workflow, NpgsqlDataSource db, CancellationToken ct) => SetPaused(db, workflow, true, ct))
            .Requires(Role.Admin).WithName("pauseSchedule");
        api.MapPost("/schedules/{workflow}/resume", (string workflow, NpgsqlDataSource db, CancellationToken ct) => SetPaused(db, workflow, false, ct))
            .Requires(Role.Admin).WithName("resumeSchedule");

        api.MapPost("/schedules/{workflow}/fire", async (string workflow, HttpContext http, IRunStore engine, NpgsqlDataSource db,
            DefinitionCache definitions, CancellationToken ct) =>
        {
            var rows = await Sql.ListAsync(db, """
                SELECT s.workflow_version_id, v.source_text, v.source_path, s.params::text AS params
                FROM schedules s JOIN workflow_versions v ON v.id = s.workflow_version_id
                WHERE s.workflow_name = @w
                """, r => (r.Get<long>("workflow_version_id"), r.Get<string>("source_text"), r.Get<string>("source_path"), r.Get<string>("params")), ct, Sql.Text("w", workflow));
            if (rows.Count == 0) return Problems.NotFound($"no schedule for workflow '{workflow}'");
            var (versionId, yaml, path, parameters) = rows[0];
            var definition = definitions.Get(versionId, yaml, path);
            if (definition is null) return Problems.Conflict($"the scheduled version of '{workflow}' no longer parses");
            var bound = Pipelines.Core.Definitions.ParameterBinder.Bind(definition, (JsonObject)JsonNode.Parse(parameters)!);
            var id = await engine.SubmitRunAsync(new Pipelines.Engine.Model.SubmitRun(definition, bound, http.User.Name()), ct);
            return Results.Created($"/api/v1/runs/{id}", new JsonObject { ["runId"] = id });
        }).Requires(Role.Operator).WithName("fireSchedule");

        api.MapGet("/workers", async (ReadStore reads, CancellationToken ct) =>
        {
            var leases = (await reads.LeasesAsync(ct)).ToLookup(l => l.Worker);
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. (await reads.WorkersAsync(ct)).Select(w => (JsonNode?)new JsonObject
                {
                    ["id"] = w.Id, ["host"] = w.Host, ["pid"] = w.Pid,
                    ["queues"] = new JsonArray([.. w.Queues.Select(q => (JsonNode?)JsonValue.Create(q))]),
                    ["concurrency"] = w.Concurrency, ["startedAt"] = w.StartedAt, ["heartbeatAt"] = w.HeartbeatAt, ["stoppedAt"] = w.StoppedAt,
                    ["leases"] = new JsonArray([.. leases[w.Id].Select(l => (JsonNode?)new JsonObject
                    {
                        ["runId"] = l.RunId, ["step"] = l.Step, ["item"] = l.Item, ["attempt"] = l.Attempt, ["expiresAt"] = l.ExpiresAt,
                    })]),
                })]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Viewer).WithName("listWorkers");

        api.MapGet("/queues", async (ReadStore reads, CancellationToken ct) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. (await reads.QueuesAsync(ct)).Select(q => (JsonNode?)new JsonObject
            {
                ["queue"] = q.Queue, ["available"] = q.Available, ["running"] = q.Running, ["failed"] = q.Failed,
            })]),
            ["nextCursor"] = null,
        })).Requires(Role.Viewer).WithName("listQueues");

        api.MapGet("/attempts", async (HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error)) return error!;
            var state = RunEndpoints.NullIfEmpty(http.Request.Query["state"]) ?? "running";
            if (state is not ("running" or "failed")) return Problems.Field("state", $"expected 'running' or 'failed', got '{Requests.Clip(state)}'");
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. (await reads.AttemptListAsync(state, limit, ct)).Select(a => (JsonNode?)new JsonObject
                {
                    ["runId"] = a.RunId, ["workflow"] = a.Workflow, ["step"] = a.Step, ["item"] = a.Item, ["attempt"] = a.Attempt,
                    ["worker"] = a.Worker, ["startedAt"] = a.StartedAt, ["finishedAt"] = a.FinishedAt, ["state"] = a.State, ["error"] = a.Error,
                })]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Viewer).WithName("listAttempts");

        api.MapGet("/activities", (ActivityRegistry registry) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. registry.All.OrderBy(a => a.Kind).ThenBy(a => a.Version).Select(a => (JsonNode?)new JsonObject
            {
                ["kind"] = a.Kind, ["version"] = a.Version, ["description"] = a.Description,
                ["inputSchema"] = a.InputSchema.DeepClone(), ["outputSchema"] = a.OutputSchema.DeepClone(),
                ["outputs"] = new JsonArray([.. ((a.OutputSchema["properties"] as JsonObject) ?? new JsonObject()).Select(p => (JsonNode?)JsonValue.Create(p.Key))]),
            })]),
            ["nextCursor"] = null,
        })).Requires(Role.Viewer).WithName("listActivities");

        api.MapGet("/workflow-schema", () =>
        {
            var path = SchemaPath();
            return path is null ? Problems.NotFound("the workflow JSON Schema is not installed with this server") : Results.File(path, "application/schema+json");
        }).Requires(Role.Viewer).WithName("getWorkflowSchema");
    }

    private static async Task<IResult> SetPaused(NpgsqlDataSource db, string workflow, bool paused, CancellationToken ct)
    {
        var n = await Sql.ExecAsync(db, "UPDATE schedules SET enabled = @enabled WHERE workflow_name = @w", ct,
            new NpgsqlParameter("enabled", !paused), Sql.Text("w", workflow));
        return n == 0 ? Problems.NotFound($"no schedule for workflow '{workflow}'") : Results.Json(new JsonObject { ["workflow"] = workflow, ["paused"] = paused });
    }

    /// <summary>The schema shipped next to the server (copied at build) or in the repository's workflows/ folder.</summary>
    private static string? SchemaPath()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "workflow.schema.json");
        if (File.Exists(local)) return local;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "workflows", "workflow.schema.json");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
