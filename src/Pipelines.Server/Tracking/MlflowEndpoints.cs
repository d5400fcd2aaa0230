using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pipelines.Server.Artifacts;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tracking;

/// <summary>
/// MLflow's REST API 2.0 under <c>/api/2.0/mlflow/…</c> and the artifacts proxy under
/// <c>/api/2.0/mlflow-artifacts/…</c>, answering as MLflow 2.17's server does (see the recorded contract in
/// shared/mlflow-contract): same fields and omissions, errors as <c>{error_code, message}</c> with its statuses.
/// </summary>
public static class MlflowEndpoints
{
    private const string Api = "/api/2.0/mlflow/";
    private const string ArtifactsApi = "/api/2.0/mlflow-artifacts/artifacts";

    public static void MapMlflow(this WebApplication app, TrackingStore store, IArtifactFiles artifacts)
    {
        app.Use(ErrorsAsMlflowJson);

        // ---- experiments
        Json(app, "GET", "experiments/get-by-name", async (r, ct) =>
        {
            var name = r.Required("experiment_name");
            var e = await store.ExperimentByNameAsync(name, ct) ?? throw MlflowException.NotFound($"Could not find experiment with name '{name}'");
            return new GetExperimentResponse(e);
        });
        Json(app, "GET", "experiments/get", async (r, ct) =>
        {
            var id = r.Required("experiment_id");
            return new GetExperimentResponse(await store.ExperimentByIdAsync(id, ct) ?? throw MlflowException.NotFound($"No Experiment with id={id} exists"));
        });
        Json(app, "POST", "experiments/create", async (r, ct) =>
        {
            var name = r.Required("name");
            Validation.ExperimentName(name);
            var tags = r.Tags();
            foreach (var t in tags) Validation.ExperimentTag(t);
            return new CreateExperimentResponse(await store.CreateExperimentAsync(name, r.String("artifact_location"), tags, ct));
        });
        Json(app, "POST", "experiments/set-experiment-tag", async (r, ct) =>
        {
            var tag = new Tag(r.Required("key"), r.String("value") ?? "");
            Validation.ExperimentTag(tag);
            await store.SetExperimentTagAsync(r.Required("experiment_id"), tag, ct);
            return Empty;
        });
        Json(app, "POST", "experiments/search", (r, ct) => SearchExperiments(store, r, ct));
        Json(app, "GET", "experiments/search", (r, ct) => SearchExperiments(store, r, ct));
        Json(app, "POST", "experiments/delete", async (r, ct) =>
        {
            await store.SetExperimentLifecycleAsync(r.Required("experiment_id"), delete: true, ct);
            return Empty;
        });
        Json(app, "POST", "experiments/restore", async (r, ct) =>
        {
            await store.SetExperimentLifecycleAsync(r.Required("experiment_id"), delete: false, ct);
            return Empty;
        });
        Json(app, "POST", "experiments/update", async (r, ct) =>
        {
            var id = r.Required("experiment_id");
            var name = r.Required("new_name");
            Validation.ExperimentName(name);
            await store.RenameExperimentAsync(id, name, ct);
            return Empty;
        });

        // ---- runs
        Json(app, "POST", "runs/create", async (r, ct) =>
        {
            var experimentId = r.String("experiment_id") ?? "0";
            var tags = r.Tags().ToList();
            foreach (var t in tags) Validation.RunTag(t);
            var runName = r.String("run_name") is { Length: > 0 } given ? given
                : tags.LastOrDefault(t => t.Key == MlflowTags.RunName)?.Value ?? RunNames.Generate();
            var i = tags.FindIndex(t => t.Key == MlflowTags.RunName);
            if (i >= 0) tags[i] = new Tag(MlflowTags.RunName, runName);
            else tags.Add(new Tag(MlflowTags.RunName, runName));
            var request = new CreateRunRequest { ExperimentId = experimentId, UserId = r.String("user_id"), StartTime = r.Long("start_time"), RunName = runName };
            return new RunResponse(await store.CreateRunAsync(request, runName, tags, ct));
        });
        Json(app, "POST", "runs/update", async (r, ct) =>
        {
            var runId = RunId(r);
            var status = r.String("status");
            if (status is not null && !RunStatus.All.Contains(status))
                throw Validation.Invalid($"Invalid value \"{status}\" for parameter 'status' supplied. Hint: Value was of type 'string'. See the API docs for more information about request parameters.");
            return new UpdateRunResponse(await store.UpdateRunAsync(runId, status, r.Long("end_time"), r.String("run_name"), ct));
        });
        Json(app, "GET", "runs/get", async (r, ct) => new RunResponse(await store.GetRunAsync(RunId(r), ct)));
        Json(app, "POST", "runs/delete", async (r, ct) => { await store.SetRunLifecycleAsync(RunId(r), "deleted", ct); return Empty; });
        Json(app, "POST", "runs/restore", async (r, ct) => { await store.SetRunLifecycleAsync(RunId(r), "active", ct); return Empty; });
        Json(app, "POST", "runs/search", (r, ct) => SearchRuns(store, r, ct));
        Json(app, "POST", "runs/log-batch", async (r, ct) =>
        {
            if (r.BodyLength > Validation.MaxBatchRequestBytes)
                throw Validation.Invalid($"Batched logging API requests must be at most {Validation.MaxBatchRequestBytes} bytes, got a request of size {r.BodyLength}.");
            var runId = r.Required("run_id");
            var metrics = r.List<MetricIn>("metrics").Select(ToMetric).ToList();
            var parameters = r.List<ParamIn>("params").Select(p => new Param(p.Key ?? throw Validation.Missing("key"), p.Value ?? "")).ToList();
            var tags = r.Tags();
            Validation.BatchLimits(metrics.Count, parameters.Count, tags.Count);
            var dupes = parameters.GroupBy(p => p.Key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (dupes.Count > 0)
                throw Validation.Invalid($"Duplicate parameter keys have been submitted: [{string.Join(", ", dupes.Select(d => $"'{d}'"))}]. Please ensure the request contains only one param value per param key.");
            foreach (var m in metrics) Validation.Metric(m);
            foreach (var p in parameters) Validation.Param(p);
            foreach (var t in tags) Validation.RunTag(t);
            await store.LogBatchAsync(runId, metrics, parameters, tags, ct);
            return Empty;
        });
        Json(app, "POST", "runs/log-inputs", async (r, ct) =>
        {
            var runId = r.Required("run_id");
            var inputs = r.List<DatasetInputIn>("datasets").Select(ToDatasetInput).ToList();
            foreach (var i in inputs) Validation.DatasetInput(i);
            await store.LogInputsAsync(runId, inputs, ct);
            return Empty;
        });
        Json(app, "POST", "runs/log-metric", async (r, ct) =>
        {
            var m = ToMetric(new MetricIn(r.Required("key"), r.Double("value") ?? throw Validation.Missing("value"),
                r.Long("timestamp") ?? throw Validation.Missing("timestamp"), r.Long("step")));
            Validation.Metric(m);
            await store.LogBatchAsync(RunId(r), [m], [], [], ct);
            return Empty;
        });
        Json(app, "POST", "runs/log-parameter", async (r, ct) =>
        {
            var p = new Param(r.Required("key"), r.String("value") ?? throw Validation.Missing("value"));
            Validation.Param(p);
            await store.LogBatchAsync(RunId(r), [], [p], [], ct);
            return Empty;
        });
        Json(app, "POST", "runs/set-tag", async (r, ct) =>
        {
            var t = new Tag(r.Required("key"), r.String("value") ?? throw Validation.Missing("value"));
            Validation.RunTag(t);
            await store.LogBatchAsync(RunId(r), [], [], [t], ct);
            return Empty;
        });
        Json(app, "POST", "runs/delete-tag", async (r, ct) =>
        {
            await store.DeleteTagAsync(r.Required("run_id"), r.Required("key"), ct);
            return Empty;
        });
        Json(app, "POST", "runs/log-model", async (r, ct) =>
        {
            // As MLflow's record_logged_model: the model's identifying fields are appended to the run's
            // mlflow.log-model.history tag (a JSON list), which the UI reads to show logged models.
            var runId = r.Required("run_id");
            var text = r.Required("model_json");
            JsonObject model;
            try { model = JsonNode.Parse(text) as JsonObject ?? throw new JsonException(); }
            catch (JsonException) { throw Validation.Invalid($"Malformed model info. \n {text} \n is not a valid JSON."); }
            var missing = new[] { "artifact_path", "flavors", "utc_time_created", "run_id" }.Where(k => !model.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw Validation.Invalid($"Model json is missing mandatory fields: {{{string.Join(", ", missing.Select(m => $"'{m}'"))}}}");
            var entry = new JsonObject();
            foreach (var key in new[] { "run_id", "artifact_path", "utc_time_created", "model_uuid" })
                if (model.ContainsKey(key)) entry[key] = model[key]?.DeepClone();
            var flavors = new JsonObject();
            foreach (var (flavor, config) in model["flavors"] as JsonObject ?? [])
            {
                var copy = config?.DeepClone();
                if (copy is JsonObject o) o.Remove("config");
                flavors[flavor] = copy;
            }
            entry["flavors"] = flavors;
            var run = await store.GetRunAsync(runId, ct);
            var history = run.Data.Tag(LoggedModelsTag) is { } previous && JsonNode.Parse(previous) is JsonArray a ? a : [];
            history.Add(entry);
            var tag = new Tag(LoggedModelsTag, history.ToJsonString());
            Validation.RunTag(tag);
            await store.LogBatchAsync(runId, [], [], [tag], ct);
            return Empty;
        });
        Json(app, "GET", "metrics/get-history", async (r, ct) =>
        {
            var metrics = await store.MetricHistoryAsync(RunId(r), r.Required("metric_key"), ct);
            return new MetricHistoryResponse(metrics.Count > 0 ? metrics : null, null);
        });
        Json(app, "GET", "artifacts/list", async (r, ct) =>
        {
            var run = await store.GetRunAsync(RunId(r), ct);
            var root = run.Info.ArtifactUri!;
            var prefix = (r.String("path") ?? "").Trim('/');
            var dir = MlflowClient.ProxyPath(root) + (prefix.Length > 0 ? "/" + prefix : "");
            var files = artifacts.List(dir).Select(f => f with { Path = prefix.Length > 0 ? prefix + "/" + f.Path : f.Path }).ToList();
            return new ListArtifactsResponse(root, files.Count > 0 ? files : null, null);
        });

        // ---- registry
        Json(app, "POST", "registered-models/create", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var tags = r.Tags();
            foreach (var t in tags) Validation.RegistryTag("Registered model", t);
            return new RegisteredModelResponse(await store.CreateRegisteredModelAsync(name, r.String("description"), tags, ct));
        });
        Json(app, "GET", "registered-models/get", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            return new RegisteredModelResponse(await store.GetRegisteredModelAsync(name, ct));
        });
        Json(app, "GET", "registered-models/search", (r, ct) => SearchModels(store, r, ct));
        Json(app, "POST", "registered-models/rename", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var newName = Validation.ModelName(r.String("new_name"));
            return new RegisteredModelResponse(await store.RenameRegisteredModelAsync(name, newName, ct));
        });
        Json(app, "PATCH", "registered-models/update", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            return new RegisteredModelResponse(await store.UpdateRegisteredModelAsync(name, r.String("description"), ct));
        });
        Json(app, "DELETE", "registered-models/delete", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            await store.DeleteRegisteredModelAsync(name, ct);
            return Empty;
        });
        Json(app, "PATCH", "model-versions/update", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            return new ModelVersionResponse(await store.UpdateModelVersionAsync(name, Validation.ModelVersion(r.String("version")), r.String("description"), ct));
        });
        Json(app, "DELETE", "model-versions/delete", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            await store.DeleteModelVersionAsync(name, Validation.ModelVersion(r.String("version")), ct);
            return Empty;
        });
        Json(app, "GET", "model-versions/search", (r, ct) => SearchModelVersions(store, r, ct));
        Json(app, "POST", "registered-models/set-tag", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var t = new Tag(r.Required("key"), r.String("value") ?? "");
            Validation.RegistryTag("Registered model", t);
            await store.SetRegisteredModelTagAsync(name, t, ct);
            return Empty;
        });
        Json(app, "POST", "model-versions/create", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var tags = r.Tags();
            foreach (var t in tags) Validation.RegistryTag("Model version", t);
            var request = new CreateModelVersionRequest(name, r.Required("source"), r.String("run_id"), tags, r.String("run_link"), r.String("description"));
            return new ModelVersionResponse(await store.CreateModelVersionAsync(request, ct));
        });
        Json(app, "GET", "model-versions/get", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            return new ModelVersionResponse(await store.GetModelVersionAsync(name, Validation.ModelVersion(r.String("version")), ct));
        });
        Json(app, "POST", "model-versions/set-tag", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var t = new Tag(r.Required("key"), r.String("value") ?? "");
            Validation.RegistryTag("Model version", t);
            await store.SetModelVersionTagAsync(name, Validation.ModelVersion(r.String("version")), t, ct);
            return Empty;
        });
        Json(app, "POST", "registered-models/alias", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var alias = Validation.Alias(r.String("alias"));
            await store.SetAliasAsync(name, alias, Validation.ModelVersion(r.String("version")), ct);
            return Empty;
        });
        Json(app, "DELETE", "registered-models/alias", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var alias = Validation.Alias(r.String("alias"));
            await store.DeleteAliasAsync(name, alias, ct);
            return Empty;
        });
        Json(app, "GET", "registered-models/alias", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var alias = Validation.Alias(r.String("alias"));
            return new ModelVersionResponse(await store.ModelVersionByAliasAsync(name, alias, ct));
        });

        Json(app, "GET", "model-versions/get-download-uri", async (r, ct) =>
        {
            // As MLflow: the version's source (a runs:/ URI stays one; clients resolve it through the run).
            var name = Validation.ModelName(r.String("name"));
            var version = await store.GetModelVersionAsync(name, Validation.ModelVersion(r.String("version")), ct);
            return new { artifact_uri = version.Source };
        });
        foreach (var method in new[] { "POST", "GET" })
            Json(app, method, "registered-models/get-latest-versions", async (r, ct) =>
            {
                var name = Validation.ModelName(r.String("name"));
                var stages = r.Strings("stages").Select(Validation.Stage).ToHashSet();
                var versions = await store.LatestVersionsAsync(name, stages, ct);
                return new GetLatestVersionsResponse(versions.Count > 0 ? versions : null);
            });
        Json(app, "POST", "model-versions/transition-stage", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var version = Validation.ModelVersion(r.String("version"));
            var stage = Validation.Stage(r.Required("stage"));
            var archive = Validation.Flag(r.String("archive_existing_versions"), "archive_existing_versions") ?? false;
            if (archive && stage is not ("Staging" or "Production"))
                // MLflow raises this without an error code, hence INTERNAL_ERROR (500), as the real server answers.
                throw MlflowException.Create(MlflowErrorCodes.InternalError,
                    $"Model version transition cannot archive existing model versions because '{r.Required("stage")}' is not an Active stage. Valid stages are ['Staging', 'Production']");
            return new ModelVersionResponse(await store.TransitionStageAsync(name, version, stage, archive, ct));
        });
        Json(app, "DELETE", "registered-models/delete-tag", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            await store.DeleteRegisteredModelTagAsync(name, Validation.TagKey(r.String("key")), ct);
            return Empty;
        });
        Json(app, "DELETE", "model-versions/delete-tag", async (r, ct) =>
        {
            var name = Validation.ModelName(r.String("name"));
            var version = Validation.ModelVersion(r.String("version"));
            await store.DeleteModelVersionTagAsync(name, version, Validation.TagKey(r.String("key")), ct);
            return Empty;
        });

        // ---- artifacts proxy
        app.MapMethods(ArtifactsApi + "/{**path}", ["PUT"], async (HttpContext ctx, string path) =>
        {
            await artifacts.WriteAsync(ArtifactPaths.Check(RawPath(ctx, path)), ctx.Request.Body, ctx.RequestAborted);
            await WriteJson(ctx, 200, "{}");
        });
        app.MapMethods(ArtifactsApi + "/{**path}", ["GET"], async (HttpContext ctx, string path) =>
        {
            path = ArtifactPaths.Check(RawPath(ctx, path));
            await using var stream = artifacts.OpenRead(path) ?? throw MlflowException.NotFound($"File {path} not found");
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = stream.Length;
            await stream.CopyToAsync(ctx.Response.Body, 1 << 16, ctx.RequestAborted);
        });
        app.MapMethods(ArtifactsApi, ["GET"], async (HttpContext ctx) =>
        {
            var requested = ctx.Request.Query["path"].LastOrDefault() ?? "";
            var files = artifacts.List(requested.Length == 0 ? "" : ArtifactPaths.Check(requested));
            await WriteJson(ctx, 200, JsonSerializer.Serialize(new ListArtifactsResponse(null, files.Count > 0 ? files : null, null), MlflowJson.Indented));
        });

        app.Map("/api/2.0/{**rest}", (HttpContext ctx) =>
            throw MlflowException.Create(MlflowErrorCodes.EndpointNotFound, $"No API endpoint for {ctx.Request.Method} {ctx.Request.Path}"));
    }

    private static readonly object Empty = new { };

    /// <summary>
    /// The artifact path as the client sent it: routing hands a catch-all value with "//" collapsed, which would
    /// hide a leading slash from the check; the raw request path keeps it (still percent-encoded, decoded by the check).
    /// </summary>
    private static string RawPath(HttpContext ctx, string routed)
    {
        var raw = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "";
        var q = raw.IndexOf('?');
        if (q >= 0) raw = raw[..q];
        var prefix = ArtifactsApi + "/";
        return raw.StartsWith(prefix, StringComparison.Ordinal) ? raw[prefix.Length..] : routed;
    }
    private const string LoggedModelsTag = "mlflow.log-model.history";

    private sealed record GetLatestVersionsResponse(IReadOnlyList<ModelVersion>? ModelVersions);

    private sealed record MetricIn(string? Key, double? Value, long? Timestamp, long? Step);
    private sealed record ParamIn(string? Key, string? Value);
    private sealed record TagIn(string? Key, string? Value);
    private sealed record DatasetIn(string? Name, string? Digest, string? SourceType, string? Source, string? Schema, string? Profile);
    private sealed record DatasetInputIn(IReadOnlyList<TagIn>? Tags, DatasetIn? Dataset);

    private static DatasetInput ToDatasetInput(DatasetInputIn i)
    {
        var d = i.Dataset ?? throw Validation.Invalid("Dataset cannot be None");
        return new DatasetInput
        {
            Tags = i.Tags?.Select(t => new Tag(t.Key ?? throw Validation.Invalid("InputTag key cannot be None"),
                t.Value ?? throw Validation.Invalid("InputTag value cannot be None"))).ToList(),
            Dataset = new Dataset
            {
                Name = d.Name ?? throw Validation.Invalid("Dataset name cannot be None"),
                Digest = d.Digest ?? throw Validation.Invalid("Dataset digest cannot be None"),
                SourceType = d.SourceType ?? throw Validation.Invalid("Dataset source_type cannot be None"),
                Source = d.Source ?? throw Validation.Invalid("Dataset source cannot be None"),
                Schema = d.Schema,
                Profile = d.Profile,
            },
        };
    }

    private static Metric ToMetric(MetricIn m) => new(
        m.Key ?? throw Validation.Missing("key"),
        m.Value ?? throw Validation.Missing("value"),
        m.Timestamp ?? throw Validation.Missing("timestamp"),
        m.Step ?? 0);

    private static string RunId(MlflowRequest r) => r.String("run_id") ?? r.String("run_uuid") ?? throw Validation.Missing("run_id");

    private static async Task<object> SearchRuns(TrackingStore store, MlflowRequest r, CancellationToken ct)
    {
        var max = (int)(r.Long("max_results") ?? 1000);
        if (max <= 0 || max > 50000)
            throw Validation.Invalid($"Invalid value {max} for parameter 'max_results' supplied. It must be at most 50000 and at least 1.");
        var clauses = RunSearch.Parse(r.String("filter"));
        var order = RunSearch.ParseOrderBy(r.Strings("order_by"));
        var offset = RunSearch.DecodePageToken(r.String("page_token"));
        var stages = ViewType(r.String("run_view_type"), "run_view_type");
        var ids = new List<long>();
        foreach (var id in r.Strings("experiment_ids"))
            if (long.TryParse(id, out var n)) ids.Add(n);
        if (ids.Count == 0) return Empty;
        var runs = await store.RunsAsync(ids, stages, clauses, ct);
        var (page, next) = RunSearch.PageOf(RunSearch.Order(runs, order), offset, max);
        return new SearchRunsResponse(page.Count > 0 ? page : null, next);
    }

    private static async Task<object> SearchModels(TrackingStore store, MlflowRequest r, CancellationToken ct)
    {
        var max = (int)(r.Long("max_results") ?? 100);
        if (max <= 0 || max > 1000)
            throw Validation.Invalid($"Invalid value for max_results. It must be at most 1000, but got value {max}");
        var models = (IEnumerable<RegisteredModel>)await store.SearchRegisteredModelsAsync(RunSearch.Parse(r.String("filter"), RunSearch.RegisteredModels), ct);
        foreach (var o in r.Strings("order_by").Reverse())
        {
            var parts = o.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var desc = parts.Length > 1 && parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase);
            Func<RegisteredModel, object?> key = parts[0] switch
            {
                "name" => m => m.Name,
                "last_updated_timestamp" or "timestamp" => m => m.LastUpdatedTimestamp,
                "creation_timestamp" => m => m.CreationTimestamp,
                _ => throw Validation.Invalid($"Invalid order by key '{parts[0]}' specified."),
            };
            models = desc ? models.OrderByDescending(key) : models.OrderBy(key);
        }
        var (page, next) = RunSearch.PageOf(models, RunSearch.DecodePageToken(r.String("page_token")), max);
        return new SearchRegisteredModelsResponse(page.Count > 0 ? page : null, next);
    }

    private static async Task<object> SearchExperiments(TrackingStore store, MlflowRequest r, CancellationToken ct)
    {
        var max = r.Long("max_results") ?? 1000;
        if (max < 1) throw Validation.Invalid($"Invalid value for parameter 'max_results' supplied. It must be a positive integer, but got {max}");
        if (max > 50000) throw Validation.Invalid($"Invalid value for parameter 'max_results' supplied. It must be at most 50000, but got value {max}");
        var stages = ViewType(r.String("view_type"), "view_type");
        var clauses = RunSearch.Parse(r.String("filter"), RunSearch.Experiments);
        var offset = RunSearch.DecodePageToken(r.String("page_token"));
        IEnumerable<Experiment> found = await store.SearchExperimentsAsync(stages, clauses, ct);
        var orderBy = r.Strings("order_by");
        IOrderedEnumerable<Experiment>? ordered = null;
        var byId = false;
        // As MLflow's SQL store: default creation_time DESC, experiment_id ASC; otherwise experiment_id DESC breaks ties.
        foreach (var o in orderBy.Count > 0 ? orderBy : ["creation_time DESC", "experiment_id ASC"])
        {
            var parts = o.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is < 1 or > 2 || (parts.Length == 2 && parts[1].ToUpperInvariant() is not ("ASC" or "DESC")))
                throw Validation.Invalid($"Invalid order_by clause '{o}'. Could not be parsed.");
            var desc = parts.Length == 2 && parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase);
            var key = parts[0].StartsWith("attributes.", StringComparison.Ordinal) ? parts[0]["attributes.".Length..] : parts[0];
            Func<Experiment, object?> value = key switch
            {
                "name" => e => e.Name,
                "experiment_id" => e => long.Parse(e.ExperimentId),
                "creation_time" => e => e.CreationTime,
                "last_update_time" => e => e.LastUpdateTime,
                _ => throw Validation.Invalid($"Invalid order by key '{key}' specified. Valid keys are '{{'name', 'experiment_id', 'creation_time', 'last_update_time'}}'"),
            };
            byId |= key == "experiment_id";
            ordered = ordered is null
                ? (desc ? found.OrderByDescending(value, Ordinal.Instance) : found.OrderBy(value, Ordinal.Instance))
                : (desc ? ordered.ThenByDescending(value, Ordinal.Instance) : ordered.ThenBy(value, Ordinal.Instance));
        }
        if (!byId) ordered = ordered!.ThenByDescending(e => long.Parse(e.ExperimentId));
        var (page, next) = RunSearch.PageOf(ordered!, offset, (int)max);
        return new SearchExperimentsResponse(page.Count > 0 ? page : null, next);
    }

    private static async Task<object> SearchModelVersions(TrackingStore store, MlflowRequest r, CancellationToken ct)
    {
        var max = r.Long("max_results") ?? 10000;
        if (max < 1) throw Validation.Invalid($"Invalid value for max_results. It must be a positive integer, but got {max}");
        if (max > 200000)
            throw Validation.Invalid($"Invalid value for request parameter max_results. It must be at most 200000, but got value {max}");
        var clauses = RunSearch.Parse(r.String("filter"), RunSearch.ModelVersions);
        var offset = RunSearch.DecodePageToken(r.String("page_token"));
        IEnumerable<ModelVersion> found = await store.SearchModelVersionsAsync(clauses, ct);
        IOrderedEnumerable<ModelVersion>? ordered = null;
        var orderBy = r.Strings("order_by");
        // As MLflow's SQL registry: the given keys (default last_updated_timestamp DESC), then name ASC and version DESC unless given.
        if (orderBy.Count == 0) orderBy = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"];
        var keys = orderBy.Select(o =>
        {
            var parts = o.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var key = parts[0].StartsWith("attributes.", StringComparison.Ordinal) ? parts[0]["attributes.".Length..] : parts[0];
            return (Key: key, Desc: parts.Length > 1 && parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase));
        }).ToList();
        if (keys.Select(k => k.Key).Distinct().Count() != keys.Count)
            throw Validation.Invalid($"`order_by` contains duplicate fields: [{string.Join(", ", orderBy.Select(o => $"'{o}'"))}]");
        if (!keys.Any(k => k.Key == "name")) keys.Add(("name", false));
        if (!keys.Any(k => k.Key == "version_number")) keys.Add(("version_number", true));
        foreach (var (key, desc) in keys)
        {
            Func<ModelVersion, object?> value = key switch
            {
                "name" => v => v.Name,
                "version_number" => v => long.Parse(v.Version),
                "creation_timestamp" => v => v.CreationTimestamp,
                "last_updated_timestamp" or "timestamp" => v => v.LastUpdatedTimestamp,
                "run_id" => v => v.RunId,
                _ => throw Validation.Invalid($"Invalid order by key '{key}' specified."),
            };
            ordered = ordered is null
                ? (desc ? found.OrderByDescending(value, Ordinal.Instance) : found.OrderBy(value, Ordinal.Instance))
                : (desc ? ordered.ThenByDescending(value, Ordinal.Instance) : ordered.ThenBy(value, Ordinal.Instance));
        }
        var (page, next) = RunSearch.PageOf(ordered!, offset, (int)max);
        return new SearchModelVersionsResponse(page.Count > 0 ? page : null, next);
    }

    private static string[] ViewType(string? value, string parameter) => (value ?? "ACTIVE_ONLY") switch
    {
        "ACTIVE_ONLY" => ["active"],
        "DELETED_ONLY" => ["deleted"],
        "ALL" => ["active", "deleted"],
        var v => throw Validation.Invalid($"Invalid value \"{v}\" for parameter '{parameter}' supplied."),
    };

    /// <summary>Numbers by value, strings ordinally, nulls last.</summary>
    private sealed class Ordinal : IComparer<object?>
    {
        public static readonly Ordinal Instance = new();
        public int Compare(object? x, object? y) => (x, y) switch
        {
            (null, null) => 0, (null, _) => 1, (_, null) => -1,
            (long a, long b) => a.CompareTo(b),
            (string a, string b) => string.CompareOrdinal(a, b),
            _ => Comparer<object>.Default.Compare(x, y),
        };
    }

    private static void Json(WebApplication app, string method, string endpoint, Func<MlflowRequest, CancellationToken, Task<object>> handler) =>
        app.MapMethods(Api + endpoint, [method], async (HttpContext ctx) =>
        {
            var request = await MlflowRequest.ReadAsync(ctx);
            var result = await handler(request, ctx.RequestAborted);
            await WriteJson(ctx, 200, JsonSerializer.Serialize(result, result.GetType(), MlflowJson.Indented));
        });

    private static async Task WriteJson(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json, ctx.RequestAborted);
    }

    private static async Task ErrorsAsMlflowJson(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        catch (Exception e) when (!ctx.Response.HasStarted && e is not OperationCanceledException)
        {
            var error = e switch
            {
                MlflowException m => m,
                InvalidArtifactPathException => MlflowException.InvalidParameter(e.Message),
                BadHttpRequestException { StatusCode: 413 } => MlflowException.InvalidParameter("Request body too large."),
                BadHttpRequestException => MlflowException.Create(MlflowErrorCodes.BadRequest, e.Message),
                _ => MlflowException.Create(MlflowErrorCodes.InternalError, e.Message),
            };
            ctx.Response.Clear();
            await WriteJson(ctx, (int)MlflowErrorCodes.StatusOf(error.ErrorCode),
                JsonSerializer.Serialize(new ErrorResponse(error.ErrorCode, error.Message), MlflowJson.Options));
        }
    }
}

/// <summary>MLflow-style generated run names ("bold-cat-123") for runs created without one.</summary>
internal static class RunNames
{
    private static readonly string[] Adjectives = ["bold", "calm", "eager", "fresh", "gentle", "keen", "lucid", "merry", "quiet", "swift", "tidy", "wise"];
    private static readonly string[] Nouns = ["ant", "bee", "cat", "doe", "eel", "fox", "gnu", "hen", "owl", "ram", "yak", "wren"];

    public static string Generate() =>
        $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}-{Nouns[Random.Shared.Next(Nouns.Length)]}-{Random.Shared.Next(1000)}";
}
