using Pipelines.Activities.Model;
using Pipelines.Ml.Tuning;
using Pipelines.Quality.Challenger;
using Pipelines.Quality.Drift;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Monitoring.Challenger;

/// <param name="ModelName">Null without a policy; required with one.</param>
public sealed record ChallengerLabelsInput(string Key, string Monitor, PredictionTask Task, double Threshold, ChallengerPolicy? Policy, string? ModelName, string Alias)
    : IActivityInput<ChallengerLabelsInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("shadow", SchemaBuilder.Any("Earlier shadow_score predictions (one or a list, artifacts or paths) with the key column."))
        .Required("labels", SchemaBuilder.Any("Label tables (one or a list, in arrival order) with the key and the label."))
        .Required("key", SchemaBuilder.String("Row key column, in both (shadow_score's keep_columns)."))
        .Required("label", SchemaBuilder.String("Label column of the labels."))
        .Required("monitor", SchemaBuilder.String("The monitor whose challenger series holds the batches."))
        .Optional("positive", SchemaBuilder.Any("Label value(s) meaning the positive class (binary)."))
        .Optional("task", SchemaBuilder.String("binary (default) or regression."))
        .Optional("threshold", SchemaBuilder.Number("Binary decision threshold (default 0.5)."))
        .Optional("order", SchemaBuilder.String("Labels column giving arrival order; default: as listed."))
        .Optional("policy", SchemaBuilder.Any("{min_batches, metric, margin, min_labelled}: decide for the current pair (needs model_name)."))
        .Optional("model_name", SchemaBuilder.String("Registered model whose champion and challenger aliases the policy judges."))
        .Optional("alias", SchemaBuilder.String("Alias of the challenger (default challenger)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Build();

    // The tables (shadow, labels) are read by name from the context, with null_tokens (ModelTraining.CsvOf);
    // label, positive and order by the label join (ChallengerSeries).
    public static ChallengerLabelsInput Bind(ActivityInputs inputs)
    {
        var key = inputs.String("key");
        var monitor = inputs.String("monitor");
        var task = inputs.String("task", "binary") switch
        {
            "binary" => PredictionTask.Binary,
            "regression" => PredictionTask.Regression,
            var t => throw new ActivityException($"task: '{t}' is not binary or regression", retryable: false),
        };
        var threshold = inputs.Number("threshold", 0.5);
        var policy = ChallengerSeries.Policy(inputs.Node("policy"));
        var modelName = inputs.OptionalString("model_name");
        if (policy is not null && modelName is null) throw new ActivityException("policy: needs 'model_name', whose champion and challenger it judges", retryable: false);
        var alias = inputs.OptionalString("alias") is { Length: > 0 } al ? al : ShadowScoreActivity.DefaultAlias;
        return new(key, monitor, task, threshold, policy, modelName, alias);
    }
}

/// <summary>
/// Delayed labels for champion / challenger: joins labels that arrived after shadow scoring to earlier
/// <c>shadow_score</c> predictions (which carry both models' scores and the row key), computes realized metrics of both
/// on the same labelled rows per shadow-scored batch, and records them on those batches' points of the monitor's
/// challenger series. With a <c>policy</c>, decides for the registry's current champion and challenger.
/// </summary>
public sealed class ChallengerLabelsActivity : Activity<ChallengerLabelsInput>, IActivityDefinition<ChallengerLabelsInput>
{
    public static ActivityInfo Info { get; } = new("challenger_labels", "1", "Joins late labels to earlier shadow predictions: realized metrics of champion and challenger per batch, recorded in the series; applies the promotion policy.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new ChallengerLabelsActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("batches", SchemaBuilder.Array(SchemaBuilder.Any(), "[{run_id, champion_version, challenger_version, rows, labelled, recorded, champion_metrics, challenger_metrics}]"))
            .Required("propose", SchemaBuilder.Boolean())
            .Required("reason", SchemaBuilder.String())
            .Optional("champion_version", SchemaBuilder.String())
            .Optional("challenger_version", SchemaBuilder.String())
            .Optional("evidence_batches", SchemaBuilder.Integer())
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(ChallengerLabelsInput input, ActivityContext context, CancellationToken ct)
    {
        var (key, monitor, task, threshold) = (input.Key, input.Monitor, input.Task, input.Threshold);
        var (policy, modelName) = (input.Policy, input.ModelName);
        var store = MonitoringInputs.Store(context) ?? throw new ActivityException("this worker has no monitoring store: there is no challenger series to record in", retryable: false);
        var csv = ModelTraining.CsvOf(context.Inputs);

        // Rows of each shadow-scored batch: the run that scored it and the pair it compared.
        var groups = new Dictionary<(string Run, string Champion, string Challenger), (List<string> Keys, List<double> A, List<double> B)>();
        foreach (var (name, table) in await MonitoringInputs.ReadTablesAsync(context, "shadow", csv, ct))
        {
            Column Need(string column) => table.Schema.IndexOf(column) is var i and >= 0 ? table.Columns[i]
                : throw new ActivityException($"shadow: '{name}' has no column '{column}' (is it shadow_score's predictions, with '{key}' in keep_columns?)", retryable: false);
            var (keys, run, champion, challenger) = (Need(key), Need("run_id"), Need("champion_version"), Need("model_version"));
            var a = Profiler.AsDoubles(Need("champion_prediction"));
            var b = Profiler.AsDoubles(Need("prediction"));
            for (var i = 0; i < table.RowCount; i++)
            {
                var group = (run.Format(i) ?? "", champion.Format(i) ?? "", challenger.Format(i) ?? "");
                if (!groups.TryGetValue(group, out var g)) groups[group] = g = ([], [], []);
                g.Keys.Add(keys.Format(i) ?? throw new ActivityException($"shadow: '{name}' row {i + 1} has no key ('{key}' is null)", retryable: false));
                g.A.Add(a[i]);
                g.B.Add(b[i]);
            }
        }

        var batches = new JsonArray();
        foreach (var ((run, championVersion, challengerVersion), g) in groups.OrderBy(x => x.Key.Run, StringComparer.Ordinal))
        {
            var realized = await ChallengerSeries.RealizeAsync(context, g.Keys, g.A, g.B, task, threshold, csv, ct);
            var recorded = Guid.TryParse(run, out var runId)
                ? await store.RecordChallengerRealizedAsync(monitor, runId, championVersion, challengerVersion, realized.Labelled,
                    ChallengerSeries.MetricsJson(realized.Champion).ToJsonString(), ChallengerSeries.MetricsJson(realized.Challenger).ToJsonString(), ct)
                : 0;
            if (recorded == 0) context.Log.Write($"run {run} has no point in monitor '{monitor}' for challenger v{challengerVersion} against champion v{championVersion}: its metrics are not recorded");
            batches.Add(new JsonObject
            {
                ["run_id"] = run, ["champion_version"] = championVersion, ["challenger_version"] = challengerVersion, ["rows"] = g.Keys.Count,
                ["labelled"] = realized.Labelled, ["recorded"] = recorded > 0,
                ["champion_metrics"] = ChallengerSeries.MetricsJson(realized.Champion), ["challenger_metrics"] = ChallengerSeries.MetricsJson(realized.Challenger),
            });
            context.Log.Write($"run {run}: {realized.Labelled} of {g.Keys.Count} shadow-scored rows labelled");
        }

        var outputs = new JsonObject { ["batches"] = batches, ["propose"] = false, ["reason"] = $"{batches.Count} shadow-scored batches labelled" };
        if (policy is not null)
        {
            var alias = input.Alias;
            var tracking = ActivityServices().Tracking ?? throw new ActivityException("policy: resolving the champion and challenger needs MLflow tracking, but this worker has none", retryable: false);
            var champion = await VersionAsync(tracking, modelName!, PipelineTracking.Champion, ct);
            var challenger = await VersionAsync(tracking, modelName!, alias, ct);
            if (champion is null || challenger is null)
                outputs["reason"] = $"model '{modelName}' has no '{(champion is null ? PipelineTracking.Champion : alias)}' alias: nothing to propose";
            else
            {
                var decision = await ChallengerSeries.DecideAsync(store, monitor, champion, challenger, policy, ct);
                outputs["propose"] = decision.Propose;
                outputs["reason"] = decision.Reason;
                outputs["champion_version"] = champion;
                outputs["challenger_version"] = challenger;
                outputs["evidence_batches"] = decision.EvidenceBatches;
            }
        }
        context.Log.Write(outputs["reason"]!.GetValue<string>());
        return ActivityResult.Success(outputs);

        Hosting.ActivityServices ActivityServices() => Hosting.ActivityServices.From(context);
    }

    private static async Task<string?> VersionAsync(PipelineTracking tracking, string model, string alias, CancellationToken ct)
    {
        try { return (await tracking.Client.GetModelVersionByAliasAsync(model, alias, ct)).Version; }
        catch (Exception e) when (e is ResourceDoesNotExistException or InvalidParameterValueException) { return null; }
    }
}
