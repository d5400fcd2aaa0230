using System.Diagnostics;
using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Engine;
using Pipelines.Testing;
using Pipelines.Tracking.Client;

namespace Pipelines.Cli.Tests.Workflows;

/// <summary>
/// Issue 7: a worker process killed (SIGKILL) while it scores a partition of adult-income-scoring. Everything runs
/// as separate real processes against one PostgreSQL: <c>pipelines serve</c> (MLflow), two <c>pipelines worker</c>s
/// and the submitting <c>pipelines run</c>. The kill is aimed from the database (the victim's own running
/// <c>score</c> attempt at the kill point), never by sleeping and hoping; a trigger the test adds to its throwaway
/// database keeps the victim's score completions waiting on a lock the test holds, so the attempt it aimed at is
/// still uncommitted when SIGKILL lands.
/// Both kill points share one database, <c>pipelines serve</c>, champion and earlier scoring (trained once, in
/// <see cref="TrainAChampionAndScoreOnceAsync"/>): each case snapshots what exists before its own run and checks that
/// its run changes none of it, so a case also proves that the other case's outputs stayed untouched.
/// </summary>
public class KilledWorkerScoringTests
{
    public enum KillPoint
    {
        /// <summary>The attempt has fetched the champion and the batch and is reading and predicting.</summary>
        WhileScoring,
        /// <summary>
        /// The attempt has uploaded and registered its predictions, but its completion has not committed: the one
        /// moment a whole predictions file of a doomed attempt sits in the registry.
        /// </summary>
        BeforeCompletion,
    }

    // The lock the test holds until the victim is dead, keeping its score completions from committing.
    private const long HoldLock = 7_007_007;

    private const string Model = "adult-income";
    // adult.test repeated: every partition reads and scores enough rows that the victim is still working when killed.
    private const int Copies = 40;
    private const int Partitions = 8;

    private static string Repo => TestPostgres.RepositoryRoot();
    private static string Workflow(string name) => Path.Combine(Repo, "workflows", name);

    // Set up once for both cases.
    private TestDatabase _db = null!;
    private string _home = null!;
    private CliProcess? _serve;
    private Dictionary<string, string> _env = null!;
    private MlflowClient _mlflow = null!;
    private string _champion = null!;
    /// <summary>The earlier scoring's predictions by row of adult.test.</summary>
    private Dictionary<long, double> _earlier = null!;
    /// <summary>adult.test repeated <see cref="Copies"/> times.</summary>
    private string _batch = null!;
    private long _inputRows;

    [OneTimeSetUp]
    public async Task TrainAChampionAndScoreOnceAsync()
    {
        var clock = Stopwatch.StartNew();
        _db = await TestPostgres.CreateDatabaseAsync();
        _home = Path.Combine(Path.GetTempPath(), "pipelines-kill-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_home);
        _serve = CliProcess.Start(new Dictionary<string, string> { ["PIPELINES_HOME"] = _home }, Repo, "serve", "--db", _db.ConnectionString, "--urls", "http://127.0.0.1:0");
        var trackingUri = await AwaitLineAsync(_serve, "MLflow tracking URI: ");
        _env = new Dictionary<string, string> { ["PIPELINES_HOME"] = _home, ["MLFLOW_TRACKING_URI"] = trackingUri };
        _mlflow = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(trackingUri) });

