-- Every statement the engine runs. Times come from the caller's TimeProvider (@now), never from now(),
-- so tests drive time exactly and every process agrees on what "due" means for a given call.

-- name: UpsertWorkflowVersion
INSERT INTO workflow_versions (name, content_hash, source_path, source_text, created_at)
VALUES (@name, @hash, @path, @text, @now)
ON CONFLICT (name, content_hash) DO UPDATE SET source_path = EXCLUDED.source_path
RETURNING id;

-- name: WorkflowSource
SELECT source_text, source_path FROM workflow_versions WHERE id = @id;

-- name: InsertRun
INSERT INTO runs (id, workflow_version_id, workflow_name, state, params, trigger, created_by, schedule_id,
                  scheduled_for, created_at, started_at, tracking_server)
VALUES (@id, @version_id, @workflow, @state, @params, @trigger, @created_by, @schedule_id, @scheduled_for, @now,
        CASE WHEN @state = 'running' THEN @now END, @tracking_server);

-- name: InsertStepRuns
INSERT INTO step_runs (id, run_id, step_id, position, kind, activity_version, state, queue, max_attempts, timeout_ms, backoff, created_at)
SELECT s.id, @run_id, s.step_id, s.position, s.kind, s.version, 'pending', s.queue, s.max_attempts, s.timeout_ms, s.backoff, @now
FROM unnest(@ids::uuid[], @step_ids::text[], @kinds::text[], @versions::text[], @queues::text[], @max_attempts::int[],
            @timeouts::bigint[], @backoffs::jsonb[])
     WITH ORDINALITY AS s(id, step_id, kind, version, queue, max_attempts, timeout_ms, backoff, position);

-- name: LockRun
SELECT state, params, cancel_requested_at IS NOT NULL AS cancel_requested, workflow_version_id, created_by, scheduled_for, workflow_name, created_at
FROM runs WHERE id = @id FOR UPDATE;

-- name: TopLevelSteps
SELECT id, step_id, state, outputs, error FROM step_runs WHERE run_id = @run_id AND parent_id IS NULL;

-- name: FinalizeRun
-- Cancelled fan-out children may still be stopping; then the last of them to finish closes the run.
UPDATE runs SET state = @state, error = @error, finalized_at = @now
WHERE id = @id AND state = 'running'
  AND NOT EXISTS (SELECT 1 FROM step_runs WHERE run_id = @id AND state = 'running');

-- name: SetPendingTerminal
UPDATE step_runs SET state = @state, error = @error, finalized_at = @now WHERE id = @id AND state = 'pending';

-- name: EnqueueStep
UPDATE step_runs SET state = 'available', inputs = @inputs, cache_key = @cache_key, available_at = @now
WHERE id = @id AND state = 'pending'
RETURNING queue;

-- name: FindCached
SELECT id, outputs FROM step_runs
WHERE cache_key = @cache_key AND state = 'succeeded' AND id <> @id
ORDER BY finalized_at DESC LIMIT 1;

-- name: CompleteFromCache
UPDATE step_runs SET state = 'succeeded', inputs = @inputs, cache_key = @cache_key, outputs = @outputs,
                     cached_from = @cached_from, started_at = @now, finalized_at = @now
WHERE id = @id AND state = 'pending';

-- name: SuspendForApproval
UPDATE step_runs SET state = 'waiting', inputs = @inputs, started_at = @now WHERE id = @id AND state = 'pending';

-- name: InsertApproval
INSERT INTO approvals (step_run_id, run_id, summary, allow_self_approval, approvers, requested_at, expires_at)
VALUES (@step_run_id, @run_id, @summary, @allow_self, @approvers, @now, @expires_at);

-- name: StartFanOut
UPDATE step_runs SET state = 'waiting', cache_key = @cache_key, children_total = @n,
                     max_parallel = @max_parallel, started_at = @now
WHERE id = @id AND state = 'pending'
RETURNING run_id, kind, activity_version, queue, max_attempts, timeout_ms, backoff;

-- name: InsertChildren
INSERT INTO step_runs (id, run_id, step_id, position, parent_id, item_index, item, kind, activity_version, state, queue, max_attempts,
                       timeout_ms, backoff, inputs, available_at, created_at)
