namespace Pipelines.Storage.Azure;

/// <summary>A Blob request that failed for good. The message carries the operation, the URI (signature masked),
/// the status and the service's error code; never a key, signature or token.</summary>
public sealed class BlobRequestException(string message, int? status, string? errorCode, Exception? inner = null)
    : ArtifactStoreException(message, inner)
{
    public int? Status { get; } = status;
    public string? ErrorCode { get; } = errorCode;
}
