using System.Text.RegularExpressions;

namespace Pipelines.Web.Tests;

/// <summary>The jobs dashboard shows a killed worker's step being rescued by another worker.</summary>
[TestFixture]
[NonParallelizable]
public sealed class DashboardTests
{
    private WebServer _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await WebServer.StartAsync();
        (_playwright, _browser) = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    [Test]
    public async Task A_killed_workers_step_is_rescued_and_the_dashboard_shows_it()
    {
        using var admin = _server.Api("root", "admin", "operator");
        await CreateWorkflowAsync(admin, "rescue", "name: rescue\nsteps:\n  - id: slow\n    uses: sleep@1\n    with: { ms: 15000 }\n    cache: false\n");
        var first = _server.StartWorker(concurrency: 1);
        var runId = await StartRunAsync(admin, "rescue");

        var page = await Browser.AsUserAsync(_browser, _server, "olga", "operator");
        await page.GotoAsync("/jobs");
        // The first worker holds the step's lease.
        var workers = page.GetByTestId("workers");
        await Assertions.Expect(workers.GetByText(new Regex("slow.*attempt 1"))).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("running").GetByText("slow")).ToBeVisibleAsync();

        // Killed without a chance to hand the lease back; a second worker (and leader) rescues the step as attempt 2.
        first.KillHard();
        var second = _server.StartWorker(concurrency: 1);
        await Assertions.Expect(workers.GetByText(new Regex("slow.*attempt 2"))).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("running").Locator("tr", new() { HasText = "slow" }).Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Browser.ShotAsync(page, "dashboard");

