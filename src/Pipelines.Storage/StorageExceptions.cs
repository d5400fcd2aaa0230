namespace Pipelines.Storage;

/// <summary>Base of the store's errors. Messages never contain account keys, SAS signatures or tokens.</summary>
public class ArtifactStoreException(string message, Exception? inner = null) : Exception(Redaction.Redact(message), inner);

public sealed class ArtifactNotFoundException(string key) : ArtifactStoreException($"artifact '{key}' not found")
{
    public string Key { get; } = key;
}

/// <summary>A create found the key taken: artifacts are immutable, so the existing one is kept.</summary>
public sealed class ArtifactExistsException(string key) : ArtifactStoreException($"artifact '{key}' already exists; artifacts are immutable")
{
    public string Key { get; } = key;
}

/// <summary>The bytes read or written do not match their recorded hash.</summary>
public sealed class ArtifactIntegrityException(string message) : ArtifactStoreException(message);
