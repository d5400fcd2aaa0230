using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>Syntax tree of an expression. Positions are 0-based offsets into the expression text.</summary>
internal abstract record ExprNode(int Position);

internal sealed record LiteralNode(JsonNode? Value, int Position) : ExprNode(Position);

/// <summary>One of the root names: params, steps, item, index, run, event.</summary>
internal sealed record RootNode(string Name, int Position) : ExprNode(Position);

internal sealed record MemberNode(ExprNode Target, string Name, int Position) : ExprNode(Position);

internal sealed record IndexNode(ExprNode Target, ExprNode Index, int Position) : ExprNode(Position);

internal sealed record UnaryNode(string Operator, ExprNode Operand, int Position) : ExprNode(Position);

internal sealed record BinaryNode(string Operator, ExprNode Left, ExprNode Right, int Position) : ExprNode(Position);

internal sealed record CallNode(string Function, IReadOnlyList<ExprNode> Arguments, int Position) : ExprNode(Position);

/// <summary>A statically known <c>steps.&lt;id&gt;.outputs.&lt;name&gt;</c> read; <see cref="Output"/> is null when the expression reads the whole outputs object or stops short.</summary>
internal sealed record StepReference(string StepId, string? Output, bool HasOutputsSegment, int Position);

internal sealed record ParamReference(string Name, int Position);
