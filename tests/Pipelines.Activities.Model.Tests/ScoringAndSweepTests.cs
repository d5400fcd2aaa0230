using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Activities.Model;
using Pipelines.Data.Csv;
using Pipelines.Engine.Model;
using Pipelines.Storage;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests;

/// <summary>Batch scoring, its failure path, the sweep, and evaluate/gate on regression and multiclass data.</summary>
public partial class ModelPipelineTests
{
    /// <summary>Writes the object and then fails once (an upload whose completion was lost), for keys matching a predicate.</summary>
    private sealed class FlakyStore(IArtifactStore inner, Func<string, bool> failOnce) : IArtifactStore
    {
        private int _failed;
        public ConcurrentQueue<string> Created { get; } = new();
        public bool ManifestExistedAtFailure { get; private set; } = true;
        public string? FailedKey { get; private set; }
        public string Location => inner.Location;
        public string UriFor(string key) => inner.UriFor(key);

        public async Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default)
        {
            var stored = await inner.CreateAsync(key, content, options, ct);
            Created.Enqueue(key);
            if (failOnce(key) && Interlocked.Exchange(ref _failed, 1) == 0)
            {
                FailedKey = key;
                ManifestExistedAtFailure = Created.Any(k => k.EndsWith("manifest.json", StringComparison.Ordinal));
                throw new IOException($"injected: connection reset after uploading {key}");
            }
            return stored;
        }

