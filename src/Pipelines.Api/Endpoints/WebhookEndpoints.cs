using Pipelines.Api.Events;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/webhooks</c> (admin): the configured endpoints (never their secrets) and the delivery log.</summary>
public static class WebhookEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/webhooks", (ApiServerOptions options) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. options.Webhooks.Select(h => (JsonNode?)new JsonObject
            {
                ["url"] = Redact(h.Url),
                ["events"] = new JsonArray([.. (h.Events.Count == 0 ? WebhookRules.EventNames : h.Events).Select(e => (JsonNode?)JsonValue.Create(e))]),
                ["workflow"] = h.Workflow,
            })]),
            ["nextCursor"] = null,
        })).Requires(Role.Admin).WithName("listWebhooks");

        api.MapGet("/webhooks/deliveries", async (HttpContext http, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error, 100, 1000)) return error!;
            var rows = await WebhookDispatcher.ListAsync(db, limit, ct);
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. rows.Select(d => (JsonNode?)new JsonObject
                {
                    ["id"] = d.Id, ["url"] = Redact(d.Url), ["event"] = d.Event, ["state"] = d.State, ["attempts"] = d.Attempts,
                    ["nextAttemptAt"] = d.State == "pending" ? d.NextAt : null, ["lastStatus"] = d.LastStatus, ["lastError"] = d.LastError,
                    ["createdAt"] = d.CreatedAt, ["deliveredAt"] = d.DeliveredAt, ["payload"] = d.Payload.DeepClone(),
                })]),
                ["nextCursor"] = null,
            });
        }).Requires(Role.Admin).WithName("listWebhookDeliveries");
    }

    /// <summary>Webhook URLs often carry a token in their path or query (chat integrations do): show only scheme and host.</summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.GetLeftPart(UriPartial.Authority)}/…" : "…";
}
