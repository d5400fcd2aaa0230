using System.Text;
using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>A string from a workflow split into literal text and <c>${{ … }}</c> expressions.</summary>
internal sealed class TemplateString
{
    private readonly List<(string? Literal, Expression? Expression)> _parts;

    private TemplateString(List<(string?, Expression?)> parts) => _parts = parts;

    public IEnumerable<Expression> Expressions => _parts.Where(p => p.Expression is not null).Select(p => p.Expression!);

    /// <summary>True when the whole string is one expression, so its value keeps its type.</summary>
    public bool IsSingleExpression => _parts.Count == 1 && _parts[0].Expression is not null;

    public bool HasExpressions => _parts.Any(p => p.Expression is not null);

    public static bool MayContainExpressions(string s) => s.Contains("${{", StringComparison.Ordinal);

    /// <exception cref="ExpressionException">an expression is malformed or not closed.</exception>
    public static TemplateString Parse(string text)
    {
        var parts = new List<(string?, Expression?)>();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf("${{", i, StringComparison.Ordinal);
            if (open < 0) { parts.Add((text[i..], null)); break; }
            if (open > i) parts.Add((text[i..open], null));
            var close = ExpressionLexer.FindClose(text, open + 3);
            if (close < 0) throw new ExpressionException("'${{' without a closing '}}'", text, open);
            var body = text[(open + 3)..(close - 2)];
            if (body.Trim().Length == 0) throw new ExpressionException("empty expression", text, open);
            parts.Add((null, Expression.Parse(body.Trim())));
            i = close;
        }
        return new TemplateString(parts);
    }

    public JsonNode? Evaluate(ExpressionContext context)
    {
        if (IsSingleExpression) return _parts[0].Expression!.Evaluate(context);
        var sb = new StringBuilder();
        foreach (var (literal, expression) in _parts)
            sb.Append(literal ?? JsonValues.ToDisplayString(expression!.Evaluate(context)));
        return JsonValue.Create(sb.ToString());
    }
}
