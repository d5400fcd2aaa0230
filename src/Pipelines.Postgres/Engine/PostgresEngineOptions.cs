namespace Pipelines.Postgres.Engine;

public sealed record PostgresEngineOptions
{
    /// <summary>How often a step may be re-attempted after its worker vanished before it fails.</summary>
    public int MaxRescues { get; init; } = 3;
}
