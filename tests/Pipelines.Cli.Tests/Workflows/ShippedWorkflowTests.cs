using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Workflows;

/// <summary>
/// The workflows in workflows/ as a user runs them: `pipelines run` with in-process workers, the local artifact
/// folder and the built-in MLflow endpoint, each test on its own database and state folder.
/// </summary>
public class ShippedWorkflowTests
{
    private static string Workflow(string name) => Path.Combine(TestPostgres.RepositoryRoot(), "workflows", name);

    private static async Task<(int Code, string Output)> RunAsync(TestDatabase db, string home, params string[] args) =>
        // As a user runs them: from the repository root, where the workflows' relative data paths point.
        await CliProcess.RunAsync(new Dictionary<string, string> { ["PIPELINES_HOME"] = home, ["MLFLOW_TRACKING_URI"] = "" },
            TestPostgres.RepositoryRoot(), TimeSpan.FromMinutes(5), [.. args, "--db", db.ConnectionString]);

    private readonly List<string> _homes = [];

    private string NewHome()
    {
        var home = Path.Combine(Path.GetTempPath(), "pipelines-home-" + Guid.NewGuid().ToString("N")[..8]);
        _homes.Add(home);
        return home;
    }

    [TearDown]
    public void RemoveHomes()
    {
        foreach (var home in _homes.Where(Directory.Exists)) Directory.Delete(home, recursive: true);
        _homes.Clear();
    }

    [Test]
    public async Task EnergyRegression_TrainsGatesAndPromotes()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var (code, output) = await RunAsync(db, NewHome(), "run", Workflow("energy-demand-nightly.yaml"), "--auto-approve");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("promote").And.Contain("evaluate.report_html:"));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM approvals WHERE decision = 'approved'"), Is.EqualTo(1));
    }

    [Test]
    public async Task AdultNightlyThenScoring_PromotesAChampion_AndPublishesPredictionsWithAManifest()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var home = NewHome();
        var (code, output) = await RunAsync(db, home, "run", Workflow("adult-income-nightly.yaml"), "--auto-approve",
            "-p", "trials=2", "-p", "rounds=20", "-p", "min_auc=0.8");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("leaderboard.best_model:"));

        (code, output) = await RunAsync(db, home, "run", Workflow("adult-income-scoring.yaml"), "-p", "partitions=3");
        Assert.That(code, Is.EqualTo(0), output);
        var manifest = output.Split('\n').Single(l => l.Contains("publish.manifest:")).Split("file://")[1].Trim();
        var text = await File.ReadAllTextAsync(manifest);
        Assert.That(System.Text.Json.Nodes.JsonNode.Parse(text)!.ToJsonString(), Does.Contain("sha256"));

        (code, output) = await RunAsync(db, home, "models", "show", "adult-income");
        Assert.That(output, Does.Contain("champion: version 1"), output);

        // The demo's closing summary: rows scored, with which version, and where the manifest is.
        var scoring = await db.ScalarAsync<Guid>("SELECT id FROM runs WHERE workflow_name = 'adult-income-scoring'");
        (code, output) = await RunAsync(db, home, "runs", "list", "--workflow", "adult-income-scoring", "--quiet");
        Assert.That(output.Trim(), Is.EqualTo(scoring.ToString()));
        (code, output) = await RunAsync(db, home, "runs", "show", scoring.ToString(), "--results");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain($"adult-income-scoring run {scoring}: succeeded")
            .And.Contain("scored: 16281 rows in 3 partitions with model version 1")
            .And.Contain($"predictions manifest: file://{manifest}"));
    }

    [Test]
    public async Task AdultNightly_StopsAtTheGate_WhenTheHoldoutIsTheUnmappedTestSplit()
    {
        // The training data itself carries the test split's `>50K.` labels: the training quality gate stops the run.
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var (code, output) = await RunAsync(db, NewHome(), "run", Workflow("adult-income-nightly.yaml"), "--auto-approve",
            "-p", $"train_data={Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "data", "adult", "adult.test")}");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("stopped by step 'check_train'").And.Contain(">50K."));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM approvals"), Is.EqualTo(0), "nothing reached the approval");
    }

    [Test]
    public async Task AdultNightly_IsApprovedByThePolicy_WhenTheCandidateClearlyBeatsTheChampion()
    {
        // Seeded and single-threaded trials: 10 rounds gain about 0.0086 ROC AUC over 6 rounds on the holdout, with no
        // slice worse, so the gate's auto-approve rule (at least 0.005, no slice regression) holds.
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var home = NewHome();
        var (code, output) = await RunAsync(db, home, "run", Workflow("adult-income-nightly.yaml"), "--auto-approve",
            "-p", "trials=1", "-p", "rounds=6", "-p", "min_auc=0.8");
        Assert.That(code, Is.EqualTo(0), output);

        // No --auto-approve: without the policy this run would wait for a person.
        (code, output) = await RunAsync(db, home, "run", Workflow("adult-income-nightly.yaml"),
            "-p", "trials=1", "-p", "rounds=10", "-p", "min_auc=0.8");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("approval review: approved by policy — improvement"));
        Assert.That(await db.ScalarAsync<string>(
                "SELECT decided_by || ': ' || comment FROM approvals ORDER BY requested_at DESC LIMIT 1"),
            Does.StartWith("policy: improvement 0.00").And.Contain("no slice regresses"));
        (code, output) = await RunAsync(db, home, "models", "show", "adult-income");
        Assert.That(output, Does.Contain("champion: version 2"), output);

        // The results of the second run, as the demo ends: every figure is the one its step recorded.
        var second = Guid.Parse((await RunAsync(db, home, "runs", "list", "--workflow", "adult-income-nightly", "--limit", "1", "-q")).Output.Trim());
        (code, output) = await RunAsync(db, home, "runs", "show", second.ToString(), "--results");
        Assert.That(code, Is.EqualTo(0), output);
        var evaluation = System.Text.Json.Nodes.JsonNode.Parse(await db.ScalarAsync<string>(
            "SELECT outputs::text FROM step_runs WHERE run_id = @r AND step_id = 'evaluate'", ("r", second)))!["summary"]!;
        string F(string path) => evaluation[path.Split('.')[0]]![path.Split('.')[1]]!.GetValue<double>().ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
        var auc = $"{F("metrics.roc_auc")}";
        Assert.That(output, Does.Contain($"adult-income-nightly run {second}: succeeded")
            .And.Contain("evaluate: holdout of 16281 rows, candidate against the champion at the time, version 1:")
            .And.Match($@"roc_auc\s+{System.Text.RegularExpressions.Regex.Escape(auc)}\s+champion\s+{System.Text.RegularExpressions.Regex.Escape(evaluation["champion"]!["metrics"]!["roc_auc"]!.GetValue<double>().ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture))}\s+change \+0\.00")
            .And.Contain("leaderboard: best trial #").And.Contain("; baseline (logistic) ").And.Contain(", beaten")
            .And.Contain("review: approved by policy")
            .And.Contain("promoted: adult-income version 2 is now champion (previous champion: version 1)")
            .And.Contain("reports: file://").And.Contain("evaluation.html (HTML)"));
    }
}
