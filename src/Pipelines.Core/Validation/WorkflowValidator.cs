using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>Checks a parsed definition against the activity registry: references, cycles, inputs, types.</summary>
public static class WorkflowValidator
{
    /// <summary>Every problem found, in file order; empty when the definition can run.</summary>
    public static IReadOnlyList<ValidationError> Validate(WorkflowDefinition definition, ActivityRegistry registry)
    {
        var errors = new List<ValidationError>();
        ParameterRules.Check(definition, errors);
        ScheduleRules.Check(definition, errors);
        TriggerRules.Check(definition, errors);
        var scope = StepScope.Build(definition, registry, errors);
        for (var i = 0; i < definition.Steps.Count; i++)
            new StepRules(scope, definition.Steps[i], i, errors).Check();
        CycleRule.Check(scope, errors);
        return ValidationError.InFileOrder(errors);
    }

    /// <summary>Parses and validates; throws with every error found.</summary>
    public static WorkflowDefinition Load(string path, ActivityRegistry registry) => LoadText(File.ReadAllText(path), path, registry);

    public static WorkflowDefinition LoadText(string text, string path, ActivityRegistry registry)
    {
        var definition = WorkflowParser.Parse(text, path);
        var errors = Validate(definition, registry);
        if (errors.Count > 0) throw new WorkflowValidationException(errors);
        return definition;
    }
}
