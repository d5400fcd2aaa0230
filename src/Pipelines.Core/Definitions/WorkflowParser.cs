using Pipelines.Core.Validation;

namespace Pipelines.Core.Definitions;

/// <summary>Reads workflow YAML into a <see cref="WorkflowDefinition"/>, keeping the location of every key.</summary>
public static class WorkflowParser
{
    /// <exception cref="WorkflowValidationException">the YAML is malformed or does not match the format; every error has file:line:column.</exception>
    public static WorkflowDefinition Parse(string text, string path) => throw new NotImplementedException();

    public static WorkflowDefinition ParseFile(string path) => Parse(File.ReadAllText(path), path);
}
