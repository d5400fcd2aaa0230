using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Client;

/// <summary>
/// MLflow's REST API 2.0: tracking, the <c>mlflow-artifacts</c> proxy and the model registry. Errors answered by
/// the server surface as <see cref="MlflowException"/> subclasses by error code.
/// </summary>
public interface IMlflowClient
{
    // Experiments
    Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken ct = default);
    Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken ct = default);
    Task<string> CreateExperimentAsync(string name, IReadOnlyList<Tag>? tags = null, string? artifactLocation = null, CancellationToken ct = default);
    /// <summary>The experiment's id, creating it if needed; a concurrent creator winning the race is not an error.</summary>
    Task<string> GetOrCreateExperimentAsync(string name, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default);
    Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken ct = default);
    /// <summary>One page of experiments; <paramref name="viewType"/> is ACTIVE_ONLY (default), DELETED_ONLY or ALL.</summary>
    Task<Page<Experiment>> SearchExperimentsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, string? viewType = null, CancellationToken ct = default);
    /// <summary>Marks the experiment and its runs deleted (restorable).</summary>
    Task DeleteExperimentAsync(string experimentId, CancellationToken ct = default);
    Task RestoreExperimentAsync(string experimentId, CancellationToken ct = default);
    Task RenameExperimentAsync(string experimentId, string newName, CancellationToken ct = default);

    // Runs
    Task<Run> CreateRunAsync(CreateRunRequest request, CancellationToken ct = default);
    Task<RunInfo> UpdateRunAsync(string runId, string? status = null, long? endTime = null, string? runName = null, CancellationToken ct = default);
    Task<Run> GetRunAsync(string runId, CancellationToken ct = default);
    /// <summary>Marks the run deleted (restorable); searches then skip it unless <c>run_view_type</c> asks for deleted runs.</summary>
    Task DeleteRunAsync(string runId, CancellationToken ct = default);
    Task RestoreRunAsync(string runId, CancellationToken ct = default);
    /// <summary>Records datasets used by the run (MLflow's runs/log-inputs); they appear in the run's <c>inputs.dataset_inputs</c>.</summary>
    Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken ct = default);
    Task<Page<Run>> SearchRunsAsync(SearchRunsRequest request, CancellationToken ct = default);
    /// <summary>Every run matching, following page tokens.</summary>
    IAsyncEnumerable<Run> SearchAllRunsAsync(SearchRunsRequest request, CancellationToken ct = default);
    /// <summary>Logs any number of items, split into requests within MLflow's log-batch limits.</summary>
    Task LogBatchAsync(string runId, IReadOnlyList<Metric>? metrics = null, IReadOnlyList<Param>? parameters = null, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default);
    Task LogMetricAsync(string runId, string key, double value, long timestamp, long step = 0, CancellationToken ct = default);
    /// <summary>Params are immutable: the same value again is fine, a different one is an <see cref="InvalidParameterValueException"/>.</summary>
    Task LogParamAsync(string runId, string key, string value, CancellationToken ct = default);
    Task SetTagAsync(string runId, string key, string value, CancellationToken ct = default);
    Task DeleteTagAsync(string runId, string key, CancellationToken ct = default);
    Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken ct = default);

    // Artifacts (artifact URIs of the form mlflow-artifacts:/…, as a run's artifact_uri)
    Task UploadArtifactAsync(string artifactUri, string path, Stream content, CancellationToken ct = default);
    /// <summary>The artifact's content as a stream read from the network; dispose it.</summary>
    Task<Stream> DownloadArtifactAsync(string artifactUri, string path, CancellationToken ct = default);
    Task<IReadOnlyList<ArtifactFile>> ListArtifactsAsync(string artifactUri, string? path = null, CancellationToken ct = default);

    // Registry
    Task<RegisteredModel> CreateRegisteredModelAsync(string name, string? description = null, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default);
    Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken ct = default);
    Task<Page<RegisteredModel>> SearchRegisteredModelsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, CancellationToken ct = default);
    Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken ct = default);
    Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken ct = default);
    /// <summary>Deletes the model with all its versions, tags and aliases.</summary>
    Task DeleteRegisteredModelAsync(string name, CancellationToken ct = default);
    Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken ct = default);
    Task<ModelVersion> CreateModelVersionAsync(CreateModelVersionRequest request, CancellationToken ct = default);
    Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken ct = default);
    /// <summary>Polls until the version is READY; throws if registration failed.</summary>
    Task<ModelVersion> WaitForModelVersionReadyAsync(string name, string version, TimeSpan? pollInterval = null, CancellationToken ct = default);
    Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken ct = default);
    /// <summary>Deletes the version and the aliases pointing at it; its number is not reused.</summary>
    Task DeleteModelVersionAsync(string name, string version, CancellationToken ct = default);
    /// <summary>One page of versions, e.g. filter <c>name='m'</c> or <c>run_id='…'</c>.</summary>
    Task<Page<ModelVersion>> SearchModelVersionsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, CancellationToken ct = default);
    Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken ct = default);
    Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken ct = default);
    Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken ct = default);
    Task SetAliasAsync(string name, string alias, string version, CancellationToken ct = default);
    Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken ct = default);
    Task DeleteAliasAsync(string name, string alias, CancellationToken ct = default);
}
