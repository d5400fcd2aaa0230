using System.Text.Json.Nodes;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Cli.Tests.Workflows;
using Pipelines.Data;
using Pipelines.Data.Tables;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Mlflow;

/// <summary>Starts the real MLflow server once for this namespace's tests and stops it after them.</summary>
[SetUpFixture]
public sealed class RealMlflowFixture
{
    [OneTimeTearDown]
    public Task StopAsync() => RealMlflow.StopSharedAsync();
}

/// <summary>
/// The shipped nightly and scoring workflows as a user runs them with <c>MLFLOW_TRACKING_URI</c> pointing at a real
/// MLflow 2.17 server (../shared/mlflow-server), then checked with MLflow's own Python client: the champion loads
/// with <c>mlflow.pyfunc.load_model("models:/NAME@champion")</c> and predicts raw rows as Pipelines' batch scoring
/// did; runs are closed, named and carry datasets MLflow can read.
/// </summary>
public class RealMlflowNightlyTests
{
    private static string Repo => TestPostgres.RepositoryRoot();
    private static string Workflow(string name) => Path.Combine(Repo, "workflows", name);

    [Test]
    public async Task Nightly_RegistersAChampionThatPythonLoads_AndPredictsAsBatchScoring()
    {
        var mlflow = await RealMlflow.SharedAsync();
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var home = Directory.CreateTempSubdirectory("pipelines-home-").FullName;
        try
        {
            var model = "adult-income-" + Guid.NewGuid().ToString("N")[..8];
            var env = new Dictionary<string, string> { ["PIPELINES_HOME"] = home, ["MLFLOW_TRACKING_URI"] = mlflow.Uri };
            var (code, output) = await CliProcess.RunAsync(env, Repo, TimeSpan.FromMinutes(8), "run", Workflow("adult-income-nightly.yaml"),
                "--auto-approve", "-p", "trials=2", "-p", "rounds=20", "-p", "min_auc=0.8", "-p", $"model_name={model}", "--db", db.ConnectionString);
            Assert.That(code, Is.EqualTo(0), output + "\n" + mlflow.ServerLog());
            var nightly = WorkflowDb.RunId(output);
            (code, output) = await CliProcess.RunAsync(env, Repo, TimeSpan.FromMinutes(5), "run", Workflow("adult-income-scoring.yaml"),
                "-p", "partitions=2", "-p", $"model_name={model}", "--db", db.ConnectionString);
            Assert.That(code, Is.EqualTo(0), output);
            var scoring = WorkflowDb.RunId(output);

            // The rows the scoring read (the checked dataset) and what it predicted for each.
            var dataUri = (await WorkflowDb.StringsAsync(db, "SELECT outputs->'data'->>'uri' FROM step_runs WHERE run_id = @run AND step_id = 'check'",
                ("run", scoring))).Single();
            var (schema, batches) = DataFile.Open(WorkflowDb.LocalPath(dataUri));
            var rows = Table.Concat(schema, batches);
            var predictions = new double[rows.RowCount];
            var seen = 0;
            foreach (var uri in await WorkflowDb.StringsAsync(db, """
                         SELECT a.uri FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id
                         WHERE s.run_id = @run AND s.step_id = 'score' AND a.name LIKE 'predictions-%' AND s.state = 'succeeded'
                         """, ("run", scoring)))
            {
                var (ps, pb) = DataFile.Open(WorkflowDb.LocalPath(uri));
                var part = Table.Concat(ps, pb);
                for (var i = 0; i < part.RowCount; i++, seen++)
                    predictions[(long)part["row"].GetValue(i)!] = (double)part["prediction"].GetValue(i)!;
            }
            Assert.That(seen, Is.EqualTo(rows.RowCount), "every row scored once");

            var input = Path.Combine(home, "rows.json");
            var example = JsonNode.Parse(Pipelines.Ml.Packaging.MlflowModelDirectory.ExampleJson(rows))!.AsObject();
            example["predictions"] = new JsonArray(predictions.Select(p => (JsonNode)JsonValue.Create(p)).ToArray());
            await File.WriteAllTextAsync(input, example.ToJsonString());
            var reportPath = Path.Combine(home, "report.json");
            await mlflow.PythonAsync(Path.Combine(AppContext.BaseDirectory, "Mlflow", "check_nightly.py"),
                [model, "adult-income-nightly", nightly.ToString(), input, reportPath]);
            var report = JsonNode.Parse(await File.ReadAllTextAsync(reportPath))!;
            TestContext.Out.WriteLine(report.ToJsonString());

            Assert.That(report["champion_version"]!.GetValue<string>(), Is.EqualTo("1"));
            Assert.That(report["champion_source"]!.GetValue<string>(), Is.EqualTo($"runs:/{report["champion_run_id"]}/model"));
            Assert.That(report["champion_tags"]!["pipelines.artifact"], Is.Not.Null);
            Assert.That(report["champion_tags"]!["pipelines.sha256"], Is.Not.Null);
            Assert.That(report["rows"]!.GetValue<int>(), Is.EqualTo(rows.RowCount));
            Assert.That(report["max_abs_diff"]!.GetValue<double>(), Is.LessThanOrEqualTo(1e-6), "pyfunc vs Pipelines' batch scoring");
            Assert.That(report["booster_type"]!.GetValue<string>(), Is.EqualTo("xgboost.core.Booster"));

            var parent = report["parents"]!.AsArray().Single()!;
            Assert.That(parent["status"]!.GetValue<string>(), Is.EqualTo("FINISHED"));
            Assert.That(parent["end_time"], Is.Not.Null);
            Assert.That(parent["user_id"]!.GetValue<string>(), Is.EqualTo("tester"));
            Assert.That(parent["tags"]!["pipelines.outcome"]!.GetValue<string>(), Is.EqualTo("succeeded"));
            var children = report["children"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
            Assert.That(children, Does.Contain("baseline-logistic").And.Unique);
            var trials = children.Where(c => c != "baseline-logistic").ToList();
            Assert.That(trials, Has.Count.EqualTo(2));
            Assert.That(trials, Has.All.Match("^xgboost-trial-[0-9]+$"));
            Assert.That(report["children_finished"]!.GetValue<bool>(), Is.True);
            Assert.That(report["trial_metrics"]!.AsArray().Select(m => m!.GetValue<string>()), Does.Contain("best_valid_auc").And.Contain("valid_auc"));
            Assert.That(report["trial_history"]!.GetValue<int>(), Is.GreaterThan(1), "valid_auc keeps the per-round history");
            var datasets = report["datasets"]!.AsArray();
            Assert.That(datasets, Is.Not.Empty);
            foreach (var d in datasets)
            {
                Assert.That(d!["source_type"]!.GetValue<string>(), Is.EqualTo("local"));
                Assert.That(d["source_class"]!.GetValue<string>(), Is.EqualTo("LocalArtifactDatasetSource"));
                Assert.That(d["schema"]!["mlflow_colspec"]!.AsArray(), Is.Not.Empty);
                Assert.That(d["profile"]!["num_rows"]!.GetValue<long>(), Is.GreaterThan(0));
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>
    /// The other direction: a model trained and registered from Python with the xgboost flavor is what the shipped
    /// scoring workflow scores (<c>models:/NAME@champion</c>, features from its signature), with Python's numbers.
    /// </summary>
    [Test]
    public async Task Scoring_UsesAModelLoggedFromPython_AndPredictsAsPythonDoes()
    {
        var mlflow = await RealMlflow.SharedAsync();
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var home = Directory.CreateTempSubdirectory("pipelines-home-").FullName;
        try
        {
            var model = "notebook-adult-" + Guid.NewGuid().ToString("N")[..8];
            var data = Path.Combine(Repo, "workflows", "data", "adult");
            var reference = Path.Combine(home, "python.json");
            await mlflow.PythonAsync(Path.Combine(AppContext.BaseDirectory, "Mlflow", "log_python_model.py"),
                [Path.Combine(data, "adult.data"), Path.Combine(data, "adult.test"), model, reference]);
            var python = JsonNode.Parse(await File.ReadAllTextAsync(reference))!;

            var env = new Dictionary<string, string> { ["PIPELINES_HOME"] = home, ["MLFLOW_TRACKING_URI"] = mlflow.Uri };
            var (code, output) = await CliProcess.RunAsync(env, Repo, TimeSpan.FromMinutes(5), "run", Workflow("adult-income-scoring.yaml"),
                "-p", "partitions=2", "-p", $"model_name={model}", "--db", db.ConnectionString);
            Assert.That(code, Is.EqualTo(0), output);
            var scoring = WorkflowDb.RunId(output);
            var expected = python["predictions"]!.AsArray().Select(p => p!.GetValue<double>()).ToArray();
            var scored = new Dictionary<long, (double Value, string Version)>();
            foreach (var uri in await WorkflowDb.StringsAsync(db, """
                         SELECT a.uri FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id
                         WHERE s.run_id = @run AND s.step_id = 'score' AND a.name LIKE 'predictions-%' AND s.state = 'succeeded'
                         """, ("run", scoring)))
            {
                var (ps, pb) = DataFile.Open(WorkflowDb.LocalPath(uri));
                var part = Table.Concat(ps, pb);
                for (var i = 0; i < part.RowCount; i++)
                    scored[(long)part["row"].GetValue(i)!] = ((double)part["prediction"].GetValue(i)!, part["model_version"].Format(i)!);
            }
            Assert.That(scored.Keys.Order(), Is.EqualTo(Enumerable.Range(0, expected.Length).Select(i => (long)i)), "every holdout row scored once");
            Assert.That(scored.Values.Select(v => v.Version).Distinct(), Is.EqualTo(new[] { python["version"]!.GetValue<string>() }));
            var maxDiff = scored.Max(kv => Math.Abs(kv.Value.Value - expected[kv.Key]));
            TestContext.Out.WriteLine($"{expected.Length} rows, max abs difference {maxDiff:G3}");
            Assert.That(maxDiff, Is.LessThanOrEqualTo(1e-6), "Pipelines' batch scoring vs mlflow.pyfunc in Python");
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
