namespace Pipelines.Executors.Hangfire;

public sealed record HangfireExecutorOptions
{
    /// <summary>Pipelines queue → Hangfire queue; queues not listed keep their own name.</summary>
    public IReadOnlyDictionary<string, string> QueueMap { get; init; } = new Dictionary<string, string>();

    /// <summary>The schema Hangfire.PostgreSql keeps its tables in (created if missing).</summary>
    public string Schema { get; init; } = "hangfire";

    /// <summary>
    /// How long Hangfire leaves a fetched job invisible before another server may take it. With sliding invisibility on,
    /// a live server keeps extending it; only a dead server's job reappears, and by then our lease (seconds) has already
    /// rescued the step, so the reappearing job is fenced. Recovery never waits for this.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Fallback poll of Hangfire's queue; its LISTEN/NOTIFY long polling usually wakes a server at once.</summary>
    public TimeSpan QueuePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An attempt dispatched this long ago and still not claimed is enqueued again (its Hangfire job may have been
    /// deleted in the dashboard); a second job for it is harmless, it is fenced by the claim.
    /// </summary>
    public TimeSpan RedispatchAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Outbox rows turned into jobs per round trip.</summary>
    public int DispatchBatch { get; init; } = 200;
}