        // 1. A champion and an earlier, published scoring. The champion only has to exist and score (one short
        //    trial, as MonitoringWorkflowTests trains it); the runs under test are the scorings below.
        var (code, output) = await CliProcess.RunAsync(_env, Repo, TimeSpan.FromMinutes(5), "run", Workflow("adult-income-nightly.yaml"),
            "--auto-approve", "-p", "trials=1", "-p", "rounds=6", "-p", "min_auc=0.8", "--db", _db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await CliProcess.RunAsync(_env, Repo, TimeSpan.FromMinutes(5), "run", Workflow("adult-income-scoring.yaml"),
            "-p", "partitions=3", "--db", _db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        _champion = (await _mlflow.GetModelVersionByAliasAsync(Model, "champion")).Version;
        var artifacts = await ArtifactRowsAsync(_db);
        var earlierManifests = artifacts.Where(a => a.Name == "manifest.json").ToList();
        Assert.That(earlierManifests, Has.Count.EqualTo(1), "the earlier scoring published one manifest");
        _earlier = ReadPredictions(JsonNode.Parse(await File.ReadAllTextAsync(WorkflowDb.LocalPath(earlierManifests[0].Uri)))!, artifacts);
        Assert.That(_earlier.Keys.Order(), Is.EqualTo(Enumerable.Range(0, _earlier.Count).Select(i => (long)i)), "earlier scoring covered adult.test");

        // 2. The batch: adult.test repeated, so row r must score exactly as row r mod n did in the earlier scoring.
        var lines = await File.ReadAllLinesAsync(Path.Combine(Repo, "workflows", "data", "adult", "adult.test"));
        var body = lines.Skip(1).Where(l => l.Length > 0).ToList();
        Assert.That(body, Has.Count.EqualTo(_earlier.Count));
        _batch = Path.Combine(_home, "batch.csv");
        await File.WriteAllLinesAsync(_batch, [lines[0], .. Enumerable.Repeat(body, Copies).SelectMany(b => b)]);
        _inputRows = (long)body.Count * Copies;

        // The test's instrument, not the product's: a victim's score attempts may finish their work, but the
        // transaction that would complete them waits on a lock the test holds until the victim is dead. That
        // makes BeforeCompletion reachable at all, and means a kill aimed WhileScoring cannot arrive too late.
        await _db.ExecAsync($"""
            CREATE TABLE test_victims (worker_id text PRIMARY KEY);
            CREATE FUNCTION test_hold_completion() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.state <> 'running' AND EXISTS (SELECT 1 FROM test_victims v JOIN step_runs s ON s.id = NEW.step_run_id
                                                      WHERE v.worker_id = OLD.worker_id AND s.step_id = 'score') THEN
                    PERFORM pg_advisory_xact_lock_shared({HoldLock});
                END IF;
                RETURN NEW;
            END $f$;
            CREATE TRIGGER test_hold_completion BEFORE UPDATE ON attempts FOR EACH ROW EXECUTE FUNCTION test_hold_completion();
            """);
        TestContext.Out.WriteLine($"shared setup (champion, earlier scoring, batch) {clock.Elapsed.TotalSeconds:F1}s");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _mlflow?.Dispose();
        _serve?.Dispose();
        if (_db is not null) await _db.DisposeAsync();
        if (_home is not null)
            try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }

    [TestCase(KillPoint.WhileScoring)]
    [TestCase(KillPoint.BeforeCompletion)]
    public async Task WorkerKilledDuringScoring_RunCompletes_EveryRowScoredOnce_AndNothingEarlierChanges(KillPoint point)
    {
        var clock = Stopwatch.StartNew();
        var (db, home, env, mlflow, earlier, batch, inputRows) = (_db, _home, _env, _mlflow, _earlier, _batch, _inputRows);
        var started = new List<CliProcess>();
        NpgsqlConnection? holdConnection = null;
        NpgsqlTransaction? hold = null;
        try
        {
            // Everything that exists before this case's run (the earlier scoring's and, when the other case ran
            // first, its run's too): none of it may change.
            var registryBefore = await RegistrySnapshotAsync(mlflow);
            var champion = (await mlflow.GetModelVersionByAliasAsync(Model, "champion")).Version;
            Assert.That(champion, Is.EqualTo(_champion), "the champion trained in the set-up");
            var artifactsBefore = await ArtifactRowsAsync(db);
            var filesBefore = artifactsBefore.ToDictionary(a => a.Id, a => WorkflowState.Sha256(WorkflowDb.LocalPath(a.Uri)));
            var mlflowFilesBefore = FolderHashes(Path.Combine(home, "mlflow-artifacts"));
            var manifestsBefore = artifactsBefore.Count(a => a.Name == "manifest.json");
            Assert.That(manifestsBefore, Is.GreaterThanOrEqualTo(1), "the earlier scoring published a manifest");

            // The survivor has fewer slots than max_parallel (4), so the victim (4 slots) is sure to hold partitions.
            var victim = Start(started, env, WorkerArgs(db, concurrency: 4));
            var survivor = Start(started, env, WorkerArgs(db, concurrency: 2));
            var victimId = await WorkerIdAsync(db, victim);
            var survivorId = await WorkerIdAsync(db, survivor);
            // The set-up's trigger holds this victim's score completions (see TrainAChampionAndScoreOnceAsync).
            await db.ExecAsync("INSERT INTO test_victims VALUES (@id)", ("id", victimId));
            holdConnection = await db.DataSource.OpenConnectionAsync();
            hold = await holdConnection.BeginTransactionAsync();
            await using (var cmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({HoldLock})", holdConnection, hold))
                await cmd.ExecuteNonQueryAsync();

            var (code, output) = await CliProcess.RunAsync(env, Repo, TimeSpan.FromMinutes(1), "run", Workflow("adult-income-scoring.yaml"),
                "--no-wait", "-p", $"data={batch}", "-p", $"partitions={Partitions}", "--db", db.ConnectionString);
            Assert.That(code, Is.EqualTo(0), output);
            var runId = output.Split('\n').Select(l => Guid.TryParse(l.Trim(), out var g) ? g : Guid.Empty).Last(g => g != Guid.Empty);

            // 3. Kill the victim the moment the database shows its running score attempt at the kill point: it has
            //    resolved the champion and fetched the batch (both recorded as read by the attempt), or it has
            //    registered its predictions.
            var killStart = clock.Elapsed;
            var seen = await Eventually.WaitAsync(() => VictimScoreAttemptAsync(db, runId, victimId, point),
                a => a is not null || victim.HasExited, TimeSpan.FromMinutes(3), $"the victim's score attempt to reach {point}");
            Assert.That(seen, Is.Not.Null, "the victim exited by itself:\n" + victim.Output);
            var (targetStep, targetAttempt, targetItem) = seen!.Value;
            Process.GetProcessById(victim.Pid).Kill();
            Assert.That(await victim.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Not.EqualTo(0), "SIGKILL");
            await hold.RollbackAsync(); // the dead victim's held transactions can only roll back now
            TestContext.Out.WriteLine($"{point}: killed {victimId} while it scored partition {targetItem} (attempt {targetAttempt})");

            // What a reader sees meanwhile: no manifest for this run while any partition is still unscored.
            var store = new PostgresEngineStore(db.DataSource, Pipelines.Activities.BuiltinActivities.CreateRegistry());
            int observations = 0, whileScoring = 0;
            var details = await Eventually.WaitAsync(async () =>
            {
                var (manifests, scoreDone) = await ReaderViewAsync(db, runId);
                Assert.That(manifests == 0 || scoreDone, $"a manifest of run {runId} is visible while partitions are still being scored");
                observations++;
                if (!scoreDone) whileScoring++;
                return (await store.GetRunAsync(runId))!;
            }, d => d.Run.State.IsTerminal(), TimeSpan.FromMinutes(5), "the scoring run to finish");
            var recoverTime = clock.Elapsed - killStart;
            Assert.That(whileScoring, Is.GreaterThan(0), "the reader's view was checked while partitions were still open");
            Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\nsurvivor:\n" + survivor.Output);
            Assert.That(survivor.HasExited, Is.False, "the surviving worker kept running");

            // The killed attempt is history (lost), and a later attempt of the same partition succeeded elsewhere.
            var children = details.Steps.Where(s => s.StepId == "score" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex).ToList();
            Assert.That(children.Select(c => c.ItemIndex), Is.EqualTo(Enumerable.Range(0, Partitions).Select(i => (int?)i)));
            var target = children.Single(c => c.Id == targetStep);
            var killed = target.Attempts.Single(a => a.Attempt == targetAttempt);
            Assert.That((killed.State, killed.WorkerId), Is.EqualTo((AttemptState.Lost, victimId)), killed.Error);
            Assert.That(killed.Error, Does.Contain(victimId));
            var retried = target.Attempts.Single(a => a.State == AttemptState.Succeeded);
            Assert.That((retried.Attempt > targetAttempt, retried.WorkerId), Is.EqualTo((true, survivorId)), "retried on the surviving worker");
            Assert.That(retried.StartedAt, Is.GreaterThanOrEqualTo(killed.EndedAt!.Value), "only once the victim's lease had been given up on");
            foreach (var c in children)
            {
                Assert.That(c.State, Is.EqualTo(StepState.Succeeded), $"partition {c.ItemIndex}");
                var success = c.Attempts.Single(a => a.State == AttemptState.Succeeded);
                Assert.That(success.Attempt, Is.EqualTo(c.Attempts.Max(a => a.Attempt)), $"partition {c.ItemIndex}: the success is the last attempt");
                Assert.That(c.Attempts.Where(a => a.State != AttemptState.Succeeded).Select(a => (a.State, a.WorkerId)),
                    Is.All.EqualTo((AttemptState.Lost, victimId)), $"partition {c.ItemIndex}: only the victim's attempts were lost");
            }
            var durations = children.SelectMany(c => c.Attempts).Where(a => a.State == AttemptState.Succeeded).Select(a => (a.EndedAt!.Value - a.StartedAt).TotalSeconds).ToList();
            var lost = details.Steps.SelectMany(s => s.Attempts.Where(a => a.State != AttemptState.Succeeded).Select(a => (s.Id, a.Attempt))).ToHashSet();
            Assert.That(lost, Has.Count.GreaterThanOrEqualTo(1));

            // The manifest: one artifact per partition, each the output of the partition's succeeded attempt.
            var publish = details.Steps.Single(s => s.StepId == "publish");
            var artifactsAfter = await ArtifactRowsAsync(db);
            var manifestRef = publish.Outputs!["manifest"]!;
            var manifestRow = artifactsAfter.Single(a => a.Id == Guid.Parse(manifestRef["artifact"]!.GetValue<string>()));
            Assert.That(WorkflowState.Sha256(WorkflowDb.LocalPath(manifestRow.Uri)), Is.EqualTo(manifestRow.Sha256));
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(WorkflowDb.LocalPath(manifestRow.Uri)))!;
            var entries = manifest["partitions"]!.AsArray();
            Assert.That(entries.Select(e => e!["partition"]!.GetValue<int>()), Is.EqualTo(Enumerable.Range(0, Partitions)));
            foreach (var e in entries)
            {
                var child = children[e!["partition"]!.GetValue<int>()];
                var success = child.Attempts.Single(a => a.State == AttemptState.Succeeded);
                var row = artifactsAfter.Single(a => a.Id == Guid.Parse(e["artifact"]!.GetValue<string>()));
                Assert.That((row.StepRunId, row.Attempt), Is.EqualTo(((Guid?)child.Id, (int?)success.Attempt)), $"partition {child.ItemIndex}: made by its succeeded attempt");
                Assert.That(child.Outputs!["predictions"]!["artifact"]!.GetValue<string>(), Is.EqualTo(row.Id.ToString()));
            }
            Assert.That(manifestRow.CreatedAt, Is.GreaterThan(children.SelectMany(c => c.Attempts).Max(a => a.EndedAt!.Value.UtcDateTime)),
                "the manifest was written after every partition's attempts had ended");
            Assert.That(artifactsAfter.Count(a => a.Name == "manifest.json"), Is.EqualTo(manifestsBefore + 1), "the earlier manifests and this run's");

            // Every input row scored exactly once, by the champion, for this run, exactly as the earlier scoring scored it.
            var scored = ReadPredictions(manifest, artifactsAfter, runId.ToString(), champion);
            Assert.That(manifest["rows"]!.GetValue<long>(), Is.EqualTo(inputRows));
            Assert.That(scored.Keys.Order(), Is.EqualTo(Enumerable.Range(0, (int)inputRows).Select(i => (long)i)), "each input row once");
            Assert.That(scored.Where(kv => kv.Value != earlier[kv.Key % earlier.Count]).Select(kv => kv.Key).Take(5), Is.Empty,
                "rows whose prediction differs from the same row in the earlier scoring");

            // Whatever the killed attempts left behind is referenced by nothing: not the manifest, not any step's inputs or outputs.
            var orphans = artifactsAfter.Where(a => a.StepRunId is { } s && lost.Contains((s, a.Attempt!.Value))).Select(a => a.Id.ToString()).ToList();
            var referenced = manifest.ToJsonString() + string.Concat(details.Steps.Select(s => s.Inputs?.ToJsonString() + s.Outputs?.ToJsonString()));
            Assert.That(orphans.Where(referenced.Contains), Is.Empty, "artifacts of killed attempts that something references");
            if (point == KillPoint.BeforeCompletion)
            {
                // The doomed attempt's predictions are whole and registered (the case this kill point exists for), and
                // still nothing reads them.
                var left = artifactsAfter.Single(a => a.StepRunId == targetStep && a.Attempt == targetAttempt);
                Assert.That((left.Kind, left.Rows, WorkflowState.Sha256(WorkflowDb.LocalPath(left.Uri))),
                    Is.EqualTo(("table", target.Inputs!["partition"]!["length"]!.GetValue<long>(), left.Sha256)));
                Assert.That(orphans, Does.Contain(left.Id.ToString()));
            }
            Assert.That(publish.Inputs!["partitions"]!.AsArray().Select(p => p!["artifact"]!.GetValue<string>()),
                Is.EqualTo(entries.Select(e => e!["artifact"]!.GetValue<string>())));

            // Earlier artifacts (rows and bytes), the MLflow artifact folder, the registry and the champion: unchanged.
            Assert.That(artifactsAfter.Where(a => filesBefore.ContainsKey(a.Id)), Is.EqualTo(artifactsBefore));
            Assert.That(artifactsBefore.ToDictionary(a => a.Id, a => WorkflowState.Sha256(WorkflowDb.LocalPath(a.Uri))), Is.EqualTo(filesBefore));
            var mlflowFilesAfter = FolderHashes(Path.Combine(home, "mlflow-artifacts"));
            Assert.That(mlflowFilesBefore.Where(kv => mlflowFilesAfter.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => kv.Key), Is.Empty,
                "MLflow artifact files changed or gone");
            Assert.That(await RegistrySnapshotAsync(mlflow), Is.EqualTo(registryBefore));
            Assert.That((await mlflow.GetModelVersionByAliasAsync(Model, "champion")).Version, Is.EqualTo(champion));

            // How much work a scoring attempt still had once its batch was fetched: the margin the kill has.
            var margin = await db.ScalarAsync<double>("""
                SELECT extract(epoch FROM min(a.ended_at - i.recorded_at))::float8 FROM attempts a
                JOIN step_runs s ON s.id = a.step_run_id JOIN artifact_inputs i ON i.step_run_id = a.step_run_id AND i.attempt = a.attempt
                WHERE s.run_id = @run AND s.step_id = 'score' AND a.state = 'succeeded' AND i.input_name = 'dataset'
                """, ("run", runId));
            TestContext.Out.WriteLine($"setup {killStart.TotalSeconds:F1}s; kill to completion {recoverTime.TotalSeconds:F1}s; total {clock.Elapsed.TotalSeconds:F1}s; " +
                $"{inputRows} rows in {Partitions} partitions (attempts {durations.Min():F2}-{durations.Max():F2}s, at least {margin:F2}s left once the batch was fetched); {lost.Count} lost attempt(s), {orphans.Count} orphan artifact(s); {observations} reader checks ({whileScoring} while scoring)");
        }
        finally
        {
            if (hold is not null) await hold.DisposeAsync();
            if (holdConnection is not null) await holdConnection.DisposeAsync();
            // The workers die with the case (the victim already is), so the other case's run sees only its own.
            foreach (var p in started) p.Dispose();
        }
    }

    private static string[] WorkerArgs(TestDatabase db, int concurrency) =>
        // A lease long enough that the survivor never loses one to a late heartbeat while scoring saturates the
        // cores; only the killed victim's lease expires (the test waits for that, whatever it takes).
        ["worker", "--db", db.ConnectionString, "--lease", "15s", "--heartbeat", "1s", "--concurrency", concurrency.ToString(), "--leader-interval", "500ms"];

    private static CliProcess Start(List<CliProcess> started, Dictionary<string, string> env, params string[] args)
    {
        var p = CliProcess.Start(env, Repo, args);
        started.Add(p);
        return p;
    }

    private static async Task<string> AwaitLineAsync(CliProcess process, string marker)
    {
        var line = await Eventually.WaitAsync(() => Task.FromResult(process.Output.Split('\n').FirstOrDefault(l => l.StartsWith(marker, StringComparison.Ordinal))),
            l => l is not null || process.HasExited, TimeSpan.FromMinutes(1), $"'{marker}' from the process");
        return line?[marker.Length..].Trim() ?? throw new AssertionException($"the process exited first:\n{process.Output}");
    }

    private static async Task<string> WorkerIdAsync(TestDatabase db, CliProcess worker) =>
        await Eventually.WaitAsync(async () =>
        {
            await using var conn = await db.DataSource.OpenConnectionAsync();
            await using var cmd = new NpgsqlCommand("SELECT id FROM workers WHERE pid = @pid AND host = @host AND stopped_at IS NULL", conn);
            cmd.Parameters.AddWithValue("pid", worker.Pid);
            cmd.Parameters.AddWithValue("host", Environment.MachineName);
            return (string?)await cmd.ExecuteScalarAsync();
        }, id => id is not null || worker.HasExited, TimeSpan.FromMinutes(1), $"worker {worker.Pid} to register") ?? throw new AssertionException(worker.Output);

    private static async Task<(Guid StepRun, int Attempt, int Item)?> VictimScoreAttemptAsync(TestDatabase db, Guid run, string victim, KillPoint point)
    {
        var reached = point == KillPoint.WhileScoring
            ? "EXISTS (SELECT 1 FROM artifact_inputs i WHERE i.step_run_id = a.step_run_id AND i.attempt = a.attempt AND i.input_name = 'dataset')"
            : "EXISTS (SELECT 1 FROM artifacts o WHERE o.step_run_id = a.step_run_id AND o.attempt = a.attempt)";
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand($"""
            SELECT a.step_run_id, a.attempt, s.item_index FROM attempts a JOIN step_runs s ON s.id = a.step_run_id
            WHERE s.run_id = @run AND s.step_id = 'score' AND a.state = 'running' AND a.worker_id = @victim AND {reached}
            ORDER BY a.started_at DESC LIMIT 1
            """, conn);
        cmd.Parameters.AddWithValue("run", run);
        cmd.Parameters.AddWithValue("victim", victim);
        await using var r = await cmd.ExecuteReaderAsync();
        return await r.ReadAsync() ? (r.GetGuid(0), r.GetInt32(1), r.GetInt32(2)) : null;
    }

    /// <summary>One snapshot: manifests registered by this run's steps, and whether its fan-out has finished.</summary>
    private static async Task<(long Manifests, bool ScoreDone)> ReaderViewAsync(TestDatabase db, Guid run)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT (SELECT count(*) FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id WHERE s.run_id = @run AND a.name = 'manifest.json'),
                   EXISTS (SELECT 1 FROM step_runs WHERE run_id = @run AND step_id = 'score' AND item_index IS NULL AND state = 'succeeded')
            """, conn);
        cmd.Parameters.AddWithValue("run", run);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetBoolean(1));
    }

    private sealed record ArtifactRow(Guid Id, string Uri, string Sha256, long Size, string Kind, string? Name, long? Rows, Guid? StepRunId, int? Attempt, DateTime CreatedAt);

    private static async Task<List<ArtifactRow>> ArtifactRowsAsync(TestDatabase db)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SELECT id, uri, sha256, size, kind, name, row_count, step_run_id, attempt, created_at FROM artifacts ORDER BY id", conn);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<ArtifactRow>();
        while (await r.ReadAsync())
            rows.Add(new ArtifactRow(r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
                r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetGuid(7), r.IsDBNull(8) ? null : r.GetInt32(8), r.GetDateTime(9)));
        return rows;
    }

    /// <summary>Predictions by input row over a manifest's partitions, checking each file against the registry and its columns.</summary>
    private static Dictionary<long, double> ReadPredictions(JsonNode manifest, List<ArtifactRow> artifacts, string? runId = null, string? modelVersion = null)
    {
        var byRow = new Dictionary<long, double>();
        long total = 0;
        foreach (var entry in manifest["partitions"]!.AsArray().Select(e => e!))
        {
            var record = artifacts.Single(a => a.Id == Guid.Parse(entry["artifact"]!.GetValue<string>()));
            var path = WorkflowDb.LocalPath(record.Uri);
            Assert.That((WorkflowState.Sha256(path), record.Sha256), Is.EqualTo((entry["sha256"]!.GetValue<string>(), entry["sha256"]!.GetValue<string>())));
            using var reader = ParquetReader.Open(path);
            var table = reader.ReadAll();
            Assert.That(table.RowCount, Is.EqualTo(entry["rows"]!.GetValue<long>()));
            var rows = ((PrimitiveColumn<long>)table["row"]).Values;
            var predictions = ((PrimitiveColumn<double>)table["prediction"]).Values;
            for (var i = 0; i < table.RowCount; i++)
            {
                Assert.That(byRow.TryAdd(rows[i], predictions[i]), $"row {rows[i]} scored twice");
                if (runId is not null) Assert.That(table["run_id"].GetValue(i), Is.EqualTo(runId));
                if (modelVersion is not null) Assert.That(table["model_version"].GetValue(i), Is.EqualTo(modelVersion));
            }
            total += table.RowCount;
        }
        Assert.That(manifest["rows"]!.GetValue<long>(), Is.EqualTo(total));
        return byRow;
    }

    /// <summary>Every version of the model with its source, run, status, tags and aliases, and the model's own aliases.</summary>
    private static async Task<List<string>> RegistrySnapshotAsync(IMlflowClient mlflow)
    {
        var model = await mlflow.GetRegisteredModelAsync(Model);
        var lines = (model.Aliases ?? []).Select(a => $"alias {a.Alias} -> {a.Version}").Order().ToList();
        lines.Add($"model updated {model.LastUpdatedTimestamp} description {model.Description}");
        var versions = await mlflow.SearchModelVersionsAsync($"name='{Model}'");
        Assert.That(versions.NextPageToken, Is.Null.Or.Empty);
        foreach (var v in versions.Items.OrderBy(v => int.Parse(v.Version)))
            lines.Add($"v{v.Version} source={v.Source} run={v.RunId} status={v.Status} updated={v.LastUpdatedTimestamp} " +
                      $"aliases=[{string.Join(",", (v.Aliases ?? []).Order())}] tags=[{string.Join(",", (v.Tags ?? []).Select(t => $"{t.Key}={t.Value}").Order())}]");
        return lines;
    }

    private static Dictionary<string, string> FolderHashes(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), WorkflowState.Sha256)
            : [];
}
