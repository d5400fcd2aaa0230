namespace Pipelines.Api.Domain;

/// <summary>Who may decide an approval. Pure: the endpoint and the list view ask the same question.</summary>
public static class ApprovalPolicy
{
    /// <summary>
    /// Why <paramref name="user"/> may not decide this approval, or null when they may. Four eyes: whoever started a
    /// run does not approve it unless the workflow says <c>allow_self_approval</c>; an <c>approvers</c> list restricts
    /// deciders; and the decider needs the approver (or admin) role.
    /// </summary>
    public static string? WhyNot(string user, IEnumerable<Role> roles, string runStartedBy, bool allowSelfApproval,
        IReadOnlyList<string> approvers, bool waiting)
    {
        if (!Roles.Grants(roles, Role.Approver)) return $"{user} does not have the approver role";
        if (!waiting) return "this approval is no longer waiting";
        if (!allowSelfApproval && string.Equals(user, runStartedBy, StringComparison.OrdinalIgnoreCase))
            return $"four-eyes rule: {user} started this run and may not approve it; another user must decide (the workflow does not set allow_self_approval)";
        if (approvers.Count > 0 && !approvers.Contains(user, StringComparer.OrdinalIgnoreCase))
            return $"{user} is not among this step's approvers ({string.Join(", ", approvers)})";
        return null;
    }
}
