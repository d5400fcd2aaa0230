-- The event triggers (0020) no longer call pg_notify. A NOTIFY inside a transaction makes its commit take
-- PostgreSQL's global notification-queue lock and hold it through the commit's WAL flush, so every transaction that
-- changed a step or run committed one at a time: that was the engine's throughput and handoff regression (issue 19).
-- The triggers still write the event rows in the changing transaction; the engine sends the wake-up after commit,
-- coalesced (see PostCommitNotifier), and the event stream also polls.

CREATE OR REPLACE FUNCTION events_on_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO events (kind, run_id, data)
        VALUES ('run', NEW.id, jsonb_build_object('runId', NEW.id, 'workflow', NEW.workflow_name, 'state', NEW.state));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION events_on_step() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END IF;
    RETURN NULL;
END $$;

-- Log lines arrive when an attempt's logs are written; only the lines added by this change become events.
CREATE OR REPLACE FUNCTION events_on_attempt_logs() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION events_on_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.decision IS DISTINCT FROM NEW.decision THEN
        INSERT INTO events (kind, run_id, data)
        VALUES ('approval', NEW.run_id, jsonb_build_object('approvalId', NEW.step_run_id, 'runId', NEW.run_id,
                                                           'state', coalesce(NEW.decision, 'waiting'), 'decidedBy', NEW.decided_by));
    END IF;
    RETURN NULL;
END $$;
