using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Client;

/// <summary>
/// <see cref="IMlflowClient"/> over HTTP. Every request carries the configured credentials; 429, 5xx and
/// connection failures are retried with capped exponential backoff (honouring Retry-After), other errors are
/// thrown at once as typed <see cref="MlflowException"/>s.
/// </summary>
public sealed class MlflowClient : IMlflowClient, IDisposable
{
    private const string Api = "api/2.0/mlflow/";
    private const string ArtifactsApi = "api/2.0/mlflow-artifacts/artifacts";
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly MlflowClientOptions _options;
    private readonly Uri _base;

    public MlflowClient(MlflowClientOptions options, HttpClient? http = null)
    {
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        _http.Timeout = options.Timeout;
        var b = options.TrackingUri.ToString();
        _base = new Uri(b.EndsWith('/') ? b : b + "/");
        Server = ServerOf(options.TrackingUri);
    }

    /// <summary>The tracking server as errors name it: scheme, host, port and path, never credentials or a query.</summary>
    public string Server { get; }

    /// <summary>A tracking URI without its user information, query or fragment, for messages and for what is stored.</summary>
    public static string ServerOf(Uri uri) => $"{uri.Scheme}://{uri.Host}:{uri.Port}{uri.AbsolutePath.TrimEnd('/')}";

    public static MlflowClient FromEnvironment() => new(MlflowClientOptions.FromEnvironment());

    public LogBatchLimits BatchLimits { get; init; } = LogBatchLimits.MlflowDefaults;

    // ---- experiments

