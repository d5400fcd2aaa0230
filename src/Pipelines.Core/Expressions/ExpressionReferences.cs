namespace Pipelines.Core.Expressions;

/// <summary>Recognises the fixed shapes <c>steps.&lt;id&gt;</c>, <c>steps.&lt;id&gt;.outputs</c> and <c>params.&lt;name&gt;</c>, written with dots or quoted brackets.</summary>
internal static class ExpressionReferences
{
    /// <summary>A static name: <c>x.name</c> or <c>x['name']</c>.</summary>
    public static bool TryName(ExprNode node, out ExprNode target, out string name)
    {
        switch (node)
        {
            case MemberNode m: (target, name) = (m.Target, m.Name); return true;
            case IndexNode { Index: LiteralNode lit } i when JsonValues.TryString(lit.Value, out var s): (target, name) = (i.Target, s); return true;
            default: (target, name) = (node, ""); return false;
        }
    }

    public static bool TryStepId(ExprNode node, out string stepId)
    {
        stepId = "";
        return TryName(node, out var target, out stepId) && target is RootNode { Name: "steps" };
    }

    public static bool TryOutputsOf(ExprNode node, out string stepId)
    {
        stepId = "";
        return TryName(node, out var target, out var name) && name == "outputs" && TryStepId(target, out stepId);
    }

    public static IEnumerable<ExprNode> Walk(ExprNode node)
    {
        yield return node;
        IEnumerable<ExprNode> children = node switch
        {
            MemberNode m => [m.Target],
            IndexNode i => [i.Target, i.Index],
            UnaryNode u => [u.Operand],
            BinaryNode b => [b.Left, b.Right],
            CallNode c => c.Arguments,
            _ => [],
        };
        foreach (var child in children)
            foreach (var n in Walk(child))
                yield return n;
    }

    public static List<StepReference> StepReferences(ExprNode root)
    {
        // Parent links let us look outward from each steps.<id> to see how far the access goes.
        var parents = new Dictionary<ExprNode, ExprNode>(ReferenceEqualityComparer.Instance);
        foreach (var node in Walk(root))
            if (TryName(node, out var target, out _)) parents[target] = node;

        var refs = new List<StepReference>();
        foreach (var node in Walk(root))
        {
            if (!TryStepId(node, out var id)) continue;
            var position = node switch { MemberNode m => m.Target.Position, IndexNode i => i.Target.Position, _ => node.Position };
            if (!parents.TryGetValue(node, out var outputs) || !TryOutputsOf(outputs, out _))
            {
                refs.Add(new StepReference(id, null, false, position));
                continue;
            }
            var output = parents.TryGetValue(outputs, out var read) && TryName(read, out _, out var name) ? name : null;
            refs.Add(new StepReference(id, output, true, position));
        }
        return refs.OrderBy(r => r.Position).ToList();
    }

    public static List<ParamReference> ParamReferences(ExprNode root) =>
        Walk(root).Select(n => TryName(n, out var t, out var name) && t is RootNode { Name: "params" } ? new ParamReference(name, t.Position) : null)
            .OfType<ParamReference>().OrderBy(r => r.Position).ToList();
}
