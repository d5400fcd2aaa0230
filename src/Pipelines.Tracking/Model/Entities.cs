using System.Text.Json.Serialization;

namespace Pipelines.Tracking.Model;

// MLflow's REST entities as its server writes them (snake_case, absent = null, int64 as JSON numbers).
// The built-in endpoint serializes these same types, so client and server cannot drift apart.

public sealed record Tag(string Key, string Value);

public sealed record Param(string Key, string Value);

public sealed record Metric(string Key, double Value, long Timestamp, long Step = 0);

public sealed record Experiment
{
    public required string ExperimentId { get; init; }
    public required string Name { get; init; }
    public string? ArtifactLocation { get; init; }
    public string? LifecycleStage { get; init; }
    public long? LastUpdateTime { get; init; }
    public long? CreationTime { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }
}

public static class RunStatus
{
    public const string Running = "RUNNING", Scheduled = "SCHEDULED", Finished = "FINISHED", Failed = "FAILED", Killed = "KILLED";
    public static readonly IReadOnlySet<string> All = new HashSet<string> { Running, Scheduled, Finished, Failed, Killed };
}

public sealed record RunInfo
{
    public required string RunUuid { get; init; }
    public required string ExperimentId { get; init; }
    public string? RunName { get; init; }
    public string? UserId { get; init; }
    public required string Status { get; init; }
    public long? StartTime { get; init; }
    public long? EndTime { get; init; }
    public string? ArtifactUri { get; init; }
    public string? LifecycleStage { get; init; }
    public required string RunId { get; init; }
}

public sealed record RunData
{
    public IReadOnlyList<Metric>? Metrics { get; init; }
    public IReadOnlyList<Param>? Params { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }

    public string? Tag(string key) => Tags?.FirstOrDefault(t => t.Key == key)?.Value;
    public string? Param(string key) => Params?.FirstOrDefault(p => p.Key == key)?.Value;
    public Metric? Metric(string key) => Metrics?.FirstOrDefault(m => m.Key == key);
}

/// <summary>A dataset as MLflow records it (mlflow.entities.Dataset): identified by name and digest in an experiment.</summary>
public sealed record Dataset
{
    public required string Name { get; init; }
    public required string Digest { get; init; }
    public required string SourceType { get; init; }
    /// <summary>JSON describing where the data lives (MLflow's DatasetSource.to_json()).</summary>
    public required string Source { get; init; }
    public string? Schema { get; init; }
    public string? Profile { get; init; }
}

/// <summary>A dataset used by a run, with input tags such as <c>mlflow.data.context</c> = training.</summary>
public sealed record DatasetInput
{
    public IReadOnlyList<Tag>? Tags { get; init; }
    public required Dataset Dataset { get; init; }
}

public sealed record RunInputs
{
    public IReadOnlyList<DatasetInput>? DatasetInputs { get; init; }
}

public sealed record Run
{
    public required RunInfo Info { get; init; }
    public RunData Data { get; init; } = new();
    public RunInputs? Inputs { get; init; }
}

public sealed record RegisteredModelAlias(string Alias, string Version);

public static class ModelVersionStatus
{
    public const string PendingRegistration = "PENDING_REGISTRATION", FailedRegistration = "FAILED_REGISTRATION", Ready = "READY";
}

public sealed record ModelVersion
{
    public required string Name { get; init; }
    public required string Version { get; init; }
    public long? CreationTimestamp { get; init; }
    public long? LastUpdatedTimestamp { get; init; }
    public string? UserId { get; init; }
    public string? CurrentStage { get; init; }
    public string? Description { get; init; }
    public string? Source { get; init; }
    public string? RunId { get; init; }
    public string? Status { get; init; }
    public string? StatusMessage { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }
    public string? RunLink { get; init; }
    public IReadOnlyList<string>? Aliases { get; init; }
}

public sealed record RegisteredModel
{
    public required string Name { get; init; }
    public long? CreationTimestamp { get; init; }
    public long? LastUpdatedTimestamp { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<ModelVersion>? LatestVersions { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }
    public IReadOnlyList<RegisteredModelAlias>? Aliases { get; init; }

    /// <summary>The version an alias points at, or null.</summary>
    public string? VersionOf(string alias) => Aliases?.FirstOrDefault(a => a.Alias == alias)?.Version;
}

public sealed record ArtifactFile
{
    public required string Path { get; init; }
    public bool IsDir { get; init; }
    public long? FileSize { get; init; }
}

/// <summary>One page of a search; <see cref="NextPageToken"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextPageToken);
