-- The built-in MLflow-compatible tracking store and model registry (issue 6).
-- Times are epoch milliseconds (bigint), as MLflow reports them. `seq` columns keep insertion order,
-- which is the order MLflow's server lists tags, params and metrics in; an upsert keeps the first seq.

CREATE TABLE mlflow_experiments (
    experiment_id     bigint PRIMARY KEY,
    name              text   NOT NULL UNIQUE,
    artifact_location text   NOT NULL,
    lifecycle_stage   text   NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     bigint NOT NULL,
    last_update_time  bigint NOT NULL
);
-- MLflow's "Default" experiment is id 0; created experiments count from 1.
CREATE SEQUENCE mlflow_experiment_ids START 1 OWNED BY mlflow_experiments.experiment_id;
INSERT INTO mlflow_experiments (experiment_id, name, artifact_location, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0',
        (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

CREATE TABLE mlflow_experiment_tags (
    experiment_id bigint NOT NULL REFERENCES mlflow_experiments ON DELETE CASCADE,
    key           text   NOT NULL,
    value         text   NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE mlflow_runs (
    run_uuid        text   PRIMARY KEY,
    experiment_id   bigint NOT NULL REFERENCES mlflow_experiments,
    run_name        text   NOT NULL,
    user_id         text   NOT NULL DEFAULT '',
    status          text   NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      bigint NOT NULL,
    end_time        bigint,
    lifecycle_stage text   NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    artifact_uri    text   NOT NULL
);
CREATE INDEX mlflow_runs_experiment ON mlflow_runs (experiment_id, start_time DESC);

CREATE TABLE mlflow_run_tags (
    run_uuid text   NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
    key      text   NOT NULL,
    value    text   NOT NULL,
    seq      bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (run_uuid, key)
);

CREATE TABLE mlflow_run_params (
    run_uuid text   NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
    key      text   NOT NULL,
    value    text   NOT NULL,
    seq      bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (run_uuid, key)
);

-- Every logged value (metric history).
CREATE TABLE mlflow_metrics (
    run_uuid  text             NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
    key       text             NOT NULL,
    value     double precision NOT NULL,
    timestamp bigint           NOT NULL,
    step      bigint           NOT NULL,
    seq       bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX mlflow_metrics_run_key ON mlflow_metrics (run_uuid, key, step, timestamp);

-- The value MLflow reports in run.data.metrics: the greatest (step, timestamp, value) per key.
CREATE TABLE mlflow_latest_metrics (
    run_uuid  text             NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
    key       text             NOT NULL,
    value     double precision NOT NULL,
    timestamp bigint           NOT NULL,
    step      bigint           NOT NULL,
    seq       bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (run_uuid, key)
);

CREATE TABLE mlflow_registered_models (
    name                   text   PRIMARY KEY,
    creation_timestamp     bigint NOT NULL,
    last_updated_timestamp bigint NOT NULL,
    description            text
);

CREATE TABLE mlflow_registered_model_tags (
    name  text   NOT NULL REFERENCES mlflow_registered_models ON DELETE CASCADE ON UPDATE CASCADE,
    key   text   NOT NULL,
    value text   NOT NULL,
    seq   bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (name, key)
);

CREATE TABLE mlflow_model_versions (
    name                   text   NOT NULL REFERENCES mlflow_registered_models ON DELETE CASCADE ON UPDATE CASCADE,
    version                int    NOT NULL CHECK (version > 0),
    creation_timestamp     bigint NOT NULL,
    last_updated_timestamp bigint NOT NULL,
    user_id                text,
    current_stage          text   NOT NULL DEFAULT 'None' CHECK (current_stage IN ('None', 'Staging', 'Production', 'Archived')),
    description            text   NOT NULL DEFAULT '',
    source                 text   NOT NULL,
    run_id                 text,
    run_link               text   NOT NULL DEFAULT '',
    status                 text   NOT NULL DEFAULT 'READY' CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
    status_message         text,
    PRIMARY KEY (name, version)
);

CREATE TABLE mlflow_model_version_tags (
    name    text   NOT NULL,
    version int    NOT NULL,
    key     text   NOT NULL,
    value   text   NOT NULL,
    seq     bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES mlflow_model_versions ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE mlflow_registered_model_aliases (
    name    text NOT NULL REFERENCES mlflow_registered_models ON DELETE CASCADE ON UPDATE CASCADE,
    alias   text NOT NULL,
    version int  NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES mlflow_model_versions ON DELETE CASCADE ON UPDATE CASCADE
);
