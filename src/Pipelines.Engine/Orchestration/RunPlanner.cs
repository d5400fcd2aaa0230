using System.Text.Json.Nodes;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;
using Pipelines.Engine.Model;

namespace Pipelines.Engine.Orchestration;

/// <summary>A top-level step run as the planner sees it.</summary>
public sealed record PlanStep(Guid Id, string StepId, StepState State, JsonObject? Outputs, string? Error);

public sealed record PlanInput(
    WorkflowDefinition Definition,
    ActivityRegistry Registry,
    JsonObject Params,
    JsonObject RunFacts,
    bool CancelRequested,
    IReadOnlyList<PlanStep> Steps);

public abstract record StepDecision(Guid StepRunId);
public sealed record SkipStep(Guid StepRunId, string Reason) : StepDecision(StepRunId);
public sealed record CancelStep(Guid StepRunId) : StepDecision(StepRunId);
public sealed record FailStep(Guid StepRunId, string Error) : StepDecision(StepRunId);
public sealed record EnqueueStep(Guid StepRunId, JsonObject Inputs, string? CacheKey) : StepDecision(StepRunId);
public sealed record AwaitApproval(Guid StepRunId, JsonObject Inputs) : StepDecision(StepRunId);
public sealed record FanOutItem(JsonNode? Item, JsonObject Inputs);
public sealed record FanOutStep(Guid StepRunId, IReadOnlyList<FanOutItem> Items, int MaxParallel, string? CacheKey) : StepDecision(StepRunId);

/// <summary>What to do next in a run: decisions for pending steps, or the run's final state when all are done.</summary>
public sealed record Plan(IReadOnlyList<StepDecision> Decisions, RunState? FinalState, string? FinalError);

/// <summary>
/// Decides, from a consistent snapshot of a run, which pending steps become jobs, wait, fan out, are skipped
/// or cancelled, and when the run is finished. Pure: the store applies the plan inside the transaction that
/// read the snapshot, so two completions of the same run never plan from stale state.
/// </summary>
public static class RunPlanner
{
    public static Plan Plan(PlanInput input)
    {
        var byStep = input.Steps.ToDictionary(s => s.StepId);
        var decisions = new List<StepDecision>();
        var context = new ExpressionContext
        {
            Params = input.Params,
            StepOutputs = input.Steps.Where(s => s.State == StepState.Succeeded)
                .ToDictionary(s => s.StepId, s => s.Outputs ?? new JsonObject()),
            Run = input.RunFacts,
        };

        foreach (var step in input.Definition.Steps)
        {
            if (!byStep.TryGetValue(step.Id, out var row) || row.State != StepState.Pending) continue;
            if (input.CancelRequested)
            {
                decisions.Add(new CancelStep(row.Id));
                continue;
            }
            var deps = step.DependsOn.Select(d => byStep[d]).ToList();
            if (deps.Any(d => !d.State.IsTerminal())) continue;
            var blocked = deps.FirstOrDefault(d => d.State != StepState.Succeeded);
            if (blocked is not null)
            {
                decisions.Add(new SkipStep(row.Id, $"upstream step '{blocked.StepId}' {blocked.State.Db()}"));
                continue;
            }
            decisions.Add(Decide(step, row, input.Registry, context));
        }

        if (decisions.Count > 0 || input.Steps.Any(s => !s.State.IsTerminal()))
            return new Plan(decisions, null, null);
        return Finish(input);
    }

    private static StepDecision Decide(StepDefinition step, PlanStep row, ActivityRegistry registry, ExpressionContext context)
    {
        var descriptor = registry.Find(step.Uses, step.Version);
        if (descriptor is null)
            return new FailStep(row.Id, $"activity '{step.Uses}{(step.Version is null ? "" : "@" + step.Version)}' is not registered in this process");
        try
        {
            if (step.If is not null && !Templates.EvaluateCondition(step.If, context))
                return new SkipStep(row.Id, "condition is false");

            if (step.ForEach is not null)
            {
                var items = Templates.Resolve(JsonValue.Create(step.ForEach.Items), context);
                if (items is not JsonArray list)
                    return new FailStep(row.Id, $"for_each.items must be a list, got {JsonSchemaTypes.TypeOf(items)}");
                var children = new List<FanOutItem>(list.Count);
                for (var i = 0; i < list.Count; i++)
                {
                    var itemContext = new ExpressionContext
                    {
                        Params = context.Params, StepOutputs = context.StepOutputs, Run = context.Run,
                        Item = list[i]?.DeepClone(), Index = i,
                    };
                    children.Add(new FanOutItem(list[i]?.DeepClone(), ResolveInputs(step, itemContext)));
                }
                var key = step.Cache && descriptor.Cacheable ? CacheKey.Compute(descriptor, new JsonArray(children.Select(c => (JsonNode)c.Inputs.DeepClone()).ToArray())) : null;
                return new FanOutStep(row.Id, children, step.ForEach.MaxParallel, key);
            }

            var inputs = ResolveInputs(step, context);
            if (descriptor.Behavior == ActivityBehavior.Approval)
                return new AwaitApproval(row.Id, inputs);
            return new EnqueueStep(row.Id, inputs, step.Cache && descriptor.Cacheable ? CacheKey.Compute(descriptor, inputs) : null);
        }
        catch (ExpressionException e)
        {
            return new FailStep(row.Id, e.Message);
        }
    }

    private static JsonObject ResolveInputs(StepDefinition step, ExpressionContext context) =>
        Templates.Resolve(step.With, context) as JsonObject ?? new JsonObject();

    private static Plan Finish(PlanInput input)
    {
        var failed = input.Steps.FirstOrDefault(s => s.State == StepState.Failed);
        if (failed is not null) return new Plan([], RunState.Failed, $"step '{failed.StepId}' failed: {failed.Error}");
        var stopped = input.Steps.FirstOrDefault(s => s.State == StepState.Stopped);
        if (stopped is not null) return new Plan([], RunState.Stopped, $"stopped by step '{stopped.StepId}': {stopped.Error}");
        if (input.CancelRequested || input.Steps.Any(s => s.State == StepState.Cancelled))
            return new Plan([], RunState.Cancelled, "cancelled");
        return new Plan([], RunState.Succeeded, null);
    }
}
