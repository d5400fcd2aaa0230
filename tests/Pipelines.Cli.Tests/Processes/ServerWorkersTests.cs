using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Pipelines.Cli.Tests.Processes;

/// <summary>
/// `pipelines server --workers N`: the in-process workers run as a hosted service of the web host, so a run started
/// through the API is executed by the server itself, and SIGTERM stops host and workers cleanly.
/// </summary>
public class ServerWorkersTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Test]
    public async Task ServerWithWorkers_ExecutesARunStartedThroughTheApi_AndStopsCleanlyOnSigterm()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var home = Path.Combine(Path.GetTempPath(), "pipelines-server-workers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        var url = $"http://127.0.0.1:{FreePort()}";
        var hello = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "hello.yaml");
        var server = CliProcess.Start(new Dictionary<string, string> { ["PIPELINES_HOME"] = Path.Combine(home, ".pipelines") }, home,
            "server", "--db", db.ConnectionString, "--local", "--workers", "2", "--urls", url, "--workflows", hello);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
            await Eventually.WaitAsync(async () =>
            {
                try { return (await http.GetAsync("/api/v1/runs")).StatusCode; }
                catch (HttpRequestException) { return HttpStatusCode.ServiceUnavailable; }
            }, s => s == HttpStatusCode.OK || server.HasExited, TimeSpan.FromSeconds(120), "the server to answer");
            Assert.That(server.HasExited, Is.False, server.Output);

            // Local mode is a cookie-less session for the local admin; changes carry its CSRF token, as the web UI's do.
            var session = JsonNode.Parse(await http.GetStringAsync("/api/v1/session"))!;
            http.DefaultRequestHeaders.Add("X-CSRF-Token", session["csrfToken"]!.GetValue<string>());
            using var started = await http.PostAsJsonAsync("/api/v1/runs", new { workflow = "hello" });
            var body = await started.Content.ReadAsStringAsync();
            Assert.That((int)started.StatusCode, Is.InRange(200, 299), body);
            var id = JsonNode.Parse(body)!["id"]!.GetValue<string>();

            // No `pipelines worker` runs anywhere: only the server's own workers can execute it.
            var run = await Eventually.WaitAsync(async () => JsonNode.Parse(await http.GetStringAsync($"/api/v1/runs/{id}"))!,
                r => r["state"]?.GetValue<string>() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(60), "the run to finish");
            Assert.That(run["state"]!.GetValue<string>(), Is.EqualTo("succeeded"), run.ToJsonString() + "\n" + server.Output);

            server.Terminate();
            Assert.That(await server.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0), server.Output);
        }
        finally
        {
            server.Dispose();
            Directory.Delete(home, recursive: true);
        }
    }
}