SELECT gen_random_uuid(), p.run_id, p.step_id, p.position, p.id, c.idx, c.item, p.kind, p.activity_version,
       CASE WHEN @max_parallel = 0 OR c.idx < @max_parallel THEN 'available' ELSE 'pending' END,
       p.queue, p.max_attempts, p.timeout_ms, p.backoff, c.inputs,
       CASE WHEN @max_parallel = 0 OR c.idx < @max_parallel THEN @now END, @now
FROM step_runs p, unnest(@indexes::int[], @items::jsonb[], @inputs::jsonb[]) AS c(idx, item, inputs)
WHERE p.id = @parent_id;

-- name: FinishParent
UPDATE step_runs SET state = @state, outputs = @outputs, error = @error, finalized_at = @now
WHERE id = @id AND state = 'waiting';

-- name: FanOutToClose
-- Read without locks after an item's completion committed: true when the parent may need closing (no item open any
-- more) or the run advancing (the parent was closed already, e.g. cancelled). Whoever commits last sees every other
-- item's commit, so the last item's check is always true.
SELECT p.state <> 'waiting'
       OR NOT EXISTS (SELECT 1 FROM step_runs c WHERE c.parent_id = p.id AND c.state IN ('pending', 'available', 'running', 'retrying'))
FROM step_runs p WHERE p.id = @parent_id;

-- name: MaxParallel
SELECT coalesce(max_parallel, 0) FROM step_runs WHERE id = @id;

-- name: StrandedFanOuts
SELECT p.run_id, p.id FROM step_runs p
WHERE p.state = 'waiting' AND p.children_total IS NOT NULL AND p.parent_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM step_runs c WHERE c.parent_id = p.id AND c.state IN ('pending', 'available', 'running', 'retrying'))
LIMIT 100;

-- name: LockFanOut
SELECT state,
       EXISTS (SELECT 1 FROM step_runs c WHERE c.parent_id = p.id AND c.state IN ('pending', 'available', 'running', 'retrying')) AS open
FROM step_runs p WHERE p.id = @parent_id FOR UPDATE;

-- name: FinishItemAttempt
-- A fan-out item's end, locking only its own row: neither the run's row nor the parent's (issue 19).
WITH finished AS (
    UPDATE step_runs
    SET state = @state, outputs = @outputs, error = @error, available_at = NULL, finalized_at = @now,
        lease_owner = NULL, lease_expires_at = NULL
    WHERE id = @id AND state = 'running' AND attempt = @attempt AND lease_owner = @worker AND parent_id IS NOT NULL
    RETURNING parent_id, run_id
), attempt AS (
    UPDATE attempts a SET state = @attempt_state, ended_at = @now, error = @error, logs = @logs
    FROM finished
    WHERE a.step_run_id = @id AND a.attempt = @attempt AND a.state = 'running'
)
SELECT f.parent_id, coalesce(p.max_parallel, 0) AS max_parallel, r.cancel_requested_at IS NOT NULL AS cancel_requested
FROM finished f JOIN step_runs p ON p.id = f.parent_id JOIN runs r ON r.id = f.run_id;

-- name: ReleaseChildren
-- Up to @limit pending items, in item order (NULL: all of them).
UPDATE step_runs SET state = 'available', available_at = @now
WHERE id IN (SELECT id FROM step_runs WHERE parent_id = @parent_id AND state = 'pending'
             ORDER BY item_index LIMIT @limit FOR UPDATE SKIP LOCKED)
RETURNING queue;

-- name: ChildrenOf
SELECT item_index, state, outputs, error FROM step_runs WHERE parent_id = @parent_id ORDER BY item_index;

-- name: Claim
WITH picked AS (
    SELECT id FROM step_runs
    WHERE state = 'available' AND queue = ANY(@queues) AND available_at <= @now
    ORDER BY available_at, id
    LIMIT @max
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE step_runs s
    SET state = 'running', attempt = s.attempt + 1, lease_owner = @worker, lease_expires_at = @lease_until,
        started_at = coalesce(s.started_at, @now)
    FROM picked, runs r, workflow_versions w
    WHERE s.id = picked.id AND r.id = s.run_id AND w.id = r.workflow_version_id
    RETURNING s.id, s.run_id, s.step_id, s.kind, s.activity_version, s.attempt, s.inputs, s.item, s.item_index,
              s.timeout_ms, s.cancel_requested, r.workflow_name, w.content_hash, r.params, r.created_by, r.scheduled_for,
              r.tracking_server
), recorded AS (
    INSERT INTO attempts (step_run_id, attempt, worker_id, state, started_at)
    SELECT id, attempt, @worker, 'running', @now FROM claimed
)
SELECT * FROM claimed;

