using System.Text.Json.Nodes;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Definitions;

/// <summary>Turns <c>--param k=v</c> strings (or JSON values from a schedule or API) into typed parameters.</summary>
public static class ParameterBinder
{
    /// <summary>Applies defaults, converts to declared types and checks constraints.</summary>
    /// <exception cref="WorkflowValidationException">a value is missing, unknown, of the wrong type or out of range; the error names the parameter.</exception>
    public static JsonObject Bind(WorkflowDefinition definition, IReadOnlyDictionary<string, string> raw) => throw new NotImplementedException();

    public static JsonObject Bind(WorkflowDefinition definition, JsonObject values) => throw new NotImplementedException();
}
