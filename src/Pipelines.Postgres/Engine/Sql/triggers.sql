-- Event triggers (`on:`), migration 0080. The leader detects events, then records and fires each in its own
-- transaction under the trigger's row lock.

-- name: UpsertTrigger
-- Re-enabling a dropped trigger starts it afresh from now: events while it was off do not replay.
INSERT INTO workflow_triggers (workflow_name, trigger_key, workflow_version_id, kind, source, window_ms, settle_ms, enabled, since, created_at)
VALUES (@workflow, @key, @version_id, @kind, @source, @window_ms, @settle_ms, true, @now, @now)
ON CONFLICT (workflow_name, trigger_key) DO UPDATE
SET workflow_version_id = EXCLUDED.workflow_version_id, window_ms = EXCLUDED.window_ms, settle_ms = EXCLUDED.settle_ms,
    enabled = true,
    since = CASE WHEN workflow_triggers.enabled THEN workflow_triggers.since ELSE EXCLUDED.since END,
    checked_to = CASE WHEN workflow_triggers.enabled THEN workflow_triggers.checked_to END;

-- name: DisableDroppedTriggers
UPDATE workflow_triggers SET enabled = false WHERE workflow_name = @workflow AND enabled AND NOT (trigger_key = ANY(@keys));

-- name: EnabledTriggers
SELECT id, trigger_key, kind, source, window_ms, settle_ms, since, checked_to FROM workflow_triggers WHERE enabled ORDER BY id;

-- name: SucceededRunEvents
SELECT r.id, r.finalized_at, r.params FROM runs r
WHERE r.workflow_name = @source AND r.state = 'succeeded' AND r.finalized_at >= @from
  AND NOT EXISTS (SELECT 1 FROM trigger_events e WHERE e.trigger_id = @trigger_id AND e.event_key = r.id::text)
ORDER BY r.finalized_at LIMIT 100;

-- name: MonitorAlertEvents
-- A retried monitor step replaces its batch row (same run and step): still one event.
SELECT b.run_id, b.step_id, b.batch, b.recorded_at, b.max_psi, b.prediction_psi FROM monitor_batches b
WHERE b.monitor = @source AND b.verdict = 'alert' AND b.recorded_at >= @from
  AND NOT EXISTS (SELECT 1 FROM trigger_events e WHERE e.trigger_id = @trigger_id AND e.event_key = b.run_id::text || '/' || b.step_id)
ORDER BY b.recorded_at LIMIT 100;

-- name: TriggerChecked
UPDATE workflow_triggers SET checked_to = @checked_to WHERE id = @id AND (checked_to IS NULL OR checked_to < @checked_to);

-- name: BaselineFileEvents
INSERT INTO trigger_events (trigger_id, event_key, occurred_at, detected_at, event, run_id, deduplicated, error, baseline)
SELECT @trigger_id, u.k, u.o, @now, '{}'::jsonb, NULL, false, NULL, true
FROM unnest(@keys::text[], @times::timestamptz[]) AS u(k, o)
ON CONFLICT (trigger_id, event_key) DO NOTHING;

-- name: SeenTriggerEvents
SELECT event_key FROM trigger_events WHERE trigger_id = @trigger_id AND event_key = ANY(@keys);

-- name: LockTrigger
-- Serialises every leader firing this trigger: the second sees the first's event row and does nothing.
SELECT workflow_version_id, trigger_key FROM workflow_triggers WHERE id = @id AND enabled FOR UPDATE;

-- name: TriggerEventSeen
SELECT 1 FROM trigger_events WHERE trigger_id = @trigger_id AND event_key = @event_key;

-- name: InsertTriggerEvent
INSERT INTO trigger_events (trigger_id, event_key, occurred_at, detected_at, event, run_id, deduplicated, error)
VALUES (@trigger_id, @event_key, @occurred_at, @now, @event, @run_id, @deduplicated, @error);

-- name: WindowRun
SELECT run_id FROM trigger_windows WHERE trigger_id = @trigger_id AND window_start = @window_start;

-- name: InsertTriggerWindow
INSERT INTO trigger_windows (trigger_id, window_start, run_id) VALUES (@trigger_id, @window_start, @run_id);

-- name: ListTriggers
SELECT t.id, t.workflow_name, t.kind, t.source, t.window_ms, t.enabled, t.since,
       (SELECT count(*) FROM trigger_events e WHERE e.trigger_id = t.id AND NOT e.baseline) AS events,
       (SELECT count(*) FROM trigger_events e WHERE e.trigger_id = t.id AND e.run_id IS NOT NULL AND NOT e.deduplicated) AS runs,
       (SELECT max(e.occurred_at) FROM trigger_events e WHERE e.trigger_id = t.id AND NOT e.baseline) AS last_event_at,
       (SELECT e.run_id FROM trigger_events e WHERE e.trigger_id = t.id AND e.run_id IS NOT NULL AND NOT e.deduplicated
        ORDER BY e.detected_at DESC LIMIT 1) AS last_run_id
FROM workflow_triggers t ORDER BY t.workflow_name, t.trigger_key;

-- name: RunTriggeredBy
SELECT t.kind, t.source, e.event_key, e.occurred_at, e.event,
       (SELECT count(*)::int FROM trigger_events d WHERE d.run_id = e.run_id AND d.deduplicated) AS deduplicated
FROM trigger_events e JOIN workflow_triggers t ON t.id = e.trigger_id
WHERE e.run_id = @run_id AND NOT e.deduplicated;
