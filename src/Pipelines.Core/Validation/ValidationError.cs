using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>One problem in a workflow file, pinned to where a user must look.</summary>
public sealed record ValidationError(SourceLocation Location, string Key, string Message)
{
    public override string ToString() => $"{Location}: {Key}: {Message}";
}

public sealed class WorkflowValidationException(IReadOnlyList<ValidationError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}