        public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default) => inner.OpenReadAsync(key, range, ct);
        public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default) => inner.GetInfoAsync(key, ct);
        public Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default) => inner.ListAsync(prefix, continuation, pageSize, ct);
        public Task<bool> DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }

    private string Scoring(string dataFile, JsonNode reference, int count = 3) => $$$"""
        name: model-scoring
        steps:
          - id: parts
            uses: partitions
            with:
              dataset: "{{{Path.Combine(_dir, dataFile)}}}"
              count: {{{count}}}
          - id: score
            uses: batch_predict
            for_each: { items: "${{ steps.parts.outputs.partitions }}", max_parallel: 2 }
            retry: { max_attempts: 3, backoff: { initial: 0s, max: 0s } }
            with:
              dataset: "{{{Path.Combine(_dir, dataFile)}}}"
              partition: ${{ item }}
              model_name: synth
              keep_columns: [sex]
          - id: publish
            uses: publish_predictions
            with:
              partitions: ${{ steps.score.outputs.predictions }}
              reference: {{{reference.ToJsonString()}}}
              experiment: ${{ run.workflow }}
        """;

    /// <summary>What a reader does: start from the manifest, open every listed partition, check its bytes against the listed hash.</summary>
    private static async Task<(JsonObject Manifest, List<Pipelines.Data.Tables.Table> Tables)> ReadThroughManifestAsync(Env env, JsonNode manifestRef)
    {
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(manifestRef["artifact"]!.GetValue<string>()));
        var file = Path.Combine(env.Services.WorkRoot, "reader-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(file);
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(new Uri(record!.Uri).LocalPath))!.AsObject();
        var tables = new List<Pipelines.Data.Tables.Table>();
        foreach (var entry in manifest["partitions"]!.AsArray())
        {
            var part = await env.Services.Artifacts.Registry.GetByUriAsync(entry!["uri"]!.GetValue<string>());
            Assert.That(part, Is.Not.Null, "every manifest entry is a registered artifact");
            var bytes = await File.ReadAllBytesAsync(new Uri(part!.Uri).LocalPath);
            Assert.That(Convert.ToHexStringLower(SHA256.HashData(bytes)), Is.EqualTo(entry["sha256"]!.GetValue<string>()), "bytes match the manifest's hash");
            var path = Path.Combine(file, $"p{entry["partition"]}.parquet");
            await File.WriteAllBytesAsync(path, bytes);
            tables.Add(ModelTraining.Read(path, new CsvOptions()));
        }
        return (manifest, tables);
    }

    private async Task<(RunDetails Run, JsonNode Reference)> ChampionAsync(Env env)
    {
        var first = await RunAsync(env, Nightly("good.csv"));
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        return (first, env.Engine.Step(first, "evaluate").Outputs!["predictions"]!);
    }

    [Test]
    public async Task BatchScoring_WithTheChampion_WritesPartitionsThenTheManifest_AndReportsDrift()
    {
        Write("score.csv", 300, seed: 4, shuffleLabels: false, label: false);
        Write("shifted.csv", 300, seed: 5, shuffleLabels: false, shift: 0.6, label: false);
        await using var env = await StartAsync();
        var (first, reference) = await ChampionAsync(env);

        var run = await RunAsync(env, Scoring("score.csv", reference));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        var items = run.Steps.Where(s => s.StepId == "score" && s.ItemIndex is not null).ToList();
        Assert.That(items, Has.Count.EqualTo(3));
        var publish = env.Engine.Step(run, "publish").Outputs!;
        Assert.That(publish["rows"]!.GetValue<long>(), Is.EqualTo(300));

        var (manifest, tables) = await ReadThroughManifestAsync(env, publish["manifest"]!);
        Assert.That(manifest["partitions"]!.AsArray().Select(p => p!["partition"]!.GetValue<long>()), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(manifest["model_versions"]!.AsArray().Select(v => v!.GetValue<string>()), Is.EqualTo(new[] { "1" }));
        Assert.That(tables.Sum(t => t.RowCount), Is.EqualTo(300));
        foreach (var t in tables)
        {
            Assert.That(t.Schema.IndexOf("prediction"), Is.GreaterThanOrEqualTo(0));
            Assert.That(t.Schema.IndexOf("sex"), Is.GreaterThanOrEqualTo(0), "keep_columns copied");
            for (var r = 0; r < t.RowCount; r++)
            {
                Assert.That(t["model_version"].GetValue(r)!.ToString(), Is.EqualTo("1"));
                Assert.That(t["run_id"].GetValue(r)!.ToString(), Is.EqualTo(run.Run.Id.ToString()));
            }
        }
        // Rows are the dataset's rows, each once.
        Assert.That(tables.SelectMany(t => Enumerable.Range(0, t.RowCount).Select(r => Convert.ToInt64(t["row"].GetValue(r)))).Order(), Is.EqualTo(Enumerable.Range(0, 300).Select(i => (long)i)));

        // The manifest is written last: it was registered after every partition artifact it lists.
        var manifestRecord = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(publish["manifest"]!["artifact"]!.GetValue<string>()));
        foreach (var entry in manifest["partitions"]!.AsArray())
        {
            var part = await env.Services.Artifacts.Registry.GetByUriAsync(entry!["uri"]!.GetValue<string>());
            Assert.That(part!.CreatedAt, Is.LessThanOrEqualTo(manifestRecord!.CreatedAt));
        }

        // Same distribution as training: small PSI, no alert. Shifted inputs: the prediction distribution moves.
        var drift = manifest["drift"]!;
        Assert.That(drift["psi"], Is.Not.Null);
        Assert.That(publish["drift_alert"]!.GetValue<bool>(), Is.False, $"psi {drift["psi"]}");
        var shifted = await RunAsync(env, Scoring("shifted.csv", reference));
        Assert.That(shifted.Run.State, Is.EqualTo(RunState.Succeeded), Errors(shifted));
        var shiftedOut = env.Engine.Step(shifted, "publish").Outputs!;
        Assert.That(shiftedOut["drift_alert"]!.GetValue<bool>(), Is.True, $"psi {shiftedOut["psi"]}");
        Assert.That(shiftedOut["psi"]!.GetValue<double>(), Is.GreaterThan(drift["psi"]!.GetValue<double>()));
    }

    [Test]
    public async Task APartitionFailingOnce_IsRetried_NoManifestBeforeAllSucceed_AndReadersSeeNoPartialResult()
    {
        Write("score.csv", 300, seed: 4, shuffleLabels: false, label: false);
        FlakyStore? flaky = null;
        await using var env = await StartAsync(s => flaky = new FlakyStore(s, k => k.Contains("predictions-00001", StringComparison.Ordinal)));
        var (first, reference) = await ChampionAsync(env);
        var firstModel = env.Engine.Step(first, "train").Outputs!["model"]!;
        var modelsBefore = await env.Engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifacts WHERE kind = 'model'");

        var run = await RunAsync(env, Scoring("score.csv", reference));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        Assert.That(flaky!.FailedKey, Is.Not.Null, "the fault was injected");
        Assert.That(flaky.ManifestExistedAtFailure, Is.False, "no manifest while a partition had not succeeded");
        var failedItem = run.Steps.Single(s => s.StepId == "score" && s.ItemIndex == 1);
        Assert.That(failedItem.Attempts, Has.Count.EqualTo(2), Errors(run));
        Assert.That(failedItem.Attempts[0].Error, Does.Contain("injected"));

        var publish = env.Engine.Step(run, "publish").Outputs!;
        var (manifest, tables) = await ReadThroughManifestAsync(env, publish["manifest"]!);
        Assert.That(tables.Sum(t => t.RowCount), Is.EqualTo(300));
        // The orphan the failed attempt uploaded is not what the manifest points at.
        var orphanUri = env.Services.Artifacts.Store.UriFor(flaky.FailedKey!);
        Assert.That(manifest["partitions"]!.AsArray().Select(p => p!["uri"]!.GetValue<string>()), Has.None.EqualTo(orphanUri));
        Assert.That(await env.Services.Artifacts.Registry.GetByUriAsync(orphanUri), Is.Null, "the orphan was never registered");

        // Champion and earlier artifacts unchanged.
        var model = await env.Client.GetRegisteredModelAsync("synth");
        Assert.That(model.VersionOf(PipelineTracking.Champion), Is.EqualTo("1"));
        Assert.That((await env.Client.SearchModelVersionsAsync("name='synth'")).Items, Has.Count.EqualTo(1));
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(firstModel["artifact"]!.GetValue<string>()));
        Assert.That(record!.Sha256, Is.EqualTo(firstModel["sha256"]!.GetValue<string>()));
        Assert.That(await env.Engine.Database.ScalarAsync<long>("SELECT count(*) FROM artifacts WHERE kind = 'model'"), Is.EqualTo(modelsBefore));
    }

    private string Sweep() => $$$"""
        name: model-sweep
        parameters:
          rounds: { type: integer, default: 10 }
        steps:
          - id: data
            uses: ingest
            with: { source: "{{{Path.Combine(_dir, "good.csv")}}}" }
          - id: suggest
            uses: hpo.suggest
            with:
              space:
                max_depth: { type: int, low: 2, high: 4 }
                eta: { type: uniform, low: 0.1, high: 0.5 }
              trials: 3
              seed: 1
          - id: baseline
            uses: train.trial
            with:
              train: "{{{Path.Combine(_dir, "good.csv")}}}"
              label: y
              positive: "yes"
              trainer: constant
              seed: 1
              pipeline:
                - { op: one_hot, columns: [sex] }
              experiment: ${{ run.workflow }}
          - id: trials
            uses: train.trial
            for_each: { items: "${{ steps.suggest.outputs.trials }}", max_parallel: 2 }
            with:
              train: ${{ steps.data.outputs.table }}
              label: y
              positive: "yes"
              trial: ${{ item }}
              rounds: ${{ params.rounds }}
              threads: 1
              seed: 1
              pipeline:
                - { op: one_hot, columns: [sex] }
              experiment: ${{ run.workflow }}
          - id: board
            uses: hpo.leaderboard
            with:
              results: ${{ steps.trials.outputs.result }}
              baseline: ${{ steps.baseline.outputs.result }}
        """;

    [Test]
    public async Task Sweep_BestModelIsAnArtifact_BaselineIsOnTheBoard_TrialsAreNestedRunsUnderOneParent()
    {
        await using var env = await StartAsync();
        var run = await RunAsync(env, Sweep());
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        var board = env.Engine.Step(run, "board").Outputs!;
        Assert.That(board["beats_baseline"]!.GetValue<bool>(), Is.True);
        var best = board["best_model"]!;
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(best["artifact"]!.GetValue<string>()));
        Assert.That(record, Is.Not.Null);
        Assert.That(record!.Kind, Is.EqualTo("model"));
        Assert.That(record.Sha256, Is.EqualTo(best["sha256"]!.GetValue<string>()));
        var rows = board["leaderboard"]!.AsArray();
        Assert.That(rows.Count(r => r!["baseline"]?.GetValue<bool>() == true), Is.EqualTo(1), rows.ToJsonString());
        Assert.That(rows.Single(r => r!["baseline"]?.GetValue<bool>() == true)!["trainer"]!.GetValue<string>(), Is.EqualTo("constant"));

        var trialRunIds = run.Steps.Where(s => s.StepId == "trials" && s.ItemIndex is not null)
            .Select(s => s.Outputs!["result"]!["mlflow_run_id"]!.GetValue<string>()).ToList();
        Assert.That(trialRunIds, Has.Count.EqualTo(3));
        var parents = new HashSet<string>();
        foreach (var id in trialRunIds.Append(env.Engine.Step(run, "baseline").Outputs!["result"]!["mlflow_run_id"]!.GetValue<string>()))
        {
            var r = await env.Client.GetRunAsync(id);
            parents.Add(r.Data.Tag(MlflowTags.ParentRunId) ?? "<none>");
        }
        Assert.That(parents, Has.Count.EqualTo(1), "one parent run");
        var parent = await env.Client.GetRunAsync(parents.Single());
        Assert.That(parent.Data.Tag(PipelineTags.RunId), Is.EqualTo(run.Run.Id.ToString()));
        Assert.That(parent.Data.Tag(MlflowTags.ParentRunId), Is.Null);
        // The workflow run as MLflow sees it: its parameters, name, version and who started it, and the data it read.
        Assert.That(parent.Data.Tag(PipelineTags.Workflow), Is.EqualTo("model-sweep"));
        Assert.That(parent.Data.Tag(PipelineTags.SourceVersion), Has.Length.EqualTo(64));
        Assert.That(parent.Data.Tag(MlflowTags.User), Is.EqualTo(run.Run.CreatedBy));
        Assert.That(parent.Data.Params!.Single(p => p.Key == "rounds").Value, Is.EqualTo("10"));
        var ingested = env.Engine.Step(run, "data").Outputs!["table"]!["sha256"]!.GetValue<string>();
        Assert.That(parent.Inputs!.DatasetInputs!.Select(d => d.Dataset.Digest), Has.Member(ingested[..36]), "the ingested table is recorded as a dataset");
        var experiment = await env.Client.GetExperimentByNameAsync("model-sweep");
        var nested = await env.Client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [experiment!.ExperimentId], Filter = $"tags.`{MlflowTags.ParentRunId}` = '{parent.Info.RunId}'", MaxResults = 100,
        });
        Assert.That(nested.Items.Select(r => r.Info.RunId), Is.SupersetOf(trialRunIds));
    }
}