-- name: ClaimAttempt
-- One named attempt, for an executor that delivers each attempt itself (Hangfire): claimed only while the step is
-- available and its next attempt is @attempt, so a duplicate, late or stale delivery claims nothing.
WITH picked AS (
    SELECT id FROM step_runs
    WHERE id = @id AND state = 'available' AND attempt = @attempt - 1 AND available_at <= @now
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE step_runs s
    SET state = 'running', attempt = s.attempt + 1, lease_owner = @worker, lease_expires_at = @lease_until,
        started_at = coalesce(s.started_at, @now)
    FROM picked, runs r, workflow_versions w
    WHERE s.id = picked.id AND r.id = s.run_id AND w.id = r.workflow_version_id
    RETURNING s.id, s.run_id, s.step_id, s.kind, s.activity_version, s.attempt, s.inputs, s.item, s.item_index,
              s.timeout_ms, s.cancel_requested, r.workflow_name, w.content_hash, r.params, r.created_by, r.scheduled_for,
              r.tracking_server
), recorded AS (
    INSERT INTO attempts (step_run_id, attempt, worker_id, state, started_at)
    SELECT id, attempt, @worker, 'running', @now FROM claimed
)
SELECT * FROM claimed;

-- name: Heartbeat
-- One statement per beat, whether the worker holds jobs or not: its own row and its jobs' leases.
WITH worker AS (UPDATE workers SET heartbeat_at = @now WHERE id = @worker)
UPDATE step_runs s SET lease_expires_at = @lease_until
FROM unnest(@ids::uuid[], @attempts::int[]) AS j(id, attempt)
WHERE s.id = j.id AND s.attempt = j.attempt AND s.state = 'running' AND s.lease_owner = @worker
RETURNING s.id, s.cancel_requested;

-- name: LockRunningStep
SELECT parent_id, max_attempts, backoff, rescues FROM step_runs
WHERE id = @id AND state = 'running' AND attempt = @attempt AND lease_owner = @worker
FOR UPDATE;

-- name: FinishAttemptStep
UPDATE step_runs
SET state = @state, outputs = @outputs, error = @error, available_at = @available_at,
    finalized_at = CASE WHEN @terminal THEN @now END, lease_owner = NULL, lease_expires_at = NULL
WHERE id = @id AND state = 'running' AND attempt = @attempt AND lease_owner = @worker
RETURNING parent_id;

-- name: FinishAttempt
-- Returns a row so that, in a batch, every statement has a result set to step over.
UPDATE attempts SET state = @state, ended_at = @now, error = @error, logs = @logs
WHERE step_run_id = @id AND attempt = @attempt AND state = 'running'
RETURNING attempt;

-- name: RegisterWorker
INSERT INTO workers (id, host, pid, queues, concurrency, started_at, heartbeat_at)
VALUES (@id, @host, @pid, @queues, @concurrency, @now, @now)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, stopped_at = NULL;

-- name: UnregisterWorker
UPDATE workers SET stopped_at = @now WHERE id = @id;

-- name: ExpiredLeases
SELECT id, run_id, attempt, lease_owner FROM step_runs
WHERE state = 'running' AND lease_expires_at < @now
ORDER BY lease_expires_at LIMIT 100;

-- name: LockExpiredStep
SELECT cancel_requested, rescues, error FROM step_runs
WHERE id = @id AND state = 'running' AND attempt = @attempt AND lease_expires_at < @now
FOR UPDATE;

-- name: RescueStep
UPDATE step_runs
SET state = @state, error = @error, rescues = rescues + 1, available_at = @now,
    finalized_at = CASE WHEN @final THEN @now END,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = @id AND state = 'running' AND attempt = @attempt
RETURNING queue, parent_id;

-- name: PromoteDueRetries
UPDATE step_runs SET state = 'available'
WHERE state = 'retrying' AND available_at <= @now
RETURNING queue;

-- name: CancelOpenSteps
UPDATE step_runs SET state = 'cancelled', error = 'cancelled by ' || @by, finalized_at = @now
WHERE run_id = @run_id AND state IN ('pending', 'available', 'retrying', 'waiting');

