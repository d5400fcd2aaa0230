using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>
/// A parsed <c>${{ … }}</c> expression: literals, <c>params.x</c>, <c>steps.a.outputs.y</c>, <c>item</c>,
/// member and index access, comparison, boolean and arithmetic operators.
/// </summary>
/// <remarks>
/// Precedence, lowest first: <c>||</c>, <c>&amp;&amp;</c>, <c>== !=</c>, <c>&lt; &lt;= &gt; &gt;=</c>, <c>+ -</c>,
/// <c>* / %</c>, unary <c>! -</c>, then member, index and call. Identifiers may contain hyphens (step ids do),
/// so subtraction is written with spaces: <c>index - 1</c>.
/// </remarks>
public sealed class Expression
{
    public string Text { get; }
    public IReadOnlyCollection<string> ReferencedSteps { get; }
    public IReadOnlyCollection<string> ReferencedParams { get; }

    internal ExprNode Root { get; }
    internal IReadOnlyList<StepReference> StepReferences { get; }
    internal IReadOnlyList<ParamReference> ParamReferences { get; }
    /// <summary>Positions where <c>item</c> or <c>index</c> is read.</summary>
    internal IReadOnlyList<RootNode> ItemReferences { get; }

    private Expression(string text, ExprNode root)
    {
        Text = text;
        Root = root;
        StepReferences = ExpressionReferences.StepReferences(root);
        ParamReferences = ExpressionReferences.ParamReferences(root);
        ItemReferences = ExpressionReferences.Walk(root).OfType<RootNode>().Where(r => r.Name is "item" or "index").ToList();
        ReferencedSteps = StepReferences.Select(r => r.StepId).Distinct().ToList();
        ReferencedParams = ParamReferences.Select(r => r.Name).Distinct().ToList();
    }

    /// <summary>Parses an expression body. A text that is exactly one <c>${{ … }}</c> is unwrapped first, so <c>if</c> values may be written either way.</summary>
    /// <exception cref="ExpressionException">the text is malformed; the position points at the fault.</exception>
    public static Expression Parse(string text)
    {
        var body = Unwrap(text);
        return new Expression(body, ExpressionParser.Parse(body));
    }

    /// <exception cref="ExpressionException">a name is unknown, an output is missing, or types do not fit an operator.</exception>
    public JsonNode? Evaluate(ExpressionContext context) =>
        // Cloned so the result can be placed into new JSON without being detached from the context.
        new ExpressionEvaluator(Text, context).Evaluate(Root)?.DeepClone();

    public override string ToString() => Text;

    private static string Unwrap(string text)
    {
        var t = text.Trim();
        if (!t.StartsWith("${{", StringComparison.Ordinal)) return text;
        var close = ExpressionLexer.FindClose(t, 3);
        if (close == t.Length) return t[3..^2].Trim();
        if (close < 0) throw new ExpressionException("'${{' without a closing '}}'", text, 0);
        return text; // several expressions: let the parser report the stray '$'
    }
}
