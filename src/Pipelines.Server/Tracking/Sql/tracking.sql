-- The built-in MLflow-compatible tracking store: one statement per named operation.
-- Tables are created by ../Migrations/0003_tracking.sql. Times are epoch milliseconds.

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

-- name: ExperimentSearch
-- Filter clauses as in RunsWithData (attributes name, creation_time, last_update_time; tags); ordering and paging
-- in the caller.
SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time
FROM mlflow_experiments e
WHERE e.lifecycle_stage = ANY(@lifecycle_stages::text[])
  AND NOT EXISTS (
      SELECT 1
      FROM unnest(@c_types::text[], @c_keys::text[], @c_ops::text[], @c_texts::text[], @c_numbers::float8[]) AS c(type, key, op, txt, num)
      WHERE NOT coalesce(CASE
          WHEN c.type = 'tags' THEN
              (SELECT mlflow_compare_text(t.value, c.op, c.txt) FROM mlflow_experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = c.key)
          WHEN c.key = 'name' THEN mlflow_compare_text(e.name, c.op, c.txt)
          WHEN c.key = 'creation_time' THEN mlflow_compare_number(e.creation_time, c.op, c.num)
          WHEN c.key = 'last_update_time' THEN mlflow_compare_number(e.last_update_time, c.op, c.num)
      END, false));

-- name: ExperimentSetLifecycle
-- Zero rows when the experiment is not in the expected stage (MLflow then reports it as not found).
UPDATE mlflow_experiments SET lifecycle_stage = @to_stage, last_update_time = @now
WHERE experiment_id = @experiment_id AND lifecycle_stage = @from_stage;

-- name: ExperimentRunsSetLifecycle
-- Deleting an experiment deletes its runs; restoring it restores them (as MLflow's SQL store).
UPDATE mlflow_runs
SET lifecycle_stage = @to_stage, deleted_time = CASE WHEN @to_stage = 'deleted' THEN @now END
WHERE experiment_id = @experiment_id AND lifecycle_stage = @from_stage;

-- name: ExperimentRename
-- Zero rows when the new name is taken.
UPDATE mlflow_experiments SET name = @new_name, last_update_time = @now
WHERE experiment_id = @experiment_id
  AND NOT EXISTS (SELECT 1 FROM mlflow_experiments o WHERE o.name = @new_name AND o.experiment_id <> @experiment_id);

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

-- name: RunExperiment
SELECT experiment_id FROM mlflow_runs WHERE run_uuid = @run_uuid;

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
UPDATE mlflow_runs
SET lifecycle_stage = @lifecycle_stage,
    deleted_time = CASE WHEN @lifecycle_stage = 'deleted' THEN @now END
WHERE run_uuid = @run_uuid;

-- name: RunRename
UPDATE mlflow_runs SET run_name = @run_name WHERE run_uuid = @run_uuid;

-- name: RunsWithData
-- Runs with their latest metrics, params, tags and dataset inputs in insertion order. Search filters are pushed
-- down as parallel arrays, one element per AND-ed clause (type, key, op, text value, number value, JSON list
-- for IN/NOT IN); a run is kept when no clause fails. Ordering and paging happen in the caller.
SELECT r.run_uuid, r.experiment_id, r.run_name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', m.key, 'value', m.value, 'timestamp', m.timestamp, 'step', m.step) ORDER BY m.seq), '[]')
          FROM mlflow_latest_metrics m WHERE m.run_uuid = r.run_uuid)::text AS metrics,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', p.key, 'value', p.value) ORDER BY p.seq), '[]')
          FROM mlflow_run_params p WHERE p.run_uuid = r.run_uuid)::text AS params,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', t.key, 'value', t.value) ORDER BY t.seq), '[]')
          FROM mlflow_run_tags t WHERE t.run_uuid = r.run_uuid)::text AS tags,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'tags', (SELECT jsonb_agg(jsonb_build_object('key', it.key, 'value', it.value) ORDER BY it.seq)
                              FROM mlflow_run_input_tags it WHERE it.run_uuid = i.run_uuid AND it.dataset_uuid = i.dataset_uuid),
                   'dataset', jsonb_strip_nulls(jsonb_build_object('name', d.name, 'digest', d.digest, 'source_type', d.source_type,
                                                                   'source', d.source, 'schema', d.schema, 'profile', d.profile)))
                 ORDER BY i.seq), '[]')
          FROM mlflow_run_inputs i JOIN mlflow_datasets d ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = r.run_uuid)::text AS inputs
