namespace Pipelines.Tracking.Model;

// Request and response bodies of the REST API, named after MLflow's protobuf messages.

public sealed record CreateExperimentRequest(string Name, string? ArtifactLocation = null, IReadOnlyList<Tag>? Tags = null);
public sealed record CreateExperimentResponse(string ExperimentId);
public sealed record GetExperimentResponse(Experiment Experiment);
public sealed record SetExperimentTagRequest(string ExperimentId, string Key, string Value);
public sealed record SearchExperimentsRequest(long? MaxResults = null, string? PageToken = null, string? Filter = null, IReadOnlyList<string>? OrderBy = null, string? ViewType = null);
public sealed record SearchExperimentsResponse(IReadOnlyList<Experiment>? Experiments, string? NextPageToken);

public sealed record DeleteExperimentRequest(string ExperimentId);
public sealed record UpdateExperimentRequest(string ExperimentId, string NewName);
public sealed record RunIdRequest(string RunId);
public sealed record LogInputsRequest(string RunId, IReadOnlyList<DatasetInput>? Datasets);

public sealed record CreateRunRequest
{
    public required string ExperimentId { get; init; }
    public string? UserId { get; init; }
    public string? RunName { get; init; }
    public long? StartTime { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }
}
public sealed record RunResponse(Run Run);
public sealed record UpdateRunRequest(string RunId, string? Status = null, long? EndTime = null, string? RunName = null)
{
    public string? RunUuid { get; init; }
}
public sealed record UpdateRunResponse(RunInfo RunInfo);
public sealed record SearchRunsRequest
{
    public IReadOnlyList<string>? ExperimentIds { get; init; }
    public string? Filter { get; init; }
    public string? RunViewType { get; init; }
    public int? MaxResults { get; init; }
    public IReadOnlyList<string>? OrderBy { get; init; }
    public string? PageToken { get; init; }
}
public sealed record SearchRunsResponse(IReadOnlyList<Run>? Runs, string? NextPageToken);
public sealed record LogBatchRequest(string RunId, IReadOnlyList<Metric>? Metrics, IReadOnlyList<Param>? Params, IReadOnlyList<Tag>? Tags);
public sealed record LogParamRequest(string RunId, string Key, string Value);
public sealed record LogMetricRequest(string RunId, string Key, double Value, long Timestamp, long? Step = null);
public sealed record SetTagRequest(string RunId, string Key, string Value);
public sealed record DeleteTagRequest(string RunId, string Key);
public sealed record MetricHistoryResponse(IReadOnlyList<Metric>? Metrics, string? NextPageToken);
public sealed record ListArtifactsResponse(string? RootUri, IReadOnlyList<ArtifactFile>? Files, string? NextPageToken);

public sealed record CreateRegisteredModelRequest(string Name, IReadOnlyList<Tag>? Tags = null, string? Description = null);
public sealed record RegisteredModelResponse(RegisteredModel RegisteredModel);
public sealed record SearchRegisteredModelsResponse(IReadOnlyList<RegisteredModel>? RegisteredModels, string? NextPageToken);
public sealed record SetRegisteredModelTagRequest(string Name, string Key, string Value);
public sealed record CreateModelVersionRequest(string Name, string Source, string? RunId = null, IReadOnlyList<Tag>? Tags = null, string? RunLink = null, string? Description = null);
public sealed record ModelVersionResponse(ModelVersion ModelVersion);
public sealed record SetModelVersionTagRequest(string Name, string Version, string Key, string Value);
public sealed record SetAliasRequest(string Name, string Alias, string Version);
public sealed record DeleteAliasRequest(string Name, string Alias);
public sealed record DeleteModelVersionTagRequest(string Name, string Version, string Key);
public sealed record DeleteRegisteredModelTagRequest(string Name, string Key);
public sealed record RenameRegisteredModelRequest(string Name, string NewName);
public sealed record UpdateRegisteredModelRequest(string Name, string? Description);
public sealed record DeleteRegisteredModelRequest(string Name);
public sealed record UpdateModelVersionRequest(string Name, string Version, string? Description);
public sealed record DeleteModelVersionRequest(string Name, string Version);
public sealed record SearchModelVersionsResponse(IReadOnlyList<ModelVersion>? ModelVersions, string? NextPageToken);
public sealed record ErrorResponse(string ErrorCode, string Message);
