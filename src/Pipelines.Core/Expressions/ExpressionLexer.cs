using System.Globalization;
using System.Text;

namespace Pipelines.Core.Expressions;

internal enum TokenKind { Identifier, Integer, Float, String, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Text, int Position, object? Value = null);

/// <summary>Splits expression text into tokens.</summary>
internal static class ExpressionLexer
{
    // Longest first, so "<=" wins over "<".
    private static readonly string[] Operators =
        ["&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", "[", "]", ".", ","];

    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) { tokens.Add(new Token(TokenKind.End, "", text.Length)); return tokens; }
            var c = text[i];
            if (char.IsAsciiLetter(c) || c == '_') tokens.Add(ReadIdentifier(text, ref i));
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]) && !PreviousIsOperand(tokens)))
                tokens.Add(ReadNumber(text, ref i));
            else if (c is '\'' or '"') tokens.Add(ReadString(text, ref i));
            else
            {
                var op = Operators.FirstOrDefault(o => string.CompareOrdinal(text, i, o, 0, o.Length) == 0)
                    ?? throw new ExpressionException($"unexpected character '{c}'", text, i);
                tokens.Add(new Token(TokenKind.Operator, op, i));
                i += op.Length;
            }
        }
    }

    private static bool PreviousIsOperand(List<Token> tokens) =>
        tokens.Count > 0 && (tokens[^1].Kind is TokenKind.Identifier or TokenKind.Integer or TokenKind.Float or TokenKind.String
                             || tokens[^1].Text is ")" or "]");

    // Hyphens are identifier characters (after the first), as in GitHub Actions, so that step ids such as
    // "train-model" can be written as steps.train-model.outputs.x; subtraction needs spaces: a - b.
    private static Token ReadIdentifier(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-')) i++;
        return new Token(TokenKind.Identifier, text[start..i], start);
    }

    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        var isFloat = false;
        if (i < text.Length && text[i] == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
        {
            isFloat = true;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        }
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is '+' or '-') j++;
            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                isFloat = true;
                i = j;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            }
        }
        if (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] == '_'))
            throw new ExpressionException($"malformed number '{text[start..(i + 1)]}'", text, start);
        var s = text[start..i];
        if (!isFloat && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var l))
            return new Token(TokenKind.Integer, s, start, l);
        return new Token(TokenKind.Float, s, start, double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    // 'single' strings escape a quote by doubling it (''); "double" strings use backslash escapes.
    private static Token ReadString(string text, ref int i)
    {
        var start = i;
        var quote = text[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length) throw new ExpressionException("unterminated string", text, start);
            var c = text[i++];
            if (c == quote)
            {
                if (quote == '\'' && i < text.Length && text[i] == '\'') { sb.Append('\''); i++; continue; }
                return new Token(TokenKind.String, text[start..i], start, sb.ToString());
            }
            if (c == '\\' && quote == '"')
            {
                if (i >= text.Length) throw new ExpressionException("unterminated string", text, start);
                var e = text[i++];
                sb.Append(e switch
                {
                    'n' => '\n', 't' => '\t', 'r' => '\r', '"' => '"', '\\' => '\\', '\'' => '\'',
                    _ => throw new ExpressionException($"unknown escape '\\{e}'", text, i - 2),
                });
                continue;
            }
            sb.Append(c);
        }
    }

    /// <summary>
    /// The offset just past the closing <c>}}</c> of an expression whose body starts at <paramref name="bodyStart"/>,
    /// skipping quoted strings so that a literal '}}' does not end it; -1 when there is none.
    /// </summary>
    public static int FindClose(string text, int bodyStart)
    {
        var i = bodyStart;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is '\'' or '"')
            {
                i++;
                while (i < text.Length && text[i] != c)
                {
                    if (c == '"' && text[i] == '\\') i++;
                    i++;
                }
                i++;
                continue;
            }
            if (c == '}' && i + 1 < text.Length && text[i + 1] == '}') return i + 2;
            i++;
        }
        return -1;
    }
}
