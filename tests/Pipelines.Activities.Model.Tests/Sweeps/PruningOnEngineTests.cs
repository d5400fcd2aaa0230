using Pipelines.Core.Activities.State;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using NUnit.Framework;
using Pipelines.Activities.Hosting;
using Pipelines.Activities.Ml;
using Pipelines.Core.Activities;
using Pipelines.Engine.Model;
using Pipelines.Postgres.ActivityState;
using Pipelines.Postgres.Artifacts;
using Pipelines.Server;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Caching;
using Pipelines.Storage.Local;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests.Sweeps;

/// <summary>
/// Median-rule pruning of trials fanned out on the engine: real PostgreSQL, real XGBoost, the built-in MLflow
/// endpoint, and workers that stand for separate processes (each has its own connection pool and services).
/// </summary>
/// <remarks>
/// The sweep is a grid of six trials: seeds 1–3 × learning rate (eta) 0.3 (good) or 0.001 (too small to move the log
/// loss in 20 rounds), alternating good and bad. Without row or column sampling the seed does not change XGBoost's trees, so the good trials
/// train identically and so do the bad ones; which trials the rule prunes then follows exactly from the order they
/// finish in. With start-up 2 and warm-up 3: trials 0 (good) and 1 (bad) complete while fewer than two siblings
/// have; trial 2 (good) is never worse than a median; trials 3 and 5 (bad) are worse than the median of their
/// finished siblings at round 3 and stop there; trial 4 (good) completes.
/// </remarks>
public sealed class PruningOnEngineTests
{
    private const int Rounds = 20;
    private const int WarmupRounds = 3;
    private string _dir = "";
    private readonly List<IAsyncDisposable> _disposables = [];

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pruning-tests-").FullName;
        Write("train.csv", 600, seed: 1);
        Write("valid.csv", 300, seed: 2);
    }

    [TearDown]
    public async Task TearDown()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--) await _disposables[i].DisposeAsync();
        _disposables.Clear();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private void Write(string name, int rows, int seed) => SyntheticCsv.WriteBinary(Path.Combine(_dir, name), rows, seed);

    private string Sweep(int maxParallel, bool cache, bool retry = false) => $$$"""
        name: pruned-sweep
        steps:
          - id: suggest
            uses: hpo.suggest
            with:
              space:
                seed: { type: choice, values: [1, 2, 3] }
                learning_rate: { type: choice, values: [0.3, 0.001] }
              trials: 6
              strategy: grid
          - id: trials
            uses: train.trial
            cache: {{{(cache ? "true" : "false")}}}
            {{{(retry ? "retry: { max_attempts: 2, backoff: { initial: 0s, max: 0s } }" : "")}}}
            for_each: { items: "${{ steps.suggest.outputs.trials }}", max_parallel: {{{maxParallel}}} }
            with:
              train: "{{{Path.Combine(_dir, "train.csv")}}}"
              valid: "{{{Path.Combine(_dir, "valid.csv")}}}"
              label: y
              positive: "yes"
              metric: logloss
              trial: ${{ item }}
              rounds: {{{Rounds}}}
              threads: 1
              seed: 1
              pruning: { rule: median, startup_trials: 2, warmup_rounds: {{{WarmupRounds}}} }
              experiment: ${{ run.workflow }}
          - id: board
            uses: hpo.leaderboard
            with:
              results: ${{ steps.trials.outputs.result }}
              direction: minimize
        """;

    private sealed record Env(EngineHarness Engine, MlflowClient Client);

    /// <summary>An engine with <paramref name="processes"/> workers, each with its own pool, store cache, MLflow client and sweep reports.</summary>
    private async Task<Env> StartAsync(int processes, Func<ISweepReports, ISweepReports>? wrap = null)
    {
        var engine = await EngineHarness.CreateAsync();
        _disposables.Add(engine);
        var app = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = engine.Database.DataSource, ArtifactRoot = Path.Combine(_dir, "mlflow"), Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await app.StartAsync();
        _disposables.Add(new Disposable(async () =>
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }));
        var tracking = new Uri(PipelinesServer.Addresses(app).Single());
        for (var p = 0; p < processes; p++)
        {
            var pool = Pipelines.Postgres.PostgresDataSource.Create(engine.Database.ConnectionString);
            var client = new MlflowClient(new MlflowClientOptions { TrackingUri = tracking, InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero });
            _disposables.Add(new Disposable(async () =>
            {
                client.Dispose();
                await pool.DisposeAsync();
            }));
            var store = new LocalFolderStore(Path.Combine(_dir, "store"));
            var services = new ActivityServices
            {
                Artifacts = new ArtifactPublisher(store, new PostgresArtifactRegistry(pool)),
                Cache = new ArtifactCache(store, Path.Combine(_dir, $"cache-{p}")),
                Tracking = new PipelineTracking(client),
                WorkRoot = Path.Combine(_dir, $"work-{p}"),
                Once = new PostgresOnceRegistry(pool),
                Sweeps = wrap is null ? new DatabaseSweepReports(new PostgresSweepReports(pool)) : wrap(new DatabaseSweepReports(new PostgresSweepReports(pool))),
            };
            await engine.StartWorkersAsync(1, services: new ServiceSet().Add(services));
        }
        // Disposed first: no worker may still use a pool or the endpoint when they go.
        _disposables.Add(new Disposable(engine.StopWorkersAsync));
        return new Env(engine, new MlflowClient(new MlflowClientOptions { TrackingUri = tracking }));
    }

    private sealed class Disposable(Func<Task> dispose) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await dispose();
    }

    private static string Errors(RunDetails d) => d.Run.Error + " | " + string.Join(" | ", d.Steps.SelectMany(s => s.Attempts).Select(a => a.Error).Where(e => e is not null));

    private static async Task<RunDetails> RunAsync(Env env, string yaml)
    {
        var id = await env.Engine.SubmitAsync(yaml);
        var run = await env.Engine.WaitForEndAsync(id, TimeSpan.FromMinutes(3));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        return run;
    }

    /// <summary>Each trial's result, in trial order.</summary>
    private static List<JsonObject> Results(RunDetails run) =>
        run.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex)
            .Select(s => s.Outputs!["result"]!.AsObject()).ToList();

    private static int[] PrunedNumbers(IEnumerable<JsonObject> results) =>
        results.Where(r => r["state"]!.GetValue<string>() == "pruned").Select(r => r["number"]!.GetValue<int>()).ToArray();

    private static double Eta(JsonObject result) => result["params"]!["learning_rate"]!.GetValue<double>();

    [Test]
    public async Task Sequential_PrunesTheBadTrialsBeforeTheirLastRound_KeepsTheGoodOnes_AndRepeatsWithTheSameSeed()
    {
        var env = await StartAsync(processes: 2);
        var first = await RunAsync(env, Sweep(maxParallel: 1, cache: true));
        var results = Results(first);
        Assert.That(results.Select(r => r["number"]!.GetValue<int>()), Is.EqualTo(Enumerable.Range(0, 6)));
        Assert.That(results.Select(Eta), Is.EqualTo(new[] { 0.3, 0.001, 0.3, 0.001, 0.3, 0.001 }), "the grid alternates good and bad trials");
        Assert.That(PrunedNumbers(results), Is.EqualTo(new[] { 3, 5 }), string.Join("\n", results.Select(r => r.ToJsonString())));
        foreach (var r in results)
        {
            var n = r["number"]!.GetValue<int>();
            if (r["state"]!.GetValue<string>() == "pruned")
            {
                Assert.That(Eta(r), Is.EqualTo(0.001), $"trial {n} was a bad one");
                Assert.That(r["pruned_at"]!.GetValue<int>(), Is.EqualTo(WarmupRounds), $"trial {n}: pruned at the first round after warm-up");
                Assert.That(r["iterations"]!.GetValue<int>(), Is.EqualTo(WarmupRounds + 1).And.LessThan(Rounds), $"trial {n} stopped before its last round");
                Assert.That(r["model"], Is.Null, "a pruned trial publishes no model");
            }
            else
            {
                Assert.That(r["state"]!.GetValue<string>(), Is.EqualTo("complete"));
                Assert.That(r["iterations"]!.GetValue<int>(), Is.EqualTo(Rounds), $"trial {n} ran every round");
                Assert.That(r["model"]!["artifact"], Is.Not.Null);
            }
        }
        Assert.That(results.Where(r => Eta(r) == 0.3).All(r => r["state"]!.GetValue<string>() == "complete"), Is.True, "no good trial was pruned");

        // The board lists the pruned trials after the ranked ones, never as best.
        var board = env.Engine.Step(first, "board").Outputs!;
        Assert.That(board["best"]!["state"]!.GetValue<string>(), Is.EqualTo("complete"));
        Assert.That(Eta(board["best"]!.AsObject()), Is.EqualTo(0.3));
        Assert.That(board["pruned"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { 3, 5 }));
        var rows = board["leaderboard"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.That(rows.Select(r => r["state"]!.GetValue<string>()), Is.EqualTo(new[] { "complete", "complete", "complete", "complete", "pruned", "pruned" }));
        Assert.That(rows.Where(r => r["state"]!.GetValue<string>() == "pruned").All(r => r["rank"] is null), Is.True, "pruned trials have no rank");
        Assert.That(board["best_model"]!["artifact"], Is.Not.Null);

        // MLflow: every trial keeps its nested run; a pruned one is tagged so, with the rounds it trained.
        foreach (var r in results)
        {
            var run = await env.Client.GetRunAsync(r["mlflow_run_id"]!.GetValue<string>());
            Assert.That(run.Info.Status, Is.EqualTo("FINISHED"));
            Assert.That(run.Data.Tag("pipelines.trial_state"), Is.EqualTo(r["state"]!.GetValue<string>()));
            var history = await env.Client.GetMetricHistoryAsync(run.Info.RunId, "valid_logloss");
            Assert.That(history.Max(m => m.Step), Is.EqualTo(r["iterations"]!.GetValue<int>() - 1), "one logged step per trained round");
            if (r["state"]!.GetValue<string>() == "pruned")
                Assert.That(run.Data.Tag("pipelines.pruned_at_iteration"), Is.EqualTo(WarmupRounds.ToString(CultureInfo.InvariantCulture)));
        }

        // What the trials shared: one row per trial of this run's sweep, in the state each ended in.
        var stored = await new PostgresSweepReports(env.Engine.Database.DataSource).ReadAsync(first.Run.Id, "trials");
        Assert.That(stored.Select(t => t.State), Is.EqualTo(new[] { "complete", "complete", "complete", "pruned", "complete", "pruned" }));
        Assert.That(stored.Select(t => t.Values.Length), Is.EqualTo(results.Select(r => r["iterations"]!.GetValue<int>())));

        // The same seed, sequential, not served from the cache: the same trials are pruned, with the same values.
        var second = await RunAsync(env, Sweep(maxParallel: 1, cache: false));
        Assert.That(second.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null).All(s => !s.Cached && s.Attempts.Count == 1), Is.True);
        var again = Results(second);
        Assert.That(PrunedNumbers(again), Is.EqualTo(PrunedNumbers(results)));
        Assert.That(again.Select(r => r["value"]!.GetValue<double>()), Is.EqualTo(results.Select(r => r["value"]!.GetValue<double>())));

        // With the cache, a sweep is reused only as a whole: the fan-out with its pruned set, never a pruned trial alone.
        var cached = await RunAsync(env, Sweep(maxParallel: 1, cache: true));
        var trials = env.Engine.Step(cached, "trials");
        Assert.That(trials.Cached, Is.True);
        Assert.That(PrunedNumbers(trials.Outputs!["result"]!.AsArray().Select(r => r!.AsObject())), Is.EqualTo(new[] { 3, 5 }));
    }

    [Test]
    public async Task Parallel_TrialsOnTwoProcesses_PruneAgainstEachOther_AndTheBestIsAComplete()
    {
        var env = await StartAsync(processes: 2);
        var run = await RunAsync(env, Sweep(maxParallel: 2, cache: false));
        var results = Results(run);
        var items = run.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null).ToList();
        TestContext.Out.WriteLine("trial workers: " + string.Join(", ", items.OrderBy(s => s.ItemIndex).Select(s => s.Attempts[0].WorkerId)));
        var pruned = PrunedNumbers(results);
        // Trials 3 and 5 start only after two (resp. four) siblings finished, at least one of them good: they are
        // pruned whatever the timing. Trial 1 may be too, if siblings finished while it still trained (as in Optuna).
        Assert.That(pruned, Is.SupersetOf(new[] { 3, 5 }), string.Join("\n", results.Select(r => r.ToJsonString())));
        Assert.That(results.Where(r => pruned.Contains(r["number"]!.GetValue<int>())).All(r => Eta(r) == 0.001), Is.True, "only bad trials are pruned");
        var board = env.Engine.Step(run, "board").Outputs!;
        Assert.That(board["best"]!["state"]!.GetValue<string>(), Is.EqualTo("complete"));
        Assert.That(Eta(board["best"]!.AsObject()), Is.EqualTo(0.3));
    }

    /// <summary>Records a trial's end, then loses the reply once (a connection reset), for one trial of the sweep.</summary>
    private sealed class LostFinishReply(ISweepReports inner, int trial, StrongBox<int> failures) : ISweepReports
    {
        public Task<bool> BeginAsync(SweepTrialKey key, int number, string metric, CancellationToken ct = default) => inner.BeginAsync(key, number, metric, ct);
        public Task<bool> ReportAsync(SweepTrialKey key, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default) => inner.ReportAsync(key, values, ct);

        public async Task<bool> FinishAsync(SweepTrialKey key, SweepTrialState state, double? value, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default)
        {
            var recorded = await inner.FinishAsync(key, state, value, values, ct);
            if (key.Trial == trial && Interlocked.Increment(ref failures.Value) == 1) throw new IOException("injected: connection reset after the finish was written");
            return recorded;
        }

        public Task<IReadOnlyList<SweepTrialReport>> ReadAsync(SweepId sweep, bool finishedOnly = false, IReadOnlyCollection<int>? known = null, CancellationToken ct = default) =>
            inner.ReadAsync(sweep, finishedOnly, known, ct);
    }

    [Test]
    public async Task ARetriedTrial_ReplacesItsEarlierAttemptsReports_AndIsPrunedAlike()
    {
        var failures = new StrongBox<int>();
        var env = await StartAsync(processes: 2, wrap: inner => new LostFinishReply(inner, trial: 3, failures));
        var run = await RunAsync(env, Sweep(maxParallel: 1, cache: false, retry: true));
        var item = run.Steps.Single(s => s.StepId == "trials" && s.ItemIndex == 3);
        Assert.That(item.Attempts, Has.Count.EqualTo(2), Errors(run));
        Assert.That(item.Attempts[0].Error, Does.Contain("sweep reports unavailable: injected"));
        Assert.That(PrunedNumbers(Results(run)), Is.EqualTo(new[] { 3, 5 }));

        var stored = await new PostgresSweepReports(env.Engine.Database.DataSource).ReadAsync(run.Run.Id, "trials");
        var three = stored.Single(t => t.Trial == 3);
        Assert.That((three.Attempt, three.State, three.Steps), Is.EqualTo((2, "pruned", new[] { 0, 1, 2, 3 })), "the row is the retry's, with its values");
        Assert.That(stored.Single(t => t.Trial == 5).State, Is.EqualTo("pruned"), "a later sibling saw the retried trial once");
    }

    private sealed class ListLog : IActivityLog
    {
        public List<string> Lines { get; } = [];
        public void Write(string message)
        {
            lock (Lines) Lines.Add(message);
        }
    }

    /// <summary>
    /// Two workers run the trials of one sweep one after another: trials 0–2 (good, bad, good) on the first, trial 3
    /// (bad) on the second. Trial 3 is pruned only when the second worker sees what the first one's trials reported:
    /// through PostgreSQL from two connection pools, yes; with each worker's own in-process reports, no.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task TrialOnAnotherWorker_IsPrunedOnlyWhenTheWorkersShareTheirReports(bool shared)
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        await using var secondPool = Pipelines.Postgres.PostgresDataSource.Create(db.ConnectionString);
        ISweepReports first = shared ? new DatabaseSweepReports(new PostgresSweepReports(db.DataSource)) : new InProcessSweepReports();
        ISweepReports second = shared ? new DatabaseSweepReports(new PostgresSweepReports(secondPool)) : new InProcessSweepReports();
        var runId = Guid.NewGuid();
        try
        {
            var results = new List<(JsonObject Result, ListLog Log)>();
            foreach (var (index, eta) in new[] { (0, 0.3), (1, 0.001), (2, 0.3), (3, 0.001) })
            {
                var log = new ListLog();
                var context = new ActivityContext
                {
                    RunId = runId, StepRunId = Guid.NewGuid(), StepId = "trials", Attempt = 1, WorkerId = index < 3 ? "w1" : "w2",
                    ItemIndex = index,
                    Inputs = new JsonObject
                    {
                        ["train"] = Path.Combine(_dir, "train.csv"),
                        ["valid"] = Path.Combine(_dir, "valid.csv"),
                        ["label"] = "y",
                        ["positive"] = "yes",
                        ["metric"] = "logloss",
                        ["rounds"] = Rounds,
                        ["threads"] = 1,
                        ["seed"] = 1,
                        ["trial"] = new JsonObject { ["number"] = index, ["params"] = new JsonObject { ["eta"] = eta } },
                        ["pruning"] = new JsonObject { ["startup_trials"] = 2, ["warmup_rounds"] = WarmupRounds },
                    },
                    Time = TimeProvider.System,
                    Log = log,
                    // No artifact services: the model stays in a temp folder and nothing is tracked; only the reports matter here.
                    Services = new ServiceSet().Add(index < 3 ? first : second),
                };
                var outcome = await new TrainTrialActivity().ExecuteAsync(context, CancellationToken.None);
                results.Add((outcome.Outputs["result"]!.AsObject(), log));
            }
            Assert.That(results.Take(3).Select(r => r.Result["state"]!.GetValue<string>()), Is.EqualTo(new[] { "complete", "complete", "complete" }));
            var last = results[3];
            TestContext.Out.WriteLine(string.Join("\n", last.Log.Lines));
            Assert.That(last.Result["state"]!.GetValue<string>(), Is.EqualTo(shared ? "pruned" : "complete"), last.Result.ToJsonString());
            Assert.That(last.Result["iterations"]!.GetValue<int>(), Is.EqualTo(shared ? WarmupRounds + 1 : Rounds));
            Assert.That(last.Log.Lines, Has.Some.Contains(shared ? "3 finished siblings" : "0 finished siblings"));
        }
        finally
        {
            try { Directory.Delete(Path.Combine(Path.GetTempPath(), "pipelines-models", runId.ToString("N")), recursive: true); } catch (IOException) { }
        }
    }
}
