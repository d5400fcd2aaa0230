using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Engine.Orchestration;

/// <summary>
/// Identifies a step's work: activity kind and version plus resolved inputs in canonical JSON. Inputs that
/// refer to artifacts carry the artifact's content hash, so equal keys mean equal input data.
/// </summary>
public static class CacheKey
{
    public static string Compute(ActivityDescriptor activity, JsonNode inputs)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("activity", activity.Id);
            writer.WritePropertyName("inputs");
            WriteCanonical(writer, inputs);
            writer.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            // An artifact reference ({artifact, uri, sha256, …}) names attempt-scoped copies; what matters for
            // reuse is the content, so only its hash enters the key.
            case JsonObject obj when obj["artifact"] is not null && obj["sha256"] is JsonValue sha:
                writer.WriteStartObject();
                writer.WritePropertyName("sha256");
                sha.WriteTo(writer);
                writer.WriteEndObject();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    WriteCanonical(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray arr:
                writer.WriteStartArray();
                foreach (var item in arr) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
