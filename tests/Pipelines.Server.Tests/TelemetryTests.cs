using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>OTLP export to a real HTTP receiver on loopback: request spans (with the started run's id) and the server's metrics.</summary>
public class TelemetryTests
{
    [Test]
    public async Task Otlp_ExportsRequestSpansWithTheRunId_AndPipelineMetrics()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var posts = new ConcurrentQueue<(string Path, string Body)>();
        var receiving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch (Exception) { return; }
                using var ms = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(ms);
                // OTLP/HTTP protobuf: names and string values appear as UTF-8 inside the message.
                posts.Enqueue((ctx.Request.Url!.AbsolutePath, Encoding.UTF8.GetString(ms.ToArray())));
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        });

        Guid runId;
        await using (var server = await ServerHarness.StartAsync(otlp: $"http://127.0.0.1:{port}"))
        {
            await server.CreateWorkflowAsync(Workflows.Hello);
            runId = await server.StartRunAsync("hello", "olga");
            await Eventually.WaitAsync(() => Task.FromResult(posts.ToList()),
                p => p.Any(x => x.Path == "/v1/traces" && x.Body.Contains(runId.ToString())) && p.Any(x => x.Path == "/v1/metrics" && x.Body.Contains("pipelines.queue.depth")),
                TimeSpan.FromSeconds(60), "spans and metrics at the OTLP receiver");
        }
        var traces = posts.Where(p => p.Path == "/v1/traces").Select(p => p.Body).ToList();
        Assert.That(traces.Any(t => t.Contains("pipelines.run_id") && t.Contains("/api/v1/runs")), "the request span that started the run names it");
        // (pipelines.runs.finished has no measurement until a run finishes; these two always have one.)
        Assert.That(posts.Where(p => p.Path == "/v1/metrics").Any(p => p.Body.Contains("pipelines.approvals.waiting") && p.Body.Contains("pipelines.leases.expired")));
        listener.Stop();
        await receiving;
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
