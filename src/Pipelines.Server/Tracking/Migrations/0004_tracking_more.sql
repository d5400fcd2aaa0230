-- Tracking additions after 0003 (issue 6): dataset inputs of runs, version numbers that survive deletes,
-- deletion times, and the comparison functions run search pushes its filters down with.

-- A dataset belongs to an experiment and is identified by (name, digest) there, as in MLflow's SQL store.
CREATE TABLE mlflow_datasets (
    dataset_uuid  text   PRIMARY KEY,
    experiment_id bigint NOT NULL REFERENCES mlflow_experiments,
    name          text   NOT NULL,
    digest        text   NOT NULL,
    source_type   text   NOT NULL,
    source        text   NOT NULL,
    schema        text,
    profile       text,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE mlflow_run_inputs (
    run_uuid     text   NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
    dataset_uuid text   NOT NULL REFERENCES mlflow_datasets,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (run_uuid, dataset_uuid)
);

CREATE TABLE mlflow_run_input_tags (
    run_uuid     text   NOT NULL,
    dataset_uuid text   NOT NULL,
    key          text   NOT NULL,
    value        text   NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (run_uuid, dataset_uuid, key),
    FOREIGN KEY (run_uuid, dataset_uuid) REFERENCES mlflow_run_inputs ON DELETE CASCADE
);

-- A deleted version's number is never handed out again (MLflow keeps numbering past deleted versions).
ALTER TABLE mlflow_registered_models ADD COLUMN last_version int NOT NULL DEFAULT 0;
UPDATE mlflow_registered_models m
SET last_version = coalesce((SELECT max(v.version) FROM mlflow_model_versions v WHERE v.name = m.name), 0);

ALTER TABLE mlflow_runs ADD COLUMN deleted_time bigint;
CREATE INDEX mlflow_run_tags_key_value ON mlflow_run_tags (key, value);
CREATE INDEX mlflow_run_params_key_value ON mlflow_run_params (key, value);
CREATE INDEX mlflow_latest_metrics_key_value ON mlflow_latest_metrics (key, value);

-- Search comparators with MLflow's operators; an unknown operator never matches (the parser rejects it first).
CREATE FUNCTION mlflow_compare_number(actual double precision, op text, expected double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op
        WHEN '='  THEN actual = expected
        WHEN '!=' THEN actual <> expected
        WHEN '>'  THEN actual > expected
        WHEN '>=' THEN actual >= expected
        WHEN '<'  THEN actual < expected
        WHEN '<=' THEN actual <= expected
        ELSE false END
$$;

-- LIKE/ILIKE with no escape character: '\' is an ordinary character, as in MLflow's in-memory matcher.
CREATE FUNCTION mlflow_compare_text(actual text, op text, expected text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op
        WHEN '='     THEN actual = expected
        WHEN '!='    THEN actual <> expected
        WHEN 'LIKE'  THEN actual LIKE expected ESCAPE ''
        WHEN 'ILIKE' THEN actual ILIKE expected ESCAPE ''
        ELSE false END
$$;
