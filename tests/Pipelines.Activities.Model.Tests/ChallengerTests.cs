using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Engine.Model;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests;

/// <summary>Champion / challenger: shadow scoring beside the champion, the evidence series, and promotion through approval.</summary>
public partial class ModelPipelineTests
{
    /// <summary>The holdout with a row key (for the label join) and its labels in the same file.</summary>
    private string KeyedBatch()
    {
        var lines = File.ReadAllLines(Path.Combine(_dir, "holdout.csv"));
        var path = Path.Combine(_dir, "batch.csv");
        File.WriteAllLines(path, lines.Select((l, i) => (i == 0 ? "id," : $"k{i},") + l));
        return path;
    }

    private static string ShadowStep(string batch, string predictions, bool needsPublish, bool labels = true) => $$$"""
          - id: shadow
            uses: shadow_score
            {{{(needsPublish ? "needs: [publish]" : "")}}}
            with:
              dataset: "{{{batch}}}"
              predictions: {{{predictions}}}
              model_name: synth
              monitor: synth
              keep_columns: [id]
              {{{(labels ? $"labels: \"{batch}\"" : "")}}}
              key: id
              label: y
              positive: "yes"
              policy: { min_batches: 2, metric: roc_auc, margin: 0.05 }
              experiment: ${{ run.workflow }}
        """;

    private static string LateLabels(string batch, JsonNode shadow) => $$$"""
        name: model-shadow-labels
        steps:
          - id: labels
            uses: challenger_labels
            with:
              shadow: {{{shadow.ToJsonString()}}}
              labels: "{{{batch}}}"
              key: id
              label: y
              positive: "yes"
              monitor: synth
              model_name: synth
              policy: { min_batches: 2, metric: roc_auc, margin: 0.05 }
        """;

    private static string ChampionScoring(string batch, bool shadow) => $$$"""
        name: model-shadow
        steps:
          - id: parts
            uses: partitions
            with: { dataset: "{{{batch}}}", count: 2 }
          - id: score
            uses: batch_predict
            for_each: { items: "${{ steps.parts.outputs.partitions }}", max_parallel: 2 }
            with:
              dataset: "{{{batch}}}"
              partition: ${{ item }}
              model_name: synth
              keep_columns: [id]
          - id: publish
            uses: publish_predictions
            with:
              partitions: ${{ steps.score.outputs.predictions }}
        {{{(shadow ? ShadowStep(batch, "${{ steps.score.outputs.predictions }}", needsPublish: true) + "\n" + """
          - id: challenger_review
            uses: approval
            if: ${{ steps.shadow.outputs.propose }}
            with:
              summary: ${{ steps.shadow.outputs.reason }}
              auto_approve: true
              auto_approve_reason: shadow evidence met the policy
          - id: promote_challenger
            uses: promote
            needs: [challenger_review]
            with:
              model_name: synth
              version: ${{ steps.shadow.outputs.challenger_version }}
              clear_alias: challenger
              approved_by: ${{ steps.challenger_review.outputs.decided_by }}
              reason: ${{ steps.shadow.outputs.reason }}
              experiment: ${{ run.workflow }}
        """ : "")}}}
        """;

    private static async Task<Dictionary<string, byte[]>> ChampionBytesAsync(Env env, RunDetails run)
    {
        // Every artifact the champion's steps wrote (partitions and manifest), by id, as stored.
        var ids = run.Steps.Where(s => (s.StepId == "score" && s.ItemIndex is not null) || s.StepId == "publish")
            .Select(s => s.Outputs!["predictions"] ?? s.Outputs!["manifest"]).Select(r => Guid.Parse(r!["artifact"]!.GetValue<string>()));
        var result = new Dictionary<string, byte[]>();
        foreach (var id in ids)
        {
            var record = await env.Services.Artifacts.Registry.GetAsync(id);
            result[$"{id} {record!.Sha256}"] = await File.ReadAllBytesAsync(new Uri(record.Uri).LocalPath);
        }
        return result;
    }

    private static string Cells(IEnumerable<Pipelines.Data.Tables.Table> tables) => string.Join("\n", tables.SelectMany(t =>
        Enumerable.Range(0, t.RowCount).Select(r => string.Join(",", t.Schema.Fields.Where(f => f.Name != "run_id").Select(f => t[f.Name].Format(r))))));

