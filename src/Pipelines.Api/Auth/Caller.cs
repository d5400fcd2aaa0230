using System.Security.Claims;

namespace Pipelines.Api.Auth;

/// <summary>The authenticated caller as the endpoints see it.</summary>
public static class Caller
{
    public const string Scheme = "pipelines";
    public const string KindClaim = "pipelines:kind";
    public const string CsrfClaim = "pipelines:csrf";
    public const string LocalAdmin = "local-admin";

    public static ClaimsPrincipal Principal(string user, IEnumerable<Role> roles, string kind, string? csrf = null)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, user), new(KindClaim, kind) };
        claims.AddRange(roles.Distinct().Select(r => new Claim(ClaimTypes.Role, r.Name())));
        if (csrf is not null) claims.Add(new Claim(CsrfClaim, csrf));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    public static string Name(this ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    public static IReadOnlyList<Role> RolesOf(this ClaimsPrincipal user) =>
        [.. user.FindAll(ClaimTypes.Role).Select(c => Roles.TryParse(c.Value, out var r) ? (Role?)r : null).OfType<Role>()];

    public static string? Kind(this ClaimsPrincipal user) => user.FindFirst(KindClaim)?.Value;
}
