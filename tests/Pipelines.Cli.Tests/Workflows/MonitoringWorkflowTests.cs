using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Workflows;

/// <summary>
/// Monitoring end to end as a user runs it: the nightly workflow promotes a champion and records its reference
/// profile; adult-income-monitoring then scores the shipped drifted batch, raises the alert and joins the labels, and the
/// alert starts adult-income-nightly through its declared trigger.
/// </summary>
public class MonitoringWorkflowTests
{
    private static string Workflow(string name) => Path.Combine(TestPostgres.RepositoryRoot(), "workflows", name);

    private static async Task<(int Code, string Output)> RunAsync(TestDatabase db, string home, params string[] args) =>
        await CliProcess.RunAsync(new Dictionary<string, string> { ["PIPELINES_HOME"] = home, ["MLFLOW_TRACKING_URI"] = "" },
            TestPostgres.RepositoryRoot(), TimeSpan.FromMinutes(5), [.. args, "--db", db.ConnectionString]);

    private string _home = "";

    [SetUp] public void NewHome() => _home = Path.Combine(Path.GetTempPath(), "pipelines-home-" + Guid.NewGuid().ToString("N")[..8]);

    [TearDown]
    public void RemoveHome()
    {
        if (Directory.Exists(_home)) Directory.Delete(_home, recursive: true);
    }

    [Test]
    public async Task AdultMonitoring_OnTheDriftedBatch_RaisesTheAlert_KeepsTheSeries_JoinsTheLabels_AndItsAlertStartsRetrainingOnce()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var (code, output) = await RunAsync(db, _home, "run", Workflow("adult-income-nightly.yaml"), "--auto-approve",
            "-p", "trials=1", "-p", "rounds=6", "-p", "min_auc=0.8");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("reference_profile.profile:"));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM monitor_references WHERE monitor = 'adult-income' AND profile ? 'prediction'"), Is.EqualTo(1));

        (code, output) = await RunAsync(db, _home, "schedules", "sync", Workflow("adult-income-nightly.yaml"));
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await RunAsync(db, _home, "run", Workflow("adult-income-monitoring.yaml"));
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("monitor.report_html:").And.Contain("realized.joined:"));
        Assert.That(await db.ScalarAsync<string>("SELECT verdict FROM monitor_batches WHERE monitor = 'adult-income'"), Is.EqualTo("alert"));
        // The alert is what the drift_alert step branches on: it ran instead of being skipped.
        Assert.That(await db.ScalarAsync<string>("SELECT state FROM step_runs WHERE step_id = 'drift_alert'"), Is.EqualTo("succeeded"));
        var drifted = await db.ScalarAsync<string>(
            "SELECT string_agg(f->>'name', ',' ORDER BY f->>'name') FROM monitor_batches, jsonb_array_elements(result->'features') f WHERE f->>'verdict' = 'alert'");
        Assert.That(drifted, Does.Contain("age").And.Contain("workclass"), "older ages and a quarter of workclass missing");
        // Every one of the 3000 rows has its label (the batch file carries them): full coverage, by sex too.
        Assert.That(await db.ScalarAsync<long>("SELECT labelled FROM monitor_realized WHERE monitor = 'adult-income' AND slice = 'all'"), Is.EqualTo(3000));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM monitor_realized WHERE monitor = 'adult-income' AND slice LIKE 'sex=%'"), Is.EqualTo(2));

        // The headline numbers are metrics of the monitoring run's MLflow parent run too.
        Assert.That(await db.ScalarAsync<long>(
            "SELECT count(*) FROM mlflow_metrics m JOIN mlflow_run_tags t ON t.run_uuid = m.run_uuid AND t.key = 'pipelines.run_id' " +
            "JOIN runs r ON r.id::text = t.value WHERE r.workflow_name = 'adult-income-monitoring' AND m.key IN ('monitor.max_psi', 'monitor.psi.age', 'monitor.verdict_level')"),
            Is.EqualTo(3));

        // The alert starts retraining once: adult-income-nightly declares `on: monitor_alert: adult-income`, registered by
        // `schedules sync` before the monitoring run. The run's own leader may have fired it already; two more sweeps
        // (leaders racing) add nothing. The nightly run records the alerting run as what triggered it.
        var store = new Pipelines.Postgres.Engine.PostgresEngineStore(db.DataSource, Pipelines.Activities.BuiltinActivities.CreateRegistry(), TimeProvider.System);
        await Task.WhenAll(store.FireTriggersAsync(), store.FireTriggersAsync());
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM runs WHERE workflow_name = 'adult-income-nightly' AND trigger = 'event'"), Is.EqualTo(1));
        var retraining = await db.ScalarAsync<Guid>("SELECT id FROM runs WHERE workflow_name = 'adult-income-nightly' AND trigger = 'event'");
        var triggeredBy = (await store.GetRunAsync(retraining))!.TriggeredBy!;
        Assert.That((triggeredBy.Kind, triggeredBy.Source, triggeredBy.Event["step_id"]!.GetValue<string>()), Is.EqualTo(("monitor_alert", "adult-income", "monitor")));
        Assert.That(await db.ScalarAsync<string>($"SELECT workflow_name FROM runs WHERE id = '{triggeredBy.Event["run_id"]!.GetValue<string>()}'"),
            Is.EqualTo("adult-income-monitoring"));
        (code, var shown) = await RunAsync(db, _home, "runs", "show", retraining.ToString());
        Assert.That(code, Is.EqualTo(0), shown);
        Assert.That(shown, Does.Contain($"triggered by monitor_alert adult-income: run {triggeredBy.Event["run_id"]}, step monitor, batch "));

        var report = output.Split('\n').Single(l => l.Contains("monitor.report_html:")).Split("file://")[1].Trim();
        var html = await File.ReadAllTextAsync(report);
        Assert.That(html, Does.Contain("Monitoring: adult-income").And.Contain("<svg").And.Contain("prediction: reference (grey) vs batch"));
    }
}
