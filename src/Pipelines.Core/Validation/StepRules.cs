using System.Text.Json.Nodes;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Validation;

/// <summary>The rules for one step: needs, retry and fan-out bounds, inputs against the activity's schema, and every expression.</summary>
internal sealed class StepRules(StepScope scope, StepDefinition step, int index, List<ValidationError> errors)
{
    private readonly ActivityDescriptor? _activity = scope.Activities.GetValueOrDefault(step);

    public void Check()
    {
        CheckNeeds();
        CheckRetry();
        CheckForEach();
        CheckInputs();
        if (step.If is { } condition) CheckCondition(condition);
    }

    private void Error(string key, string message) =>
        errors.Add(new ValidationError(step.LocationOf(key), $"steps[{index}].{key}", message));

    private void CheckNeeds()
    {
        for (var i = 0; i < step.Needs.Count; i++)
        {
            var need = step.Needs[i];
            if (need == step.Id) Error($"needs[{i}]", $"step '{step.Id}' needs itself");
            else if (!scope.Steps.ContainsKey(need)) Error($"needs[{i}]", $"needs unknown step '{need}'{KnownSteps()}");
        }
    }

    private string KnownSteps() => $"; steps: {string.Join(", ", scope.Steps.Keys)}";

    private void CheckRetry()
    {
        var r = step.Retry;
        if (r.MaxAttempts < 1) Error("retry.max_attempts", $"max_attempts must be at least 1, got {r.MaxAttempts}");
        if (r.Factor < 1) Error("retry.backoff.factor", $"backoff factor must be at least 1, got {r.Factor}");
        if (r.Jitter is < 0 or > 1) Error("retry.backoff.jitter", $"backoff jitter must be between 0 and 1, got {r.Jitter}");
        if (r.MaxDelay < r.InitialDelay) Error("retry.backoff.max", $"backoff max ({r.MaxDelay}) is less than initial ({r.InitialDelay})");
    }

    private void CheckForEach()
    {
        if (step.ForEach is not { } forEach) return;
        if (forEach.MaxParallel < 0) Error("for_each.max_parallel", $"max_parallel must be 0 (unlimited) or more, got {forEach.MaxParallel}");
        var template = Parse("for_each.items", forEach.Items);
        if (template is null) return;
        if (!template.IsSingleExpression)
        {
            Error("for_each.items", "for_each.items must be a single ${{ … }} expression that yields an array");
            return;
        }
        // The list is computed before the fan-out, so item and index do not exist yet.
        var type = CheckExpressions("for_each.items", template, allowItem: false);
        if (type is not null and not "array") Error("for_each.items", $"for_each.items must yield an array, but the expression yields {type}");
    }

    /// <summary>
    /// An approval's <c>auto_approve</c> skips the approvers and the self-approval rule, so it must not be something
    /// whoever starts a run can set: a value made from parameters or run facts would let them approve their own run.
    /// </summary>
    private void CheckAutoApprove()
    {
        if (_activity?.Behavior != ActivityBehavior.Approval) return;
        if (!step.With.TryGetPropertyValue("auto_approve", out var value) || value is not JsonValue v || !v.TryGetValue<string>(out var text)) return;
        if (!TemplateString.MayContainExpressions(text)) return;
        TemplateString template;
        try { template = TemplateString.Parse(text); }
        catch (ExpressionException) { return; } // reported with the other expression errors
        if (template.Expressions.Any(e => e.ReferencedParams.Count > 0 || ExpressionReferences.Walk(e.Root).OfType<RootNode>().Any(r => r.Name == "run")))
            Error("with.auto_approve", "auto_approve must come from a step's outputs (e.g. ${{ steps.gate.outputs.auto_approve }}), " +
                                       "not from parameters or run facts: whoever starts a run could otherwise approve it");
    }

    private void CheckCondition(string condition)
    {
        TemplateString template;
        try { template = Templates.ParseCondition(condition); }
        catch (ExpressionException e) { Error("if", $"malformed expression: {e.Message}"); return; }
        // The engine decides `if` once for the whole step, before any fan-out, so there is no item yet.
        CheckExpressions("if", template, allowItem: false);
    }

    private void CheckInputs()
    {
        foreach (var (name, value) in step.With)
        {
            var schema = _activity?.InputProperty(name);
            if (_activity is not null && schema is null && !AllowsUndeclaredInputs(_activity))
                Error($"with.{name}", $"unknown input '{name}' for {_activity.Id}; inputs: {string.Join(", ", PropertyNames(_activity.InputSchema))}");
            CheckValue($"with.{name}", value, schema, $"input '{name}'");
        }
        CheckAutoApprove();
        if (_activity is null) return;
        foreach (var required in _activity.RequiredInputs.Where(r => !step.With.ContainsKey(r)))
            Error("with", $"missing required input '{required}' for {_activity.Id}");
    }

