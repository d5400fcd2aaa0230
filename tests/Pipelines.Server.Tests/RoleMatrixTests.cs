using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pipelines.Api.Auth;

namespace Pipelines.Server.Tests;

/// <summary>Every API endpoint against every role: anonymous gets 401, a role without the power 403, a role with it neither.</summary>
public class RoleMatrixTests
{
    /// <summary>Who may call an endpoint that needs a given role, written out here rather than taken from the server's code.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["viewer"] = ["viewer", "operator", "approver", "admin"],
        ["operator"] = ["operator", "admin"],
        ["approver"] = ["approver", "admin"],
        ["admin"] = ["admin"],
    };

    private static readonly string[] Callers = ["viewer", "operator", "approver", "admin"];

    [Test]
    public async Task EveryEndpoint_AgainstEveryRole_AllowedOr401Or403()
    {
        await using var server = await ServerHarness.StartAsync();
        var endpoints = Endpoints(server);
        Assert.That(endpoints, Has.Count.GreaterThan(35), "the API's endpoints were found");

        var failures = new List<string>();
        using var anonymous = server.Client();
        var clients = Callers.ToDictionary(r => r, r => server.As($"user-{r}", r));
        foreach (var (method, template, needed) in endpoints)
        {
            var path = Fill(template);
            var status = await CallAsync(anonymous, method, path);
            if (status != 401) failures.Add($"{method} {template} anonymous: {status}, expected 401");
            foreach (var caller in Callers)
            {
                status = await CallAsync(clients[caller], method, path);
                var allowed = Allowed[needed].Contains(caller);
                if (allowed && status is 401 or 403) failures.Add($"{method} {template} as {caller}: {status}, expected it allowed");
                if (!allowed && status != 403) failures.Add($"{method} {template} as {caller}: {status}, expected 403");
            }
        }
        foreach (var c in clients.Values) c.Dispose();
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public async Task EveryApiEndpoint_NamesItsRole_OrIsTheLogin()
    {
        await using var server = await ServerHarness.StartAsync();
        var routes = server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1", StringComparison.Ordinal));
        var unmarked = routes.Where(e => e.Metadata.GetMetadata<RequiredRole>() is null && e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .Select(e => e.DisplayName).ToList();
        Assert.That(unmarked, Is.Empty, "every endpoint says which role it needs");
        var anonymous = routes.Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            .Select(e => $"{e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods[0]} {e.RoutePattern.RawText}");
        Assert.That(anonymous, Is.EqualTo(new[] { "POST /api/v1/session" }), "only the login is open");
    }

    internal static List<(string Method, string Template, string Role)> Endpoints(ServerHarness server) =>
        [.. server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<RequiredRole>() is not null)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods
                .Select(m => (m, e.RoutePattern.RawText!, e.Metadata.GetMetadata<RequiredRole>()!.Role.ToString().ToLowerInvariant())))
            .OrderBy(e => e.Item2).ThenBy(e => e.m)];

    /// <summary>Route values that parse but name nothing (a 404 or 400 is "allowed": it got past authorization).</summary>
    internal static string Fill(string template)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] != '{') { sb.Append(template[i++]); continue; }
            var end = template.IndexOf('}', i);
            var name = template[(i + 1)..end];
            sb.Append(name.Contains(":guid") ? Guid.NewGuid().ToString() : name.Contains(":int") ? "1" : "no-such-thing");
            i = end + 1;
        }
        return sb.ToString();
    }

    internal static async Task<int> CallAsync(HttpClient client, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Event streams answer with headers and then stay open: the status is all this needs.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        return (int)response.StatusCode;
    }
}