    [Test]
    public async Task ShadowScoring_LeavesTheChampionsOutputsAlone_AndNBatchesOfEvidenceGateThePromotion()
    {
        var batch = KeyedBatch();
        await using var env = await StartAsync();
        // v1, then v2 as champion (v1 previous-champion); v1 will be the challenger.
        Assert.That((await RunAsync(env, Nightly("good.csv"))).Run.State, Is.EqualTo(RunState.Succeeded));
        var second = await RunAsync(env, Nightly("good.csv").Replace("seed: 1", "seed: 2"));
        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded), Errors(second));

        var plain = await RunAsync(env, ChampionScoring(batch, shadow: false));
        Assert.That(plain.Run.State, Is.EqualTo(RunState.Succeeded), Errors(plain));
        var before = await ChampionBytesAsync(env, plain);
        var champion = new JsonArray(plain.Steps.Where(s => s.StepId == "score" && s.ItemIndex is not null).OrderBy(s => s.ItemIndex)
            .Select(s => s.Outputs!["predictions"]!.DeepClone()).ToArray());
        // Shadow-scoring the published batch afterwards, before its labels have arrived.
        var shadowOnly = $"name: model-shadow\nsteps:\n{ShadowStep(batch, champion.ToJsonString(), needsPublish: false, labels: false)}";

        // No challenger alias: a skip with the reason, not a failure.
        var skipped = await RunAsync(env, shadowOnly);
        Assert.That(skipped.Run.State, Is.EqualTo(RunState.Succeeded), Errors(skipped));
        var skip = env.Engine.Step(skipped, "shadow").Outputs!;
        Assert.That((skip["skipped"]!.GetValue<bool>(), skip["propose"]!.GetValue<bool>()), Is.EqualTo((true, false)));
        Assert.That(skip["reason"]!.GetValue<string>(), Is.EqualTo("model 'synth' has no 'challenger' alias: nothing to shadow-score"));

        // Batch 1, shadow-scored afterwards without labels: compared, but no evidence yet. The champion's files are untouched.
        await env.Client.SetAliasAsync("synth", "challenger", "1");
        var first = await RunAsync(env, shadowOnly);
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        var one = env.Engine.Step(first, "shadow").Outputs!;
        Assert.That((one["skipped"]!.GetValue<bool>(), one["propose"]!.GetValue<bool>(), one["evidence_batches"]!.GetValue<int>()), Is.EqualTo((false, false, 0)));
        Assert.That(one["reason"]!.GetValue<string>(), Does.StartWith("0 of 2 batches of shadow evidence (challenger v1 against champion v2"));
        Assert.That((one["champion_version"]!.GetValue<string>(), one["challenger_version"]!.GetValue<string>(), one["rows"]!.GetValue<long>()), Is.EqualTo(("2", "1", 400L)));
        Assert.That(one["agreement"]!.GetValue<double>(), Is.InRange(0.5, 1.0));

        // Its labels arrive later: realized metrics of both models on the same rows go onto that batch's point; 1 of 2.
        var late = await RunAsync(env, LateLabels(batch, one["predictions"]!));
        Assert.That(late.Run.State, Is.EqualTo(RunState.Succeeded), Errors(late));
        var labelled = env.Engine.Step(late, "labels").Outputs!;
        var point = labelled["batches"]!.AsArray().Single()!;
        Assert.That((point["run_id"]!.GetValue<string>(), point["labelled"]!.GetValue<long>(), point["recorded"]!.GetValue<bool>()), Is.EqualTo((first.Run.Id.ToString(), 400L, true)));
        Assert.That(point["champion_metrics"]!["roc_auc"]!.GetValue<double>(), Is.GreaterThan(0.8));
        Assert.That(point["challenger_metrics"]!["roc_auc"]!.GetValue<double>(), Is.GreaterThan(0.8));
        Assert.That((labelled["propose"]!.GetValue<bool>(), labelled["evidence_batches"]!.GetValue<int>()), Is.EqualTo((false, 1)));
        Assert.That(labelled["reason"]!.GetValue<string>(), Does.StartWith("1 of 2 batches of shadow evidence (challenger v1 against champion v2"));

        var after = await ChampionBytesAsync(env, plain);
        Assert.That(after.Keys, Is.EqualTo(before.Keys));
        foreach (var (k, bytes) in before) Assert.That(after[k], Is.EqualTo(bytes), $"champion artifact {k} is byte-identical after shadow scoring");

        // The shadow predictions are an artifact of the shadow step only: the same rows, in the champion's row order.
        var shadowRef = one["predictions"]!;
        Assert.That(before.Keys.Any(k => k.StartsWith(shadowRef["artifact"]!.GetValue<string>(), StringComparison.Ordinal)), Is.False);
        var shadowTable = ModelTraining.Read(await LocalCopyAsync(env, shadowRef, "shadow.parquet"), new());
        Assert.That(Enumerable.Range(0, shadowTable.RowCount).Select(r => Convert.ToInt64(shadowTable["row"].GetValue(r))), Is.EqualTo(Enumerable.Range(0, 400).Select(i => (long)i)));
        Assert.That(shadowTable["model_version"].Format(0), Is.EqualTo("1"));
        Assert.That(shadowTable["id"].Format(399), Is.EqualTo("k400"));

        // Batch 2, inside the scoring workflow: the evidence meets min_batches, the (auto-)approval promotes the challenger.
        var full = await RunAsync(env, ChampionScoring(batch, shadow: true));
        Assert.That(full.Run.State, Is.EqualTo(RunState.Succeeded), Errors(full));
        var two = env.Engine.Step(full, "shadow").Outputs!;
        Assert.That((two["propose"]!.GetValue<bool>(), two["evidence_batches"]!.GetValue<int>()), Is.EqualTo((true, 2)), two["reason"]!.GetValue<string>());
        Assert.That(two["reason"]!.GetValue<string>(), Does.EndWith("proposed for approval"));
        Assert.That(env.Engine.Step(full, "promote_challenger").State, Is.EqualTo(StepState.Succeeded));

        // The champion's predictions of the shadowed run equal those of the plain run, cell for cell (run_id names the run).
        var (plainManifest, plainTables) = await ReadThroughManifestAsync(env, env.Engine.Step(plain, "publish").Outputs!["manifest"]!);
        var (fullManifest, fullTables) = await ReadThroughManifestAsync(env, env.Engine.Step(full, "publish").Outputs!["manifest"]!);
        Assert.That(Cells(fullTables), Is.EqualTo(Cells(plainTables)));
        Assert.That(fullTables.SelectMany(t => t.Schema.Fields.Select(f => f.Name)).Distinct(), Is.EqualTo(plainTables.SelectMany(t => t.Schema.Fields.Select(f => f.Name)).Distinct()));
        Assert.That(fullManifest["partitions"]!.AsArray().Select(p => p!["rows"]!.GetValue<long>()), Is.EqualTo(plainManifest["partitions"]!.AsArray().Select(p => p!["rows"]!.GetValue<long>())));
        Assert.That(fullManifest.ToJsonString(), Does.Not.Contain(two["predictions"]!["artifact"]!.GetValue<string>()), "the manifest lists the champion's partitions only");

        // Promotion went through the registry's alias switch: the old champion is previous-champion (rollback-able), the challenger alias is gone.
        var model = await env.Client.GetRegisteredModelAsync("synth");
        Assert.That((model.VersionOf(PipelineTracking.Champion), model.VersionOf(PipelineTracking.PreviousChampion), model.VersionOf("challenger")), Is.EqualTo(("1", "2", (string?)null)));
        Assert.That(await env.Engine.Database.ScalarAsync<long>("SELECT count(*) FROM challenger_batches WHERE monitor = 'synth' AND champion_version = '2' AND challenger_version = '1'"), Is.EqualTo(2));

        // The comparison is on the pipeline run's MLflow run.
        var experiment = await env.Client.GetExperimentByNameAsync("model-shadow");
        var runs = await env.Client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [experiment!.ExperimentId], Filter = $"tags.`{PipelineTags.RunId}` = '{full.Run.Id}'" });
        var data = runs.Items.Single().Data;
        Assert.That(data.Metric("challenger.agreement")!.Value, Is.EqualTo(two["agreement"]!.GetValue<double>()).Within(1e-9));
        Assert.That(data.Metric("challenger.realized.challenger.roc_auc"), Is.Not.Null);
        Assert.That(data.Metric("challenger.proposed")!.Value, Is.EqualTo(1));
    }

    private static async Task<string> LocalCopyAsync(Env env, JsonNode reference, string name)
    {
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(reference["artifact"]!.GetValue<string>()));
        var path = Path.Combine(env.Services.WorkRoot, Guid.NewGuid().ToString("N") + "-" + name);
        Directory.CreateDirectory(env.Services.WorkRoot);
        File.Copy(new Uri(record!.Uri).LocalPath, path);
        return path;
    }
}
