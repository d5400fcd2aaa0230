using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipelines.Api.Events;

public sealed record WebhookDelivery(long Id, string Url, string Event, string State, int Attempts, DateTimeOffset NextAt, int? LastStatus,
    string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, JsonNode Payload);

/// <summary>
/// Sends webhook events: it follows the live events (approval requested, run failed or stopped) and takes model events
/// from the API, records one delivery per endpoint and event (unique, so several servers never send twice), and posts
/// each with an HMAC signature, retrying failures with backoff. The delivery log is the table, readable via the API.
/// </summary>
public sealed class WebhookDispatcher(NpgsqlDataSource db, EventHub hub, ApiServerOptions options, ILogger<WebhookDispatcher> log) : BackgroundService
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly SemaphoreSlim _wake = new(0);

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (options.Webhooks.Count == 0) return;
        await hub.Ready.WaitAsync(ct);
        var (reader, _, unsubscribe) = hub.Subscribe();
        using (unsubscribe)
        {
            var follow = FollowAsync(reader, ct);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await DeliverDueAsync(ct);
                    await _wake.WaitAsync(TimeSpan.FromMilliseconds(500), ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                catch (NpgsqlException e)
                {
                    log.LogWarning("webhooks: database unavailable ({Message})", e.Message);
                    try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
                }
            }
            try { await follow; } catch (OperationCanceledException) { }
        }
    }

    private async Task FollowAsync(System.Threading.Channels.ChannelReader<ApiEvent> reader, CancellationToken ct)
    {
        await foreach (var e in reader.ReadAllAsync(ct))
        {
            var data = JsonNode.Parse(e.Data)!.AsObject();
            if (WebhookRules.EventFor(e.Kind, data) is not { } name) continue;
            try
            {
                var workflow = data["workflow"]?.GetValue<string>() ?? (e.RunId is { } run ? await WorkflowOfAsync(run, ct) : null);
                var payload = new JsonObject { ["event"] = name, ["workflow"] = workflow, ["eventId"] = e.Id, ["data"] = data.DeepClone() };
                await EnqueueAsync(name, $"event:{e.Id}", workflow, payload, ct);
            }
            catch (NpgsqlException ex)
            {
                log.LogWarning("webhooks: could not record {Event} ({Message})", name, ex.Message);
            }
        }
    }

    /// <summary>Records a delivery to every endpoint that wants this event; the key makes a repeated call a no-op.</summary>
    public async Task EnqueueAsync(string @event, string key, string? workflow, JsonObject payload, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var hook in options.Webhooks.Where(h => WebhookRules.Wants(h.Events, h.Workflow, @event, workflow)))
            await Sql.ExecAsync(db, """
                INSERT INTO webhook_deliveries (url, event_key, event, payload, state, next_at, created_at)
                VALUES (@url, @key, @event, @payload, 'pending', @now, @now) ON CONFLICT (url, event_key) DO NOTHING
                """, ct, Sql.Text("url", hook.Url), Sql.Text("key", key), Sql.Text("event", @event), Sql.Param("payload", payload), Sql.Time("now", now));
        _wake.Release();
    }

    private async Task<string?> WorkflowOfAsync(Guid run, CancellationToken ct) =>
        (await Sql.ListAsync(db, "SELECT workflow_name FROM runs WHERE id = @id", r => r.Get<string>("workflow_name"), ct, Sql.Uuid("id", run))).FirstOrDefault();

    private async Task DeliverDueAsync(CancellationToken ct)
    {
        while (true)
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            // One due delivery, locked so that another server does not send it at the same time.
            long id; string url, @event, body; int attempts;
            await using (var cmd = Sql.Cmd(conn, """
                SELECT id, url, event, payload::text AS payload, attempts FROM webhook_deliveries
                WHERE state = 'pending' AND next_at <= @now ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED
                """, tx, ("now", DateTime.UtcNow)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (!await r.ReadAsync(ct)) return;
                (id, url, @event, body, attempts) = (r.Get<long>("id"), r.Get<string>("url"), r.Get<string>("event"),
                    r.Get<string>("payload"), r.Get<int>("attempts"));
            }
            var hook = options.Webhooks.FirstOrDefault(h => h.Url == url);
            int? status = null;
            string? error = null;
            if (hook is null) error = "no longer configured";
            else
            {
                try
                {
                    var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    request.Headers.Add("X-Pipelines-Event", @event);
                    request.Headers.Add("X-Pipelines-Delivery", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    request.Headers.Add("X-Pipelines-Timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    request.Headers.Add("X-Pipelines-Signature", WebhookRules.Signature(hook.Secret, timestamp, body));
                    using var response = await _http.SendAsync(request, ct);
                    status = (int)response.StatusCode;
                    if (!response.IsSuccessStatusCode) error = $"HTTP {status}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    error = e is TaskCanceledException ? "timed out" : e.Message;
                }
            }
            attempts++;
            var delay = error is null ? null : WebhookRules.RetryDelay(attempts);
            var state = error is null ? "delivered" : delay is null || hook is null ? "failed" : "pending";
            await using (var cmd = Sql.Cmd(conn, """
                UPDATE webhook_deliveries SET attempts = @attempts, state = @state, last_status = @status, last_error = @error,
                    next_at = @next, delivered_at = CASE WHEN @state = 'delivered' THEN @now END
                WHERE id = @id
                """, tx, ("attempts", attempts), ("state", state), ("status", status), ("error", error), ("id", id),
                ("now", DateTime.UtcNow), ("next", DateTime.UtcNow + (delay ?? TimeSpan.Zero))))
                await cmd.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            if (error is not null) log.LogInformation("webhook {Event} delivery {Id} attempt {Attempt} failed: {Error}", @event, id, attempts, error);
        }
    }

    public static Task<List<WebhookDelivery>> ListAsync(NpgsqlDataSource db, int limit, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT id, url, event, state, attempts, next_at, last_status, last_error, created_at, delivered_at, payload::text AS payload
        FROM webhook_deliveries ORDER BY id DESC LIMIT @limit
        """, r => new WebhookDelivery(r.Get<long>("id"), r.Get<string>("url"), r.Get<string>("event"), r.Get<string>("state"), r.Get<int>("attempts"),
            r.TimeAt("next_at"), r.IntOrNull("last_status"), r.StringOrNull("last_error"), r.TimeAt("created_at"), r.TimeOrNull("delivered_at"),
            JsonNode.Parse(r.Get<string>("payload"))!), ct, new NpgsqlParameter("limit", limit));

    public override void Dispose()
    {
        _http.Dispose();
        _wake.Dispose();
        base.Dispose();
    }
}