-- name: FlagRunningForCancel
UPDATE step_runs SET cancel_requested = true WHERE run_id = @run_id AND state = 'running';

-- name: RequestCancel
UPDATE runs SET cancel_requested_at = @now, cancel_requested_by = @by WHERE id = @id;

-- name: CancelQueuedRun
UPDATE runs SET state = 'cancelled', started_at = @now, error = 'cancelled by ' || @by, finalized_at = @now,
                cancel_requested_at = @now, cancel_requested_by = @by
WHERE id = @id AND state = 'queued';

-- name: ResetFailedTopLevel
UPDATE step_runs
SET state = 'pending', error = NULL, outputs = NULL, finalized_at = NULL, cancel_requested = false, rescues = 0,
    available_at = NULL, children_total = NULL
WHERE run_id = @run_id AND parent_id IS NULL AND state IN ('failed', 'cancelled', 'stopped', 'skipped')
  AND children_total IS NULL
RETURNING id;

-- name: ResetFailedChildren
UPDATE step_runs
SET state = 'pending', error = NULL, outputs = NULL, finalized_at = NULL, cancel_requested = false, rescues = 0,
    available_at = NULL
WHERE parent_id = @parent_id AND state IN ('failed', 'cancelled', 'stopped', 'skipped')
RETURNING id;

-- name: FailedFanOutParents
SELECT id, max_parallel FROM step_runs
WHERE run_id = @run_id AND parent_id IS NULL AND state IN ('failed', 'cancelled', 'stopped') AND children_total IS NOT NULL;

-- name: ReopenParent
UPDATE step_runs SET state = 'waiting', error = NULL, outputs = NULL, finalized_at = NULL
WHERE id = @id;

-- name: ReopenRun
UPDATE runs SET state = 'running', error = NULL, finalized_at = NULL, cancel_requested_at = NULL, cancel_requested_by = NULL
WHERE id = @id AND state IN ('failed', 'cancelled', 'stopped');

-- name: WaitingApproval
SELECT s.id, a.allow_self_approval, a.approvers, a.decision, a.decided_by, s.state
FROM step_runs s JOIN approvals a ON a.step_run_id = s.id
WHERE s.run_id = @run_id AND s.step_id = @step_id AND s.parent_id IS NULL;

-- name: RecordDecision
UPDATE approvals SET decision = @decision, decided_by = @by, decided_at = @now, comment = @comment
WHERE step_run_id = @id AND decision IS NULL;

-- name: FinishWaitingStep
UPDATE step_runs SET state = @state, outputs = @outputs, error = @error, finalized_at = @now
WHERE id = @id AND state = 'waiting';

-- name: ExpiredApprovals
SELECT a.step_run_id, a.run_id FROM approvals a JOIN step_runs s ON s.id = a.step_run_id
WHERE a.decision IS NULL AND s.state = 'waiting' AND a.expires_at < @now
ORDER BY a.expires_at LIMIT 100;

-- name: ExpireApproval
UPDATE approvals SET decision = 'expired', decided_by = 'system', decided_at = @now, comment = 'no decision before ' || expires_at
WHERE step_run_id = @id AND decision IS NULL AND expires_at < @now;

-- name: UpsertSchedule
INSERT INTO schedules (workflow_name, workflow_version_id, cron, timezone, catch_up, max_catch_up, max_concurrent_runs,
                       enabled, created_at)
VALUES (@workflow, @version_id, @cron, @timezone, @catch_up, @max_catch_up, @max_concurrent_runs, true, @now)
ON CONFLICT (workflow_name) DO UPDATE
SET workflow_version_id = EXCLUDED.workflow_version_id, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
    catch_up = EXCLUDED.catch_up, max_catch_up = EXCLUDED.max_catch_up,
    max_concurrent_runs = EXCLUDED.max_concurrent_runs, enabled = true,
    -- A changed expression starts afresh from now rather than catching up on times the old one never had.
    last_fire_at = CASE WHEN schedules.cron = EXCLUDED.cron AND schedules.timezone = EXCLUDED.timezone
                        THEN schedules.last_fire_at ELSE @now END;

-- name: DisableSchedule
UPDATE schedules SET enabled = false WHERE workflow_name = @workflow;

-- name: DueSchedules
SELECT id FROM schedules WHERE enabled AND (next_fire_at IS NULL OR next_fire_at <= @now);

