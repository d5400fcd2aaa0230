-- The built-in MLflow-compatible tracking store: one statement per named operation.
-- Tables are created by Pipelines.Postgres/Migrations/0003_tracking.sql. Times are epoch milliseconds.

-- name: ExperimentInsert
-- Zero rows when the name is taken (RESOURCE_ALREADY_EXISTS); the sequence number is then simply skipped.
WITH id AS (SELECT nextval('mlflow_experiment_ids') AS v)
INSERT INTO mlflow_experiments (experiment_id, name, artifact_location, creation_time, last_update_time)
SELECT v, @name, coalesce(@artifact_location, 'mlflow-artifacts:/' || v), @now, @now FROM id
ON CONFLICT (name) DO NOTHING
RETURNING experiment_id;

-- name: ExperimentById
SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
FROM mlflow_experiments WHERE experiment_id = @experiment_id;

-- name: ExperimentByName
SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
FROM mlflow_experiments WHERE name = @name;

-- name: ExperimentsAll
SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
FROM mlflow_experiments ORDER BY experiment_id;

-- name: ExperimentTags
SELECT experiment_id, key, value FROM mlflow_experiment_tags WHERE experiment_id = ANY(@experiment_ids) ORDER BY seq;

-- name: ExperimentTagUpsert
INSERT INTO mlflow_experiment_tags (experiment_id, key, value)
SELECT @experiment_id, k, v FROM unnest(@keys::text[], @values::text[]) AS t(k, v)
ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value;

-- name: RunInsert
INSERT INTO mlflow_runs (run_uuid, experiment_id, run_name, user_id, status, start_time, artifact_uri)
VALUES (@run_uuid, @experiment_id, @run_name, @user_id, 'RUNNING', @start_time, @artifact_uri);

-- name: RunLock
-- Serializes writers of one run (param immutability checks, latest-metric upserts) for the transaction.
SELECT lifecycle_stage FROM mlflow_runs WHERE run_uuid = @run_uuid FOR UPDATE;

-- name: RunInfoById
SELECT run_uuid, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage
FROM mlflow_runs WHERE run_uuid = @run_uuid;

-- name: RunUpdate
UPDATE mlflow_runs
SET status   = coalesce(@status, status),
    end_time = coalesce(@end_time, end_time),
    run_name = coalesce(@run_name, run_name)
WHERE run_uuid = @run_uuid;

-- name: RunSetLifecycle
UPDATE mlflow_runs SET lifecycle_stage = @lifecycle_stage WHERE run_uuid = @run_uuid;

-- name: RunRename
UPDATE mlflow_runs SET run_name = @run_name WHERE run_uuid = @run_uuid;

-- name: RunsWithData
-- Runs with their latest metrics, params and tags in insertion order; search filters, orders and pages these.
SELECT r.run_uuid, r.experiment_id, r.run_name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', m.key, 'value', m.value, 'timestamp', m.timestamp, 'step', m.step) ORDER BY m.seq), '[]')
          FROM mlflow_latest_metrics m WHERE m.run_uuid = r.run_uuid)::text AS metrics,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', p.key, 'value', p.value) ORDER BY p.seq), '[]')
          FROM mlflow_run_params p WHERE p.run_uuid = r.run_uuid)::text AS params,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', t.key, 'value', t.value) ORDER BY t.seq), '[]')
          FROM mlflow_run_tags t WHERE t.run_uuid = r.run_uuid)::text AS tags
FROM mlflow_runs r
WHERE (r.run_uuid = @run_uuid::text OR @run_uuid::text IS NULL)
  AND (r.experiment_id = ANY(@experiment_ids::bigint[]) OR @experiment_ids::bigint[] IS NULL)
  AND r.lifecycle_stage = ANY(@lifecycle_stages::text[]);

-- name: RunTagUpsert
INSERT INTO mlflow_run_tags (run_uuid, key, value)
SELECT @run_uuid, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value;

-- name: RunTagDelete
DELETE FROM mlflow_run_tags WHERE run_uuid = @run_uuid AND key = @key;