    public async Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken ct = default)
    {
        try
        {
            return (await GetAsync<GetExperimentResponse>("experiments/get-by-name", ct, ("experiment_name", name))).Experiment;
        }
        catch (ResourceDoesNotExistException)
        {
            return null;
        }
    }

    public async Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken ct = default) =>
        (await GetAsync<GetExperimentResponse>("experiments/get", ct, ("experiment_id", experimentId))).Experiment;

    public async Task<string> CreateExperimentAsync(string name, IReadOnlyList<Tag>? tags = null, string? artifactLocation = null, CancellationToken ct = default) =>
        (await PostAsync<CreateExperimentResponse>("experiments/create", new CreateExperimentRequest(name, artifactLocation, tags), ct)).ExperimentId;

    public async Task<string> GetOrCreateExperimentAsync(string name, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default)
    {
        if (await GetExperimentByNameAsync(name, ct) is { } existing) return existing.ExperimentId;
        try
        {
            return await CreateExperimentAsync(name, tags, null, ct);
        }
        catch (ResourceAlreadyExistsException)
        {
            // Another process created it between our lookup and our create.
            return (await GetExperimentByNameAsync(name, ct))?.ExperimentId
                   ?? throw new InvalidOperationException($"experiment '{name}' was reported to exist but cannot be found (deleted meanwhile?)");
        }
    }

    public Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken ct = default) =>
        PostAsync<JsonElement>("experiments/set-experiment-tag", new SetExperimentTagRequest(experimentId, key, value), ct);

    public async Task<Page<Experiment>> SearchExperimentsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, string? viewType = null, CancellationToken ct = default)
    {
        var r = await PostAsync<SearchExperimentsResponse>("experiments/search", new SearchExperimentsRequest(maxResults, pageToken, filter, orderBy, viewType), ct);
        return new Page<Experiment>(r.Experiments ?? [], string.IsNullOrEmpty(r.NextPageToken) ? null : r.NextPageToken);
    }

    public Task DeleteExperimentAsync(string experimentId, CancellationToken ct = default) =>
        PostAsync<JsonElement>("experiments/delete", new DeleteExperimentRequest(experimentId), ct);

    public Task RestoreExperimentAsync(string experimentId, CancellationToken ct = default) =>
        PostAsync<JsonElement>("experiments/restore", new DeleteExperimentRequest(experimentId), ct);

    public Task RenameExperimentAsync(string experimentId, string newName, CancellationToken ct = default) =>
        PostAsync<JsonElement>("experiments/update", new UpdateExperimentRequest(experimentId, newName), ct);

    // ---- runs

    public async Task<Run> CreateRunAsync(CreateRunRequest request, CancellationToken ct = default) =>
        (await PostAsync<RunResponse>("runs/create", request, ct)).Run;

    public async Task<RunInfo> UpdateRunAsync(string runId, string? status = null, long? endTime = null, string? runName = null, CancellationToken ct = default) =>
        (await PostAsync<UpdateRunResponse>("runs/update", new UpdateRunRequest(runId, status, endTime, runName), ct)).RunInfo;

    public async Task<Run> GetRunAsync(string runId, CancellationToken ct = default) =>
        (await GetAsync<RunResponse>("runs/get", ct, ("run_id", runId))).Run;

    public Task DeleteRunAsync(string runId, CancellationToken ct = default) => PostAsync<JsonElement>("runs/delete", new RunIdRequest(runId), ct);

    public Task RestoreRunAsync(string runId, CancellationToken ct = default) => PostAsync<JsonElement>("runs/restore", new RunIdRequest(runId), ct);

    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken ct = default) =>
        PostAsync<JsonElement>("runs/log-inputs", new LogInputsRequest(runId, datasets), ct);

    public async Task<Page<Run>> SearchRunsAsync(SearchRunsRequest request, CancellationToken ct = default)
    {
        var r = await PostAsync<SearchRunsResponse>("runs/search", request, ct);
        return new Page<Run>(r.Runs ?? [], string.IsNullOrEmpty(r.NextPageToken) ? null : r.NextPageToken);
    }

    public async IAsyncEnumerable<Run> SearchAllRunsAsync(SearchRunsRequest request, [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? token = null;
        do
        {
            var page = await SearchRunsAsync(request with { PageToken = token }, ct);
            foreach (var run in page.Items) yield return run;
            token = page.NextPageToken;
        } while (token is not null);
    }

    public async Task LogBatchAsync(string runId, IReadOnlyList<Metric>? metrics = null, IReadOnlyList<Param>? parameters = null, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default)
    {
        foreach (var batch in LogBatchChunker.Split(runId, metrics ?? [], parameters ?? [], tags ?? [], BatchLimits))
            await PostAsync<JsonElement>("runs/log-batch", batch, ct);
    }

    public Task LogMetricAsync(string runId, string key, double value, long timestamp, long step = 0, CancellationToken ct = default) =>
        PostAsync<JsonElement>("runs/log-metric", new LogMetricRequest(runId, key, value, timestamp, step), ct);

    public Task LogParamAsync(string runId, string key, string value, CancellationToken ct = default) =>
        PostAsync<JsonElement>("runs/log-parameter", new LogParamRequest(runId, key, value), ct);

    public Task SetTagAsync(string runId, string key, string value, CancellationToken ct = default) =>
        PostAsync<JsonElement>("runs/set-tag", new SetTagRequest(runId, key, value), ct);

    public Task DeleteTagAsync(string runId, string key, CancellationToken ct = default) =>
        PostAsync<JsonElement>("runs/delete-tag", new DeleteTagRequest(runId, key), ct);

    public async Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken ct = default)
    {
        var all = new List<Metric>();
        string? token = null;
        do
        {
            var query = new List<(string, string)> { ("run_id", runId), ("metric_key", metricKey) };
            if (token is not null) query.Add(("page_token", token));
            var page = await GetAsync<MetricHistoryResponse>("metrics/get-history", ct, query.ToArray());
            all.AddRange(page.Metrics ?? []);
            token = string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken;
        } while (token is not null);
        return all;
    }

    // ---- artifacts

    public async Task UploadArtifactAsync(string artifactUri, string path, Stream content, CancellationToken ct = default)
    {
        var uri = ArtifactUri(artifactUri, path);
        var start = content.CanSeek ? content.Position : -1;
        using var response = await SendAsync(() =>
        {
            if (start >= 0) content.Position = start;
            var body = new StreamContent(content, 1 << 16);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (content.CanSeek) body.Headers.ContentLength = content.Length - start;
            return new HttpRequestMessage(HttpMethod.Put, uri) { Content = body };
        }, HttpCompletionOption.ResponseContentRead, retryable: content.CanSeek, ct);
    }

    public async Task<Stream> DownloadArtifactAsync(string artifactUri, string path, CancellationToken ct = default)
    {
        var uri = ArtifactUri(artifactUri, path);
        var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), HttpCompletionOption.ResponseHeadersRead, true, ct);
        return new ResponseStream(await response.Content.ReadAsStreamAsync(ct), response);
    }

    public async Task<IReadOnlyList<ArtifactFile>> ListArtifactsAsync(string artifactUri, string? path = null, CancellationToken ct = default)
    {
        var relative = ProxyPath(artifactUri);
        if (!string.IsNullOrEmpty(path)) relative = relative.TrimEnd('/') + "/" + path.Trim('/');
        var uri = new Uri(_base, ArtifactsApi + Query(("path", relative)));
        var r = await SendJsonAsync<ListArtifactsResponse>(() => new HttpRequestMessage(HttpMethod.Get, uri), ct);
        return r.Files ?? [];
    }

    // ---- registry

    public async Task<RegisteredModel> CreateRegisteredModelAsync(string name, string? description = null, IReadOnlyList<Tag>? tags = null, CancellationToken ct = default) =>
        (await PostAsync<RegisteredModelResponse>("registered-models/create", new CreateRegisteredModelRequest(name, tags, description), ct)).RegisteredModel;

    public async Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken ct = default) =>
        (await GetAsync<RegisteredModelResponse>("registered-models/get", ct, ("name", name))).RegisteredModel;

    public async Task<Page<RegisteredModel>> SearchRegisteredModelsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, CancellationToken ct = default)
    {
        var query = new List<(string, string)>();
        if (filter is not null) query.Add(("filter", filter));
        if (maxResults is not null) query.Add(("max_results", maxResults.Value.ToString()));
        foreach (var o in orderBy ?? []) query.Add(("order_by", o));
        if (pageToken is not null) query.Add(("page_token", pageToken));
        var r = await GetAsync<SearchRegisteredModelsResponse>("registered-models/search", ct, query.ToArray());
        return new Page<RegisteredModel>(r.RegisteredModels ?? [], string.IsNullOrEmpty(r.NextPageToken) ? null : r.NextPageToken);
    }

    public async Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken ct = default) =>
        (await PostAsync<RegisteredModelResponse>("registered-models/rename", new RenameRegisteredModelRequest(name, newName), ct)).RegisteredModel;

    public async Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken ct = default) =>
        (await SendBodyAsync<RegisteredModelResponse>(HttpMethod.Patch, "registered-models/update", new UpdateRegisteredModelRequest(name, description), ct)).RegisteredModel;

    public Task DeleteRegisteredModelAsync(string name, CancellationToken ct = default) =>
        SendBodyAsync<JsonElement>(HttpMethod.Delete, "registered-models/delete", new DeleteRegisteredModelRequest(name), ct, ("name", name));

    public async Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken ct = default) =>
        (await SendBodyAsync<ModelVersionResponse>(HttpMethod.Patch, "model-versions/update", new UpdateModelVersionRequest(name, version, description), ct)).ModelVersion;

    public Task DeleteModelVersionAsync(string name, string version, CancellationToken ct = default) =>
        SendBodyAsync<JsonElement>(HttpMethod.Delete, "model-versions/delete", new DeleteModelVersionRequest(name, version), ct, ("name", name), ("version", version));

    public async Task<Page<ModelVersion>> SearchModelVersionsAsync(string? filter = null, int? maxResults = null, IReadOnlyList<string>? orderBy = null, string? pageToken = null, CancellationToken ct = default)
    {
        var query = new List<(string, string)>();
        if (filter is not null) query.Add(("filter", filter));
        if (maxResults is not null) query.Add(("max_results", maxResults.Value.ToString()));
        foreach (var o in orderBy ?? []) query.Add(("order_by", o));
        if (pageToken is not null) query.Add(("page_token", pageToken));
        var r = await GetAsync<SearchModelVersionsResponse>("model-versions/search", ct, query.ToArray());
        return new Page<ModelVersion>(r.ModelVersions ?? [], string.IsNullOrEmpty(r.NextPageToken) ? null : r.NextPageToken);
    }

    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken ct = default) =>
        PostAsync<JsonElement>("registered-models/set-tag", new SetRegisteredModelTagRequest(name, key, value), ct);

    public async Task<ModelVersion> CreateModelVersionAsync(CreateModelVersionRequest request, CancellationToken ct = default) =>
        (await PostAsync<ModelVersionResponse>("model-versions/create", request, ct)).ModelVersion;

    public async Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken ct = default) =>
        (await GetAsync<ModelVersionResponse>("model-versions/get", ct, ("name", name), ("version", version))).ModelVersion;

    public async Task<ModelVersion> WaitForModelVersionReadyAsync(string name, string version, TimeSpan? pollInterval = null, CancellationToken ct = default)
    {
        while (true)
        {
            var mv = await GetModelVersionAsync(name, version, ct);
            switch (mv.Status)
            {
                case ModelVersionStatus.Ready or null: return mv;
                case ModelVersionStatus.FailedRegistration:
                    throw new MlflowException(MlflowErrorCodes.InvalidState, $"model version {name}/{version} failed registration: {mv.StatusMessage}", HttpStatusCode.OK);
            }
            await Task.Delay(pollInterval ?? TimeSpan.FromSeconds(1), _options.Time, ct);
        }
    }

    public Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken ct = default) =>
        PostAsync<JsonElement>("model-versions/set-tag", new SetModelVersionTagRequest(name, version, key, value), ct);

    public Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken ct = default) =>
        // MLflow's server reads a DELETE's parameters from its JSON body (only GET reads the query string).
        SendBodyAsync<JsonElement>(HttpMethod.Delete, "model-versions/delete-tag", new DeleteModelVersionTagRequest(name, version, key), ct);

    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken ct = default) =>
        SendBodyAsync<JsonElement>(HttpMethod.Delete, "registered-models/delete-tag", new DeleteRegisteredModelTagRequest(name, key), ct);

    public Task SetAliasAsync(string name, string alias, string version, CancellationToken ct = default) =>
        PostAsync<JsonElement>("registered-models/alias", new SetAliasRequest(name, alias, version), ct);

    public async Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken ct = default) =>
        (await GetAsync<ModelVersionResponse>("registered-models/alias", ct, ("name", name), ("alias", alias))).ModelVersion;

    public Task DeleteAliasAsync(string name, string alias, CancellationToken ct = default)
    {
        // MLflow's server reads DELETE parameters from the query string (and its clients also send them as a body).
        var uri = new Uri(_base, Api + "registered-models/alias" + Query(("name", name), ("alias", alias)));
        return SendJsonAsync<JsonElement>(() => new HttpRequestMessage(HttpMethod.Delete, uri)
        {
            Content = JsonContent.Create(new DeleteAliasRequest(name, alias), options: MlflowJson.Options),
        }, ct);
    }

    // ---- transport

    private Task<T> GetAsync<T>(string endpoint, CancellationToken ct, params (string Key, string Value)[] query)
    {
        var uri = new Uri(_base, Api + endpoint + Query(query));
        return SendJsonAsync<T>(() => new HttpRequestMessage(HttpMethod.Get, uri), ct);
    }

    private Task<T> PostAsync<T>(string endpoint, object body, CancellationToken ct)
    {
        var uri = new Uri(_base, Api + endpoint);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), MlflowJson.Options);
        return SendJsonAsync<T>(() =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
        }, ct);
    }

    /// <summary>PATCH/DELETE with a JSON body; DELETE also carries the parameters in the query string, which MLflow's server reads.</summary>
    private Task<T> SendBodyAsync<T>(HttpMethod method, string endpoint, object body, CancellationToken ct, params (string Key, string Value)[] query)
    {
        var uri = new Uri(_base, Api + endpoint + Query(query));
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), MlflowJson.Options);
        return SendJsonAsync<T>(() =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return new HttpRequestMessage(method, uri) { Content = content };
        }, ct);
    }

    private async Task<T> SendJsonAsync<T>(Func<HttpRequestMessage> build, CancellationToken ct)
    {
        using var response = await SendAsync(build, HttpCompletionOption.ResponseContentRead, true, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            return JsonSerializer.Deserialize<T>(string.IsNullOrWhiteSpace(text) ? "{}" : text, MlflowJson.Options)!;
        }
        catch (JsonException e)
        {
            throw new MlflowException(MlflowErrorCodes.InternalError, $"unreadable response from {response.RequestMessage?.RequestUri}: {e.Message}", response.StatusCode);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, HttpCompletionOption completion, bool retryable, CancellationToken ct)
    {
        var max = retryable ? Math.Max(1, _options.MaxAttempts) : 1;
        for (var attempt = 1; ; attempt++)
        {
            using var request = build();
            Authorize(request);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, ct);
            }
            catch (HttpRequestException) when (attempt < max)
            {
                await Task.Delay(Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, _options.Jitter()), _options.Time, ct);
                continue;
            }
            catch (HttpRequestException e)
            {
                // Name the server: "Connection refused" alone does not say which of the configured services is down.
                throw new HttpRequestException($"MLflow tracking server {Server} cannot be reached after {attempt} attempt(s): {e.Message}", e, e.StatusCode);
            }
            if (response.IsSuccessStatusCode) return response;
            if (IsTransient(response.StatusCode) && attempt < max)
            {
                var delay = Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, _options.Jitter());
                if (response.Headers.RetryAfter?.Delta is { } after && after > delay) delay = after < _options.MaxBackoff ? after : _options.MaxBackoff;
                response.Dispose();
                await Task.Delay(delay, _options.Time, ct);
                continue;
            }
            using (response)
            {
                var error = await ErrorAsync(response, ct);
                if (error is MlflowAuthorizationException && _options.AuthorizationHint is { } hint)
                    error = new MlflowAuthorizationException(error.ErrorCode, $"{error.Message} ({hint})", error.StatusCode);
                error.Server = Server;
                throw error;
            }
        }
    }

    private static bool IsTransient(HttpStatusCode s) =>
        s is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static async Task<MlflowException> ErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            var e = JsonSerializer.Deserialize<ErrorResponse>(text, MlflowJson.Options);
            if (e?.ErrorCode is { Length: > 0 }) return MlflowException.Create(e.ErrorCode, e.Message ?? "", response.StatusCode);
        }
        catch (JsonException)
        {
        }
        var code = response.StatusCode switch
        {
            HttpStatusCode.NotFound => MlflowErrorCodes.EndpointNotFound,
            HttpStatusCode.Unauthorized => MlflowErrorCodes.Unauthenticated,
            HttpStatusCode.Forbidden => MlflowErrorCodes.PermissionDenied,
            HttpStatusCode.TooManyRequests => MlflowErrorCodes.RequestLimitExceeded,
            >= HttpStatusCode.InternalServerError => MlflowErrorCodes.InternalError,
            _ => MlflowErrorCodes.BadRequest,
        };
        var snippet = text.Length > 500 ? text[..500] : text;
        return MlflowException.Create(code, $"HTTP {(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {snippet}", response.StatusCode);
    }

    private void Authorize(HttpRequestMessage request)
    {
        if (_options.Token is { } token)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (_options.Username is { } user)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{_options.Password}")));
    }

    private Uri ArtifactUri(string artifactUri, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("artifact path is empty", nameof(path));
        var full = ProxyPath(artifactUri).TrimEnd('/') + "/" + path.Trim('/');
        return new Uri(_base, ArtifactsApi + "/" + string.Join('/', full.Split('/').Select(Uri.EscapeDataString)));
    }

    /// <summary><c>mlflow-artifacts:/1/abc/artifacts</c> (or <c>mlflow-artifacts://host/1/…</c>) → <c>1/abc/artifacts</c>.</summary>
    public static string ProxyPath(string artifactUri)
    {
        const string scheme = "mlflow-artifacts:";
        if (!artifactUri.StartsWith(scheme, StringComparison.Ordinal))
            throw new NotSupportedException($"artifact URI '{artifactUri}' is not served through the mlflow-artifacts proxy; start the MLflow server with artifact serving enabled");
        var rest = artifactUri[scheme.Length..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var slash = rest.IndexOf('/', 2);
            rest = slash < 0 ? "" : rest[slash..];
        }
        return rest.Trim('/');
    }

    private static string Query(params (string Key, string Value)[] query) =>
        query.Length == 0 ? "" : "?" + string.Join('&', query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    /// <summary>Keeps the response alive as long as its content stream is read.</summary>
    private sealed class ResponseStream(Stream inner, HttpResponseMessage response) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.Content.Headers.ContentLength ?? throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => inner.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.ReadAsync(buffer, offset, count, ct);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) { inner.Dispose(); response.Dispose(); }
            base.Dispose(disposing);
        }
    }
}
