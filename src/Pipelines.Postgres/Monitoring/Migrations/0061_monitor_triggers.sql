-- Triggers (issue 18): a step that starts another workflow, e.g. retraining on a drift alert. One start per
-- de-duplication key and time window: the first step to claim (key, window) starts the run; concurrent or later
-- claims in the same window get that run instead. The row is the lineage: which run and step started which run.
CREATE TABLE monitor_triggers (
    dedup_key          text        NOT NULL,
    window_start       timestamptz NOT NULL,
    triggering_run_id  uuid        NOT NULL,
    triggering_step_id text        NOT NULL,
    workflow           text        NOT NULL,
    params             jsonb       NOT NULL,
    reason             text        NULL,
    claimed_at         timestamptz NOT NULL,
    started_run_id     uuid        NULL,
    PRIMARY KEY (dedup_key, window_start)
);
