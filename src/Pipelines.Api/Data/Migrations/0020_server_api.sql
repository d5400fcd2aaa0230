-- The HTTP API's state: live events (fed by triggers on the engine's tables), API keys, browser sessions, the
-- append-only audit log, login throttling and the workflow registry with version history.

-- Events are written by triggers in the transaction that changed the state, so an event exists exactly when its
-- change committed. seq is insertion order, which is not commit order (a transaction that started earlier may commit
-- later); clients resume from an id, so ids must only ever grow in the order rows become visible. The server gives
-- each committed row its position afterwards, one assigner at a time (see EventPositions), which is that order.
CREATE TABLE events (
    seq        bigserial PRIMARY KEY,
    position   bigint NULL UNIQUE,
    kind       text NOT NULL CHECK (kind IN ('run', 'step', 'item', 'log', 'approval')),
    run_id     uuid NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_unpositioned ON events (seq) WHERE position IS NULL;
CREATE INDEX events_run ON events (run_id, position);
CREATE SEQUENCE event_positions;

CREATE FUNCTION events_on_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO events (kind, run_id, data)
        VALUES ('run', NEW.id, jsonb_build_object('runId', NEW.id, 'workflow', NEW.workflow_name, 'state', NEW.state));
        PERFORM pg_notify('pipelines_events_raw', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_on_run AFTER INSERT OR UPDATE OF state ON runs FOR EACH ROW EXECUTE FUNCTION events_on_run();

CREATE FUNCTION events_on_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state OR OLD.attempt IS DISTINCT FROM NEW.attempt THEN
        IF NEW.parent_id IS NULL THEN
            INSERT INTO events (kind, run_id, data)
            VALUES ('step', NEW.run_id, jsonb_build_object('runId', NEW.run_id, 'step', NEW.step_id, 'state', NEW.state, 'attempt', NEW.attempt));
        ELSE
            INSERT INTO events (kind, run_id, data)
            VALUES ('item', NEW.run_id, jsonb_build_object('runId', NEW.run_id, 'step', NEW.step_id, 'index', NEW.item_index,
                                                           'state', NEW.state, 'attempt', NEW.attempt));
        END IF;
        PERFORM pg_notify('pipelines_events_raw', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_on_step AFTER INSERT OR UPDATE OF state, attempt ON step_runs FOR EACH ROW EXECUTE FUNCTION events_on_step();

-- Log lines arrive when an attempt's logs are written; only the lines added by this change become events.
CREATE FUNCTION events_on_attempt_logs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added text;
    s record;
BEGIN
    added := CASE WHEN TG_OP = 'INSERT' THEN NEW.logs
                  WHEN starts_with(NEW.logs, OLD.logs) THEN substr(NEW.logs, length(OLD.logs) + 1)
                  ELSE NEW.logs END;
    IF added IS NULL OR added = '' THEN RETURN NULL; END IF;
    SELECT run_id, step_id, item_index INTO s FROM step_runs WHERE id = NEW.step_run_id;
    INSERT INTO events (kind, run_id, data)
    SELECT 'log', s.run_id, jsonb_build_object('runId', s.run_id, 'step', s.step_id, 'index', s.item_index, 'attempt', NEW.attempt, 'line', line)
    FROM regexp_split_to_table(rtrim(added, E'\n'), E'\n') WITH ORDINALITY AS l(line, n)
    WHERE line <> ''
    ORDER BY n;
    PERFORM pg_notify('pipelines_events_raw', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_on_attempt_logs AFTER INSERT OR UPDATE OF logs ON attempts FOR EACH ROW EXECUTE FUNCTION events_on_attempt_logs();

CREATE FUNCTION events_on_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.decision IS DISTINCT FROM NEW.decision THEN
        INSERT INTO events (kind, run_id, data)
        VALUES ('approval', NEW.run_id, jsonb_build_object('approvalId', NEW.step_run_id, 'runId', NEW.run_id,
                                                           'state', coalesce(NEW.decision, 'waiting'), 'decidedBy', NEW.decided_by));
        PERFORM pg_notify('pipelines_events_raw', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_on_approval AFTER INSERT OR UPDATE OF decision ON approvals FOR EACH ROW EXECUTE FUNCTION events_on_approval();

-- API keys: only a SHA-256 of the secret part is kept; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    hash         bytea NOT NULL UNIQUE,
    roles        text[] NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['viewer', 'operator', 'approver', 'admin']),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NULL,
    revoked_at   timestamptz NULL,
    revoked_by   text NULL,
    last_used_at timestamptz NULL,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- Browser sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE api_sessions (
    hash       bytea PRIMARY KEY,
    user_name  text NOT NULL,
    roles      text[] NOT NULL,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX api_sessions_expiry ON api_sessions (expires_at);

-- Every mutating API call, whatever its outcome. Append-only: the database refuses updates, deletes and truncation.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL,
    user_name      text NOT NULL,
    action         text NOT NULL,
    target         text NOT NULL,
    client_address text NULL,
    outcome        int NOT NULL,
    detail         text NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Failed logins per client address, for throttling.
CREATE TABLE login_failures (
    client     text PRIMARY KEY,
    failures   int NOT NULL,
    last_at    timestamptz NOT NULL
);

-- Workflows managed through the API: a name, its current revision and every earlier one.
CREATE TABLE api_workflows (
    name             text PRIMARY KEY,
    current_revision int NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_by       text NOT NULL,
    deleted_at       timestamptz NULL
);
CREATE TABLE api_workflow_revisions (
    name                text NOT NULL REFERENCES api_workflows(name) ON DELETE CASCADE,
    revision            int NOT NULL CHECK (revision >= 1),
    workflow_version_id bigint NOT NULL REFERENCES workflow_versions(id),
    created_at          timestamptz NOT NULL,
    created_by          text NOT NULL,
    comment             text NULL,
    PRIMARY KEY (name, revision)
);
