namespace Pipelines.Postgres.Engine;

public sealed record PostgresEngineOptions
{
    /// <summary>How often a step may be re-attempted after its worker vanished before it fails.</summary>
    public int MaxRescues { get; init; } = 3;

    /// <summary>
    /// The tracking server a run records when it is created (submitted, or fired by a schedule), asked each time:
    /// e.g. <c>built-in</c> or an external server's address, never credentials (see Pipelines.Tracking's
    /// TrackingServers). It may throw to refuse the submission. Null, or null returned: the run records none, and
    /// each worker tracks its steps where that worker is configured to.
    /// </summary>
    public Func<string?>? RunTrackingServer { get; init; }

    /// <summary>
    /// What <c>file</c> triggers list: local folders by default; the server and workers add blob containers
    /// (see the CLI's composition).
    /// </summary>
    public Pipelines.Engine.Triggers.ITriggerFiles? TriggerFiles { get; init; }
}
