namespace Pipelines.Api.Domain;

/// <summary>What a caller may do. Each endpoint names the one role it needs; <see cref="Grants"/> says who has it.</summary>
public enum Role { Viewer, Operator, Approver, Admin }

public static class Roles
{
    public static string Name(this Role role) => role.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<Role>().Select(Name)];

    public static bool TryParse(string? text, out Role role)
    {
        role = default;
        return text is not null && All.Contains(text, StringComparer.Ordinal) && Enum.TryParse(text, ignoreCase: true, out role);
    }

    /// <summary>
    /// True when someone holding <paramref name="held"/> may do what needs <paramref name="needed"/>: every role reads
    /// (viewer); operators and approvers each have their own powers; admin has all of them.
    /// </summary>
    public static bool Grants(IEnumerable<Role> held, Role needed) =>
        held.Any(r => r == needed || r == Role.Admin || needed == Role.Viewer);

    /// <summary>
    /// Roles from a token's claims: role names given directly (the <c>roles</c> claim) plus those the configuration
    /// maps the caller's groups to. Unknown names and unmapped groups give nothing.
    /// </summary>
    public static IReadOnlySet<Role> FromClaims(IEnumerable<string> roleClaims, IEnumerable<string> groupClaims,
        IReadOnlyDictionary<string, IReadOnlyList<string>> groupRoles)
    {
        var result = new HashSet<Role>();
        foreach (var r in roleClaims)
            if (TryParse(r, out var role)) result.Add(role);
        foreach (var g in groupClaims)
            if (groupRoles.TryGetValue(g, out var mapped))
                foreach (var r in mapped)
                    if (TryParse(r, out var role)) result.Add(role);
        return result;
    }
}
