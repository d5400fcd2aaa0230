using Microsoft.AspNetCore.Authorization;

namespace Pipelines.Api.Auth;

/// <summary>One authorization policy per role; endpoints say which they need with <see cref="Requires{T}"/>.</summary>
public static class RolePolicies
{
    public const string RequiredRoleItem = "pipelines:required-role";

    public static void AddRolePolicies(AuthorizationOptions options)
    {
        foreach (var role in Enum.GetValues<Role>())
            options.AddPolicy(role.Name(), p => p.AddAuthenticationSchemes(Caller.Scheme).RequireAuthenticatedUser()
                .RequireAssertion(c =>
                {
                    if (Roles.Grants(c.User.RolesOf(), role)) return true;
                    if (c.Resource is HttpContext http) http.Items[RequiredRoleItem] = role;
                    return false;
                }));
        // Anything not marked otherwise needs at least a viewer: nothing is open by accident.
        options.FallbackPolicy = options.GetPolicy(Role.Viewer.Name());
        options.DefaultPolicy = options.GetPolicy(Role.Viewer.Name())!;
    }

    public static TBuilder Requires<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(role.Name()).WithMetadata(new RequiredRole(role));
}

/// <summary>Endpoint metadata: the role the endpoint needs (read by the role-matrix test through the OpenAPI document and by docs).</summary>
public sealed record RequiredRole(Role Role);
