using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Core.Monitoring;

namespace Pipelines.Activities.Monitoring.Triggers;

/// <param name="Params">A copy: the run's parameters, not the step's inputs.</param>
/// <param name="DedupKey">Null: the workflow's name.</param>
public sealed record TriggerWorkflowInput(string Workflow, JsonObject Params, string? DedupKey, TimeSpan Window, string? Reason)
    : IActivityInput<TriggerWorkflowInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("workflow", SchemaBuilder.String("Path of the workflow file to start."))
        .Optional("params", SchemaBuilder.Any("Its parameters."))
        .Optional("dedup_key", SchemaBuilder.String("Starts sharing this key share one run per window (default: the workflow's name)."))
        .Optional("window", SchemaBuilder.String("De-duplication window, aligned to the Unix epoch in UTC (default 24h)."))
        .Optional("reason", SchemaBuilder.String("Why, recorded with the claim."))
        .Build();

    public static TriggerWorkflowInput Bind(ActivityInputs inputs)
    {
        var path = inputs.String("workflow");
        var parameters = inputs.Node("params") switch
        {
            null => new JsonObject(),
            JsonObject o => (JsonObject)o.DeepClone(),
            _ => throw new ActivityException("params: must be an object of parameter values", retryable: false),
        };
        var windowText = inputs.String("window", "24h");
        if (!Durations.TryParse(windowText, out var window) || window <= TimeSpan.Zero)
            throw new ActivityException($"window: '{windowText}' is not a positive duration ({Durations.Hint})", retryable: false);
        return new(path, parameters, inputs.OptionalString("dedup_key"), window, inputs.OptionalString("reason"));
    }
}

/// <summary>
/// Starts another workflow with parameters, at most once per de-duplication key and time window: of several steps
/// (concurrent alerts, retries, later batches) in the same window, the first to claim it starts the run and the
/// others get that run's id. The claim row records which run and step started which run (lineage).
/// </summary>
public sealed class TriggerWorkflowActivity : Activity<TriggerWorkflowInput>, IActivityDefinition<TriggerWorkflowInput>
{
    public static ActivityInfo Info { get; } = new("trigger_workflow", "1", "Starts another workflow with parameters, once per de-duplication key and time window; records which run triggered it.", Cacheable: false);

    public static JsonObject Outputs { get; } = SchemaBuilder.Object()
        .Required("started", SchemaBuilder.Boolean("True when this step started the run; false when the window already had one."))
        .Required("run_id", SchemaBuilder.String("The run of the window: started here or earlier."))
        .Required("triggered_by", SchemaBuilder.String("The run that claimed the window."))
        .Required("window_start", SchemaBuilder.String())
        .Build();

    public static IActivity Create(IServiceProvider? services) => new TriggerWorkflowActivity();

    protected override async Task<ActivityResult> ExecuteAsync(TriggerWorkflowInput input, ActivityContext context, CancellationToken ct)
    {
        var path = input.Workflow;
        var parameters = input.Params;
        var window = input.Window;
        var starter = ActivityServices.TryFrom(context)?.Workflows
            ?? throw new ActivityException("this worker cannot start workflows (no workflow starter)", retryable: false);
        var store = MonitoringInputs.Store(context)
            ?? throw new ActivityException("this worker has no monitoring store to de-duplicate triggers in", retryable: false);
        if (!File.Exists(path)) throw new ActivityException($"workflow: file '{path}' does not exist", retryable: false);
        string name;
        try { name = starter.NameOf(path); }
        catch (WorkflowValidationException e) { throw new ActivityException($"workflow '{path}' is not valid: {e.Message}", retryable: false, e); }
        var key = input.DedupKey ?? name;

        // A fan-out's children share the step id; the item index tells them apart (a retry keeps both).
        var stepKey = context.ItemIndex is { } item ? $"{context.StepId}[{item}]" : context.StepId;
        var now = context.Time.GetUtcNow();
        var windowStart = new DateTimeOffset(now.UtcTicks - (now.UtcTicks - DateTime.UnixEpoch.Ticks) % window.Ticks, TimeSpan.Zero);
        var claim = await store.ClaimTriggerAsync(key, windowStart, context.RunId, stepKey, path, parameters.ToJsonString(),
            input.Reason, now, ct);
        var mine = claim.RunId == context.RunId && claim.StepId == stepKey;
        JsonObject Result(bool started, Guid runId) => new()
        {
            ["started"] = started,
            ["run_id"] = runId.ToString(),
            ["triggered_by"] = claim.RunId.ToString(),
            ["window_start"] = windowStart.ToString("O"),
        };
        if (claim.StartedRunId is { } existing)
        {
            context.Log.Write(mine
                ? $"'{name}' run {existing} was already started by an earlier attempt of this step"
                : $"'{key}' already triggered run {existing} in the window from {windowStart:u} (claimed by run {claim.RunId}, step '{claim.StepId}'): not started again");
            return ActivityResult.Success(Result(mine, existing));
        }
        if (!mine)
        {
            // The winner is between its claim and its start; its run id is not known yet, but it will start it.
            context.Log.Write($"'{key}' is being triggered by run {claim.RunId}, step '{claim.StepId}', in the window from {windowStart:u}: not started again");
            return ActivityResult.Success(new JsonObject
            {
                ["started"] = false, ["run_id"] = "", ["triggered_by"] = claim.RunId.ToString(), ["window_start"] = windowStart.ToString("O"),
            });
        }

        Guid started;
        try
        {
            started = await starter.StartAsync(path, parameters, $"trigger:{context.RunId}/{stepKey}", ct);
        }
        catch (Exception e)
        {
            // Give the window back, so the next alert can try; the error says why this one could not start.
            await store.ReleaseTriggerAsync(key, windowStart, context.RunId, stepKey, CancellationToken.None);
            if (e is WorkflowValidationException)
                throw new ActivityException($"cannot start '{path}': {e.Message}", retryable: false, e);
            throw;
        }
        await store.MarkTriggerStartedAsync(key, windowStart, context.RunId, stepKey, started, ct);
        context.Log.Write($"started '{name}' run {started} (key '{key}', window from {windowStart:u})");
        return ActivityResult.Success(Result(true, started));
    }
}
