using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Workflows;

/// <summary>
/// Issue 7's failure cases, end to end through the shipped Adult workflows as a user runs them (`pipelines run` as a
/// process, from the repository root, with the local artifact folder and the built-in MLflow endpoint). One state is
/// shared: the nightly workflow promoted version 1 as champion and the scoring workflow published its predictions once.
/// After every failure the run's state, exit code and message are checked, and so is that the registry, the champion
/// and every earlier artifact are exactly as they were.
/// </summary>
[TestFixture, NonParallelizable]
public class WorkflowFailureTests
{
    // Small enough to keep the suite quick; the same values in every nightly run, so the step cache reuses the
    // fixture's trials wherever the training data is unchanged.
    private static readonly string[] Cheap = ["-p", "trials=2", "-p", "rounds=20", "-p", "min_auc=0.8"];

    private TestDatabase _db = null!;
    private string _home = null!;
    private string _data = null!;
    private WorkflowState _before = null!;
    private string _modelsShow = null!;
    private string _manifest = null!;

    private static string Root => TestPostgres.RepositoryRoot();
    private static string Nightly => Path.Combine(Root, "workflows", "adult-income-nightly.yaml");
    private static string Scoring => Path.Combine(Root, "workflows", "adult-income-scoring.yaml");
    private static string AdultData => Path.Combine(Root, "workflows", "data", "adult", "adult.data");
    private static string AdultTest => Path.Combine(Root, "workflows", "data", "adult", "adult.test");
    private string Data(string name) => Path.Combine(_data, name);

    [OneTimeSetUp]
    public async Task PromoteAChampionAndScoreOnce()
    {
        var clock = Stopwatch.StartNew();
        _db = await TestPostgres.CreateDatabaseAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _home = Path.Combine(Path.GetTempPath(), "pipelines-home-" + suffix);
        _data = Path.Combine(Path.GetTempPath(), "pipelines-bad-data-" + suffix);
        Directory.CreateDirectory(_data);

        var (code, output) = await CliAsync(["run", Nightly, "--auto-approve", .. Cheap]);
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await CliAsync("run", Scoring, "-p", "partitions=2");
        Assert.That(code, Is.EqualTo(0), output);
        (code, _modelsShow) = await CliAsync("models", "show", "adult-income");
        Assert.That(code, Is.EqualTo(0), _modelsShow);
        Assert.That(_modelsShow, Does.Contain("champion: version 1"));

        _before = await WorkflowState.TakeAsync(_db, _home);
        Assert.That(_before.Registry, Has.One.EqualTo("alias adult-income champion=v1"));
        Assert.That(_before.Registry.Count(r => r.StartsWith("version ", StringComparison.Ordinal)), Is.EqualTo(1));
        _manifest = (await WorkflowDb.StringsAsync(_db, "SELECT uri FROM artifacts WHERE name = 'manifest.json'")).Single();
        WriteBadData();
        TestContext.Progress.WriteLine($"WorkflowFailureTests fixture (nightly + scoring + bad data): {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [OneTimeTearDown]
    public async Task CleanUp()
    {
        // Also after a failed set-up, which may have stopped before creating any of these.
        if (_db is not null) await _db.DisposeAsync();
        foreach (var dir in new[] { _home, _data })
            if (dir is not null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Test]
    public async Task UnmappedHoldoutLabels_AreCaughtByTheAllowedValuesExpectation()
    {
        // The shipped workflow declares the holdout's label mapping; the same workflow without it must not let `>50K.` through.
        var lines = await File.ReadAllLinesAsync(Nightly);
        Assert.That(lines.Count(l => l.TrimStart().StartsWith("label_mapping:", StringComparison.Ordinal)), Is.EqualTo(1));
        var unmapped = Data("adult-income-nightly-unmapped.yaml");
        await File.WriteAllLinesAsync(unmapped, lines.Where(l => !l.TrimStart().StartsWith("label_mapping:", StringComparison.Ordinal)));

        var (code, output, run) = await RunAsync([unmapped, "--auto-approve", .. Cheap]);

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Steps["check_holdout"], Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Error, Does.StartWith("stopped by step 'check_holdout': quality gate failed on 'adult.test.parquet': allowed_values on Y: expected one of '>50K', '<=50K'"));
        Assert.That(run.Error, Does.Contain("16281 violating rows").And.Contain("'>50K.'").And.Contain("'<=50K.'"));
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error), "the CLI prints the same reason");
        Assert.That(new[] { "evaluate", "gate", "review", "promote" }.Select(s => run.Steps[s]), Is.All.EqualTo("skipped"));
        // Every holdout row is quarantined with the reason, for whoever fixes the data.
        var quarantine = await WorkflowDb.StringsAsync(_db, """
            SELECT a.row_count::text FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id
            WHERE s.run_id = @run AND s.step_id = 'check_holdout' AND a.name = 'quarantine.parquet'
            """, ("run", run.Id));
        Assert.That(quarantine, Is.EqualTo(new[] { "16281" }));
        await AssertNothingChangedAsync(run.Id);
    }

