using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>One problem in a workflow file, pinned to where a user must look.</summary>
public sealed record ValidationError(SourceLocation Location, string Key, string Message)
{
    public override string ToString() => $"{Location}: {Key}: {Message}";

    /// <summary>Sorted by line and column (stable), the order a user reads the file in.</summary>
    public static IReadOnlyList<ValidationError> InFileOrder(IEnumerable<ValidationError> errors) =>
        errors.OrderBy(e => e.Location.Line).ThenBy(e => e.Location.Column).ToList();
}

public sealed class WorkflowValidationException(IReadOnlyList<ValidationError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}
