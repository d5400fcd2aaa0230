using System.Collections.Concurrent;
using System.Text.Json;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/runs</c>: start, list, inspect (steps, items, attempts, logs), cancel, retry.</summary>
public static class RunEndpoints
{
    private static readonly string[] RunStates = [.. Enum.GetValues<RunState>().Select(s => s.Db())];

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/runs", async (HttpContext http, ReadStore reads, RunListReads lists, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error)) return error!;
            var state = NullIfEmpty(http.Request.Query["state"]);
            if (state is not null && !RunStates.Contains(state))
                return Problems.Field("state", $"unknown run state '{Requests.Clip(state)}'; expected one of {string.Join(", ", RunStates)}");
            (DateTimeOffset, Guid)? after = null;
            var cursor = NullIfEmpty(http.Request.Query["cursor"]);
            if (cursor is not null)
            {
                var parts = Cursor.Decode(cursor, 2);
                if (parts is null || !long.TryParse(parts[0], out var ticks) || !Guid.TryParse(parts[1], out var id))
                    return Problems.Field("cursor", "not a cursor from this API (use nextCursor from the previous page)");
                after = (new DateTimeOffset(ticks, TimeSpan.Zero), id);
            }
            var query = new RunListQuery(NullIfEmpty(http.Request.Query["workflow"]), state, limit, after);
            // Dashboards poll this: identical requests in flight share one query and one serialized page.
            var page = await lists.ReadAsync(query, shared => RunsPageAsync(reads, query, shared), ct);
            return Results.Bytes(page, "application/json; charset=utf-8");
        }).Requires(Role.Viewer).WithName("listRuns");

        api.MapPost("/runs", async (HttpContext http, WorkflowStore workflows, IRunStore engine, ActivityRegistry registry, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "workflow", true, out var name, out error)) return error!;
            int? version = null;
            if (body!["version"] is { } vn)
            {
                if (vn is JsonValue v && v.TryGetValue<int>(out var vi)) version = vi;
                else return Problems.Field("version", "expected a version number");
            }
            var parameters = body["params"] ?? new JsonObject();
            if (parameters is not JsonObject paramObject) return Problems.Field("params", "expected an object of parameter values");
            // paramsText: values as text, converted to the declared types as `pipelines run -p name=value` does (the remote CLI sends these).
            Dictionary<string, string>? paramsText = null;
            if (body["paramsText"] is { } textNode)
            {
                if (textNode is not JsonObject textObject) return Problems.Field("paramsText", "expected an object of text values");
                paramsText = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in textObject)
                {
                    if (v is not JsonValue tv || !tv.TryGetValue<string>(out var text)) return Problems.Field($"paramsText.{k}", "expected a string");
                    paramsText[k] = text;
                }
            }
            var revisions = await workflows.RevisionsAsync(name!, ct);
            if (revisions.Count == 0) return Problems.Field("workflow", $"workflow '{name}' not found", StatusCodes.Status404NotFound);
            var revision = version is null ? revisions[0] : revisions.FirstOrDefault(r => r.Version == version);
            if (revision is null) return Problems.Field("version", $"workflow '{name}' has no version {version}", StatusCodes.Status404NotFound);
            WorkflowDefinition definition;
            JsonObject bound;
            try
            {
                definition = WorkflowValidator.LoadText(revision.Yaml, name + ".yaml", registry);
                bound = paramsText is null || paramsText.Count == 0
                    ? ParameterBinder.Bind(definition, (JsonObject)paramObject.DeepClone())
                    : ParameterBinder.Bind(definition, paramsText);
            }
            catch (WorkflowValidationException e)
            {
                var errors = e.Errors.GroupBy(x => x.Key.StartsWith("params.", StringComparison.Ordinal) ? x.Key : x.Location.Line == 0 ? $"params.{x.Key}" : "workflow")
                    .ToDictionary(g => g.Key, g => g.Select(x => x.Message).ToArray());
                return Problems.Fields(errors, string.Join("; ", e.Errors.Select(x => x.ToString())));
            }
            var id = await engine.SubmitRunAsync(new SubmitRun(definition, bound, http.User.Name()), ct);
            // The request's span names the run it started, so a trace leads from the HTTP call to the run.
            System.Diagnostics.Activity.Current?.SetTag("pipelines.run_id", id.ToString());
            return Results.Created($"/api/v1/runs/{id}", new JsonObject { ["id"] = id });
        }).Requires(Role.Operator).WithName("startRun");

        api.MapGet("/runs/{id:guid}", async (Guid id, ReadStore reads, IRunStore engine, DefinitionCache definitions, CancellationToken ct) =>
        {
            var header = await reads.RunHeaderAsync(id, ct);
            var run = header is null ? null : await engine.GetRunAsync(id, ct);
            if (header is null || run is null) return Problems.NotFound($"run {id} not found");
            var definition = definitions.Get(header.VersionId, header.Yaml, header.Path);
            var top = run.Steps.Where(s => s.ItemIndex is null).ToList();
            var items = run.Steps.Where(s => s.ItemIndex is not null).GroupBy(s => s.StepId).ToDictionary(g => g.Key, g => g.ToList());
            var steps = new JsonArray();
            foreach (var s in top)
            {
                var step = new JsonObject
                {
                    ["id"] = s.StepId,
                    ["uses"] = s.Kind,
                    ["state"] = s.State.Db(),
                    ["attempts"] = s.Attempt,
                    ["cached"] = s.Cached,
                    ["startedAt"] = s.StartedAt,
                    ["finishedAt"] = s.FinalizedAt,
                    ["error"] = s.Error,
                    ["needs"] = new JsonArray([.. (definition?.FindStep(s.StepId)?.DependsOn ?? []).Select(n => (JsonNode?)JsonValue.Create(n))]),
                    ["outputs"] = s.Outputs?.DeepClone(),
                };
                if (items.TryGetValue(s.StepId, out var children) || s.ChildrenTotal is not null)
                {
                    children ??= [];
                    step["items"] = new JsonObject
                    {
                        ["total"] = s.ChildrenTotal ?? children.Count,
                        ["succeeded"] = children.Count(c => c.State == StepState.Succeeded),
                        ["failed"] = children.Count(c => c.State == StepState.Failed),
                        ["running"] = children.Count(c => c.State == StepState.Running),
                    };
                }
                steps.Add(step);
            }
            var outputs = new JsonObject();
            foreach (var s in top.Where(s => s.Outputs is not null)) outputs[s.StepId] = s.Outputs!.DeepClone();
            return Results.Json(new JsonObject
            {
                ["id"] = id,
                ["workflow"] = run.Run.Workflow,
                ["version"] = header.Revision,
                ["state"] = run.Run.State.Db(),
                ["params"] = run.Params.DeepClone(),
                ["startedBy"] = run.Run.CreatedBy,
                ["trigger"] = run.Run.Trigger,
                // Lineage of a run a declared trigger started: the event (triggering run, monitored batch or file).
                ["triggeredBy"] = run.TriggeredBy is { } t
                    ? new JsonObject
                    {
                        ["kind"] = t.Kind, ["source"] = t.Source, ["eventKey"] = t.EventKey, ["occurredAt"] = t.OccurredAt,
                        ["event"] = t.Event.DeepClone(), ["deduplicated"] = t.Deduplicated, ["summary"] = t.Describe(),
                    }
                    : null,
                ["createdAt"] = run.Run.CreatedAt,
                ["startedAt"] = run.StartedAt,
                ["finishedAt"] = run.Run.FinalizedAt,
                ["error"] = run.Run.Error,
                ["steps"] = steps,
                ["outputs"] = outputs,
                ["approvals"] = new JsonArray([.. run.Approvals.Select(a => (JsonNode?)new JsonObject
                {
                    ["id"] = a.StepRunId, ["step"] = a.StepId, ["requestedAt"] = a.RequestedAt, ["decision"] = a.Decision,
                    ["decidedBy"] = a.DecidedBy, ["decidedAt"] = a.DecidedAt, ["comment"] = a.Comment,
                })]),
            });
        }).Requires(Role.Viewer).WithName("getRun");

        api.MapGet("/runs/{id:guid}/steps/{step}/items", async (Guid id, string step, HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error)) return error!;
            var after = -1;
            var cursor = NullIfEmpty(http.Request.Query["cursor"]);
            if (cursor is not null && (Cursor.Decode(cursor, 1) is not { } parts || !int.TryParse(parts[0], out after)))
                return Problems.Field("cursor", "not a cursor from this API (use nextCursor from the previous page)");
            var sr = await reads.StepRunIdAsync(id, step, ct);
            if (sr is null) return Problems.NotFound($"run {id} has no step '{step}'");
            var rows = await reads.ItemsAsync(sr.Value, limit + 1, after, ct);
            var page = rows.Take(limit).ToList();
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. page.Select(r => (JsonNode?)new JsonObject
                {
                    ["index"] = r.Index, ["key"] = r.Key?.DeepClone(), ["state"] = r.State, ["attempts"] = r.Attempts, ["error"] = r.Error,
                })]),
                ["nextCursor"] = rows.Count > limit ? Cursor.Encode(page[^1].Index.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null,
            });
        }).Requires(Role.Viewer).WithName("listStepItems");

        api.MapGet("/runs/{id:guid}/steps/{step}/attempts", async (Guid id, string step, HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            var (sr, item, problem) = await StepAsync(id, step, http, reads, ct);
            if (problem is not null) return problem;
            var rows = await reads.AttemptsAsync(sr, item, ct);
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. rows.Select(a => (JsonNode?)new JsonObject
                {
                    ["attempt"] = a.Attempt, ["state"] = a.State, ["worker"] = a.Worker, ["startedAt"] = a.StartedAt,
                    ["finishedAt"] = a.FinishedAt, ["error"] = a.Error,
                })]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Viewer).WithName("listStepAttempts");

        api.MapGet("/runs/{id:guid}/steps/{step}/logs", async (Guid id, string step, HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            var (sr, item, problem) = await StepAsync(id, step, http, reads, ct);
            if (problem is not null) return problem;
            var rows = await reads.AttemptsAsync(sr, item, ct);
            var attemptText = NullIfEmpty(http.Request.Query["attempt"]);
            AttemptRow? attempt;
            if (attemptText is null) attempt = rows.LastOrDefault();
            else if (!int.TryParse(attemptText, out var n)) return Problems.Field("attempt", $"expected an attempt number, got '{Requests.Clip(attemptText)}'");
            else if ((attempt = rows.FirstOrDefault(a => a.Attempt == n)) is null)
                return Problems.Field("attempt", $"step '{step}' has no attempt {n}", StatusCodes.Status404NotFound);
            var lines = new JsonArray();
            if (attempt is not null)
                foreach (var line in attempt.Logs.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    lines.Add(new JsonObject { ["at"] = null, ["level"] = "info", ["message"] = line });
            return Results.Json(new JsonObject { ["attempt"] = attempt?.Attempt, ["lines"] = lines });
        }).Requires(Role.Viewer).WithName("getStepLogs");

        api.MapPost("/runs/{id:guid}/cancel", async (Guid id, HttpContext http, IRunStore engine, CancellationToken ct) =>
            await Guarded(() => engine.CancelRunAsync(id, http.User.Name(), ct), () => Results.Accepted($"/api/v1/runs/{id}", new JsonObject { ["id"] = id })))
            .Requires(Role.Operator).WithName("cancelRun");

        api.MapPost("/runs/{id:guid}/retry", async (Guid id, HttpContext http, IRunStore engine, CancellationToken ct) =>
            await Guarded(() => engine.RetryRunAsync(id, http.User.Name(), ct), () => Results.Accepted($"/api/v1/runs/{id}", new JsonObject { ["id"] = id })))
            .Requires(Role.Operator).WithName("retryRun");

        // The engine retries a run from all its unsuccessful steps at once; retrying one step means that, when it is one of them.
        api.MapPost("/runs/{id:guid}/steps/{step}/retry", async (Guid id, string step, HttpContext http, IRunStore engine, CancellationToken ct) =>
        {
            var run = await engine.GetRunAsync(id, ct);
            if (run is null) return Problems.NotFound($"run {id} not found");
            var s = run.Steps.FirstOrDefault(x => x.StepId == step && x.ItemIndex is null);
            if (s is null) return Problems.NotFound($"run {id} has no step '{step}'");
            if (s.State is not (StepState.Failed or StepState.Cancelled or StepState.Stopped or StepState.Skipped))
                return Problems.Conflict($"step '{step}' is {s.State.Db()}; only a failed, cancelled, stopped or skipped step can be retried");
            return await Guarded(() => engine.RetryRunAsync(id, http.User.Name(), ct), () => Results.Accepted($"/api/v1/runs/{id}", new JsonObject { ["id"] = id }));
        }).Requires(Role.Operator).WithName("retryStep");

        TriggerEndpoints.Map(api);
    }

    internal static async Task<IResult> Guarded(Func<Task> action, Func<IResult> ok)
    {
        try
        {
            await action();
            return ok();
        }
        catch (NotFoundException e) { return Problems.NotFound(e.Message); }
        catch (ConflictException e) { return Problems.Conflict(e.Message); }
        catch (PolicyException e) { return Problems.Forbidden(e.Message); }
    }

    private static async Task<(Guid StepRun, int? Item, IResult? Problem)> StepAsync(Guid id, string step, HttpContext http, ReadStore reads, CancellationToken ct)
    {
        int? item = null;
        var itemText = NullIfEmpty(http.Request.Query["item"]);
        if (itemText is not null)
        {
            if (!int.TryParse(itemText, out var i) || i < 0) return (default, null, Problems.Field("item", $"expected an item index, got '{Requests.Clip(itemText)}'"));
            item = i;
        }
        var sr = await reads.StepRunIdAsync(id, step, ct);
        return sr is null ? (default, null, Problems.NotFound($"run {id} has no step '{step}'")) : (sr.Value, item, null);
    }

    private static async Task<byte[]> RunsPageAsync(ReadStore reads, RunListQuery q, CancellationToken ct)
    {
        var rows = await reads.RunsAsync(q.Workflow, q.State, q.Limit + 1, q.After, ct);
        var page = rows.Take(q.Limit).ToList();
        var next = rows.Count > q.Limit ? Cursor.Encode(page[^1].CreatedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), page[^1].Id.ToString()) : null;
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["items"] = new JsonArray([.. page.Select(r => (JsonNode?)new JsonObject
            {
                ["id"] = r.Id, ["workflow"] = r.Workflow, ["state"] = r.State, ["startedBy"] = r.StartedBy, ["trigger"] = r.Trigger,
                ["createdAt"] = r.CreatedAt, ["startedAt"] = r.StartedAt, ["finishedAt"] = r.FinishedAt, ["error"] = r.Error,
            })]),
            ["nextCursor"] = next,
        }, JsonSerializerOptions.Web);
    }

    internal static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues v) => v.Count == 0 || string.IsNullOrEmpty(v[0]) ? null : v[0];
}

/// <summary>A page of the run list: every input of the query, so equal values ask the same question.</summary>
public readonly record struct RunListQuery(string? Workflow, string? State, int Limit, (DateTimeOffset At, Guid Id)? After);

/// <summary>Run-list pages being read, shared by identical requests in flight.</summary>
public sealed class RunListReads : ReadCoalescer<RunListQuery, byte[]>;

/// <summary>Parsed workflow versions by id: versions are immutable, so each is parsed once per server.</summary>
public sealed class DefinitionCache
{
    private readonly ConcurrentDictionary<long, WorkflowDefinition?> _byVersion = new();

    public WorkflowDefinition? Get(long versionId, string yaml, string path) => _byVersion.GetOrAdd(versionId, _ =>
    {
        try { return WorkflowParser.Parse(yaml, path); }
        catch (WorkflowValidationException) { return null; }
    });
}
