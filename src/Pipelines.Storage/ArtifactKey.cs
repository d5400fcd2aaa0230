namespace Pipelines.Storage;

/// <summary>
/// Keys are relative paths shared by every store: '/'-separated, non-empty segments, no '.' or '..',
/// no backslashes or control characters, at most 1024 characters (the Blob service's limit).
/// </summary>
public static class ArtifactKey
{
    public static string Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        string? problem = key.Length == 0 ? "is empty"
            : key.Length > 1024 ? "is longer than 1024 characters"
            : key.Contains('\\') ? "contains a backslash"
            : key.Any(char.IsControl) ? "contains a control character"
            : key.Split('/').Any(s => s.Length == 0) ? "has an empty segment (leading, trailing or double '/')"
            : key.Split('/').Any(s => s is "." or "..") ? "has a '.' or '..' segment"
            : null;
        return problem is null ? key : throw new ArgumentException($"invalid artifact key '{key}': {problem}", nameof(key));
    }

    /// <summary>A prefix may be empty or end in '/', otherwise it follows the key rules.</summary>
    public static string ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0) return prefix;
        Validate(prefix.EndsWith('/') ? prefix[..^1] : prefix);
        return prefix;
    }

    /// <summary>The content-addressed key of bytes with this SHA-256: <c>sha256/ab/abcdef…</c>.</summary>
    public static string ContentAddressed(string sha256) => $"sha256/{sha256[..2]}/{sha256}";

    /// <summary>The attempt-scoped key of a step output: <c>runs/RUN/STEP/attempt-N/NAME</c>.</summary>
    public static string AttemptScoped(Guid runId, string stepId, int? itemIndex, int attempt, string name) =>
        Validate($"runs/{runId:N}/{stepId}{(itemIndex is { } i ? $"/item-{i}" : "")}/attempt-{attempt}/{name}");
}
