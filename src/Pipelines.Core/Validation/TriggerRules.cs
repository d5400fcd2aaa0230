using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Validation;

/// <summary>
/// Checks <c>on:</c>: every entry names a declared parameter in <c>params</c>, reads only the facts its event offers
/// (<c>event.NAME</c>; no <c>params</c>, <c>steps</c> or <c>run</c>: nothing else exists when the event fires), leaves no
/// required parameter without a value, does not start on its own success, and appears once.
/// </summary>
internal static class TriggerRules
{
    public static void Check(WorkflowDefinition definition, List<ValidationError> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.Triggers.Count; i++)
        {
            var t = definition.Triggers[i];
            var path = $"on[{i}]";
            void Error(string key, string message) =>
                errors.Add(new ValidationError(t.LocationOf(key), key.Length == 0 ? $"{path}.{t.KindName}" : $"{path}.{key}", message));

            if (!seen.Add(t.Key)) Error("", $"'{t.KindName}: {t.Source}' is declared twice; one entry per event");
            if (t.Kind == TriggerKind.WorkflowSucceeded && t.Source == definition.Name)
                Error("", $"workflow '{definition.Name}' cannot start on its own success (every run would start the next)");

            var fields = TriggerDefinition.EventFields(t.Kind);
            foreach (var (name, value) in t.Params)
            {
                var key = $"params.{name}";
                if (definition.Parameters.All(p => p.Name != name))
                {
                    var declared = definition.Parameters.Select(p => p.Name).ToList();
                    Error(key, $"unknown parameter '{name}'; " + (declared.Count == 0 ? "no parameters are declared" : $"declared: {string.Join(", ", declared)}"));
                }
                foreach (var (_, text) in Templates.Strings(value, key).Where(s => TemplateString.MayContainExpressions(s.Value)))
                {
                    TemplateString template;
                    try { template = TemplateString.Parse(text); }
                    catch (ExpressionException e) { Error(key, $"malformed expression: {e.Message}"); continue; }
                    foreach (var expression in template.Expressions)
                        CheckExpression(expression, t, fields, m => Error(key, m));
                }
            }
            foreach (var p in definition.Parameters.Where(p => p.Required && p.Default is null && !t.Params.ContainsKey(p.Name)))
                Error("", $"parameter '{p.Name}' is required and has no default; give it in this trigger's params, e.g. params: {{ {p.Name}: ... }}");
        }
    }

    private static void CheckExpression(Expression expression, TriggerDefinition t, IReadOnlyList<string> fields, Action<string> error)
    {
        foreach (var node in ExpressionReferences.Walk(expression.Root))
        {
            if (node is RootNode { Name: not "event" } root)
                error($"'{root.Name}' cannot be used in a trigger's params; only the event's facts exist when it fires: {Listed(fields)}");
            else if (ExpressionReferences.TryName(node, out var target, out var name) && target is RootNode { Name: "event" } && !fields.Contains(name))
                error($"a {t.KindName} event has no '{name}'; it offers {Listed(fields)}");
        }
    }

    private static string Listed(IReadOnlyList<string> fields) => string.Join(", ", fields.Select(f => "event." + f));
}
