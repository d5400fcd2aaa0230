using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>Recursive-descent parser; one method per precedence level, lowest first.</summary>
internal sealed class ExpressionParser
{
    internal static readonly string[] Roots = ["params", "steps", "item", "index", "run", "event"];

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _pos;

    private ExpressionParser(string text)
    {
        _text = text;
        _tokens = ExpressionLexer.Tokenize(text);
    }

    public static ExprNode Parse(string text)
    {
        var parser = new ExpressionParser(text);
        if (parser.Peek.Kind == TokenKind.End) throw new ExpressionException("empty expression", text, 0);
        var node = parser.ParseOr();
        if (parser.Peek.Kind != TokenKind.End)
            throw parser.Error($"unexpected '{parser.Peek.Text}'", parser.Peek.Position);
        return node;
    }

    private Token Peek => _tokens[_pos];

    private Token Next() => _tokens[_pos++];

    private bool TryOperator(string op, out Token token)
    {
        token = Peek;
        if (token.Kind != TokenKind.Operator || token.Text != op) return false;
        _pos++;
        return true;
    }

    private Token Expect(string op)
    {
        if (TryOperator(op, out var t)) return t;
        throw Error(Peek.Kind == TokenKind.End ? $"expected '{op}' but the expression ended" : $"expected '{op}' but found '{Peek.Text}'", Peek.Position);
    }

    private ExpressionException Error(string message, int position) => new(message, _text, position);

    private ExprNode ParseBinary(Func<ExprNode> next, params string[] ops)
    {
        var left = next();
        while (Peek.Kind == TokenKind.Operator && ops.Contains(Peek.Text))
        {
            var op = Next();
            left = new BinaryNode(op.Text, left, next(), op.Position);
        }
        return left;
    }

    private ExprNode ParseOr() => ParseBinary(ParseAnd, "||");
    private ExprNode ParseAnd() => ParseBinary(ParseEquality, "&&");
    private ExprNode ParseEquality() => ParseBinary(ParseComparison, "==", "!=");
    private ExprNode ParseComparison() => ParseBinary(ParseAdditive, "<", "<=", ">", ">=");
    private ExprNode ParseAdditive() => ParseBinary(ParseMultiplicative, "+", "-");
    private ExprNode ParseMultiplicative() => ParseBinary(ParseUnary, "*", "/", "%");

    private ExprNode ParseUnary()
    {
        if (TryOperator("!", out var not)) return new UnaryNode("!", ParseUnary(), not.Position);
        if (TryOperator("-", out var minus)) return new UnaryNode("-", ParseUnary(), minus.Position);
        return ParsePostfix(ParsePrimary());
    }

    private ExprNode ParsePostfix(ExprNode node)
    {
        while (true)
        {
            if (TryOperator(".", out var dot))
            {
                var name = Next();
                if (name.Kind != TokenKind.Identifier)
                    throw Error(name.Kind == TokenKind.End ? "expected a name after '.'" : $"expected a name after '.' but found '{name.Text}'", name.Position);
                node = new MemberNode(node, name.Text, dot.Position);
            }
            else if (TryOperator("[", out var bracket))
            {
                var index = ParseOr();
                Expect("]");
                node = new IndexNode(node, index, bracket.Position);
            }
            else return node;
        }
    }

    private ExprNode ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Integer: return new LiteralNode(JsonValue.Create((long)t.Value!), t.Position);
            case TokenKind.Float: return new LiteralNode(JsonValue.Create((double)t.Value!), t.Position);
            case TokenKind.String: return new LiteralNode(JsonValue.Create((string)t.Value!), t.Position);
            case TokenKind.Identifier: return ParseName(t);
            case TokenKind.Operator when t.Text == "(":
                var inner = ParseOr();
                Expect(")");
                return inner;
            case TokenKind.End: throw Error("unexpected end of expression", t.Position);
            default: throw Error($"unexpected '{t.Text}'", t.Position);
        }
    }

    private ExprNode ParseName(Token t)
    {
        switch (t.Text)
        {
            case "true": return new LiteralNode(JsonValue.Create(true), t.Position);
            case "false": return new LiteralNode(JsonValue.Create(false), t.Position);
            case "null": return new LiteralNode(null, t.Position);
        }
        if (Peek.Kind == TokenKind.Operator && Peek.Text == "(")
        {
            if (!ExpressionFunctions.TryGetArity(t.Text, out var min, out var max))
                throw Error($"unknown function '{t.Text}'; functions: {string.Join(", ", ExpressionFunctions.Names)}", t.Position);
            Next();
            var args = new List<ExprNode>();
            if (!TryOperator(")", out _))
            {
                do args.Add(ParseOr()); while (TryOperator(",", out _));
                Expect(")");
            }
            if (args.Count < min || args.Count > max)
            {
                var expected = min == max ? $"{min}" : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
                throw Error($"function '{t.Text}' takes {expected} argument(s), got {args.Count}", t.Position);
            }
            return new CallNode(t.Text, args, t.Position);
        }
        if (!Roots.Contains(t.Text))
            throw Error($"unknown name '{t.Text}'; expressions start with {string.Join(", ", Roots)}", t.Position);
        return new RootNode(t.Text, t.Position);
    }
}