    private static bool AllowsUndeclaredInputs(ActivityDescriptor activity) =>
        !(activity.InputSchema["additionalProperties"] is JsonValue v && v.TryGetValue<bool>(out var allowed) && !allowed);

    private static IEnumerable<string> PropertyNames(JsonObject schema) => (schema["properties"] as JsonObject ?? []).Select(p => p.Key);

    /// <summary>Checks a value as written against its schema (null when unknown), recursing into arrays and objects.</summary>
    private void CheckValue(string path, JsonNode? value, JsonObject? schema, string what)
    {
        var declared = schema?["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        if (JsonValues.TryString(value, out var text) && TemplateString.MayContainExpressions(text))
        {
            var template = Parse(path, text);
            if (template is null) return;
            var type = CheckExpressions(path, template, allowItem: step.ForEach is not null);
            var yields = template.IsSingleExpression ? type : "string";
            if (yields is not null && !JsonSchemaTypes.IsAssignable(yields, declared))
                Error(path, $"{what} expects {declared}, but the expression yields {yields}");
            return;
        }
        var actual = JsonSchemaTypes.TypeOf(value);
        if (!JsonSchemaTypes.IsAssignable(actual, declared))
        {
            Error(path, $"{what} expects {declared}, got {actual} {ParameterConstraints.Show(value)}");
            return;
        }
        switch (value)
        {
            case JsonArray array:
                for (var i = 0; i < array.Count; i++) CheckValue($"{path}[{i}]", array[i], schema?["items"] as JsonObject, $"{what} item {i}");
                break;
            case JsonObject obj:
                foreach (var (key, member) in obj) CheckValue($"{path}.{key}", member, schema?["properties"]?[key] as JsonObject, $"{what} member '{key}'");
                break;
        }
    }

    private TemplateString? Parse(string path, string text)
    {
        try { return TemplateString.Parse(text); }
        catch (ExpressionException e) { Error(path, $"malformed expression: {e.Message}"); return null; }
    }

    /// <summary>Checks references and operator types of each expression; returns the static type of the last one.</summary>
    private string? CheckExpressions(string path, TemplateString template, bool allowItem)
    {
        string? type = null;
        foreach (var expression in template.Expressions)
        {
            CheckReferences(path, expression, allowItem);
            var types = new ExpressionTypes(scope.ParamType, scope.OutputType);
            type = types.Infer(expression.Root);
            foreach (var (position, message) in types.Errors)
                Error(path, $"{message} at position {position + 1} in '{expression.Text}'");
        }
        return type;
    }

    private void CheckReferences(string path, Expression expression, bool allowItem)
    {
        foreach (var r in expression.StepReferences)
        {
            if (r.StepId == step.Id) { Error(path, $"step '{step.Id}' references its own outputs in '{expression.Text}'"); continue; }
            if (!scope.Steps.ContainsKey(r.StepId)) { Error(path, $"expression references unknown step '{r.StepId}'{KnownSteps()}"); continue; }
            if (!r.HasOutputsSegment) { Error(path, $"expected steps.{r.StepId}.outputs.<name> in '{expression.Text}'"); continue; }
            if (r.Output is null || scope.ActivityOf(r.StepId) is not { } producer || producer.OutputProperty(r.Output) is not null) continue;
            Error(path, $"step '{r.StepId}' ({producer.Id}) has no output '{r.Output}'; outputs: {string.Join(", ", PropertyNames(producer.OutputSchema))}");
        }
        foreach (var p in expression.ParamReferences.Where(p => scope.ParamType(p.Name) is null))
        {
            var declared = scope.Definition.Parameters.Select(d => d.Name).ToList();
            Error(path, $"unknown parameter '{p.Name}'; " + (declared.Count == 0 ? "no parameters are declared" : $"declared: {string.Join(", ", declared)}"));
        }
        if (ExpressionReferences.Walk(expression.Root).Any(n => n is RootNode { Name: "event" }))
            Error(path, $"'event' is only available in the params of a trigger (on:); pass what a step needs as a parameter, e.g. params: {{ data: \"${{{{ event.path }}}}\" }}");
        if (!allowItem)
            foreach (var root in expression.ItemReferences)
                Error(path, step.ForEach is null
                    ? $"'{root.Name}' can only be used in a step with for_each"
                    : path == "if"
                        ? $"'{root.Name}' cannot be used in if; the condition is decided once for the whole step, before the fan-out"
                        : $"'{root.Name}' cannot be used in for_each.items; it is the list being iterated");
    }
}
