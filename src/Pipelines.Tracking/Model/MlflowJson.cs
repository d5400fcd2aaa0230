using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipelines.Tracking.Model;

/// <summary>The JSON conventions of MLflow's REST API, shared by the client and the built-in endpoint.</summary>
public static class MlflowJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Protobuf's JSON mapping accepts int64 as strings, and MLflow writes NaN/Infinity metric values by name.
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNameCaseInsensitive = false,
        // Proto parsing ignores fields it does not know.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>Indented, as MLflow's server writes successful responses.</summary>
    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