-- name: RunParamsInsert
-- Params are immutable: an existing key keeps its value, and the caller compares what is returned (the stored
-- values) with what was asked, failing the transaction on a difference.
INSERT INTO mlflow_run_params (run_uuid, key, value)
SELECT @run_uuid, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (run_uuid, key) DO UPDATE SET value = mlflow_run_params.value
RETURNING key, value;

-- name: MetricsInsert
INSERT INTO mlflow_metrics (run_uuid, key, value, timestamp, step)
SELECT @run_uuid, k, v, ts, s
FROM unnest(@keys::text[], @values::float8[], @timestamps::bigint[], @steps::bigint[]) WITH ORDINALITY AS t(k, v, ts, s, i) ORDER BY i;

-- name: LatestMetricsUpsert
-- One row per key (the caller passes each key's greatest (step, timestamp, value) of the request).
INSERT INTO mlflow_latest_metrics AS l (run_uuid, key, value, timestamp, step)
SELECT @run_uuid, k, v, ts, s
FROM unnest(@keys::text[], @values::float8[], @timestamps::bigint[], @steps::bigint[]) WITH ORDINALITY AS t(k, v, ts, s, i) ORDER BY i
ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step
WHERE (excluded.step, excluded.timestamp, excluded.value) > (l.step, l.timestamp, l.value);

-- name: MetricHistory
SELECT key, value, timestamp, step FROM mlflow_metrics
WHERE run_uuid = @run_uuid AND key = @key
ORDER BY step, timestamp, seq;

-- name: RegisteredModelInsert
INSERT INTO mlflow_registered_models (name, creation_timestamp, last_updated_timestamp, description)
VALUES (@name, @now, @now, @description)
ON CONFLICT (name) DO NOTHING
RETURNING name;

-- name: RegisteredModelByName
SELECT name, creation_timestamp, last_updated_timestamp, description FROM mlflow_registered_models WHERE name = @name;

-- name: RegisteredModelLock
-- Serializes version numbering (and alias moves) per model.
SELECT name FROM mlflow_registered_models WHERE name = @name FOR UPDATE;

-- name: RegisteredModelsAll
SELECT name, creation_timestamp, last_updated_timestamp, description FROM mlflow_registered_models ORDER BY name;

-- name: RegisteredModelTouch
UPDATE mlflow_registered_models SET last_updated_timestamp = @now WHERE name = @name;

-- name: RegisteredModelTags
SELECT name, key, value FROM mlflow_registered_model_tags WHERE name = ANY(@names) ORDER BY seq;

-- name: RegisteredModelTagUpsert
INSERT INTO mlflow_registered_model_tags (name, key, value)
SELECT @name, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (name, key) DO UPDATE SET value = excluded.value;

-- name: ModelVersionInsert
INSERT INTO mlflow_model_versions (name, version, creation_timestamp, last_updated_timestamp, description, source, run_id, run_link, status)
SELECT @name, coalesce(max(version), 0) + 1, @now, @now, @description, @source, @run_id, @run_link, 'READY'
FROM mlflow_model_versions WHERE name = @name
RETURNING version;

-- name: ModelVersionGet
SELECT name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage, description, source, run_id, run_link, status, status_message
FROM mlflow_model_versions WHERE name = @name AND version = @version;

-- name: ModelVersionsLatestPerStage
SELECT DISTINCT ON (name, current_stage)
       name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage, description, source, run_id, run_link, status, status_message
FROM mlflow_model_versions WHERE name = ANY(@names)
ORDER BY name, current_stage, version DESC;

-- name: ModelVersionTags
SELECT name, version, key, value FROM mlflow_model_version_tags WHERE name = ANY(@names) ORDER BY seq;

-- name: ModelVersionTagUpsert
INSERT INTO mlflow_model_version_tags (name, version, key, value)
SELECT @name, @version, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value;

-- name: AliasesOfModels
SELECT name, alias, version FROM mlflow_registered_model_aliases WHERE name = ANY(@names) ORDER BY name, alias;

-- name: AliasUpsert
INSERT INTO mlflow_registered_model_aliases (name, alias, version) VALUES (@name, @alias, @version)
ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version;

-- name: AliasGet
SELECT version FROM mlflow_registered_model_aliases WHERE name = @name AND alias = @alias;

-- name: AliasDelete
DELETE FROM mlflow_registered_model_aliases WHERE name = @name AND alias = @alias;
