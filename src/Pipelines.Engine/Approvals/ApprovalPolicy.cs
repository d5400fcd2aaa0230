using Pipelines.Engine.Model;

namespace Pipelines.Engine.Approvals;

/// <summary>
/// Who may decide an approval: never the policy's reserved name, never the person who started the run unless the
/// workflow allows self-approval (four eyes), and only a listed approver when the step names approvers.
/// Pure, so the engine store, the HTTP API and the web UI all explain a refusal the same way.
/// </summary>
public static class ApprovalPolicy
{
    /// <summary>The policy's own name marks decisions no person made; nobody may sign with it.</summary>
    public static string? ReservedNameRefusal(string decider) =>
        string.Equals(decider, Approvers.Policy, StringComparison.OrdinalIgnoreCase)
            ? $"'{Approvers.Policy}' is reserved for decisions made by an approval's auto_approve policy"
            : null;

    /// <returns>Null when <paramref name="decider"/> may decide; otherwise why not, in words for the person.</returns>
    public static string? WhyNot(string decider, string runStartedBy, bool allowSelfApproval, IReadOnlyList<string> approvers,
        Guid runId, string stepId)
    {
        if (ReservedNameRefusal(decider) is { } reserved) return reserved;
        if (!allowSelfApproval && string.Equals(runStartedBy, decider, StringComparison.OrdinalIgnoreCase))
            return $"{decider} started run {runId} and may not decide its approval '{stepId}' (allow_self_approval is false)";
        if (approvers.Count > 0 && !approvers.Contains(decider, StringComparer.OrdinalIgnoreCase))
            return $"{decider} is not among the approvers of '{stepId}': {string.Join(", ", approvers)}";
        return null;
    }
}
