using Pipelines.Tracking.Model;

namespace Pipelines.Server.Artifacts;

/// <summary>
/// Where the built-in endpoint keeps artifact bytes, addressed by the proxy's relative paths
/// (<c>1/&lt;run&gt;/artifacts/model/model.json</c>). A seam until the shared artifact store (issue 4) lands.
/// </summary>
public interface IArtifactFiles
{
    /// <summary>Stores the content; readers see either the old file or the whole new one.</summary>
    Task WriteAsync(string path, Stream content, CancellationToken ct);
    /// <summary>The file's content, or null if there is no such file.</summary>
    Stream? OpenRead(string path);
    /// <summary>The direct children of a directory (empty if it does not exist), sorted by name.</summary>
    IReadOnlyList<ArtifactFile> List(string path);
}

/// <summary>Artifacts as files under a root folder.</summary>
public sealed class LocalArtifactFiles(string root) : IArtifactFiles
{
    private readonly string _root = Path.GetFullPath(root);

    public async Task WriteAsync(string path, Stream content, CancellationToken ct)
    {
        var target = Resolve(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + "." + Guid.NewGuid().ToString("N")[..8] + ".partial";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                await content.CopyToAsync(file, 1 << 16, ct);
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public Stream? OpenRead(string path)
    {
        var full = Resolve(path);
        return File.Exists(full) ? new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true) : null;
    }

    public IReadOnlyList<ArtifactFile> List(string path)
    {
        var dir = string.IsNullOrEmpty(path.Trim('/')) ? _root : Resolve(path);
        if (!Directory.Exists(dir)) return [];
        var entries = new List<ArtifactFile>();
        foreach (var d in Directory.EnumerateDirectories(dir)) entries.Add(new ArtifactFile { Path = Path.GetFileName(d), IsDir = true });
        foreach (var f in Directory.EnumerateFiles(dir).Where(f => !f.EndsWith(".partial", StringComparison.Ordinal)))
            entries.Add(new ArtifactFile { Path = Path.GetFileName(f), IsDir = false, FileSize = new FileInfo(f).Length });
        return entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>Refuses paths that would leave the root (<c>..</c>, absolute, backslashes).</summary>
    private string Resolve(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments.Any(s => s is "." or ".." || s.Contains('\\') || s.Contains('\0')))
            throw new InvalidArtifactPathException(path);
        var full = Path.GetFullPath(Path.Combine([_root, .. segments]));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) throw new InvalidArtifactPathException(path);
        return full;
    }
}

public sealed class InvalidArtifactPathException(string path) : Exception($"Invalid path: '{path}'");

/// <summary>
/// The artifact proxy's path check, as MLflow's <c>validate_path_is_safe</c>: the path is percent-decoded (repeatedly,
/// so <c>..%252f</c> is caught too) and refused when it contains <c>#</c> or a backslash, has a <c>..</c> segment, is
/// absolute (a leading slash, or a Windows drive), or is a <c>file:</c> URI. Refusals are a 400 naming the path as sent.
/// </summary>
public static class ArtifactPaths
{
    /// <returns>The decoded path, to store and read under.</returns>
    public static string Check(string path)
    {
        var decoded = path;
        for (var i = 0; i < 8; i++)
        {
            var next = Uri.UnescapeDataString(decoded);
            if (next == decoded) break;
            decoded = next;
        }
        if (decoded.Contains('#') || decoded.Contains('\\') || decoded.Contains('\0')
            || decoded.StartsWith('/') || decoded.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            || (decoded.Length >= 2 && decoded[1] == ':' && char.IsAsciiLetter(decoded[0]))
            || decoded.Split('/').Any(s => s == ".."))
            throw new InvalidArtifactPathException(path);
        return decoded;
    }
}
