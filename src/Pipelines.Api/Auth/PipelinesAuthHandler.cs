using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pipelines.Api.Auth;

public sealed class PipelinesAuthOptions : AuthenticationSchemeOptions
{
    public bool Local { get; set; }
    public AuthSettings Settings { get; set; } = new();
}

/// <summary>
/// One scheme for every way in: local mode (the single local admin), <c>Authorization: Bearer pk_…</c> (API key),
/// <c>Authorization: Bearer JWT</c> (OIDC or the configured signing key, validated by the JwtBearer handler) and the
/// <c>pipelines_session</c> cookie. Failures answer RFC 7807 problems; repeated failures from one address are throttled.
/// </summary>
public sealed class PipelinesAuthHandler(IOptionsMonitor<PipelinesAuthOptions> options, ILoggerFactory logger, UrlEncoder encoder, KeyStore keys)
    : AuthenticationHandler<PipelinesAuthOptions>(options, logger, encoder)
{
    public const string SessionCookie = "pipelines_session";
    public const string JwtScheme = "jwt";
    private const string ThrottledItem = "pipelines:throttled-until";
    private const string FailureItem = "pipelines:auth-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Options.Local)
            return Success(Caller.Principal(Caller.LocalAdmin, [Role.Admin], "local"));

        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = header["Bearer ".Length..].Trim();
            var client = ClientAddress(Context);
            if (ApiKeyFormat.LooksLikeKey(token))
            {
                // The throttle and the key are read together: one round trip on the path every API-key request takes.
                var (throttledUntil, key) = await keys.CheckKeyAsync(client, token, Context.RequestAborted);
                if (throttledUntil is { } keyUntil) return Throttled(keyUntil);
                if (key is null)
                {
                    await keys.RecordFailureAsync(client, Context.RequestAborted);
                    return Fail("the API key is unknown, revoked or expired");
                }
                return Success(Caller.Principal("key:" + key.Name, ParseRoles(key.Roles), "apikey"));
            }
            if (await keys.ThrottledUntilAsync(client, Context.RequestAborted) is { } until)
                return Throttled(until);
            if (Options.Settings.JwtConfigured)
            {
                var jwt = await Context.AuthenticateAsync(JwtScheme);
                if (jwt.Succeeded && jwt.Principal is { } p)
                    return Success(FromToken(p));
                await keys.RecordFailureAsync(client, Context.RequestAborted);
                // The handler's message says what was wrong (expired, audience, signature) without echoing the token.
                return Fail(jwt.Failure?.Message is { } m ? "the bearer token was rejected: " + FirstSentence(m) : "the bearer token was rejected");
            }
            await keys.RecordFailureAsync(client, Context.RequestAborted);
            return Fail("bearer tokens other than API keys are not accepted: no OIDC authority or signing key is configured");
        }

        if (Request.Cookies.TryGetValue(SessionCookie, out var cookie) && !string.IsNullOrEmpty(cookie))
        {
            var session = await keys.FindSessionAsync(cookie, Context.RequestAborted);
            if (session is null) return Fail("the session has expired or was ended; log in again");
            return Success(Caller.Principal(session.User, session.Roles, "session", session.CsrfToken));
        }
        return AuthenticateResult.NoResult();
    }

    private AuthenticateResult Throttled(DateTimeOffset until)
    {
        Context.Items[ThrottledItem] = until;
        return Fail("too many failed attempts from this address; try again later");
    }

    private AuthenticateResult Fail(string message)
    {
        Context.Items[FailureItem] = message;
        return AuthenticateResult.Fail(message);
    }

    private AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));

    private ClaimsPrincipal FromToken(ClaimsPrincipal token)
    {
        var s = Options.Settings;
        var user = token.FindFirst("preferred_username")?.Value ?? token.FindFirst("upn")?.Value ?? token.FindFirst("email")?.Value
            ?? token.FindFirst("name")?.Value ?? token.FindFirst("sub")?.Value ?? token.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? "unknown";
        var roles = Roles.FromClaims(token.FindAll(s.RoleClaim).Select(c => c.Value), token.FindAll(s.GroupClaim).Select(c => c.Value), s.GroupRoles);
        return Caller.Principal(user, roles, "jwt");
    }

    private static IReadOnlyList<Role> ParseRoles(IEnumerable<string> names) =>
        [.. names.Select(n => Roles.TryParse(n, out var r) ? (Role?)r : null).OfType<Role>()];

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..(cut + 1)] : message;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[ThrottledItem] is DateTimeOffset until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - DateTimeOffset.UtcNow).TotalSeconds));
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Problems.Write(Context, StatusCodes.Status429TooManyRequests, "Too many failed logins",
                $"too many failed attempts from this address; retry after {seconds} s");
            return;
        }
        Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.Write(Context, StatusCodes.Status401Unauthorized, "Unauthenticated",
            Context.Items[FailureItem] as string ?? "authentication required: an Authorization: Bearer token (JWT or API key) or a session cookie");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.Write(Context, StatusCodes.Status403Forbidden, "Forbidden",
            Context.Items[RolePolicies.RequiredRoleItem] is Role role
                ? $"{Context.User.Name()} lacks the {role.Name()} role this needs (has: {string.Join(", ", Context.User.RolesOf().Select(r => r.Name()))})"
                : "forbidden");

    /// <summary>The client's address as seen by the server (proxies are not trusted: no forwarded headers).</summary>
    public static string ClientAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
