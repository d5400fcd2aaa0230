-- State that activities keep between runs (issue 7), e.g. the watermark of an incremental ingest.
-- Each attempt writes its own row; a value counts only once its attempt has succeeded, so a crash after the
-- write but before the step's completion commits never advances the state (the retry loads the same rows).
CREATE TABLE activity_state (
    key         text        NOT NULL,
    step_run_id uuid        NOT NULL,
    attempt     int         NOT NULL,
    value       jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (key, step_run_id, attempt)
);

CREATE INDEX activity_state_latest ON activity_state (key, recorded_at DESC);