        // The run view lists both attempts: the lost one on the killed worker, the rescue on the other.
        await page.GotoAsync($"/runs/{runId}?step=slow");
        await Assertions.Expect(page.GetByTestId("run-state")).ToHaveTextAsync("succeeded", new() { Timeout = 120_000 });
        var attempts = page.GetByTestId("step-detail").Locator("table tbody tr");
        await Assertions.Expect(attempts).ToHaveCountAsync(2);
        await Assertions.Expect(attempts.Nth(1)).ToContainTextAsync("succeeded");
        var w1 = await attempts.Nth(0).Locator("td").Nth(2).InnerTextAsync();
        var w2 = await attempts.Nth(1).Locator("td").Nth(2).InnerTextAsync();
        Assert.That(w1, Is.Not.EqualTo(w2), "the rescue ran on another worker");
        await Browser.ShotAsync(page, "run-rescued");
        second.Terminate();
    }

    [Test]
    public async Task The_run_view_previews_a_table_and_draws_the_training_curve()
    {
        using var admin = _server.Api("root", "admin", "operator");
        const string yaml = """
            name: curves
            steps:
              - id: ingest
                uses: ingest
                with: { source: workflows/data/energy/energy-train.csv }
              - id: train
                uses: train
                with:
                  train: ${{ steps.ingest.outputs.table }}
                  label: kwh
                  task: regression
                  rounds: 15
                  threads: 1
                  seed: 1
                  pipeline: [{ op: one_hot, columns: [building, weekday] }]
            """;
        await CreateWorkflowAsync(admin, "curves", yaml);
        var worker = _server.StartWorker(concurrency: 2);
        var runId = await StartRunAsync(admin, "curves");
        var page = await Browser.AsUserAsync(_browser, _server, "vera", "viewer");
        await page.GotoAsync($"/runs/{runId}");
        await Assertions.Expect(page.GetByTestId("run-state")).ToHaveTextAsync(new Regex("succeeded|failed"), new() { Timeout = 180_000 });
        Assert.That(await page.GetByTestId("run-state").InnerTextAsync(), Is.EqualTo("succeeded"), _server.ServerOutput);

        // The ingested table's first rows, as the CSV has them.
        var table = page.GetByRole(AriaRole.Region, new() { Name = "Artifacts" }).Locator("tr", new() { HasText = "ingest" }).First;
        await table.GetByRole(AriaRole.Button, new() { Name = "Preview" }).ClickAsync();
        var preview = page.GetByTestId("preview");
        await Assertions.Expect(preview).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var csv = File.ReadLines(Path.Combine(WebServer.Root, "workflows", "data", "energy", "energy-train.csv")).Take(2).Select(l => l.Split(',')).ToList();
        var headers = await preview.Locator("thead th").AllInnerTextsAsync();
        Assert.That(headers.Select(h => h.Split(' ')[0]), Is.EqualTo(csv[0]));
        Assert.That(await preview.Locator("tbody tr").First.Locator("td").AllInnerTextsAsync(), Is.EqualTo(csv[1]));
        Assert.That(await preview.Locator("tbody tr").CountAsync(), Is.EqualTo(20), "the first 20 rows");
        await Browser.ShotAsync(page, "run-preview");

        // The training step's validation curve, one point per boosting round, as the tracking server recorded it.
        using var viewer = _server.Api("vera", "viewer");
        var curves = await _server.GetJsonAsync(viewer, $"/api/v1/runs/{runId}/steps/train/metrics");
        var series = curves["series"]!.AsArray();
        Assert.That(series.Select(s => s!["metric"]!.GetValue<string>()), Is.EqualTo(new[] { "valid_rmse" }), curves.ToJsonString());
        Assert.That(series[0]!["points"]!.AsArray(), Has.Count.EqualTo(15), "one point per round");
        await page.GotoAsync($"/runs/{runId}?step=train");
        var chart = page.GetByTestId("metric-curves");
        await Assertions.Expect(chart.GetByRole(AriaRole.Figure, new() { Name = "valid_rmse by round" })).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(chart.Locator("canvas")).ToHaveCountAsync(1);
        await Assertions.Expect(chart.Locator(".u-legend")).ToContainTextAsync(series[0]!["label"]!.GetValue<string>());
        await Browser.ShotAsync(page, "run-curves");
        worker.Terminate();
    }

    [Test]
    public async Task The_inbox_compares_an_evaluated_candidate_with_the_champion_slice_by_slice()
    {
        using var admin = _server.Api("root", "admin", "operator");
        const string yaml = """
            name: evaluated
            steps:
              - id: review
                uses: approval
                with:
                  summary:
                    task: binary
                    primary_metric: roc_auc
                    maximize: true
                    metrics: { roc_auc: 0.92, log_loss: 0.30 }
                    slices:
                      - { column: sex, value: Female, rows: 330, metrics: { roc_auc: 0.90 } }
                      - { column: sex, value: Male, rows: 670, metrics: { roc_auc: 0.93 } }
                    champion:
                      version: "3"
                      metrics: { roc_auc: 0.91, log_loss: 0.31 }
                      slices:
                        - { column: sex, value: Female, rows: 330, metrics: { roc_auc: 0.91 } }
                        - { column: sex, value: Male, rows: 670, metrics: { roc_auc: 0.92 } }
            """;
        await CreateWorkflowAsync(admin, "evaluated", yaml);
        var worker = _server.StartWorker(concurrency: 1);
        var runId = await StartRunAsync(admin, "evaluated");
        var bob = await Browser.AsUserAsync(_browser, _server, "bob", "approver");
        await bob.GotoAsync("/approvals");
        var card = bob.GetByTestId($"approval-{runId}");
        await Assertions.Expect(card).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var metrics = card.Locator("table.metrics").First;
        await Assertions.Expect(metrics.Locator("tr", new() { HasText = "roc_auc" })).ToContainTextAsync("+0.0100");
        await Assertions.Expect(metrics.Locator("tr", new() { HasText = "log_loss" })).Not.ToHaveClassAsync("worse");
        var slices = card.GetByTestId("slices");
        await Assertions.Expect(slices.Locator("caption")).ToContainTextAsync("worse in 1");
        await Assertions.Expect(slices.Locator("tbody tr").First).ToContainTextAsync("sex = Female");
        await Assertions.Expect(slices.Locator("tbody tr").First).ToHaveClassAsync("worse");
        await Assertions.Expect(slices.Locator("tbody tr").Nth(1)).ToContainTextAsync("+0.0100");
        await Browser.ShotAsync(bob, "inbox-slices");
        await card.GetByTestId("reject").ClickAsync();
        await bob.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Assertions.Expect(bob.GetByTestId($"approval-{runId}").GetByTestId("decision")).ToContainTextAsync("Rejected by bob");
        worker.Terminate();
    }

    private static async Task CreateWorkflowAsync(HttpClient admin, string name, string yaml)
    {
        using var r = await admin.PostAsync("/api/v1/workflows", Json(new { name, yaml }));
        Assert.That((int)r.StatusCode, Is.EqualTo(201), await r.Content.ReadAsStringAsync());
    }

    private static async Task<string> StartRunAsync(HttpClient admin, string workflow)
    {
        using var r = await admin.PostAsync("/api/v1/runs", Json(new { workflow, @params = new { } }));
        var body = await r.Content.ReadAsStringAsync();
        Assert.That((int)r.StatusCode, Is.EqualTo(201), body);
        return System.Text.Json.Nodes.JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    private static StringContent Json(object o) =>
        new(System.Text.Json.JsonSerializer.Serialize(o), System.Text.Encoding.UTF8, "application/json");
}
