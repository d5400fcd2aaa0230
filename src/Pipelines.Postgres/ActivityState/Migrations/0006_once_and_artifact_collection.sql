-- Values that must be created at most once per key among all processes sharing the database, e.g. the MLflow
-- parent run of a pipeline run. The first creator holds a transaction-scoped advisory lock on the key while it
-- creates the value and inserts the row; everyone else waits on that lock and then reads the row.
CREATE TABLE activity_once (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Artifact collection: the bytes of an artifact that only a failed, timed-out, cancelled, stopped or lost attempt
-- produced (and that nothing kept refers to) are removed from the store; the registry row stays as history and
-- records when its bytes went. Nothing else about an artifact ever changes.
ALTER TABLE artifacts ADD COLUMN deleted_at timestamptz NULL;

-- Which finished, unsucceeded attempts have had their leftovers removed from which store (named by the URI
-- prefix of its keys), so each attempt's folder is listed once per store rather than on every pass.
CREATE TABLE artifact_sweeps (
    step_run_id   uuid NOT NULL,
    attempt       int NOT NULL,
    store         text NOT NULL,
    swept_at      timestamptz NOT NULL,
    removed       int NOT NULL CHECK (removed >= 0),
    removed_bytes bigint NOT NULL CHECK (removed_bytes >= 0),
    PRIMARY KEY (step_run_id, attempt, store),
    FOREIGN KEY (step_run_id, attempt) REFERENCES attempts (step_run_id, attempt) ON DELETE CASCADE
);

-- The collector walks unsucceeded attempts in the order they ended.
CREATE INDEX attempts_unsucceeded_ended ON attempts (ended_at, step_run_id, attempt) WHERE state NOT IN ('running', 'succeeded');
