using System.Text;
using Pipelines.Api.Events;

namespace Pipelines.Api.Endpoints;

/// <summary>
/// <c>GET /api/v1/events</c>: Server-Sent Events of run, step, item, log and approval changes. A reconnect with
/// <c>Last-Event-ID</c> (or <c>?lastEventId=</c>) first replays what was missed from the events table, then goes live.
/// </summary>
public static class EventEndpoints
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/events", async (HttpContext http, EventHub hub, NpgsqlDataSource db) =>
        {
            Guid? runId = null;
            var runText = RunEndpoints.NullIfEmpty(http.Request.Query["runId"]);
            if (runText is not null)
            {
                if (!Guid.TryParse(runText, out var r)) { await Problems.Field("runId", "expected a run id").ExecuteAsync(http); return; }
                runId = r;
            }
            long? resume = null;
            var lastText = http.Request.Headers["Last-Event-ID"].ToString();
            var field = "Last-Event-ID";
            if (lastText.Length == 0) { lastText = http.Request.Query["lastEventId"].ToString(); field = "lastEventId"; }
            if (lastText.Length > 0)
            {
                if (!long.TryParse(lastText, out var l) || l < 0) { await Problems.Field(field, "expected an event id").ExecuteAsync(http); return; }
                resume = l;
            }
            var ct = http.RequestAborted;
            await hub.Ready.WaitAsync(ct);
            var (reader, since, unsubscribe) = hub.Subscribe();
            using (unsubscribe)
            {
                http.Response.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                http.Response.Headers["X-Accel-Buffering"] = "no";
                await http.Response.WriteAsync(": connected\nretry: 1000\n\n", ct);
                await http.Response.Body.FlushAsync(ct);
                var sent = since;
                if (resume is { } from && from < since)
                {
                    // Replay what the client missed, up to where the live subscription starts; then go live.
                    await using var conn = await db.OpenConnectionAsync(ct);
                    var cursor = from;
                    while (cursor < since)
                    {
                        var batch = await EventHub.ReadAsync(conn, cursor, runId, 1000, ct);
                        if (batch.Count == 0) break;
                        foreach (var e in batch.Where(e => e.Id <= since)) await WriteAsync(http, e, ct);
                        cursor = batch[^1].Id;
                        if (batch.Count < 1000) break;
                    }
                    await http.Response.Body.FlushAsync(ct);
                }
                else if (resume is { } r && r > since) sent = r;
                while (!ct.IsCancellationRequested)
                {
                    using var beat = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    beat.CancelAfter(Heartbeat);
                    try
                    {
                        if (!await reader.WaitToReadAsync(beat.Token)) return; // the hub ended this stream: the client resumes
                        while (reader.TryRead(out var e))
                        {
                            if (e.Id <= sent) continue;
                            sent = e.Id;
                            if (runId is not null && e.RunId != runId) continue;
                            await WriteAsync(http, e, ct);
                        }
                        await http.Response.Body.FlushAsync(ct);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        await http.Response.WriteAsync(": heartbeat\n\n", ct);
                        await http.Response.Body.FlushAsync(ct);
                    }
                }
            }
        }).Requires(Role.Viewer).WithName("streamEvents");
    }

    private static Task WriteAsync(HttpContext http, ApiEvent e, CancellationToken ct) =>
        http.Response.WriteAsync(new StringBuilder().Append("id: ").Append(e.Id).Append("\nevent: ").Append(e.Kind)
            .Append("\ndata: ").Append(e.Data).Append("\n\n").ToString(), ct);
}