    [Test]
    public async Task DriftedHoldout_StopsAtTheDriftCheck_WithAReadableReport()
    {
        var (code, output, run) = await RunAsync([Nightly, "--auto-approve", .. Cheap, "-p", $"holdout_data={Data("drifted.test")}"]);

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Steps["check_holdout"], Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Error, Does.StartWith("stopped by step 'check_holdout': quality gate failed on 'drifted.test.parquet': drift_psi on age: expected PSI ≤ 0.2, observed PSI "));
        Assert.That(run.Error, Does.Not.Contain("hours-per-week").And.Not.Contain("education-num"), "only age drifted");
        var psi = Regex.Match(run.Error!, @"observed PSI ([0-9.]+)").Groups[1].Value;
        Assert.That(double.Parse(psi, CultureInfo.InvariantCulture), Is.GreaterThan(0.2));
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error));

        // The HTML report, opened from the artifact store as a person would, shows the column, the measure and the bound.
        var html = (await WorkflowDb.StepArtifactsAsync(_db, run.Id, "check_holdout", "quality-report.html")).Single();
        Assert.That(html, Does.StartWith("file://" + Path.Combine(_home, "artifacts")));
        var text = await File.ReadAllTextAsync(WorkflowDb.LocalPath(html));
        Assert.That(text, Does.StartWith("<!doctype html>").And.Contain("Verdict: <strong"));
        Assert.That(text, Does.Contain("FAIL"));
        Assert.That(text, Does.Contain("<td class=\"fail\">FAIL</td><td>drift_psi</td><td>age</td><td>PSI ≤ 0.2</td><td>PSI " + psi + "</td>"));
        Assert.That(text, Does.Contain("<h3>age <small>(numeric)</small></h3><p>PSI " + psi));
        // The JSON report says the same, machine-readably.
        var json = (await WorkflowDb.StepArtifactsAsync(_db, run.Id, "check_holdout", "quality-report.json")).Single();
        var report = JsonNode.Parse(await File.ReadAllTextAsync(WorkflowDb.LocalPath(json)))!;
        Assert.That(report["violations"]!.AsArray().Select(v => v!.GetValue<string>()), Has.Some.StartWith("drift_psi on age: expected PSI ≤ 0.2, observed PSI " + psi));
        await AssertNothingChangedAsync(run.Id);
    }

    // {path} is the file handed to the workflow; the artifact names derive from it.
    // Without age in the training data both gates stop (the holdout's drift check compares against it); whichever
    // finishes first names the run's reason.
    [TestCase("noage.data", "stopped", "stopped by step 'check_train': quality gate failed on 'noage.data.parquet': column_present on age: expected a column named 'age'" +
                                       " || stopped by step 'check_holdout': quality gate failed on 'adult.test.parquet': drift on age: expected the column in both datasets, observed missing")]
    [TestCase("noeducation.data", "failed", "train data 'noeducation.data.parquet': column 'education' is missing (needed by feature step 'one_hot')")]
    [TestCase("empty.csv", "failed", "step 'ingest_train' failed: source '{path}' is empty")]
    [TestCase("missing.csv", "failed", "step 'ingest_train' failed: input 'source': file '{path}' does not exist")]
    [TestCase("truncated.parquet", "failed", "step 'ingest_train' failed: cannot read source '{path}' as parquet: missing PAR1 magic at the end (at file offset ")]
    [TestCase("bad-footer.parquet", "failed", "step 'ingest_train' failed: cannot read source '{path}' as parquet: corrupt metadata")]
    [TestCase("garbage.csv", "failed", "step 'ingest_train' failed: cannot read source '{path}' as csv: line ")]
    public async Task BadTrainingData_FailsWithAMessageNamingTheFile(string file, string state, string expected)
    {
        var path = Data(file);
        var (code, output, run) = await RunAsync([Nightly, "--auto-approve", .. Cheap, "-p", $"train_data={path}"]);

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo(state), run.ToString());
        var reasons = expected.Replace("{path}", path).Split(" || ");
        Assert.That(reasons.Any(r => run.Error?.Contains(r, StringComparison.Ordinal) == true), Is.True,
            $"expected one of:\n  {string.Join("\n  ", reasons)}\n{run}");
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error));
        Assert.That(run.Steps["promote"], Is.EqualTo("skipped"));
        await AssertNothingChangedAsync(run.Id);
    }

    [Test]
    public async Task HoldoutWithoutAColumnTheModelNeeds_FailsAtEvaluation_NamingTheFileAndTheColumn()
    {
        var (code, output, run) = await RunAsync([Nightly, "--auto-approve", .. Cheap, "-p", $"holdout_data={Data("noeducation.test")}"]);

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo("failed"), run.ToString());
        Assert.That(run.Error, Is.EqualTo("step 'evaluate' failed: holdout 'noeducation.test.mapped.parquet' does not fit the candidate model: " +
                                         "column 'education' is missing (the feature pipeline was fitted with it)"));
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error));
        await AssertNothingChangedAsync(run.Id);
    }

    [Test]
    public async Task AModelWorseThanTheChampion_IsStoppedByTheEvaluationGate()
    {
        // Fewer boosting rounds: still better than the logistic baseline, worse than the champion on the holdout.
        var (code, output, run) = await RunAsync(Nightly, "--auto-approve", "-p", "trials=2", "-p", "rounds=5", "-p", "min_auc=0.8");

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Steps["leaderboard"], Is.EqualTo("succeeded"), "the candidate beat the baseline; the gate is what stops it");
        Assert.That(run.Steps["gate"], Is.EqualTo("stopped"));
        Assert.That(new[] { "review", "promote" }.Select(s => run.Steps[s]), Is.All.EqualTo("skipped"));
        var m = Regex.Match(run.Error ?? "", @"^stopped by step 'gate': evaluation gate failed: roc_auc improves on champion v1 by (-[0-9.]+) \(([0-9.]+) vs ([0-9.]+)\), needs at least 0\.001$");
        Assert.That(m.Success, Is.True, run.ToString());
        Assert.That(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Is.LessThan(double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error));
        Assert.That(await WorkflowDb.StepArtifactsAsync(_db, run.Id, "evaluate", "evaluation.html"), Has.Count.EqualTo(1), "the candidate was evaluated");
        Assert.That(await _db.ScalarAsync<long>("SELECT count(*) FROM approvals WHERE run_id = @run", ("run", run.Id)), Is.EqualTo(0), "nothing was put to a person");
        await AssertNothingChangedAsync(run.Id);
    }

    [Test]
    public async Task ARejectedApproval_PromotesNothing()
    {
        // min_improvement -1 lets the (cached, identical) candidate through the gate, so the run waits for a person.
        using var process = CliProcess.Start(CliEnvironment(), Root, ["run", Nightly, .. Cheap, "-p", "min_improvement=-1", "--db", _db.ConnectionString]);
        var runId = await Eventually.WaitAsync(async () =>
        {
            if (process.HasExited) throw new AssertionException("the run ended before asking for approval:\n" + process.Output);
            return (await WorkflowDb.StringsAsync(_db, "SELECT run_id::text FROM approvals WHERE decision IS NULL")).SingleOrDefault();
        }, id => id is not null, TimeSpan.FromMinutes(4), "the review approval to wait");
        // Without a terminal (stdin redirected), `run` tells the user how to decide instead of prompting.
        await Eventually.WaitAsync(() => Task.FromResult(WorkflowDb.Flat(process.Output)), o => o.Contains("decide with"), TimeSpan.FromMinutes(1), "the approval hint");
        Assert.That(WorkflowDb.Flat(process.Output), Does.Contain($"pipelines reject {runId} review"));

        var (code, output) = await CliAsync("reject", runId!, "review", "-m", "slice metrics look off", "--user", "reviewer");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain($"review of run {runId}: rejected by reviewer"));

        var runCode = await process.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.That(runCode, Is.EqualTo(1), process.Output);
        var run = await WorkflowDb.RunAsync(_db, Guid.Parse(runId!));
        Assert.That(run.State, Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Error, Is.EqualTo("stopped by step 'review': rejected by reviewer: slice metrics look off"));
        Assert.That(WorkflowDb.Flat(process.Output), Does.Contain(run.Error));
        Assert.That(run.Steps["gate"], Is.EqualTo("succeeded"));
        Assert.That(run.Steps["review"], Is.EqualTo("stopped"), run.ToString());
        Assert.That(run.Steps["promote"], Is.EqualTo("skipped"));
        Assert.That(await WorkflowDb.StringsAsync(_db, "SELECT decision || ' by ' || decided_by || ': ' || comment FROM approvals WHERE run_id = @run", ("run", run.Id)),
            Is.EqualTo(new[] { "rejected by reviewer: slice metrics look off" }));

        // A late approval cannot undo the rejection.
        (code, output) = await CliAsync("approve", runId!, "review", "--user", "reviewer");
        Assert.That(code, Is.EqualTo(4), output);
        await AssertNothingChangedAsync(run.Id);
    }

    [TestCase("noeducation.test", "failed", "step 'score' failed: 2 of 2 items failed; item 0: dataset 'noeducation.test.parquet' does not fit model adult-income@champion (version 1): column 'education' is missing (the feature pipeline was fitted with it)")]
    [TestCase("noage.test", "stopped", "stopped by step 'check': quality gate failed on 'noage.test.parquet': column_present on age: expected a column named 'age'")]
    [TestCase("empty.csv", "failed", "step 'ingest' failed: source '{path}' is empty")]
    public async Task ScoringBadInput_PublishesNoManifest_AndKeepsEarlierPredictions(string file, string state, string expected)
    {
        var path = Data(file);
        var (code, output, run) = await RunAsync(Scoring, "-p", "partitions=2", "-p", $"data={path}");

        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(run.State, Is.EqualTo(state), run.ToString());
        Assert.That(run.Error, Does.StartWith(expected.Replace("{path}", path)), run.ToString());
        Assert.That(WorkflowDb.Flat(output), Does.Contain(run.Error));
        Assert.That(run.Steps["publish"], Is.EqualTo("skipped"));
        Assert.That(WorkflowDb.Flat(output), Does.Not.Contain("publish.manifest"));
        Assert.That(await WorkflowDb.StepArtifactsAsync(_db, run.Id, "publish", "manifest.json"), Is.Empty);
        Assert.That(await WorkflowDb.StringsAsync(_db, "SELECT uri FROM artifacts WHERE name = 'manifest.json'"), Is.EqualTo(new[] { _manifest }));

        // The earlier scoring's manifest still leads to every partition it published, byte for byte.
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(WorkflowDb.LocalPath(_manifest)))!;
        var partitions = manifest["partitions"]!.AsArray();
        Assert.That(partitions, Has.Count.EqualTo(2));
        foreach (var p in partitions)
            Assert.That(WorkflowState.Sha256(WorkflowDb.LocalPath(p!["uri"]!.GetValue<string>())), Is.EqualTo(p["sha256"]!.GetValue<string>()));
        await AssertNothingChangedAsync(run.Id);
    }

    /// <summary>The registry, the champion and every earlier artifact are as the fixture left them; nothing was approved since.</summary>
    private async Task AssertNothingChangedAsync(Guid failedRun)
    {
        _before.AssertKeptBy(await WorkflowState.TakeAsync(_db, _home), _home);
        var (code, show) = await CliAsync("models", "show", "adult-income");
        Assert.That(code, Is.EqualTo(0), show);
        Assert.That(show, Is.EqualTo(_modelsShow), "`pipelines models show` changed");
        Assert.That(await _db.ScalarAsync<long>("SELECT count(*) FROM approvals WHERE decision = 'approved'"), Is.EqualTo(1), "only the fixture's run was approved");
        Assert.That(await _db.ScalarAsync<long>("SELECT count(*) FROM step_runs WHERE run_id = @run AND step_id = 'promote' AND state <> 'skipped'", ("run", failedRun)),
            Is.EqualTo(0), "the failed run's promote step never ran");
    }

    private Dictionary<string, string> CliEnvironment() => new() { ["PIPELINES_HOME"] = _home, ["MLFLOW_TRACKING_URI"] = "" };

    private async Task<(int Code, string Output)> CliAsync(params string[] args) =>
        await CliProcess.RunAsync(CliEnvironment(), Root, TimeSpan.FromMinutes(5), [.. args, "--db", _db.ConnectionString]);

    private async Task<(int Code, string Output, RunOutcome Run)> RunAsync(params string[] args)
    {
        var (code, output) = await CliAsync(["run", .. args]);
        return (code, output, await WorkflowDb.RunAsync(_db, WorkflowDb.RunId(output)));
    }

    private void WriteBadData()
    {
        var train = File.ReadAllLines(AdultData).Where(l => l.Length > 0).ToArray();
        var test = File.ReadAllLines(AdultTest).Where(l => l.Length > 0).ToArray();
        File.WriteAllLines(Data("noage.data"), DropColumn(train, "age"));
        File.WriteAllLines(Data("noeducation.data"), DropColumn(train, "education"));
        File.WriteAllLines(Data("noage.test"), DropColumn(test, "age"));
        File.WriteAllLines(Data("noeducation.test"), DropColumn(test, "education"));
        File.WriteAllBytes(Data("empty.csv"), []);
        // Everyone 15 years older (capped at Adult's 90): still valid ages, a different distribution.
        File.WriteAllLines(Data("drifted.test"), test.Select((line, i) =>
        {
            if (i == 0) return line;
            var fields = line.Split(',');
            fields[0] = Math.Min(90, int.Parse(fields[0], CultureInfo.InvariantCulture) + 15).ToString(CultureInfo.InvariantCulture);
            return string.Join(',', fields);
        }));
        Assert.That(File.ReadLines(Data("drifted.test")).Skip(1).First(), Does.StartWith("40,"), "the first holdout row (age 25) shifted");

        // A real Parquet file of Adult (the fixture's ingested training data), then broken two ways.
        var parquet = WorkflowDb.LocalPath(_before.Artifacts.Values.First(a => a.Name == "adult.data.parquet").Uri);
        var bytes = File.ReadAllBytes(parquet);
        File.WriteAllBytes(Data("truncated.parquet"), bytes[..(bytes.Length / 2)]);
        var footer = BitConverter.ToInt32(bytes, bytes.Length - 8);
        var badFooter = bytes.ToArray();
        Array.Fill(badFooter, (byte)0xFF, bytes.Length - 8 - footer, footer);
        File.WriteAllBytes(Data("bad-footer.parquet"), badFooter);
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(Data("garbage.csv"), garbage);
    }

    private static IEnumerable<string> DropColumn(string[] lines, string column)
    {
        var index = Array.FindIndex(lines[0].Split(','), h => h.Trim() == column);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), column);
        // Adult separates fields with ", "; keeping each field's leading space keeps the file as Adult writes it.
        return lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != index)).TrimStart());
    }
}
