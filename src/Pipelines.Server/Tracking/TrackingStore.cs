using System.Text.Json;
using Npgsql;
using Pipelines.Postgres.Sql;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tracking;

/// <summary>
/// The built-in endpoint's tracking store and model registry on PostgreSQL. Every public method is one
/// transaction: a request rejected half-way (a changed param in a batch, a duplicate name) writes nothing.
/// </summary>
public sealed class TrackingStore(NpgsqlDataSource db, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public static readonly string[] ActiveOnly = ["active"];

    // ---- experiments

    public Task<Experiment?> ExperimentByNameAsync(string name, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var e = await ReadExperiments(Cmd(c, tx, "ExperimentByName", ("name", name)), ct);
        return e.Count == 0 ? null : (await WithTags(c, tx, e, ct))[0];
    }, ct);

    public Task<Experiment?> ExperimentByIdAsync(string id, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (!long.TryParse(id, out var n)) return null;
        var e = await ReadExperiments(Cmd(c, tx, "ExperimentById", ("experiment_id", n)), ct);
        return e.Count == 0 ? null : (await WithTags(c, tx, e, ct))[0];
    }, ct);

    public Task<IReadOnlyList<Experiment>> AllExperimentsAsync(CancellationToken ct) => InTx(async (c, tx) =>
        (IReadOnlyList<Experiment>)await WithTags(c, tx, await ReadExperiments(Cmd(c, tx, "ExperimentsAll"), ct), ct), ct);

    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyList<Tag> tags, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var now = Now;
        var id = await Cmd(c, tx, "ExperimentInsert", ("name", name), ("artifact_location", artifactLocation), ("now", now)).ExecuteScalarAsync(ct);
        if (id is not long experimentId) throw MlflowException.AlreadyExists($"Experiment(name={name}) already exists.");
        await UpsertTags(c, tx, "ExperimentTagUpsert", tags, ct, ("experiment_id", experimentId));
        return experimentId.ToString();
    }, ct);

    public Task SetExperimentTagAsync(string id, Tag tag, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var e = await ExperimentOrThrow(c, tx, id, ct);
        await UpsertTags(c, tx, "ExperimentTagUpsert", [tag], ct, ("experiment_id", long.Parse(e.ExperimentId)));
        return 0;
    }, ct);

    public Task<IReadOnlyList<Experiment>> SearchExperimentsAsync(IReadOnlyList<string> lifecycleStages, IReadOnlyList<RunSearch.Clause> clauses, CancellationToken ct) =>
        InTx(async (c, tx) => (IReadOnlyList<Experiment>)await WithTags(c, tx, await ReadExperiments(Cmd(c, tx, "ExperimentSearch",
            [("lifecycle_stages", lifecycleStages.ToArray()), .. RunSearch.SqlParameters(clauses)[..5]]), ct), ct), ct);

    /// <summary>Deletes (<paramref name="delete"/>) or restores an experiment and its runs, as MLflow's SQL store.</summary>
    public Task SetExperimentLifecycleAsync(string id, bool delete, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var (from, to) = delete ? ("active", "deleted") : ("deleted", "active");
        var now = Now;
        var n = long.TryParse(id, out var v) ? v : -1;
        if (await Cmd(c, tx, "ExperimentSetLifecycle", ("experiment_id", n), ("from_stage", from), ("to_stage", to), ("now", now)).ExecuteNonQueryAsync(ct) == 0)
            throw MlflowException.NotFound($"No Experiment with id={id} exists");
        return await Cmd(c, tx, "ExperimentRunsSetLifecycle", ("experiment_id", n), ("from_stage", from), ("to_stage", to), ("now", now)).ExecuteNonQueryAsync(ct);
    }, ct);

    public Task RenameExperimentAsync(string id, string newName, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var e = await ExperimentOrThrow(c, tx, id, ct);
        if (e.LifecycleStage != "active") throw MlflowException.Create(MlflowErrorCodes.InvalidState, "Cannot rename a non-active experiment.");
        if (await Cmd(c, tx, "ExperimentRename", ("experiment_id", long.Parse(e.ExperimentId)), ("new_name", newName), ("now", Now)).ExecuteNonQueryAsync(ct) == 0)
            throw MlflowException.AlreadyExists($"Experiment(name={newName}) already exists.");
        return 0;
    }, ct);

    // ---- runs

    public Task<Run> CreateRunAsync(CreateRunRequest r, string runName, IReadOnlyList<Tag> tags, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var e = await ExperimentOrThrow(c, tx, r.ExperimentId, ct);
        if (e.LifecycleStage != "active")
            throw Validation.Invalid($"The experiment {e.ExperimentId} must be in the 'active' state. Current state is {e.LifecycleStage}.");
        var id = Guid.NewGuid().ToString("N");
        var artifactUri = $"{e.ArtifactLocation!.TrimEnd('/')}/{id}/artifacts";
        await Cmd(c, tx, "RunInsert", ("run_uuid", id), ("experiment_id", long.Parse(e.ExperimentId)), ("run_name", runName),
            ("user_id", r.UserId ?? ""), ("start_time", r.StartTime ?? Now), ("artifact_uri", artifactUri)).ExecuteNonQueryAsync(ct);
        await UpsertTags(c, tx, "RunTagUpsert", tags, ct, ("run_uuid", id));
        var run = await RunOrThrow(c, tx, id, ct);
        return run with { Inputs = null };
    }, ct);

    public Task<RunInfo> UpdateRunAsync(string runId, string? status, long? endTime, string? runName, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await LockActiveRun(c, tx, runId, ct);
        await Cmd(c, tx, "RunUpdate", ("run_uuid", runId), ("status", status), ("end_time", endTime), ("run_name", runName)).ExecuteNonQueryAsync(ct);
        if (runName is not null) await UpsertTags(c, tx, "RunTagUpsert", [new Tag(MlflowTags.RunName, runName)], ct, ("run_uuid", runId));
        return (await RunOrThrow(c, tx, runId, ct)).Info;
    }, ct);

    public Task<Run> GetRunAsync(string runId, CancellationToken ct) => InTx((c, tx) => RunOrThrow(c, tx, runId, ct), ct);

    public Task SetRunLifecycleAsync(string runId, string stage, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await RunOrThrow(c, tx, runId, ct);
        return await Cmd(c, tx, "RunSetLifecycle", ("run_uuid", runId), ("lifecycle_stage", stage), ("now", Now)).ExecuteNonQueryAsync(ct);
    }, ct);

    /// <summary>The runs of the experiments in the stages that satisfy every clause (filtered by PostgreSQL).</summary>
    public Task<IReadOnlyList<Run>> RunsAsync(IReadOnlyList<long> experimentIds, IReadOnlyList<string> lifecycleStages, IReadOnlyList<RunSearch.Clause> clauses, CancellationToken ct) =>
        InTx(async (c, tx) => (IReadOnlyList<Run>)await ReadRuns(Cmd(c, tx, "RunsWithData", [("run_uuid", null),
            ("experiment_ids", experimentIds.ToArray()), ("lifecycle_stages", lifecycleStages.ToArray()), .. RunSearch.SqlParameters(clauses)]), ct), ct);

    /// <summary>Records datasets as inputs of a run: each dataset once per experiment (name, digest), its input tags upserted.</summary>
    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> inputs, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await LockActiveRun(c, tx, runId, ct);
        var experimentId = (long)(await Cmd(c, tx, "RunExperiment", ("run_uuid", runId)).ExecuteScalarAsync(ct))!;
        foreach (var input in inputs)
        {
            var d = input.Dataset;
            var datasetId = (string)(await Cmd(c, tx, "DatasetUpsert", ("dataset_uuid", Guid.NewGuid().ToString("N")), ("experiment_id", experimentId),
                ("name", d.Name), ("digest", d.Digest), ("source_type", d.SourceType), ("source", d.Source), ("schema", d.Schema), ("profile", d.Profile))
                .ExecuteScalarAsync(ct))!;
            await Cmd(c, tx, "RunInputInsert", ("run_uuid", runId), ("dataset_uuid", datasetId)).ExecuteNonQueryAsync(ct);
            await UpsertTags(c, tx, "RunInputTagUpsert", input.Tags ?? [], ct, ("run_uuid", runId), ("dataset_uuid", datasetId));
        }
        return 0;
    }, ct);

    public Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<Tag> tags, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await LockActiveRun(c, tx, runId, ct);
        if (parameters.Count > 0)
        {
            await using var reader = await Cmd(c, tx, "RunParamsInsert", ("run_uuid", runId),
                ("keys", parameters.Select(p => p.Key).ToArray()), ("values", parameters.Select(p => p.Value).ToArray())).ExecuteReaderAsync(ct);
            var asked = parameters.ToDictionary(p => p.Key, p => p.Value);
            while (await reader.ReadAsync(ct))
            {
                var (key, stored) = (reader.Get<string>("key"), reader.Get<string>("value"));
                if (asked[key] != stored)
                    throw Validation.Invalid($"Changing param values is not allowed. Param with key='{key}' was already logged with value='{stored}' for run ID='{runId}'. Attempted logging new value '{asked[key]}'.");
            }
        }
        if (tags.Count > 0)
        {
            await UpsertTags(c, tx, "RunTagUpsert", tags, ct, ("run_uuid", runId));
            if (tags.LastOrDefault(t => t.Key == MlflowTags.RunName) is { } rename)
                await Cmd(c, tx, "RunRename", ("run_uuid", runId), ("run_name", rename.Value)).ExecuteNonQueryAsync(ct);
        }
        if (metrics.Count > 0)
        {
            await Cmd(c, tx, "MetricsInsert", ("run_uuid", runId), ("keys", metrics.Select(m => m.Key).ToArray()),
                ("values", metrics.Select(m => m.Value).ToArray()), ("timestamps", metrics.Select(m => m.Timestamp).ToArray()),
                ("steps", metrics.Select(m => m.Step).ToArray())).ExecuteNonQueryAsync(ct);
            var latest = metrics.GroupBy(m => m.Key)
                .Select(g => g.OrderByDescending(m => m.Step).ThenByDescending(m => m.Timestamp).ThenByDescending(m => m.Value).First()).ToList();
            await Cmd(c, tx, "LatestMetricsUpsert", ("run_uuid", runId), ("keys", latest.Select(m => m.Key).ToArray()),
                ("values", latest.Select(m => m.Value).ToArray()), ("timestamps", latest.Select(m => m.Timestamp).ToArray()),
                ("steps", latest.Select(m => m.Step).ToArray())).ExecuteNonQueryAsync(ct);
        }
        return 0;
    }, ct);

    public Task DeleteTagAsync(string runId, string key, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await LockActiveRun(c, tx, runId, ct);
        if (await Cmd(c, tx, "RunTagDelete", ("run_uuid", runId), ("key", key)).ExecuteNonQueryAsync(ct) == 0)
            throw MlflowException.NotFound($"No tag with name: {key} in run with id {runId}");
        return 0;
    }, ct);

    public Task<IReadOnlyList<Metric>> MetricHistoryAsync(string runId, string key, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await RunOrThrow(c, tx, runId, ct);
        var list = new List<Metric>();
        await using var reader = await Cmd(c, tx, "MetricHistory", ("run_uuid", runId), ("key", key)).ExecuteReaderAsync(ct);
        // A metric's history can be long: ordinals once per result set.
        var (k, value, timestamp, step) = (reader.Ordinal("key"), reader.Ordinal("value"), reader.Ordinal("timestamp"), reader.Ordinal("step"));
        while (await reader.ReadAsync(ct)) list.Add(new Metric(reader.GetString(k), reader.GetDouble(value), reader.GetInt64(timestamp), reader.GetInt64(step)));
        return (IReadOnlyList<Metric>)list;
    }, ct);

    // ---- registry

    public Task<RegisteredModel> CreateRegisteredModelAsync(string name, string? description, IReadOnlyList<Tag> tags, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelInsert", ("name", name), ("now", Now), ("description", description)).ExecuteScalarAsync(ct) is null)
            throw MlflowException.AlreadyExists($"Registered Model (name={name}) already exists.");
        await UpsertTags(c, tx, "RegisteredModelTagUpsert", tags, ct, ("name", name));
        return (await RegisteredModels(c, tx, [name], ct))[0];
    }, ct);

    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken ct) => InTx(async (c, tx) =>
        (await RegisteredModels(c, tx, [await ModelNameOrThrow(c, tx, name, ct)], ct))[0], ct);

    public Task<IReadOnlyList<RegisteredModel>> SearchRegisteredModelsAsync(IReadOnlyList<RunSearch.Clause> clauses, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var names = new List<string>();
        await using (var reader = await Cmd(c, tx, "RegisteredModelSearch", RunSearch.SqlParameters(clauses)[..4]).ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) names.Add(reader.Get<string>("name"));
        return (IReadOnlyList<RegisteredModel>)await RegisteredModels(c, tx, names, ct);
    }, ct);

    public Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelNameOrThrow(c, tx, name, ct);
        if (name != newName && await Cmd(c, tx, "RegisteredModelByName", ("name", newName)).ExecuteScalarAsync(ct) is not null)
            throw MlflowException.AlreadyExists($"Registered Model (name={newName}) already exists.");
        await Cmd(c, tx, "RegisteredModelRename", ("name", name), ("new_name", newName), ("now", Now)).ExecuteNonQueryAsync(ct);
        return (await RegisteredModels(c, tx, [newName], ct))[0];
    }, ct);

    public Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelNameOrThrow(c, tx, name, ct);
        await Cmd(c, tx, "RegisteredModelSetDescription", ("name", name), ("description", description), ("now", Now)).ExecuteNonQueryAsync(ct);
        return (await RegisteredModels(c, tx, [name], ct))[0];
    }, ct);

    public Task DeleteRegisteredModelAsync(string name, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelDelete", ("name", name)).ExecuteNonQueryAsync(ct) == 0)
            throw MlflowException.NotFound($"Registered Model with name={name} not found");
        return 0;
    }, ct);

    public Task DeleteModelVersionAsync(string name, int version, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelLock", ("name", name)).ExecuteScalarAsync(ct) is null
            || await Cmd(c, tx, "ModelVersionDelete", ("name", name), ("version", version)).ExecuteNonQueryAsync(ct) == 0)
            throw MlflowException.NotFound($"Model Version (name={name}, version={version}) not found");
        return await Cmd(c, tx, "RegisteredModelTouch", ("name", name), ("now", Now)).ExecuteNonQueryAsync(ct);
    }, ct);

    public Task<ModelVersion> UpdateModelVersionAsync(string name, int version, string? description, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelVersionOrThrow(c, tx, name, version, ct);
        await Cmd(c, tx, "ModelVersionSetDescription", ("name", name), ("version", version), ("description", description ?? ""), ("now", Now)).ExecuteNonQueryAsync(ct);
        return await ModelVersionOrThrow(c, tx, name, version, ct);
    }, ct);

    /// <summary>Versions satisfying every clause (filtered by PostgreSQL), with their tags and aliases.</summary>
    public Task<IReadOnlyList<ModelVersion>> SearchModelVersionsAsync(IReadOnlyList<RunSearch.Clause> clauses, CancellationToken ct) => InTx(async (c, tx) =>
    {
        var found = await ReadVersions(Cmd(c, tx, "ModelVersionSearch", RunSearch.SqlParameters(clauses)), ct);
        var (tags, aliases) = await VersionExtras(c, tx, found.Select(v => v.Name).Distinct().ToArray(), ct);
        return (IReadOnlyList<ModelVersion>)found.Select(v =>
        {
            var mine = aliases.Where(a => a.Name == v.Name && a.Version.ToString() == v.Version).Select(a => a.Alias).ToList();
            return v with { Tags = tags.GetValueOrDefault((v.Name, v.Version)), Aliases = mine.Count > 0 ? mine : null };
        }).ToList();
    }, ct);

    public Task SetRegisteredModelTagAsync(string name, Tag tag, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelNameOrThrow(c, tx, name, ct);
        await UpsertTags(c, tx, "RegisteredModelTagUpsert", [tag], ct, ("name", name));
        return 0;
    }, ct);

    public Task<ModelVersion> CreateModelVersionAsync(CreateModelVersionRequest r, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelLock", ("name", r.Name)).ExecuteScalarAsync(ct) is null)
            throw MlflowException.NotFound($"Registered Model with name={r.Name} not found");
        var now = Now;
        var version = (int)(await Cmd(c, tx, "ModelVersionInsert", ("name", r.Name), ("now", now), ("description", r.Description ?? ""),
            ("source", r.Source), ("run_id", r.RunId), ("run_link", r.RunLink ?? "")).ExecuteScalarAsync(ct))!;
        await UpsertTags(c, tx, "ModelVersionTagUpsert", r.Tags ?? [], ct, ("name", r.Name), ("version", version));
        await Cmd(c, tx, "RegisteredModelTouch", ("name", r.Name), ("now", now)).ExecuteNonQueryAsync(ct);
        return await ModelVersionOrThrow(c, tx, r.Name, version, ct);
    }, ct);

    public Task<ModelVersion> GetModelVersionAsync(string name, int version, CancellationToken ct) =>
        InTx((c, tx) => ModelVersionOrThrow(c, tx, name, version, ct), ct);

    public Task SetModelVersionTagAsync(string name, int version, Tag tag, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelVersionOrThrow(c, tx, name, version, ct);
        await UpsertTags(c, tx, "ModelVersionTagUpsert", [tag], ct, ("name", name), ("version", version));
        return 0;
    }, ct);

    public Task SetAliasAsync(string name, string alias, int version, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelLock", ("name", name)).ExecuteScalarAsync(ct) is null)
            throw MlflowException.NotFound($"Registered Model with name={name} not found");
        await ModelVersionOrThrow(c, tx, name, version, ct);
        return await Cmd(c, tx, "AliasUpsert", ("name", name), ("alias", alias), ("version", version)).ExecuteNonQueryAsync(ct);
    }, ct);

    public Task<ModelVersion> ModelVersionByAliasAsync(string name, string alias, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelNameOrThrow(c, tx, name, ct);
        if (await Cmd(c, tx, "AliasGet", ("name", name), ("alias", alias)).ExecuteScalarAsync(ct) is not int version)
            throw Validation.Invalid($"Registered model alias {alias} not found.");
        return await ModelVersionOrThrow(c, tx, name, version, ct);
    }, ct);

    public Task DeleteAliasAsync(string name, string alias, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelNameOrThrow(c, tx, name, ct);
        return await Cmd(c, tx, "AliasDelete", ("name", name), ("alias", alias)).ExecuteNonQueryAsync(ct);
    }, ct);

    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken ct) => InTx(async (c, tx) =>
    {
        // As MLflow: the model must exist; a tag that is not there is no error.
        await ModelNameOrThrow(c, tx, name, ct);
        return await Cmd(c, tx, "RegisteredModelTagDelete", ("name", name), ("key", key)).ExecuteNonQueryAsync(ct);
    }, ct);

    public Task DeleteModelVersionTagAsync(string name, int version, string key, CancellationToken ct) => InTx(async (c, tx) =>
    {
        await ModelVersionOrThrow(c, tx, name, version, ct);
        return await Cmd(c, tx, "ModelVersionTagDelete", ("name", name), ("version", version), ("key", key)).ExecuteNonQueryAsync(ct);
    }, ct);

    /// <summary>
    /// Moves a version to <paramref name="stage"/> (canonical: None, Staging, Production, Archived); with
    /// <paramref name="archiveExisting"/> the model's other versions in that stage become Archived, in one transaction.
    /// </summary>
    public Task<ModelVersion> TransitionStageAsync(string name, int version, string stage, bool archiveExisting, CancellationToken ct) => InTx(async (c, tx) =>
    {
        if (await Cmd(c, tx, "RegisteredModelLock", ("name", name)).ExecuteScalarAsync(ct) is null)
            throw MlflowException.NotFound($"Registered Model with name={name} not found");
        await ModelVersionOrThrow(c, tx, name, version, ct);
        var now = Now;
        if (archiveExisting)
            await Cmd(c, tx, "ModelVersionsArchiveStage", ("name", name), ("version", version), ("stage", stage), ("now", now)).ExecuteNonQueryAsync(ct);
        await Cmd(c, tx, "ModelVersionSetStage", ("name", name), ("version", version), ("stage", stage), ("now", now)).ExecuteNonQueryAsync(ct);
        await Cmd(c, tx, "RegisteredModelTouch", ("name", name), ("now", now)).ExecuteNonQueryAsync(ct);
        return await ModelVersionOrThrow(c, tx, name, version, ct);
    }, ct);

    /// <summary>The latest version per stage of a model, only of <paramref name="stages"/> (canonical names; empty: all).</summary>
    public async Task<IReadOnlyList<ModelVersion>> LatestVersionsAsync(string name, IReadOnlyCollection<string> stages, CancellationToken ct)
    {
        var model = await GetRegisteredModelAsync(name, ct);
        return (model.LatestVersions ?? []).Where(v => stages.Count == 0 || stages.Contains(v.CurrentStage ?? "None")).ToList();
    }

    // ---- helpers

    private async Task<T> InTx<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var result = await work(conn, tx);
        await tx.CommitAsync(ct);
        return result;
    }

    private static NpgsqlCommand Cmd(NpgsqlConnection c, NpgsqlTransaction tx, string name, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(TrackingSql.Get(name), c, tx);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    private static async Task UpsertTags(NpgsqlConnection c, NpgsqlTransaction tx, string statement, IReadOnlyList<Tag> tags, CancellationToken ct,
        params (string, object?)[] owner)
    {
        if (tags.Count == 0) return;
        // A key given twice in one request: the last value wins, at the first position (one row per key per statement).
        var order = new List<string>();
        var values = new Dictionary<string, string>();
        foreach (var t in tags)
        {
            if (!values.ContainsKey(t.Key)) order.Add(t.Key);
            values[t.Key] = t.Value;
        }
        await Cmd(c, tx, statement, [.. owner, ("keys", order.ToArray()), ("values", order.Select(k => values[k]).ToArray())]).ExecuteNonQueryAsync(ct);
    }

    private static async Task<List<Experiment>> ReadExperiments(NpgsqlCommand cmd, CancellationToken ct)
    {
        var list = new List<Experiment>();
        await using (cmd)
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            int O(string column) => reader.Ordinal(column);
            var (id, name, location, stage, created, updated) =
                (O("experiment_id"), O("name"), O("artifact_location"), O("lifecycle_stage"), O("creation_time"), O("last_update_time"));
            while (await reader.ReadAsync(ct))
                list.Add(new Experiment
                {
                    ExperimentId = reader.GetInt64(id).ToString(),
                    Name = reader.GetString(name),
                    ArtifactLocation = reader.GetString(location),
                    LifecycleStage = reader.GetString(stage),
                    CreationTime = reader.GetInt64(created),
                    LastUpdateTime = reader.GetInt64(updated),
                });
        }
        return list;
    }

    private static async Task<List<Experiment>> WithTags(NpgsqlConnection c, NpgsqlTransaction tx, List<Experiment> experiments, CancellationToken ct)
    {
        var tags = new Dictionary<string, List<Tag>>();
        await using (var reader = await Cmd(c, tx, "ExperimentTags", ("experiment_ids", experiments.Select(e => long.Parse(e.ExperimentId)).ToArray())).ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var id = reader.Get<long>("experiment_id").ToString();
                if (!tags.TryGetValue(id, out var list)) tags[id] = list = [];
                list.Add(new Tag(reader.Get<string>("key"), reader.Get<string>("value")));
            }
        return experiments.Select(e => tags.TryGetValue(e.ExperimentId, out var t) ? e with { Tags = t } : e).ToList();
    }

    private static async Task<Experiment> ExperimentOrThrow(NpgsqlConnection c, NpgsqlTransaction tx, string id, CancellationToken ct)
    {
        var found = long.TryParse(id, out var n) ? await ReadExperiments(Cmd(c, tx, "ExperimentById", ("experiment_id", n)), ct) : [];
        return found.Count > 0 ? found[0] : throw MlflowException.NotFound($"No Experiment with id={id} exists");
    }

    private static async Task<List<Run>> ReadRuns(NpgsqlCommand cmd, CancellationToken ct)
    {
        var list = new List<Run>();
        await using (cmd)
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            // A run search returns many rows: ordinals once per result set.
            int O(string column) => reader.Ordinal(column);
            var (runUuid, experiment, runName, user, status, start, end, artifactUri, stage) = (O("run_uuid"), O("experiment_id"), O("run_name"),
                O("user_id"), O("status"), O("start_time"), O("end_time"), O("artifact_uri"), O("lifecycle_stage"));
            var (metricsAt, paramsAt, tagsAt, inputsAt) = (O("metrics"), O("params"), O("tags"), O("inputs"));
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(runUuid);
                var metrics = JsonSerializer.Deserialize<List<Metric>>(reader.GetString(metricsAt), MlflowJson.Options)!;
                var parameters = JsonSerializer.Deserialize<List<Param>>(reader.GetString(paramsAt), MlflowJson.Options)!;
                var tags = JsonSerializer.Deserialize<List<Tag>>(reader.GetString(tagsAt), MlflowJson.Options)!;
                var inputs = JsonSerializer.Deserialize<List<DatasetInput>>(reader.GetString(inputsAt), MlflowJson.Options)!;
                list.Add(new Run
                {
                    Info = new RunInfo
                    {
                        RunUuid = id,
                        ExperimentId = reader.GetInt64(experiment).ToString(),
                        RunName = reader.GetString(runName),
                        UserId = reader.GetString(user),
                        Status = reader.GetString(status),
                        StartTime = reader.GetInt64(start),
                        EndTime = reader.IsDBNull(end) ? null : reader.GetInt64(end),
                        ArtifactUri = reader.GetString(artifactUri),
                        LifecycleStage = reader.GetString(stage),
                        RunId = id,
                    },
                    Data = new RunData
                    {
                        Metrics = metrics.Count > 0 ? metrics : null,
                        Params = parameters.Count > 0 ? parameters : null,
                        Tags = tags.Count > 0 ? tags : null,
                    },
                    Inputs = new RunInputs { DatasetInputs = inputs.Count > 0 ? inputs : null },
                });
            }
        }
        return list;
    }

    private static async Task<Run> RunOrThrow(NpgsqlConnection c, NpgsqlTransaction tx, string runId, CancellationToken ct)
    {
        var runs = await ReadRuns(Cmd(c, tx, "RunsWithData", [("run_uuid", runId), ("experiment_ids", null), ("lifecycle_stages", new[] { "active", "deleted" }),
            .. RunSearch.SqlParameters([])]), ct);
        return runs.Count > 0 ? runs[0] : throw MlflowException.NotFound($"Run with id={runId} not found");
    }

    private static async Task LockActiveRun(NpgsqlConnection c, NpgsqlTransaction tx, string runId, CancellationToken ct)
    {
        switch (await Cmd(c, tx, "RunLock", ("run_uuid", runId)).ExecuteScalarAsync(ct))
        {
            case null: throw MlflowException.NotFound($"Run with id={runId} not found");
            case string stage when stage != "active":
                throw Validation.Invalid($"The run {runId} must be in the 'active' state. Current state is {stage}.");
        }
    }

    private static async Task<string> ModelNameOrThrow(NpgsqlConnection c, NpgsqlTransaction tx, string name, CancellationToken ct) =>
        await Cmd(c, tx, "RegisteredModelByName", ("name", name)).ExecuteScalarAsync(ct) is string found
            ? found
            : throw MlflowException.NotFound($"Registered Model with name={name} not found");

    private static async Task<List<ModelVersion>> ReadVersions(NpgsqlCommand cmd, CancellationToken ct)
    {
        var list = new List<ModelVersion>();
        await using (cmd)
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            // A version search returns many rows: ordinals once per result set.
            int O(string column) => reader.Ordinal(column);
            var (name, version, created, updated, user, stage) = (O("name"), O("version"), O("creation_timestamp"), O("last_updated_timestamp"),
                O("user_id"), O("current_stage"));
            var (description, source, runId, runLink, status, statusMessage) = (O("description"), O("source"), O("run_id"), O("run_link"),
                O("status"), O("status_message"));
            string? Str(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            while (await reader.ReadAsync(ct))
                list.Add(new ModelVersion
                {
                    Name = reader.GetString(name),
                    Version = reader.GetInt32(version).ToString(),
                    CreationTimestamp = reader.GetInt64(created),
                    LastUpdatedTimestamp = reader.GetInt64(updated),
                    UserId = Str(user),
                    CurrentStage = reader.GetString(stage),
                    Description = reader.GetString(description),
                    Source = reader.GetString(source),
                    RunId = Str(runId),
                    RunLink = reader.GetString(runLink),
                    Status = reader.GetString(status),
                    StatusMessage = Str(statusMessage),
                });
        }
        return list;
    }

    private static async Task<(Dictionary<(string, string), List<Tag>> Tags, List<(string Name, string Alias, int Version)> Aliases)> VersionExtras(
        NpgsqlConnection c, NpgsqlTransaction tx, string[] names, CancellationToken ct)
    {
        var tags = new Dictionary<(string, string), List<Tag>>();
        await using (var reader = await Cmd(c, tx, "ModelVersionTags", ("names", names)).ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var k = (reader.Get<string>("name"), reader.Get<int>("version").ToString());
                if (!tags.TryGetValue(k, out var list)) tags[k] = list = [];
                list.Add(new Tag(reader.Get<string>("key"), reader.Get<string>("value")));
            }
        var aliases = new List<(string, string, int)>();
        await using (var reader = await Cmd(c, tx, "AliasesOfModels", ("names", names)).ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) aliases.Add((reader.Get<string>("name"), reader.Get<string>("alias"), reader.Get<int>("version")));
        return (tags, aliases);
    }

    private static async Task<ModelVersion> ModelVersionOrThrow(NpgsqlConnection c, NpgsqlTransaction tx, string name, int version, CancellationToken ct)
    {
        var found = await ReadVersions(Cmd(c, tx, "ModelVersionGet", ("name", name), ("version", version)), ct);
        if (found.Count == 0) throw MlflowException.NotFound($"Model Version (name={name}, version={version}) not found");
        var (tags, aliases) = await VersionExtras(c, tx, [name], ct);
        var mine = aliases.Where(a => a.Version == version).Select(a => a.Alias).ToList();
        return found[0] with
        {
            Tags = tags.GetValueOrDefault((name, version.ToString())),
            Aliases = mine.Count > 0 ? mine : null,
        };
    }

    private static async Task<List<RegisteredModel>> RegisteredModels(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<string> names, CancellationToken ct)
    {
        var arr = names.ToArray();
        var models = new List<RegisteredModel>();
        foreach (var name in arr)
        {
            await using var reader = await Cmd(c, tx, "RegisteredModelByName", ("name", name)).ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
                models.Add(new RegisteredModel
                {
                    Name = reader.Get<string>("name"),
                    CreationTimestamp = reader.Get<long>("creation_timestamp"),
                    LastUpdatedTimestamp = reader.Get<long>("last_updated_timestamp"),
                    Description = reader.GetOrDefault<string>("description"),
                });
        }
        var latest = await ReadVersions(Cmd(c, tx, "ModelVersionsLatestPerStage", ("names", arr)), ct);
        var (versionTags, aliases) = await VersionExtras(c, tx, arr, ct);
        var modelTags = new Dictionary<string, List<Tag>>();
        await using (var reader = await Cmd(c, tx, "RegisteredModelTags", ("names", arr)).ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var name = reader.Get<string>("name");
                if (!modelTags.TryGetValue(name, out var list)) modelTags[name] = list = [];
                list.Add(new Tag(reader.Get<string>("key"), reader.Get<string>("value")));
            }
        return models.Select(m =>
        {
            // As MLflow: latest_versions (one per stage) carry tags but not aliases; aliases are listed on the model.
            var versions = latest.Where(v => v.Name == m.Name)
                .Select(v => v with { Tags = versionTags.GetValueOrDefault((v.Name, v.Version)) })
                .OrderBy(v => int.Parse(v.Version)).ToList();
            var mine = aliases.Where(a => a.Name == m.Name).Select(a => new RegisteredModelAlias(a.Alias, a.Version.ToString())).ToList();
            return m with
            {
                LatestVersions = versions.Count > 0 ? versions : null,
                Tags = modelTags.GetValueOrDefault(m.Name),
                Aliases = mine.Count > 0 ? mine : null,
            };
        }).ToList();
    }
}

