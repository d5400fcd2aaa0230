using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Pipelines.Api.Domain;
using Pipelines.Api.Hosting;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>Webhooks to a real HTTP receiver on loopback: signed, retried after a failure, logged.</summary>
public class WebhookTests
{
    [Test]
    public async Task RunFailed_IsPostedSigned_RetriedAfterAFailure_AndLogged()
    {
        const string secret = "whsec-test-0123456789";
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new ConcurrentQueue<(string Event, string Signature, string Timestamp, string Body, int Answer)>();
        var calls = 0;
        var receiving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch (Exception) { return; }
                using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                // The first delivery attempt fails: the server must try again.
                var answer = Interlocked.Increment(ref calls) == 1 ? 500 : 204;
                received.Enqueue((ctx.Request.Headers["X-Pipelines-Event"]!, ctx.Request.Headers["X-Pipelines-Signature"]!,
                    ctx.Request.Headers["X-Pipelines-Timestamp"]!, body, answer));
                ctx.Response.StatusCode = answer;
                ctx.Response.Close();
            }
        });

        await using var server = await ServerHarness.StartAsync(webhooks:
        [
            new WebhookSettings { Url = $"http://127.0.0.1:{port}/hook/", Secret = secret, Events = ["run.failed"] },
            new WebhookSettings { Url = $"http://127.0.0.1:{port}/hook/other-workflow", Secret = secret, Workflow = "not-this-one" },
        ]);
        await server.CreateWorkflowAsync(Workflows.Failing);
        await server.StartWorkersAsync();
        var id = await server.StartRunAsync("failing", "olga");
        await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "failed", "the run to fail");

        using var admin = server.As("root", "admin");
        var log = await Eventually.WaitAsync(() => server.GetJsonAsync(admin, "/api/v1/webhooks/deliveries"),
            d => d["items"]!.AsArray().Any(i => i!["state"]!.GetValue<string>() == "delivered"), TimeSpan.FromSeconds(60), "the delivery to succeed");
        var delivery = log["items"]!.AsArray().Single()!;
        Assert.That((delivery["event"]!.GetValue<string>(), delivery["attempts"]!.GetValue<int>(), delivery["lastError"]),
            Is.EqualTo(("run.failed", 2, (JsonNode?)null)));
        Assert.That(delivery["url"]!.GetValue<string>(), Is.EqualTo($"http://127.0.0.1:{port}/…"), "the URL's path is not shown");

        var attempts = received.ToList();
        Assert.That(attempts.Select(a => a.Answer), Is.EqualTo(new[] { 500, 204 }), "one failure, one retry, nothing for the other workflow's hook");
        foreach (var a in attempts)
        {
            Assert.That(a.Event, Is.EqualTo("run.failed"));
            Assert.That(a.Signature, Is.EqualTo(WebhookRules.Signature(secret, long.Parse(a.Timestamp), a.Body)), "HMAC over timestamp and body");
            var payload = JsonNode.Parse(a.Body)!;
            Assert.That((payload["workflow"]!.GetValue<string>(), payload["data"]!["runId"]!.GetValue<string>()), Is.EqualTo(("failing", id.ToString())));
        }
        Assert.That(attempts[1].Signature, Is.Not.EqualTo(WebhookRules.Signature("wrong secret", long.Parse(attempts[1].Timestamp), attempts[1].Body)));
        listener.Stop();
        await receiving;
    }

    [Test]
    public void Backoff_DoublesFromOneSecond_CappedAndFinite()
    {
        Assert.That(WebhookRules.RetryDelay(1), Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(WebhookRules.RetryDelay(2), Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(WebhookRules.RetryDelay(7), Is.EqualTo(TimeSpan.FromSeconds(64)));
        Assert.That(WebhookRules.RetryDelay(WebhookRules.MaxAttempts), Is.Null);
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
