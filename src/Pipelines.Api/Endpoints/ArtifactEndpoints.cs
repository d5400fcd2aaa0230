using System.Net.Http.Headers;
using Pipelines.Storage;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/artifacts</c>: list, metadata, streamed download with Range, lineage; a run's artifacts.</summary>
public static class ArtifactEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/artifacts", async (HttpContext http, IArtifactRegistry registry, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error, 50, 500)) return error!;
            Guid? run = null;
            if (RunEndpoints.NullIfEmpty(http.Request.Query["runId"]) is { } runText)
            {
                if (!Guid.TryParse(runText, out var r)) return Problems.Field("runId", "expected a run id");
                run = r;
            }
            var list = await registry.ListAsync(
                new ArtifactFilter(RunId: run, Kind: RunEndpoints.NullIfEmpty(http.Request.Query["kind"]), Limit: limit), ct);
            return Results.Json(new JsonObject { ["items"] = new JsonArray([.. list.Select(a => (JsonNode?)View(a))]), ["nextCursor"] = null });
        }).Requires(Role.Viewer).WithName("listArtifacts");

        api.MapGet("/runs/{id:guid}/artifacts", async (Guid id, IArtifactRegistry registry, CancellationToken ct) =>
        {
            var list = await registry.ListAsync(new ArtifactFilter(RunId: id, Limit: 500), ct);
            return Results.Json(new JsonObject { ["items"] = new JsonArray([.. list.Select(a => (JsonNode?)View(a))]), ["nextCursor"] = null });
        }).Requires(Role.Viewer).WithName("listRunArtifacts");

        api.MapGet("/artifacts/{id:guid}", async (Guid id, IArtifactRegistry registry, CancellationToken ct) =>
        {
            var a = await registry.GetAsync(id, ct);
            if (a is null) return Problems.NotFound($"artifact {id} not found");
            var view = View(a);
            view["consumers"] = new JsonArray([.. (await registry.ConsumersAsync(id, ct)).Select(c => (JsonNode?)new JsonObject
            {
                ["runId"] = c.RunId, ["step"] = c.StepId, ["item"] = c.ItemIndex, ["attempt"] = c.Attempt, ["input"] = c.InputName,
            })]);
            return Results.Json(view);
        }).Requires(Role.Viewer).WithName("getArtifact");

        api.MapGet("/artifacts/{id:guid}/content", async (Guid id, HttpContext http, IArtifactRegistry registry, ApiServerOptions options) =>
        {
            var ct = http.RequestAborted;
            var a = await registry.GetAsync(id, ct);
            if (a is null) return Problems.NotFound($"artifact {id} not found");
            if (a.DeletedAt is not null) return Problems.Status(StatusCodes.Status410Gone, "Gone", $"artifact {id} was removed by artifact collection at {a.DeletedAt:u}");
            if (options.Artifacts is not { } store) return Problems.Status(StatusCodes.Status503ServiceUnavailable, "Unavailable", "no artifact store is configured");
            if (ArtifactStores.KeyOf(store, a.Uri) is not { } key)
                return Problems.Status(StatusCodes.Status409Conflict, "Conflict", $"artifact {id} lives in another store than this server's");
            ByteRange? range = null;
            var status = StatusCodes.Status200OK;
            long length = a.Size;
            if (http.Request.Headers.Range.ToString() is { Length: > 0 } header)
            {
                if (!RangeHeaderValue.TryParse(header, out var parsed) || parsed.Unit != "bytes" || parsed.Ranges.Count != 1)
                    return Problems.Field("Range", "expected one byte range such as bytes=0-1023", StatusCodes.Status416RangeNotSatisfiable);
                var r = parsed.Ranges.First();
                long from, to;
                if (r.From is null) { from = Math.Max(0, a.Size - (r.To ?? 0)); to = a.Size - 1; }
                else { from = r.From.Value; to = Math.Min(r.To ?? a.Size - 1, a.Size - 1); }
                if (from >= a.Size || from > to)
                {
                    http.Response.Headers.ContentRange = $"bytes */{a.Size}";
                    return Problems.Field("Range", $"outside the artifact's {a.Size} bytes", StatusCodes.Status416RangeNotSatisfiable);
                }
                range = new ByteRange(from, to - from + 1);
                length = to - from + 1;
                status = StatusCodes.Status206PartialContent;
                http.Response.Headers.ContentRange = $"bytes {from}-{to}/{a.Size}";
            }
            var stream = await store.OpenReadAsync(key, range, ct);
            http.Response.StatusCode = status;
            http.Response.Headers.AcceptRanges = "bytes";
            http.Response.Headers.ETag = $"\"{a.Sha256}\"";
            http.Response.ContentLength = length;
            return Results.Stream(stream, a.MediaType, fileDownloadName: a.Name, enableRangeProcessing: false);
        }).Requires(Role.Viewer).WithName("downloadArtifact");

        api.MapGet("/artifacts/{id:guid}/lineage", async (Guid id, IArtifactRegistry registry, CancellationToken ct) =>
        {
            var a = await registry.GetAsync(id, ct);
            if (a is null) return Problems.NotFound($"artifact {id} not found");
            // Steps are identified by step run and attempt, so an artifact's producer and its upstream consumers meet.
            var nodes = new Dictionary<string, JsonObject>();
            var edges = new JsonArray();
            void Node(string nid, string kind, string label)
            {
                if (!nodes.TryAdd(nid, new JsonObject { ["id"] = nid, ["kind"] = kind, ["label"] = label }) && kind == "step" && label.Contains('.'))
                    nodes[nid]["label"] = label;
            }
            static string StepId(Guid stepRun, int attempt) => $"{stepRun}#{attempt}";
            void Produced(ArtifactRecord x)
            {
                Node(x.Id.ToString(), "artifact", x.Name ?? x.Uri);
                if (x.Producer is not { } p) return;
                var step = StepId(p.StepRunId, p.Attempt);
                Node(step, "step", $"{p.Workflow}.{p.StepId}{(p.ItemIndex is { } i ? $"[{i}]" : "")} ({p.ActivityKind}@{p.ActivityVersion})");
                edges.Add(new JsonObject { ["from"] = step, ["to"] = x.Id.ToString(), ["label"] = "produced" });
            }
            Produced(a);
            foreach (var u in await registry.UpstreamAsync(id, ct))
            {
                Produced(u.Artifact);
                var consumer = StepId(u.ConsumedBy.StepRunId, u.ConsumedBy.Attempt);
                Node(consumer, "step", "step");
                edges.Add(new JsonObject { ["from"] = u.Artifact.Id.ToString(), ["to"] = consumer, ["label"] = u.InputName });
            }
            foreach (var c in await registry.ConsumersAsync(id, ct))
            {
                var consumer = StepId(c.StepRunId, c.Attempt);
                Node(consumer, "step", $"{c.Workflow}.{c.StepId}{(c.ItemIndex is { } i ? $"[{i}]" : "")} ({c.ActivityKind}@{c.ActivityVersion})");
                edges.Add(new JsonObject { ["from"] = a.Id.ToString(), ["to"] = consumer, ["label"] = c.InputName });
            }
            return Results.Json(new JsonObject { ["nodes"] = new JsonArray([.. nodes.Values.Select(n => (JsonNode?)n)]), ["edges"] = edges });
        }).Requires(Role.Viewer).WithName("getArtifactLineage");
    }

    private static JsonObject View(ArtifactRecord a) => new()
    {
        ["id"] = a.Id,
        ["kind"] = a.Kind,
        ["name"] = a.Name,
        ["uri"] = a.Uri,
        ["hash"] = a.Sha256,
        ["size"] = a.Size,
        ["mediaType"] = a.MediaType,
        ["rows"] = a.RowCount,
        ["schema"] = a.SchemaJson is null ? null : JsonNode.Parse(a.SchemaJson),
        ["producedBy"] = a.Producer is { } p ? new JsonObject { ["runId"] = p.RunId, ["step"] = p.StepId, ["item"] = p.ItemIndex, ["attempt"] = p.Attempt, ["workflow"] = p.Workflow } : null,
        ["createdAt"] = a.CreatedAt,
        ["deletedAt"] = a.DeletedAt,
    };
}
