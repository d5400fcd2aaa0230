-- Event triggers (issue 18): a workflow declares the events it starts on (`on:` — another workflow's success, a
-- monitor's alert, a new file), registered by the same sync as schedules. The leader detects events and records each
-- one per trigger exactly once (trigger_events' primary key); with a window, the first event of a window starts the
-- run and later ones are recorded against it (trigger_windows' primary key). The event row of a run is its lineage:
-- which run, monitored batch or file started it.
ALTER TABLE runs DROP CONSTRAINT runs_trigger_check;
ALTER TABLE runs ADD CONSTRAINT runs_trigger_check CHECK (trigger IN ('manual', 'schedule', 'event'));

CREATE TABLE workflow_triggers (
    id                  bigserial   PRIMARY KEY,
    workflow_name       text        NOT NULL,
    -- kind:source, e.g. 'monitor_alert:adult-income'; one row per entry of `on:` across syncs.
    trigger_key         text        NOT NULL,
    workflow_version_id bigint      NOT NULL REFERENCES workflow_versions(id),
    kind                text        NOT NULL CHECK (kind IN ('workflow_succeeded', 'monitor_alert', 'file')),
    source              text        NOT NULL,
    window_ms           bigint      NULL CHECK (window_ms > 0),
    settle_ms           bigint      NOT NULL CHECK (settle_ms >= 0),
    enabled             boolean     NOT NULL DEFAULT true,
    -- Events before this (registration, or re-enabling) do not fire: a new trigger never replays history.
    since               timestamptz NOT NULL,
    -- The leader's last scan. Run and alert scans look back from here (TriggerFiring.ScanFrom), so each reads recent
    -- rows only (the event rows' primary key keeps what it reads twice from firing twice); null for a file trigger means
    -- its first scan is still to take the baseline.
    checked_to          timestamptz NULL,
    created_at          timestamptz NOT NULL,
    UNIQUE (workflow_name, trigger_key)
);

CREATE TABLE trigger_events (
    trigger_id   bigint      NOT NULL REFERENCES workflow_triggers(id) ON DELETE CASCADE,
    event_key    text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    detected_at  timestamptz NOT NULL,
    -- The event's facts (kind, source run, monitor batch, file path...).
    event        jsonb       NOT NULL,
    -- The run this event started, or (deduplicated) the window's run it was recorded against; null when starting failed.
    run_id       uuid        NULL REFERENCES runs(id) ON DELETE SET NULL,
    deduplicated boolean     NOT NULL,
    error        text        NULL,
    -- A file trigger's first scan records the files already there as seen, without firing: only files that appear
    -- later are new (whatever their modification time: a file moved in keeps its old one).
    baseline     boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (trigger_id, event_key)
);
CREATE INDEX trigger_events_run ON trigger_events (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE trigger_windows (
    trigger_id   bigint      NOT NULL REFERENCES workflow_triggers(id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    run_id       uuid        NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    PRIMARY KEY (trigger_id, window_start)
);

-- workflow_succeeded events: a workflow's successes since a time.
CREATE INDEX runs_succeeded ON runs (workflow_name, finalized_at) WHERE state = 'succeeded';
