namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/keys</c> and <c>/api/v1/audit</c> (admin).</summary>
public static class AdminEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/keys", async (KeyStore keys, CancellationToken ct) => Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. (await keys.ListAsync(ct)).Select(k => (JsonNode?)KeyView(k))]),
            ["nextCursor"] = null,
        })).Requires(Role.Admin).WithName("listKeys");

        api.MapPost("/keys", async (HttpContext http, KeyStore keys, TimeProvider time, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "name", true, out var name, out error)) return error!;
            if (string.IsNullOrWhiteSpace(name) || name.Length > 200) return Problems.Field("name", "expected 1 to 200 characters");
            if (body!["roles"] is not JsonArray roleArray || roleArray.Count == 0) return Problems.Field("roles", "expected a non-empty array of roles (viewer, operator, approver, admin)");
            var roles = new List<Role>();
            for (var i = 0; i < roleArray.Count; i++)
            {
                if (roleArray[i] is not JsonValue v || !v.TryGetValue<string>(out var text) || !Roles.TryParse(text, out var role))
                    return Problems.Field($"roles[{i}]", $"unknown role; expected one of {string.Join(", ", Roles.All)}");
                roles.Add(role);
            }
            if (!Requests.String(body, "expiresAt", false, out var expiresText, out error)) return error!;
            DateTimeOffset? expires = null;
            if (expiresText is not null)
            {
                if (!DateTimeOffset.TryParse(expiresText, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var e))
                    return Problems.Field("expiresAt", "expected an ISO-8601 time");
                if (e <= time.GetUtcNow()) return Problems.Field("expiresAt", "must be in the future");
                expires = e.ToUniversalTime();
            }
            var (info, key) = await keys.CreateAsync(name, roles, expires, http.User.Name(), ct);
            var view = KeyView(info);
            view["key"] = key;
            return Results.Created($"/api/v1/keys/{info.Id}", view);
        }).Requires(Role.Admin).WithName("createKey");

        api.MapDelete("/keys/{id:guid}", async (Guid id, HttpContext http, KeyStore keys, CancellationToken ct) =>
        {
            if (await keys.RevokeAsync(id, http.User.Name(), ct)) return Results.NoContent();
            return await keys.ExistsAsync(id, ct) ? Problems.Conflict($"key {id} is already revoked") : Problems.NotFound($"key {id} not found");
        }).Requires(Role.Admin).WithName("revokeKey");

        api.MapGet("/audit", async (HttpContext http, AuditStore audit, CancellationToken ct) =>
        {
            if (!Requests.Limit(http, out var limit, out var error, 100, 1000)) return error!;
            long? before = null;
            var cursor = RunEndpoints.NullIfEmpty(http.Request.Query["cursor"]);
            if (cursor is not null)
            {
                if (Cursor.Decode(cursor, 1) is not { } parts || !long.TryParse(parts[0], out var b))
                    return Problems.Field("cursor", "not a cursor from this API (use nextCursor from the previous page)");
                before = b;
            }
            var rows = await audit.ListAsync(limit + 1, before, ct);
            var page = rows.Take(limit).ToList();
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. page.Select(a => (JsonNode?)new JsonObject
                {
                    ["id"] = a.Id, ["at"] = a.At, ["user"] = a.User, ["action"] = a.Action, ["target"] = a.Target,
                    ["clientAddress"] = a.ClientAddress, ["outcome"] = a.Outcome,
                })]),
                ["nextCursor"] = rows.Count > limit ? Cursor.Encode(page[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null,
            });
        }).Requires(Role.Admin).WithName("listAudit");
    }

    private static JsonObject KeyView(ApiKeyInfo k) => new()
    {
        ["id"] = k.Id,
        ["name"] = k.Name,
        ["roles"] = new JsonArray([.. k.Roles.Select(r => (JsonNode?)JsonValue.Create(r))]),
        ["createdBy"] = k.CreatedBy,
        ["createdAt"] = k.CreatedAt,
        ["expiresAt"] = k.ExpiresAt,
        ["revokedAt"] = k.RevokedAt,
        ["revokedBy"] = k.RevokedBy,
        ["lastUsedAt"] = k.LastUsedAt,
    };
}