-- name: LockSchedule
SELECT workflow_version_id, cron, timezone, catch_up, max_catch_up, max_concurrent_runs, params, created_at, last_fire_at,
       workflow_name
FROM schedules WHERE id = @id AND enabled FOR UPDATE;

-- name: InsertFire
INSERT INTO schedule_fires (schedule_id, fire_time, run_id, fired_at) VALUES (@schedule_id, @fire_time, @run_id, @now)
ON CONFLICT DO NOTHING;

-- name: AdvanceSchedule
UPDATE schedules SET last_fire_at = greatest(coalesce(last_fire_at, @last), @last), next_fire_at = @next WHERE id = @id;

-- name: ActiveRunCount
SELECT count(*) FROM runs WHERE workflow_name = @workflow AND state = 'running';

-- name: QueuedRuns
SELECT r.id, r.workflow_name, coalesce(s.max_concurrent_runs, 2147483647) AS max_concurrent_runs
FROM runs r LEFT JOIN schedules s ON s.workflow_name = r.workflow_name
WHERE r.state = 'queued' ORDER BY r.created_at;

-- name: StartQueuedRun
UPDATE runs SET state = 'running', started_at = @now WHERE id = @id AND state = 'queued';

-- name: ListSchedules
-- last_fire_at is the scheduler's cursor (also moved by ticks that fire nothing, and by a changed cron); users see
-- the last fire time that created a run, and the next fire computed from the cursor until a leader has set one.
SELECT s.id, s.workflow_name, s.cron, s.timezone, s.catch_up, s.max_concurrent_runs, s.enabled,
       (SELECT max(f.fire_time) FROM schedule_fires f WHERE f.schedule_id = s.id) AS last_fired_at, s.next_fire_at,
       s.last_fire_at, s.created_at, s.max_catch_up
FROM schedules s ORDER BY s.workflow_name;

-- name: ListRuns
SELECT r.id, r.workflow_name, r.state, r.created_by, r.trigger, r.created_at, r.finalized_at, r.error,
       coalesce((SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) AS n FROM step_runs s
                 WHERE s.run_id = r.id AND s.parent_id IS NULL GROUP BY state) c), '{}') AS step_counts
FROM runs r
WHERE (@workflow::text IS NULL OR r.workflow_name = @workflow) AND (@state::text IS NULL OR r.state = @state)
ORDER BY r.created_at DESC, r.id DESC
LIMIT @limit;

-- name: RunRow
SELECT r.id, r.workflow_name, r.state, r.created_by, r.trigger, r.created_at, r.finalized_at, r.error, r.params, r.started_at
FROM runs r WHERE r.id = @id;

-- name: RunSteps
SELECT id, step_id, item_index, kind, state, attempt, cached_from IS NOT NULL AS cached, inputs, outputs, error, started_at, finalized_at,
       children_total,
       CASE WHEN children_total IS NOT NULL THEN
           (SELECT count(*)::int FROM step_runs c WHERE c.parent_id = s.id AND c.state IN ('pending', 'available', 'running', 'retrying')) END
           AS children_open
FROM step_runs s WHERE run_id = @run_id
ORDER BY position, coalesce(item_index, -1);

-- name: RunAttempts
SELECT a.step_run_id, a.attempt, a.worker_id, a.state, a.started_at, a.ended_at, a.error, a.logs
FROM attempts a JOIN step_runs s ON s.id = a.step_run_id
WHERE s.run_id = @run_id ORDER BY a.step_run_id, a.attempt;

-- name: RunApprovals
SELECT a.step_run_id, s.step_id, a.summary, a.requested_at, a.expires_at, a.decision, a.decided_by, a.decided_at, a.comment,
       a.allow_self_approval, a.approvers, a.run_id
FROM approvals a JOIN step_runs s ON s.id = a.step_run_id
WHERE a.run_id = @run_id ORDER BY a.requested_at;

-- name: OpenApprovals
SELECT a.step_run_id, s.step_id, a.summary, a.requested_at, a.expires_at, a.decision, a.decided_by, a.decided_at, a.comment,
       a.allow_self_approval, a.approvers, a.run_id
FROM approvals a JOIN step_runs s ON s.id = a.step_run_id
WHERE a.decision IS NULL AND s.state = 'waiting' ORDER BY a.requested_at;
