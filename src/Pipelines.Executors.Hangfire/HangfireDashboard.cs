using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Pipelines.Executors.Hangfire;

/// <summary>
/// The Hangfire Dashboard on the engine's Hangfire storage, for <c>pipelines server</c>. Who may open it is the
/// server's role check (the caller gives the endpoint its policy); Hangfire's own filters are emptied, since its default
/// (local requests only) would otherwise decide. Read-only: retries and rescues are the engine's, so requeueing or
/// deleting a job there would change nothing the engine trusts (a requeued job is fenced by the claim).
/// </summary>
public static class HangfireDashboard
{
    public const string Path = "/hangfire";

    /// <summary>
    /// What the dashboard's middleware resolves from the server's services: its route table, and Hangfire's
    /// configuration object, which it only checks is there. Not <c>AddHangfire</c>: that points Hangfire's process-wide
    /// log provider at this server's logger factory, which breaks every Hangfire client and server in the process
    /// once this server is disposed (and is static state we keep out of).
    /// </summary>
    public static void AddServices(IServiceCollection services)
    {
        services.TryAddSingleton(DashboardRoutes.Routes);
        services.TryAddSingleton<IGlobalConfiguration>(_ => GlobalConfiguration.Configuration);
    }

    public static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, JobStorage storage) =>
        endpoints.MapHangfireDashboard(Path, new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [],
            IsReadOnlyFunc = _ => true,
            DashboardTitle = "Pipelines · Hangfire",
            AppPath = "/",
            DisplayStorageConnectionString = false,
        }, storage);
}
