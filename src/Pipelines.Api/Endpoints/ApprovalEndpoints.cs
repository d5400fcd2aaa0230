using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/approvals</c>: waiting ones (those I may decide first), decided ones, the badge count, decisions.</summary>
public static class ApprovalEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/approvals", async (HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error, 100, 500)) return error!;
            var state = RunEndpoints.NullIfEmpty(http.Request.Query["state"]) ?? "waiting";
            if (state is not ("waiting" or "decided")) return Problems.Field("state", $"expected 'waiting' or 'decided', got '{Requests.Clip(state)}'");
            var rows = await reads.ApprovalsAsync(state == "waiting", limit, ct);
            var views = rows.Select(r => (Row: r, WhyNot: WhyNot(http, r))).ToList();
            var reports = await reads.EvaluationReportsAsync([.. rows.Select(r => r.RunId).Distinct()], ct);
            // Those I can decide first, each group oldest first (as listed).
            if (state == "waiting") views = [.. views.OrderBy(v => v.WhyNot is null ? 0 : 1)];
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. views.Select(v => (JsonNode?)View(v.Row, v.WhyNot, ReportOf(reports, v.Row.RunId)))]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Viewer).WithName("listApprovals");

        api.MapGet("/approvals/count", async (HttpContext http, ReadStore reads, CancellationToken ct) =>
        {
            var rows = await reads.ApprovalsAsync(true, 1000, ct);
            return Results.Json(new JsonObject { ["waiting"] = rows.Count, ["mine"] = rows.Count(r => WhyNot(http, r) is null) });
        }).Requires(Role.Viewer).WithName("countApprovals");

        api.MapGet("/approvals/{id:guid}", async (Guid id, HttpContext http, ReadStore reads, CancellationToken ct) =>
            await reads.ApprovalAsync(id, ct) is { } row
                ? Results.Json(View(row, WhyNot(http, row), ReportOf(await reads.EvaluationReportsAsync([row.RunId], ct), row.RunId)))
                : Problems.NotFound($"approval {id} not found"))
            .Requires(Role.Viewer).WithName("getApproval");

        api.MapPost("/approvals/{id:guid}/decision", async (Guid id, HttpContext http, ReadStore reads, IRunStore engine, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.Bool(body!, "approved", out var approved, out error)) return error!;
            if (!Requests.String(body!, "comment", false, out var comment, out error)) return error!;
            if (comment is { Length: > 4000 }) return Problems.Field("comment", "longer than 4000 characters");
            var row = await reads.ApprovalAsync(id, ct);
            if (row is null) return Problems.NotFound($"approval {id} not found");
            if (row.Decision is not null) return Problems.Conflict($"approval {id} was already decided ({row.Decision} by {row.DecidedBy})");
            if (WhyNot(http, row) is { } why) return Problems.Forbidden(why);
            return await RunEndpoints.Guarded(
                () => engine.DecideAsync(row.RunId, row.Step, approved ? ApprovalDecision.Approve : ApprovalDecision.Reject, http.User.Name(), comment, ct),
                () => Results.Json(new JsonObject { ["id"] = id, ["approved"] = approved, ["by"] = http.User.Name() }));
        }).Requires(Role.Approver).WithName("decideApproval");
    }

    private static string? WhyNot(HttpContext http, ApprovalRow r) =>
        ApprovalPolicy.WhyNot(http.User.Name(), http.User.RolesOf(), r.RequestedBy, r.AllowSelfApproval, r.Approvers,
            r.Decision is null && r.StepState == "waiting");

    private static JsonObject View(ApprovalRow r, string? whyNot, Guid? report)
    {
        var o = new JsonObject
        {
            ["id"] = r.Id,
            ["runId"] = r.RunId,
            ["workflow"] = r.Workflow,
            ["step"] = r.Step,
            ["requestedAt"] = r.RequestedAt,
            ["requestedBy"] = r.RequestedBy,
            ["expiresAt"] = r.ExpiresAt,
            ["canDecide"] = whyNot is null,
            ["whyNot"] = whyNot,
            ["summary"] = r.Summary?.DeepClone(),
            ["candidate"] = new JsonObject { ["metrics"] = ApprovalComparison.Candidate(r.Summary) },
            ["champion"] = ApprovalComparison.Champion(r.Summary) is { } champion ? new JsonObject { ["metrics"] = champion } : null,
            ["primaryMetric"] = ApprovalComparison.PrimaryMetric(r.Summary),
            ["slices"] = new JsonArray([.. ApprovalComparison.Slices(r.Summary).Select(x => (JsonNode?)new JsonObject
            {
                ["column"] = x.Column, ["value"] = x.Value, ["rows"] = x.Rows, ["candidate"] = x.Candidate, ["champion"] = x.Champion,
                ["change"] = x.Change, ["worse"] = x.Worse,
            })]),
            ["reportArtifactId"] = report,
        };
        if (r.Decision is not null)
            o["decision"] = new JsonObject { ["approved"] = r.Decision == "approved", ["state"] = r.Decision, ["by"] = r.DecidedBy, ["at"] = r.DecidedAt, ["comment"] = r.Comment };
        return o;
    }

    // Not GetValueOrDefault: a run without a report has none, not the empty id.
    private static Guid? ReportOf(Dictionary<Guid, Guid> reports, Guid run) => reports.TryGetValue(run, out var id) ? id : null;
}
