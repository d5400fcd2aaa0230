using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>Walks the syntax tree against an <see cref="ExpressionContext"/>. Values are not copied; callers clone results.</summary>
internal sealed class ExpressionEvaluator(string text, ExpressionContext context)
{
    private ExpressionException Error(string message, int position) => new(message, text, position);

    public JsonNode? Evaluate(ExprNode node) => node switch
    {
        LiteralNode l => l.Value?.DeepClone(),
        RootNode r => EvaluateRoot(r),
        MemberNode m => Access(m, m.Target, m.Name, m.Position),
        IndexNode i => EvaluateIndex(i),
        UnaryNode u => EvaluateUnary(u),
        BinaryNode b => EvaluateBinary(b),
        CallNode c => ExpressionFunctions.Invoke(c.Function, c.Arguments.Select(Evaluate).ToArray(), m => Error(m, c.Position)),
        _ => throw new InvalidOperationException($"unknown node {node.GetType().Name}"),
    };

    private JsonNode? EvaluateRoot(RootNode r) => r.Name switch
    {
        "params" => context.Params,
        "run" => context.Run,
        "event" => context.Event ?? throw Error("'event' is only available in the params of a trigger (on:)", r.Position),
        "item" => context.Index is null ? throw Error("'item' is only available in a step with for_each", r.Position) : context.Item,
        "index" => context.Index is { } i ? JsonValue.Create((long)i) : throw Error("'index' is only available in a step with for_each", r.Position),
        _ => throw Error("'steps' must be followed by a step id and outputs, e.g. steps.a.outputs.b", r.Position),
    };

    private JsonNode? EvaluateIndex(IndexNode node)
    {
        var key = Evaluate(node.Index);
        if (JsonValues.TryString(key, out var name)) return Access(node, node.Target, name, node.Position);
        var target = EvaluateTarget(node.Target);
        if (target is not JsonArray array)
            throw Error($"cannot index {JsonValues.TypeName(target)} with {JsonValues.TypeName(key)}", node.Position);
        if (!JsonValues.TryNumber(key, out var n) || !n.IsInteger)
            throw Error($"array index must be an integer, got {JsonValues.TypeName(key)}", node.Position);
        if (n.Integer < 0 || n.Integer >= array.Count)
            throw Error($"index {n.Integer} is out of range for an array of length {array.Count}", node.Position);
        return array[(int)n.Integer];
    }

    // steps.<id> on its own is not a value: only steps.<id>.outputs is.
    private JsonNode? EvaluateTarget(ExprNode target)
    {
        if (ExpressionReferences.TryStepId(target, out var id))
            throw Error($"expected steps.{id}.outputs", target.Position);
        return Evaluate(target);
    }

    private JsonNode? Access(ExprNode node, ExprNode target, string name, int position)
    {
        if (target is RootNode { Name: "steps" }) throw Error($"expected steps.{name}.outputs", position);
        if (ExpressionReferences.TryStepId(target, out var stepId))
        {
            if (name != "outputs") throw Error($"expected steps.{stepId}.outputs, found steps.{stepId}.{name}", position);
            return context.StepOutputs.TryGetValue(stepId, out var outputs)
                ? outputs
                : throw Error($"step '{stepId}' has no outputs (it has not finished or does not exist)", position);
        }
        var value = EvaluateTarget(target);
        if (value is not JsonObject obj)
            throw Error($"cannot read '{name}' of {JsonValues.TypeName(value)}", position);
        if (obj.TryGetPropertyValue(name, out var result)) return result;
        if (target is RootNode { Name: "params" }) throw Error($"unknown parameter '{name}'", position);
        if (ExpressionReferences.TryOutputsOf(target, out var producer)) throw Error($"step '{producer}' has no output '{name}'", position);
        // Deeper objects are data: a missing member reads as null, as in JSON paths.
        return null;
    }

