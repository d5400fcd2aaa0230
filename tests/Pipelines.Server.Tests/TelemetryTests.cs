using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>
/// OTLP export to a real HTTP receiver on loopback: request spans (with the started run's id) and the server's metrics
/// from the server, step and activity spans from a separate `pipelines worker` process (the way deployments run them).
/// </summary>
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
            using var worker = StartWorkerProcess(server.Database.ConnectionString, $"http://127.0.0.1:{port}");
            runId = await server.StartRunAsync("hello", "olga");
            static bool FromWorker(string body, string span) => body.Contains("pipelines-worker") && body.Contains(span);
            try
            {
                await Eventually.WaitAsync(() => Task.FromResult(posts.ToList()),
                    p => p.Any(x => x.Path == "/v1/traces" && x.Body.Contains(runId.ToString())) && p.Any(x => x.Path == "/v1/metrics" && x.Body.Contains("pipelines.queue.depth"))
                        && p.Any(x => x.Path == "/v1/traces" && FromWorker(x.Body, "step greet")) && p.Any(x => x.Path == "/v1/traces" && FromWorker(x.Body, "activity log@1")),
                    TimeSpan.FromSeconds(90), "spans and metrics at the OTLP receiver");
            }
            catch (TimeoutException)
            {
                TestContext.Out.WriteLine(string.Join("\n----\n", posts.Select(p => p.Path + ": " + p.Body)));
                if (!worker.HasExited) worker.Kill();
                TestContext.Out.WriteLine("worker: " + await worker.StandardOutput.ReadToEndAsync() + await worker.StandardError.ReadToEndAsync());
                throw;
            }
            finally
            {
                if (!worker.HasExited) worker.Kill(entireProcessTree: true);
            }
        }
        var traces = posts.Where(p => p.Path == "/v1/traces").Select(p => p.Body).ToList();
        Assert.That(traces.Any(t => t.Contains("pipelines.run_id") && t.Contains("/api/v1/runs")), "the request span that started the run names it");
        // (pipelines.runs.finished has no measurement until a run finishes; these two always have one.)
        Assert.That(posts.Where(p => p.Path == "/v1/metrics").Any(p => p.Body.Contains("pipelines.approvals.waiting") && p.Body.Contains("pipelines.leases.expired")));
        listener.Stop();
        await receiving;
    }

    [Test]
    public async Task StepSpans_JoinTheTraceOfTheRequestThatStartedTheRun()
    {
        var spans = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name is "Microsoft.AspNetCore" or Pipelines.Engine.Workers.StepTracing.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Hello);
        await server.CreateWorkflowAsync(Workflows.Failing);
        await server.StartWorkersAsync();
        var id = await server.StartRunAsync("hello", "olga");
        var failing = await server.StartRunAsync("failing", "olga");
        await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the run to succeed");
        await server.WaitForRunAsync(failing, r => r["state"]!.GetValue<string>() == "failed", "the failing run to fail");

        string Tag(System.Diagnostics.Activity a, string key) => a.GetTagItem(key)?.ToString() ?? "";
        List<System.Diagnostics.Activity> Of(Guid run) => spans.Where(a => Tag(a, "pipelines.run_id") == run.ToString()).ToList();
        var all = await Eventually.WaitAsync(() => Task.FromResult(Of(id)), l => l.Count(a => a.OperationName.StartsWith("step ", StringComparison.Ordinal)) >= 3,
            TimeSpan.FromSeconds(30), "the step spans of the run");
        var request = all.Single(a => a.Source.Name == "Microsoft.AspNetCore");
        var steps = all.Where(a => a.Source.Name == Pipelines.Engine.Workers.StepTracing.SourceName).ToList();
        Assert.That(steps.Select(a => a.OperationName).Order(), Is.EqualTo(new[] { "step greet", "step greet", "step numbers" }), "one span per attempt, each fan-out item its own");
        foreach (var step in steps)
        {
            Assert.That(step.TraceId, Is.EqualTo(request.TraceId), $"{step.OperationName} is in the trace of the request that started the run");
            Assert.That(step.ParentSpanId, Is.EqualTo(request.SpanId), $"{step.OperationName} is a child of that request's span");
            Assert.That(step.Status, Is.EqualTo(System.Diagnostics.ActivityStatusCode.Ok));
            var activity = spans.Single(a => a.ParentSpanId == step.SpanId);
            Assert.That(activity.OperationName, Is.EqualTo(step.OperationName == "step numbers" ? "activity range@1" : "activity log@1"));
            Assert.That(activity.TraceId, Is.EqualTo(request.TraceId));
        }
        Assert.That(steps.Where(a => a.OperationName == "step greet").Select(a => Tag(a, "pipelines.item")).Order(), Is.EqualTo(new[] { "0", "1" }));

        var boom = Of(failing).Where(a => a.OperationName == "step boom").ToList();
        Assert.That(boom, Is.Not.Empty);
        foreach (var attempt in boom)
        {
            Assert.That(attempt.Status, Is.EqualTo(System.Diagnostics.ActivityStatusCode.Error), "a failed attempt's span is an error");
            Assert.That(attempt.StatusDescription, Does.Contain("it broke"), "and says why");
            Assert.That(Tag(attempt, "pipelines.outcome"), Is.EqualTo("failed"));
        }
    }

    private static System.Diagnostics.Process StartWorkerProcess(string db, string otlp)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "pipelines.dll"), "worker", "--concurrency", "2", "--db", db }) psi.ArgumentList.Add(a);
        psi.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        // The batch exporter's default 5 s delay would only slow the test down.
        psi.Environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        psi.Environment.Remove("PIPELINES_DB");
        psi.Environment.Remove("MLFLOW_TRACKING_URI");
        return System.Diagnostics.Process.Start(psi)!;
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
