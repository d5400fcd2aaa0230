namespace Pipelines.Engine.Workers;

public sealed record WorkerOptions
{
    public string Id { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    public IReadOnlyList<string> Queues { get; init; } = ["default"];
    public int Concurrency { get; init; } = 4;
    /// <summary>
    /// How long a claim stays valid without a heartbeat; after that the leader hands the job to another worker. With
    /// the leader's default sweep (<see cref="Leadership.LeaderService.DefaultInterval"/>) a killed worker's step runs
    /// again within lease + sweep = 4.5 s; the price is one heartbeat statement per worker per second (issue 19).
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(4);
    /// <summary>Leaves room for three missed heartbeats (a GC pause, a slow commit) before the lease runs out.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Fallback polling when no notification arrives.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>On shutdown, how long in-flight attempts may run before they are handed back.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        if (Concurrency < 1) throw new ArgumentException("worker concurrency must be at least 1");
        if (Queues.Count == 0) throw new ArgumentException("a worker needs at least one queue");
        if (HeartbeatInterval >= Lease) throw new ArgumentException($"heartbeat interval ({HeartbeatInterval}) must be shorter than the lease ({Lease})");
    }
}