    private JsonNode? EvaluateUnary(UnaryNode u)
    {
        var value = Evaluate(u.Operand);
        if (u.Operator == "!") return JsonValue.Create(!Templates.IsTruthy(value));
        if (!JsonValues.TryNumber(value, out var n)) throw Error($"cannot negate {JsonValues.TypeName(value)}", u.Position);
        return n.IsInteger ? JsonValue.Create(-n.Integer) : JsonValue.Create(-n.Double);
    }

    private JsonNode? EvaluateBinary(BinaryNode b)
    {
        // && and || short-circuit so that guards like `params.x != null && params.x.y` work.
        if (b.Operator == "&&") return JsonValue.Create(Templates.IsTruthy(Evaluate(b.Left)) && Templates.IsTruthy(Evaluate(b.Right)));
        if (b.Operator == "||") return JsonValue.Create(Templates.IsTruthy(Evaluate(b.Left)) || Templates.IsTruthy(Evaluate(b.Right)));
        var left = Evaluate(b.Left);
        var right = Evaluate(b.Right);
        return b.Operator switch
        {
            "==" => JsonValue.Create(JsonValues.DeepEquals(left, right)),
            "!=" => JsonValue.Create(!JsonValues.DeepEquals(left, right)),
            "<" or "<=" or ">" or ">=" => Compare(b, left, right),
            "+" => Add(b, left, right),
            _ => Arithmetic(b, left, right),
        };
    }

    private JsonNode Compare(BinaryNode b, JsonNode? left, JsonNode? right)
    {
        int c;
        if (JsonValues.TryNumber(left, out var x) && JsonValues.TryNumber(right, out var y))
            c = x.IsInteger && y.IsInteger ? x.Integer.CompareTo(y.Integer) : x.AsDouble.CompareTo(y.AsDouble);
        else if (JsonValues.TryString(left, out var s) && JsonValues.TryString(right, out var t))
            c = string.CompareOrdinal(s, t);
        else
            throw Error($"cannot compare {JsonValues.TypeName(left)} with {JsonValues.TypeName(right)} using '{b.Operator}'", b.Position);
        return JsonValue.Create(b.Operator switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 });
    }

    private JsonNode Add(BinaryNode b, JsonNode? left, JsonNode? right)
    {
        if (JsonValues.TryString(left, out var ls) || JsonValues.TryString(right, out _))
        {
            if (!IsScalar(left) || !IsScalar(right))
                throw Error($"cannot add {JsonValues.TypeName(left)} and {JsonValues.TypeName(right)}", b.Position);
            return JsonValue.Create(JsonValues.ToDisplayString(left) + JsonValues.ToDisplayString(right));
        }
        return Arithmetic(b, left, right);
    }

    private static bool IsScalar(JsonNode? n) => n is JsonValue;

    private JsonNode Arithmetic(BinaryNode b, JsonNode? left, JsonNode? right)
    {
        if (!JsonValues.TryNumber(left, out var x) || !JsonValues.TryNumber(right, out var y))
            throw Error($"cannot apply '{b.Operator}' to {JsonValues.TypeName(left)} and {JsonValues.TypeName(right)}", b.Position);
        if (b.Operator is "/" or "%" && y.AsDouble == 0) throw Error("division by zero", b.Position);
        if (x.IsInteger && y.IsInteger)
        {
            try
            {
                checked
                {
                    switch (b.Operator)
                    {
                        case "+": return JsonValue.Create(x.Integer + y.Integer);
                        case "-": return JsonValue.Create(x.Integer - y.Integer);
                        case "*": return JsonValue.Create(x.Integer * y.Integer);
                        case "%": return JsonValue.Create(x.Integer % y.Integer);
                        // Exact quotients stay integers so they can feed integer inputs such as range.count.
                        case "/" when x.Integer % y.Integer == 0: return JsonValue.Create(x.Integer / y.Integer);
                    }
                }
            }
            catch (OverflowException) { throw Error($"integer overflow in '{b.Operator}'", b.Position); }
        }
        var (a, c) = (x.AsDouble, y.AsDouble);
        return JsonValue.Create(b.Operator switch { "+" => a + c, "-" => a - c, "*" => a * c, "/" => a / c, _ => a % c });
    }
}
