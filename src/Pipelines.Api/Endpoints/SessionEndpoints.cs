namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/session</c>: who am I, browser login with an API key (cookie), logout.</summary>
public static class SessionEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiServerOptions options, LocalMode local)
    {
        api.MapGet("/session", (HttpContext http) => Results.Json(Describe(http, local)))
            .Requires(Role.Viewer).WithName("getSession");

        api.MapPost("/session", async (HttpContext http, KeyStore keys) =>
        {
            if (local.Enabled) return Results.Json(Describe(http, local));
            var client = PipelinesAuthHandler.ClientAddress(http);
            if (await keys.ThrottledUntilAsync(client, http.RequestAborted) is { } until)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling((until - DateTimeOffset.UtcNow).TotalSeconds));
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many failed logins", $"too many failed attempts from this address; retry after {seconds} s");
            }
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "apiKey", true, out var key, out error)) return error!;
            var info = ApiKeyFormat.LooksLikeKey(key) ? await keys.VerifyAsync(key!, http.RequestAborted) : null;
            if (info is null)
            {
                await keys.RecordFailureAsync(client, http.RequestAborted);
                return Problems.Status(StatusCodes.Status401Unauthorized, "Unauthenticated", "apiKey: unknown, revoked or expired key");
            }
            await keys.ClearFailuresAsync(client, http.RequestAborted);
            var roles = info.Roles.Select(r => Roles.TryParse(r, out var x) ? (Role?)x : null).OfType<Role>().ToList();
            var (token, session) = await keys.StartSessionAsync("key:" + info.Name, roles, options.Auth.SessionLifetime, http.RequestAborted);
            http.Response.Cookies.Append(PipelinesAuthHandler.SessionCookie, token, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = options.Auth.SecureCookies || http.Request.IsHttps,
                Path = "/",
                Expires = session.ExpiresAt,
            });
            return Results.Json(new JsonObject
            {
                ["user"] = session.User,
                ["roles"] = new JsonArray([.. roles.Select(r => (JsonNode?)JsonValue.Create(r.Name()))]),
                ["csrfToken"] = session.CsrfToken,
                ["mode"] = "auth",
            });
        }).AllowAnonymous().WithName("login");

        api.MapDelete("/session", async (HttpContext http, KeyStore keys) =>
        {
            if (http.Request.Cookies.TryGetValue(PipelinesAuthHandler.SessionCookie, out var token) && !string.IsNullOrEmpty(token))
                await keys.EndSessionAsync(token, http.RequestAborted);
            http.Response.Cookies.Delete(PipelinesAuthHandler.SessionCookie, new CookieOptions { Path = "/" });
            return Results.NoContent();
        }).Requires(Role.Viewer).WithName("logout");
    }

    private static JsonObject Describe(HttpContext http, LocalMode local) => new()
    {
        ["user"] = http.User.Name(),
        ["roles"] = new JsonArray([.. http.User.RolesOf().Select(r => (JsonNode?)JsonValue.Create(r.Name()))]),
        ["csrfToken"] = http.User.Kind() == "local" ? local.CsrfToken : http.User.FindFirst(Caller.CsrfClaim)?.Value,
        ["mode"] = local.Enabled ? "local" : "auth",
    };
}

/// <summary>Local mode's per-process anti-forgery token: local mode has no cookie, but a browser page from another site must not drive it.</summary>
public sealed class LocalMode(bool enabled)
{
    public bool Enabled { get; } = enabled;
    public string CsrfToken { get; } = ApiKeyFormat.NewToken();
}
