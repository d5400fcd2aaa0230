using Deque.AxeCore.Playwright;
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

    [Test]
    public async Task A_triggered_run_links_its_trigger_the_triggers_view_lists_it_and_the_challenger_series_is_charted()
    {
        using var admin = _server.Api("root", "admin", "operator");
        // A workflow that starts on an alert of monitor web-model (one run per hour), registered as `schedules sync`
        // registers it, and a scoring run whose monitor step alerted twice in that hour. The leader's sweep is called
        // here rather than waited for (no worker runs in this test); it fires each event once whoever calls it.
        const string retrain = "name: retrain\non: [{ monitor_alert: web-model, window: 1h }]\nsteps:\n  - id: note\n    uses: log\n    with: { message: retrain }\n";
        await CreateWorkflowAsync(admin, "retrain", retrain);
        await CreateWorkflowAsync(admin, "scoring", "name: scoring\nsteps:\n  - id: monitor\n    uses: log\n    with: { message: scored }\n");
        var registry = Pipelines.Activities.BuiltinActivities.CreateRegistry();
        var engine = new Pipelines.Postgres.Engine.PostgresEngineStore(_server.Database.DataSource, registry);
        await engine.SyncAsync([Pipelines.Core.Validation.WorkflowValidator.LoadText(retrain, "retrain.yaml", registry)]);
        var scoring = await StartRunAsync(admin, "scoring");
        await _server.Database.ExecAsync("""
            INSERT INTO monitor_batches (monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, result)
            VALUES ('web-model', @run, 'monitor', 'batch-07', now(), 5000, 'alert', 0.31, '{}'),
                   ('web-model', @run, 'monitor-2', 'batch-08', now() + interval '1 millisecond', 5000, 'alert', 0.28, '{}')
            """, ("run", Guid.Parse(scoring)));
        await engine.FireTriggersAsync();

        // The scoring run lists the run it triggered; that run says what triggered it, with a link back.
        var page = await Browser.AsUserAsync(_browser, _server, "vera", "viewer");
        await page.GotoAsync($"/runs/{scoring}");
        var triggered = page.GetByTestId("triggered-runs");
        await Assertions.Expect(triggered.Locator("tbody tr")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
        await Assertions.Expect(triggered).ToContainTextAsync("de-duplicated into its window's run");
        await Assertions.Expect(triggered.Locator("tbody tr").First).ToContainTextAsync("monitor alert (step monitor, batch batch-07)");
        await Browser.ShotAsync(page, "run-triggered");
        await triggered.Locator("tbody tr").First.Locator("td").Nth(2).GetByRole(AriaRole.Link).ClickAsync();
        var by = page.GetByTestId("triggered-by");
        await Assertions.Expect(by).ToContainTextAsync("an alert of monitor web-model in run " + scoring[..8]);
        await Assertions.Expect(by).ToContainTextAsync("(step monitor, batch batch-07, max PSI 0.310)");
        await Assertions.Expect(by).ToContainTextAsync("1 later event of its window de-duplicated into this run");
        var retrainRun = page.Url.Split("/runs/")[1];
        await Browser.ShotAsync(page, "run-triggered-by");
        await by.GetByRole(AriaRole.Link).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/runs/{scoring}\\?step=monitor$"));

        // The triggers view: the event, its window, when it last fired and the run it started.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Triggers" }).ClickAsync();
        var row = page.GetByTestId("triggers").Locator("tr", new() { HasText = "retrain" });
        var cells = row.Locator("td");
        await Assertions.Expect(cells.Nth(1)).ToHaveTextAsync("monitor alert");
        await Assertions.Expect(cells.Nth(2)).ToHaveTextAsync("web-model");
        await Assertions.Expect(cells.Nth(3)).ToHaveTextAsync("1h");
        await Assertions.Expect(cells.Nth(4)).ToHaveTextAsync("2");
        await Assertions.Expect(cells.Nth(5)).ToHaveTextAsync("1");
        await Assertions.Expect(cells.Nth(6)).Not.ToHaveTextAsync("never");
        await Assertions.Expect(cells.Nth(7).GetByRole(AriaRole.Link)).ToHaveAttributeAsync("href", $"/runs/{retrainRun}");
        await Browser.ShotAsync(page, "triggers");

        // Champion/challenger: a registered model (v1 champion, v2 challenger) whose challenger shadow-scored five
        // batches; from the model page to its series: both metrics per batch, the difference and the policy's verdict.
        await MlflowAsync(admin, "registered-models/create", new { name = "web-model" });
        for (var v = 1; v <= 2; v++) await MlflowAsync(admin, "model-versions/create", new { name = "web-model", source = $"file:///models/web-model/{v}" });
        await MlflowAsync(admin, "registered-models/alias", new { name = "web-model", alias = "champion", version = "1" });
        await MlflowAsync(admin, "registered-models/alias", new { name = "web-model", alias = "challenger", version = "2" });
        var monitor = new Pipelines.Postgres.Monitoring.PostgresMonitorStore(_server.Database.DataSource);
        var t0 = DateTimeOffset.UtcNow.AddDays(-5);
        (double Champion, double Challenger, long Labelled)?[] realized = [(0.861, 0.874, 950), (0.858, 0.869, 1020), null, (0.864, 0.872, 980), (0.859, 0.871, 1005)];
        for (var i = 0; i < realized.Length; i++)
        {
            var r = realized[i];
            await monitor.RecordChallengerBatchAsync(new Pipelines.Core.Monitoring.ChallengerBatch("web-model", Guid.NewGuid(), "shadow", $"2026-12-0{i + 1}",
                t0.AddDays(i), "1", "2", 5000, 0.962 - i * 0.004, 0.012 + i * 0.002, r?.Labelled ?? 0,
                r is { } a ? $$"""{"roc_auc": {{a.Champion}}}""" : null, r is { } b ? $$"""{"roc_auc": {{b.Challenger}}}""" : null));
        }
        await page.GotoAsync("/models/web-model");
        await Assertions.Expect(page.GetByTestId("aliases")).ToContainTextAsync("challenger → v2");
        await Browser.ShotAsync(page, "model-challenger-link");
        await page.GetByRole(AriaRole.Link, new() { Name = "Champion vs challenger" }).ClickAsync();
        var batches = page.GetByTestId("challenger-batches").Locator("tbody tr");
        await Assertions.Expect(batches).ToHaveCountAsync(5);
        await Assertions.Expect(batches.Nth(0).Locator("td").Nth(10)).ToHaveTextAsync("+0.0130");
        await Assertions.Expect(batches.Nth(2)).ToContainTextAsync("no labels");
        await Assertions.Expect(batches.Nth(1).Locator("td").Last).ToHaveTextAsync("not yet");
        await Assertions.Expect(batches.Nth(3).Locator("td").Nth(11)).ToHaveTextAsync("3 / 3");
        await Assertions.Expect(batches.Nth(3).Locator("td").Last).ToHaveTextAsync("proposed");
        await Assertions.Expect(page.GetByTestId("challenger-verdict")).ToContainTextAsync("Proposed for approval");
        var chart = page.GetByTestId("challenger-chart");
        await Assertions.Expect(chart.GetByRole(AriaRole.Img, new() { Name = "roc_auc per shadow-scored batch: champion and challenger" })).ToBeVisibleAsync();
        await Assertions.Expect(chart.Locator("svg[role=img] circle")).ToHaveCountAsync(8, new() { Timeout = 10_000 });
        await Browser.ShotAsync(page, "challenger");
        var axe = await page.RunAxe();
        Assert.That(axe.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help}"), Is.Empty, "the chart, table and policy form");
        // Asking for more evidence withdraws the proposal.
        await page.GetByLabel("Batches required").FillAsync("5");
        await Assertions.Expect(page.GetByTestId("challenger-verdict")).ToContainTextAsync("Not proposed (4 of 5 batches of evidence)");
    }

    private static async Task MlflowAsync(HttpClient client, string path, object body)
    {
        using var r = await client.PostAsync($"/api/2.0/mlflow/{path}", Json(body));
        Assert.That(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
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
