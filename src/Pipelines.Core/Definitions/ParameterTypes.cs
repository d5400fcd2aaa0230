namespace Pipelines.Core.Definitions;

/// <summary>The lower-case type names used in workflow files and JSON Schema.</summary>
public static class ParameterTypes
{
    public static string Name(ParameterType type) => type switch
    {
        ParameterType.String => "string",
        ParameterType.Integer => "integer",
        ParameterType.Number => "number",
        ParameterType.Boolean => "boolean",
        ParameterType.Array => "array",
        _ => "object",
    };

    public static bool TryParse(string text, out ParameterType type)
    {
        foreach (var t in Enum.GetValues<ParameterType>())
        {
            if (Name(t) != text) continue;
            type = t;
            return true;
        }
        type = default;
        return false;
    }
}
