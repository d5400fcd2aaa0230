using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>What every step rule needs to know about the whole workflow: steps by id and their resolved activities.</summary>
internal sealed class StepScope
{
    public required WorkflowDefinition Definition { get; init; }
    /// <summary>First step with each id; later duplicates are reported and otherwise ignored.</summary>
    public required IReadOnlyDictionary<string, StepDefinition> Steps { get; init; }
    public required IReadOnlyDictionary<string, int> Indexes { get; init; }
    /// <summary>The resolved activity of each step whose <c>uses</c> is known.</summary>
    public required IReadOnlyDictionary<StepDefinition, ActivityDescriptor> Activities { get; init; }

    public static StepScope Build(WorkflowDefinition definition, ActivityRegistry registry, List<ValidationError> errors)
    {
        var steps = new Dictionary<string, StepDefinition>(StringComparer.Ordinal);
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        var activities = new Dictionary<StepDefinition, ActivityDescriptor>(ReferenceEqualityComparer.Instance);
        var kinds = registry.All.Select(d => d.Kind).Distinct().Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            if (steps.TryGetValue(step.Id, out var first))
                errors.Add(new ValidationError(step.LocationOf("id"), $"steps[{i}].id", $"duplicate step id '{step.Id}'; first defined at {first.LocationOf("id")}"));
            else
            {
                steps[step.Id] = step;
                indexes[step.Id] = i;
            }

            if (!registry.HasKind(step.Uses))
                errors.Add(new ValidationError(step.LocationOf("uses"), $"steps[{i}].uses", $"unknown activity kind '{step.Uses}'; known kinds: {string.Join(", ", kinds)}"));
            else if (registry.Find(step.Uses, step.Version) is { } descriptor)
                activities[step] = descriptor;
            else
            {
                var versions = registry.All.Where(d => d.Kind == step.Uses).Select(d => d.Version);
                errors.Add(new ValidationError(step.LocationOf("uses"), $"steps[{i}].uses", $"activity '{step.Uses}' has no version '{step.Version}'; known versions: {string.Join(", ", versions)}"));
            }
        }
        return new StepScope { Definition = definition, Steps = steps, Indexes = indexes, Activities = activities };
    }

    public ActivityDescriptor? ActivityOf(string stepId) =>
        Steps.TryGetValue(stepId, out var step) && Activities.TryGetValue(step, out var d) ? d : null;

    /// <summary>The declared type of <c>steps.id.outputs.name</c>; a for_each step exposes each output as the array of its children's values.</summary>
    public string? OutputType(string stepId, string output)
    {
        if (!Steps.TryGetValue(stepId, out var step)) return null;
        if (step.ForEach is not null) return "array";
        return ActivityOf(stepId)?.OutputProperty(output)?["type"] is System.Text.Json.Nodes.JsonValue t && t.TryGetValue<string>(out var type) ? type : null;
    }

    public string? ParamType(string name) =>
        Definition.Parameters.FirstOrDefault(p => p.Name == name) is { } p ? ParameterTypes.Name(p.Type) : null;
}