FROM mlflow_runs r
WHERE (r.run_uuid = @run_uuid::text OR @run_uuid::text IS NULL)
  AND (r.experiment_id = ANY(@experiment_ids::bigint[]) OR @experiment_ids::bigint[] IS NULL)
  AND r.lifecycle_stage = ANY(@lifecycle_stages::text[])
  AND NOT EXISTS (
      SELECT 1
      FROM unnest(@c_types::text[], @c_keys::text[], @c_ops::text[], @c_texts::text[], @c_numbers::float8[], @c_lists::text[])
           AS c(type, key, op, txt, num, list)
      WHERE NOT coalesce(CASE
          WHEN c.type = 'metrics' THEN
              (SELECT mlflow_compare_number(m.value, c.op, c.num) FROM mlflow_latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = c.key)
          WHEN c.type = 'params' THEN
              (SELECT mlflow_compare_text(p.value, c.op, c.txt) FROM mlflow_run_params p WHERE p.run_uuid = r.run_uuid AND p.key = c.key)
          WHEN c.type = 'tags' THEN
              (SELECT mlflow_compare_text(t.value, c.op, c.txt) FROM mlflow_run_tags t WHERE t.run_uuid = r.run_uuid AND t.key = c.key)
          WHEN c.type = 'datasets' THEN EXISTS (
              -- Any dataset input of the run matches (context: the input's mlflow.data.context tag), as MLflow.
              SELECT 1 FROM mlflow_run_inputs i
              JOIN mlflow_datasets d ON d.dataset_uuid = i.dataset_uuid
              LEFT JOIN mlflow_run_input_tags it ON it.run_uuid = i.run_uuid AND it.dataset_uuid = i.dataset_uuid AND it.key = 'mlflow.data.context'
              WHERE i.run_uuid = r.run_uuid
                AND CASE WHEN c.op IN ('IN', 'NOT IN')
                         THEN (c.list::jsonb ? (CASE c.key WHEN 'name' THEN d.name WHEN 'digest' THEN d.digest ELSE it.value END)) = (c.op = 'IN')
                         ELSE mlflow_compare_text(CASE c.key WHEN 'name' THEN d.name WHEN 'digest' THEN d.digest ELSE it.value END, c.op, c.txt)
                    END)
          WHEN c.key = 'run_id' AND c.op IN ('IN', 'NOT IN') THEN (c.list::jsonb ? r.run_uuid) = (c.op = 'IN')
          WHEN c.key IN ('start_time', 'created') THEN mlflow_compare_number(r.start_time, c.op, c.num)
          WHEN c.key = 'end_time' THEN mlflow_compare_number(r.end_time, c.op, c.num)
          ELSE mlflow_compare_text(CASE c.key
              WHEN 'status' THEN r.status WHEN 'run_name' THEN r.run_name WHEN 'artifact_uri' THEN r.artifact_uri
              WHEN 'user_id' THEN r.user_id WHEN 'run_id' THEN r.run_uuid ELSE r.lifecycle_stage END, c.op, c.txt)
      END, false));

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

-- name: RegisteredModelRename
-- Tags, versions, version tags and aliases follow through ON UPDATE CASCADE.
UPDATE mlflow_registered_models SET name = @new_name, last_updated_timestamp = @now WHERE name = @name;

-- name: RegisteredModelSetDescription
UPDATE mlflow_registered_models SET description = @description, last_updated_timestamp = @now WHERE name = @name;

-- name: RegisteredModelDelete
-- Tags, versions, their tags and aliases go with it (ON DELETE CASCADE).
DELETE FROM mlflow_registered_models WHERE name = @name;

-- name: RegisteredModelTouch
UPDATE mlflow_registered_models SET last_updated_timestamp = @now WHERE name = @name;

-- name: RegisteredModelTags
SELECT name, key, value FROM mlflow_registered_model_tags WHERE name = ANY(@names) ORDER BY seq;

-- name: RegisteredModelTagUpsert
INSERT INTO mlflow_registered_model_tags (name, key, value)
SELECT @name, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (name, key) DO UPDATE SET value = excluded.value;

-- name: ModelVersionInsert
-- The caller holds RegisteredModelLock. Numbers continue past deleted versions (last_version, migration 0004).
WITH n AS (
    UPDATE mlflow_registered_models SET last_version = last_version + 1 WHERE name = @name RETURNING last_version
)
INSERT INTO mlflow_model_versions (name, version, creation_timestamp, last_updated_timestamp, description, source, run_id, run_link, status)
SELECT @name, n.last_version, @now, @now, @description, @source, @run_id, @run_link, 'READY' FROM n
RETURNING version;

-- name: ModelVersionDelete
-- Its tags and the aliases pointing at it go with it (ON DELETE CASCADE), as MLflow deletes them.
DELETE FROM mlflow_model_versions WHERE name = @name AND version = @version;

-- name: ModelVersionSetDescription
UPDATE mlflow_model_versions SET description = @description, last_updated_timestamp = @now WHERE name = @name AND version = @version;

-- name: ModelVersionSearch
-- Filter clauses: attributes name, run_id (also IN), source_path, version_number; tags. Ordering and paging in the caller.
SELECT v.name, v.version, v.creation_timestamp, v.last_updated_timestamp, v.user_id, v.current_stage, v.description, v.source,
       v.run_id, v.run_link, v.status, v.status_message
FROM mlflow_model_versions v
WHERE NOT EXISTS (
    SELECT 1
    FROM unnest(@c_types::text[], @c_keys::text[], @c_ops::text[], @c_texts::text[], @c_numbers::float8[], @c_lists::text[])
         AS c(type, key, op, txt, num, list)
    WHERE NOT coalesce(CASE
        WHEN c.type = 'tags' THEN
            (SELECT mlflow_compare_text(t.value, c.op, c.txt) FROM mlflow_model_version_tags t
              WHERE t.name = v.name AND t.version = v.version AND t.key = c.key)
        WHEN c.op IN ('IN', 'NOT IN') THEN (c.list::jsonb ? CASE c.key WHEN 'run_id' THEN v.run_id ELSE v.name END) = (c.op = 'IN')
        WHEN c.key = 'version_number' THEN mlflow_compare_number(v.version, c.op, c.num)
        ELSE mlflow_compare_text(CASE c.key WHEN 'name' THEN v.name WHEN 'run_id' THEN v.run_id ELSE v.source END, c.op, c.txt)
    END, false));

-- name: RegisteredModelSearch
-- Filter clauses: attribute name; tags.
SELECT m.name FROM mlflow_registered_models m
WHERE NOT EXISTS (
    SELECT 1
    FROM unnest(@c_types::text[], @c_keys::text[], @c_ops::text[], @c_texts::text[]) AS c(type, key, op, txt)
    WHERE NOT coalesce(CASE
        WHEN c.type = 'tags' THEN
            (SELECT mlflow_compare_text(t.value, c.op, c.txt) FROM mlflow_registered_model_tags t WHERE t.name = m.name AND t.key = c.key)
        ELSE mlflow_compare_text(m.name, c.op, c.txt)
    END, false))
ORDER BY m.name;

-- name: DatasetUpsert
-- A dataset is stored once per (experiment, name, digest); the first recording's source/schema/profile stay.
WITH ins AS (
    INSERT INTO mlflow_datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile)
    VALUES (@dataset_uuid, @experiment_id, @name, @digest, @source_type, @source, @schema, @profile)
    ON CONFLICT (experiment_id, name, digest) DO NOTHING
    RETURNING dataset_uuid
)
SELECT dataset_uuid FROM ins
UNION ALL
SELECT dataset_uuid FROM mlflow_datasets WHERE experiment_id = @experiment_id AND name = @name AND digest = @digest
LIMIT 1;

-- name: RunInputInsert
INSERT INTO mlflow_run_inputs (run_uuid, dataset_uuid) VALUES (@run_uuid, @dataset_uuid)
ON CONFLICT (run_uuid, dataset_uuid) DO NOTHING;

-- name: RunInputTagUpsert
INSERT INTO mlflow_run_input_tags (run_uuid, dataset_uuid, key, value)
SELECT @run_uuid, @dataset_uuid, k, v FROM unnest(@keys::text[], @values::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i
ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value;

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

-- name: RegisteredModelTagDelete
DELETE FROM mlflow_registered_model_tags WHERE name = @name AND key = @key;

-- name: ModelVersionTagDelete
DELETE FROM mlflow_model_version_tags WHERE name = @name AND version = @version AND key = @key;

-- name: ModelVersionSetStage
UPDATE mlflow_model_versions SET current_stage = @stage, last_updated_timestamp = @now WHERE name = @name AND version = @version;

-- name: ModelVersionsArchiveStage
-- transition-stage with archive_existing_versions: the other versions in the target stage become Archived.
UPDATE mlflow_model_versions SET current_stage = 'Archived', last_updated_timestamp = @now
WHERE name = @name AND version <> @version AND current_stage = @stage;
