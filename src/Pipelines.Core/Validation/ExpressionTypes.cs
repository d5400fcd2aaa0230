using Pipelines.Core.Activities;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Validation;

/// <summary>
/// Static types of expressions, as JSON Schema type names, where they can be known before a run: literals,
/// declared parameter types and declared step outputs. Null means "unknown until run time".
/// </summary>
internal sealed class ExpressionTypes(Func<string, string?> paramType, Func<string, string, string?> outputType)
{
    /// <summary>Type errors found while inferring, with the offending position.</summary>
    public List<(int Position, string Message)> Errors { get; } = [];

    public string? Infer(ExprNode node)
    {
        switch (node)
        {
            case LiteralNode l: return JsonSchemaTypes.TypeOf(l.Value);
            case RootNode { Name: "index" }: return "integer";
            case RootNode: return null;
            case UnaryNode { Operator: "!" } u: Infer(u.Operand); return "boolean";
            case UnaryNode u:
                var operand = Infer(u.Operand);
                if (operand is not null && !IsNumeric(operand)) Errors.Add((u.Position, $"cannot negate {operand}"));
                return operand is null ? null : operand is "integer" ? "integer" : "number";
            case BinaryNode b: return InferBinary(b);
            case CallNode c:
                foreach (var a in c.Arguments) Infer(a);
                return ExpressionFunctions.ResultType(c.Function);
        }
        // Member and index access: only the fixed reference shapes have a known type.
        if (ExpressionReferences.TryName(node, out var target, out var name))
        {
            if (target is RootNode { Name: "params" }) return paramType(name);
            if (ExpressionReferences.TryOutputsOf(target, out var step)) return outputType(step, name);
            if (ExpressionReferences.TryOutputsOf(node, out _)) return "object";
        }
        if (node is IndexNode i) { Infer(i.Index); Infer(i.Target); }
        else if (node is MemberNode m) Infer(m.Target);
        return null;
    }

    private string? InferBinary(BinaryNode b)
    {
        var left = Infer(b.Left);
        var right = Infer(b.Right);
        switch (b.Operator)
        {
            case "&&" or "||" or "==" or "!=":
                return "boolean";
            case "<" or "<=" or ">" or ">=":
                if (left is not null && right is not null && !(IsNumeric(left) && IsNumeric(right)) && !(left == "string" && right == "string"))
                    Errors.Add((b.Position, $"cannot compare {left} with {right} using '{b.Operator}'"));
                return "boolean";
            case "+" when left == "string" || right == "string":
                var other = left == "string" ? right : left;
                if (other is "array" or "object" or "null") Errors.Add((b.Position, $"cannot add {left} and {right}"));
                return "string";
        }
        foreach (var t in new[] { left, right })
            if (t is not null && !IsNumeric(t))
            {
                Errors.Add((b.Position, $"cannot apply '{b.Operator}' to {left ?? "a value"} and {right ?? "a value"}"));
                return null;
            }
        if (left is null || right is null) return null;
        return b.Operator != "/" && left == "integer" && right == "integer" ? "integer" : "number";
    }

    private static bool IsNumeric(string type) => type is "integer" or "number";
}
