using System.Text.Json;

namespace Pipelines.Web.Tests;

/// <summary>
/// Figures for docs/benchmarks.md (explicit: run by hand, never a timed assertion): first load on loopback, and the
/// run view's frame times and interaction latency while a 1,000-item fan-out runs.
/// <c>dotnet test tests/Pipelines.Web.Tests -c Release --filter "FullyQualifiedName~WebBenchmarks"</c>; writes
/// artifacts/web-benchmarks.json.
/// </summary>
[TestFixture]
[Explicit("benchmark: run by hand, figures go to docs/benchmarks.md")]
public sealed class WebBenchmarks
{
    [Test]
    public async Task First_load_and_fan_out_responsiveness()
    {
        await using var server = await WebServer.StartAsync();
        var (playwright, browser) = await Browser.LaunchAsync();
        try
        {
            var results = new Dictionary<string, object>();
            var dist = Path.Combine(WebServer.Root, "src", "Pipelines.Web", "dist");
            results["bundle"] = Directory.GetFiles(dist, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(dist, f), f => new FileInfo(f).Length);

            // First load: a fresh context (empty cache) each time; navigation timing from the browser.
            var loads = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var page = await Browser.AsUserAsync(browser, server, "ada", "admin");
                await page.GotoAsync("/workflows");
                await page.GetByTestId("workflows").Locator("tbody tr").First.WaitForAsync();
                loads.Add(await page.EvaluateAsync<double>("() => performance.now()"));
                await page.Context.CloseAsync();
            }
            results["firstLoadMsToWorkflowTable"] = loads;

            using var api = server.Api("root", "admin", "operator");
            var yaml = "name: fanout\nsteps:\n  - id: numbers\n    uses: range@1\n    with: { count: 1000 }\n  - id: each\n    uses: noop@1\n    for_each: { items: \"${{ steps.numbers.outputs.items }}\", max_parallel: 0 }\n    cache: false\n";
            using (var r = await api.PostAsync("/api/v1/workflows", new StringContent(JsonSerializer.Serialize(new { name = "fanout", yaml }), System.Text.Encoding.UTF8, "application/json")))
                Assert.That((int)r.StatusCode, Is.EqualTo(201), await r.Content.ReadAsStringAsync());
            string runId;
            using (var r = await api.PostAsync("/api/v1/runs", new StringContent("""{"workflow":"fanout","params":{}}""", System.Text.Encoding.UTF8, "application/json")))
                runId = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

            var run = await Browser.AsUserAsync(browser, server, "ada", "admin");
            await run.GotoAsync($"/runs/{runId}?step=each");
            await run.GetByTestId("node-each").WaitForAsync();
            // Frame times while the fan-out runs (a worker starts now), recorded in the page.
            await run.EvaluateAsync("() => { window.__frames = []; let last = performance.now(); const f = (t) => { window.__frames.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(f); }; requestAnimationFrame(f); }");
            var worker = server.StartWorker(concurrency: 8);
            await Assertions.Expect(run.GetByTestId("run-state")).ToHaveTextAsync("succeeded", new() { Timeout = 600_000 });
            var frames = await run.EvaluateAsync<double[]>("() => { window.__stop = true; return window.__frames; }");
            Array.Sort(frames);
            results["frameMs"] = new { count = frames.Length, p50 = frames[frames.Length / 2], p95 = frames[(int)(frames.Length * 0.95)], max = frames[^1] };
            // Interaction latency: scroll the item list to the end; time until the last item is rendered.
            var list = run.GetByTestId("virtual-list");
            await run.Locator(".vrow").First.WaitForAsync();
            var scrollMs = await run.EvaluateAsync<double>("""
                () => new Promise(res => { const el = document.querySelector('[data-testid=virtual-list]'); const t0 = performance.now();
                  el.scrollTop = el.scrollHeight; const check = () => { if ([...el.querySelectorAll('.idx')].some(x => x.textContent === '#999')) res(performance.now() - t0); else requestAnimationFrame(check); }; check(); })
                """);
            results["scrollToItem999Ms"] = scrollMs;
            results["renderedRows"] = await list.GetAttributeAsync("data-rendered") ?? "";
            // Selecting another step and back (a click) while 1,000 items are loaded.
            var t = await run.EvaluateAsync<double>("() => performance.now()");
            await run.GetByTestId("node-numbers").ClickAsync();
            await run.GetByTestId("step-detail").GetByText("numbers").First.WaitForAsync();
            results["selectStepMs"] = await run.EvaluateAsync<double>("() => performance.now()") - t;
            worker.Terminate();
            var path = Path.Combine(WebServer.Root, "artifacts", "web-benchmarks.json");
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            TestContext.Out.WriteLine(await File.ReadAllTextAsync(path));
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }
}
