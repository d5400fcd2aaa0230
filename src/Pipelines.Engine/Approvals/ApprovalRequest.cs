using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;

namespace Pipelines.Engine.Approvals;

/// <summary>
/// What an approval step asks for, typed once from the step's resolved inputs (the approval activity's schema)
/// instead of being picked out of raw JSON where each rule needs it.
/// </summary>
public sealed record ApprovalRequest(
    JsonNode? Summary,
    IReadOnlyList<string> Approvers,
    bool AllowSelfApproval,
    TimeSpan? Timeout,
    bool AutoApprove,
    string AutoApproveReason)
{
    public const string DefaultAutoApproveReason = "the auto-approve policy held";

    public static ApprovalRequest FromInputs(JsonObject inputs) => new(
        inputs["summary"]?.DeepClone(),
        (inputs["approvers"] as JsonArray)?.Select(n => n!.ToString()).ToArray() ?? [],
        Flag(inputs["allow_self_approval"]),
        inputs["timeout"] is JsonValue t && t.TryGetValue<string>(out var text) ? Durations.Parse(text) : null,
        Flag(inputs["auto_approve"]),
        inputs["auto_approve_reason"] is JsonValue r && r.TryGetValue<string>(out var why) && why.Length > 0 ? why : DefaultAutoApproveReason);

    private static bool Flag(JsonNode? value) => value is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}
