namespace Pipelines.Storage.Azure;

public sealed record BlobClientOptions
{
    public RetryPolicy Retry { get; init; } = new();
    /// <summary>Block size for uploads; a blob no larger than this goes in one Put Blob.</summary>
    public int BlockSize { get; init; } = 8 << 20;
    /// <summary>Blocks uploaded at once (memory use is about this many blocks).</summary>
    public int MaxBlocksInFlight { get; init; } = 4;
    /// <summary>Create the container on first write when the credential may (Shared Key, Entra ID).</summary>
    public bool CreateContainer { get; init; } = true;
    /// <summary>Receives retry and failure notes; every line is redacted.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Injected for tests; the real one waits.</summary>
    public Func<TimeSpan, CancellationToken, Task> Wait { get; init; } = Task.Delay;
    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;
    /// <summary>For tests (fault injection) and custom transports; disposed with the store.</summary>
    public HttpMessageHandler? Handler { get; init; }
}
