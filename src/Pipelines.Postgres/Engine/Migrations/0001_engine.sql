-- The engine's state. The database is the single source of truth: every state is a closed set enforced by
-- CHECK constraints, and terminal states are tied to finalized_at so a half-finished row cannot exist.

CREATE TABLE workflow_versions (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    content_hash text NOT NULL,
    source_path  text NOT NULL,
    source_text  text NOT NULL,
    created_at   timestamptz NOT NULL,
    UNIQUE (name, content_hash)
);

CREATE TABLE schedules (
    id                  bigserial PRIMARY KEY,
    workflow_name       text NOT NULL UNIQUE,
    workflow_version_id bigint NOT NULL REFERENCES workflow_versions(id),
    cron                text NOT NULL,
    timezone            text NOT NULL,
    catch_up            text NOT NULL CHECK (catch_up IN ('skip', 'latest', 'all')),
    max_catch_up        int NOT NULL CHECK (max_catch_up >= 1),
    max_concurrent_runs int NOT NULL CHECK (max_concurrent_runs >= 1),
    params              jsonb NOT NULL DEFAULT '{}',
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    last_fire_at        timestamptz NULL,
    next_fire_at        timestamptz NULL
);

CREATE TABLE runs (
    id                  uuid PRIMARY KEY,
    workflow_version_id bigint NOT NULL REFERENCES workflow_versions(id),
    workflow_name       text NOT NULL,
    state               text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'stopped')),
    params              jsonb NOT NULL,
    trigger             text NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    created_by          text NOT NULL,
    schedule_id         bigint NULL REFERENCES schedules(id) ON DELETE SET NULL,
    scheduled_for       timestamptz NULL,
    cancel_requested_at timestamptz NULL,
    cancel_requested_by text NULL,
    error               text NULL,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz NULL,
    finalized_at        timestamptz NULL,
    CHECK ((state IN ('succeeded', 'failed', 'cancelled', 'stopped')) = (finalized_at IS NOT NULL)),
    CHECK (state = 'queued' OR started_at IS NOT NULL)
);
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE INDEX runs_active ON runs (workflow_name) WHERE state IN ('queued', 'running');

-- Step runs are also the job queue (no separate queue table to keep consistent): a row in state
-- 'available' is a job; claiming it moves it to 'running' under a lease.
CREATE TABLE step_runs (
    id               uuid PRIMARY KEY,
    run_id           uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id          text NOT NULL,
    position         int NOT NULL,
    parent_id        uuid NULL REFERENCES step_runs(id) ON DELETE CASCADE,
    item_index       int NULL,
    item             jsonb NULL,
    kind             text NOT NULL,
    activity_version text NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'available', 'running', 'retrying', 'waiting',
                                                    'succeeded', 'failed', 'stopped', 'skipped', 'cancelled')),
    queue            text NOT NULL,
    attempt          int NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     int NOT NULL CHECK (max_attempts >= 1),
    rescues          int NOT NULL DEFAULT 0,
    timeout_ms       bigint NULL,
    backoff          jsonb NOT NULL,
    inputs           jsonb NULL,
    outputs          jsonb NULL,
    error            text NULL,
    cache_key        text NULL,
    cached_from      uuid NULL,
    children_total   int NULL,
    children_open    int NULL,
    max_parallel     int NULL,
    available_at     timestamptz NULL,
    lease_owner      text NULL,
    lease_expires_at timestamptz NULL,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz NULL,
    finalized_at     timestamptz NULL,
    UNIQUE NULLS NOT DISTINCT (run_id, step_id, item_index),
    CHECK ((state IN ('succeeded', 'failed', 'stopped', 'skipped', 'cancelled')) = (finalized_at IS NOT NULL)),
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK (state NOT IN ('available', 'retrying') OR available_at IS NOT NULL),
    CHECK ((parent_id IS NULL) = (item_index IS NULL))
);
-- Matches the claim's ORDER BY, so a claim reads the first few entries instead of sorting every queued job.
CREATE INDEX step_runs_claim ON step_runs (available_at, id) INCLUDE (queue) WHERE state = 'available';
CREATE INDEX step_runs_leases ON step_runs (lease_expires_at) WHERE state = 'running';
CREATE INDEX step_runs_retries ON step_runs (available_at) WHERE state = 'retrying';
CREATE INDEX step_runs_cache ON step_runs (cache_key) WHERE state = 'succeeded' AND cache_key IS NOT NULL;
CREATE INDEX step_runs_run ON step_runs (run_id) WHERE parent_id IS NULL;
CREATE INDEX step_runs_children ON step_runs (parent_id, item_index) WHERE parent_id IS NOT NULL;

-- One row per try of a step run, kept forever: the history users read after a crash.
CREATE TABLE attempts (
    step_run_id uuid NOT NULL REFERENCES step_runs(id) ON DELETE CASCADE,
    attempt     int NOT NULL,
    worker_id   text NOT NULL,
    state       text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'stopped', 'lost', 'cancelled', 'timed_out', 'handed_back')),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NULL,
    error       text NULL,
    logs        text NOT NULL DEFAULT '',
    PRIMARY KEY (step_run_id, attempt),
    CHECK ((state = 'running') = (ended_at IS NULL))
);

CREATE TABLE approvals (
    step_run_id         uuid PRIMARY KEY REFERENCES step_runs(id) ON DELETE CASCADE,
    run_id              uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    summary             jsonb NULL,
    allow_self_approval boolean NOT NULL,
    approvers           text[] NOT NULL DEFAULT '{}',
    requested_at        timestamptz NOT NULL,
    expires_at          timestamptz NULL,
    decision            text NULL CHECK (decision IN ('approved', 'rejected', 'expired')),
    decided_by          text NULL,
    decided_at          timestamptz NULL,
    comment             text NULL,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX approvals_open ON approvals (expires_at) WHERE decision IS NULL;

-- The primary key makes "exactly one run per fire time" hold however many schedulers race.
CREATE TABLE schedule_fires (
    schedule_id bigint NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    fire_time   timestamptz NOT NULL,
    run_id      uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    fired_at    timestamptz NOT NULL,
    PRIMARY KEY (schedule_id, fire_time)
);

CREATE TABLE workers (
    id           text PRIMARY KEY,
    host         text NOT NULL,
    pid          int NOT NULL,
    queues       text[] NOT NULL,
    concurrency  int NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    stopped_at   timestamptz NULL
);
