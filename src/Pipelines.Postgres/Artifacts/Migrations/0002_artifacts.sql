-- Artifacts: every dataset and model a step wrote, registered after its upload completed, and which step
-- attempts consumed which artifacts (lineage). Rows are never updated: an artifact is immutable.

CREATE TABLE artifacts (
    id          uuid PRIMARY KEY,
    uri         text NOT NULL UNIQUE,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size        bigint NOT NULL CHECK (size >= 0),
    media_type  text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('table', 'model', 'file')),
    name        text NULL,
    schema      jsonb NULL,
    row_count   bigint NULL CHECK (row_count >= 0),
    -- The producing step attempt; NULL for artifacts registered by hand (e.g. `pipelines artifacts put`).
    -- Deleting a run keeps its artifacts and forgets the producer.
    step_run_id uuid NULL,
    attempt     int NULL,
    created_at  timestamptz NOT NULL,
    FOREIGN KEY (step_run_id, attempt) REFERENCES attempts (step_run_id, attempt) ON DELETE SET NULL,
    CHECK ((step_run_id IS NULL) = (attempt IS NULL)),
    -- A table artifact always carries what its footer said: schema and row count.
    CHECK (kind <> 'table' OR (schema IS NOT NULL AND row_count IS NOT NULL))
);
CREATE INDEX artifacts_sha256 ON artifacts (sha256);
CREATE INDEX artifacts_producer ON artifacts (step_run_id, attempt) WHERE step_run_id IS NOT NULL;
CREATE INDEX artifacts_created ON artifacts (created_at DESC);

CREATE TABLE artifact_inputs (
    step_run_id uuid NOT NULL,
    attempt     int NOT NULL,
    input_name  text NOT NULL,
    artifact_id uuid NOT NULL REFERENCES artifacts (id),
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (step_run_id, attempt, input_name, artifact_id),
    FOREIGN KEY (step_run_id, attempt) REFERENCES attempts (step_run_id, attempt) ON DELETE CASCADE
);
CREATE INDEX artifact_inputs_artifact ON artifact_inputs (artifact_id);
