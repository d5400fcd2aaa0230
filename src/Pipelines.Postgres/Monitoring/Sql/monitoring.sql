-- Monitoring time series: named statements used by Monitoring/PostgresMonitorStore.cs (migration 0060).

-- name: MonitorSaveReference
INSERT INTO monitor_references (monitor, run_id, step_id, created_at, model, profile)
VALUES (@monitor, @run_id, @step_id, @at, @model, @profile)
ON CONFLICT (monitor, run_id, step_id) DO UPDATE
SET created_at = EXCLUDED.created_at, model = EXCLUDED.model, profile = EXCLUDED.profile;

-- name: MonitorLatestReference
SELECT monitor, run_id, step_id, created_at, model, profile::text AS profile
FROM monitor_references WHERE monitor = @monitor
ORDER BY created_at DESC, run_id DESC LIMIT 1;

-- name: MonitorRecordBatch
-- A retried attempt of the same step replaces its row: one point per scored batch in the series.
INSERT INTO monitor_batches (monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, prediction_psi, result)
VALUES (@monitor, @run_id, @step_id, @batch, @at, @rows, @verdict, @max_psi, @prediction_psi, @result)
ON CONFLICT (monitor, run_id, step_id) DO UPDATE
SET batch = EXCLUDED.batch, recorded_at = EXCLUDED.recorded_at, rows = EXCLUDED.rows, verdict = EXCLUDED.verdict,
    max_psi = EXCLUDED.max_psi, prediction_psi = EXCLUDED.prediction_psi, result = EXCLUDED.result;

-- name: MonitorRecentBatches
-- The last @count batches, oldest first (the order a chart draws them).
SELECT monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, prediction_psi, result::text AS result
FROM (SELECT * FROM monitor_batches WHERE monitor = @monitor ORDER BY recorded_at DESC, run_id DESC LIMIT @count) recent
ORDER BY recorded_at, run_id;

-- name: MonitorRecordRealized
INSERT INTO monitor_realized (monitor, run_id, step_id, batch, slice, recorded_at, predictions, labelled, metrics)
VALUES (@monitor, @run_id, @step_id, @batch, @slice, @at, @predictions, @labelled, @metrics)
ON CONFLICT (monitor, run_id, step_id, batch, slice) DO UPDATE
SET recorded_at = EXCLUDED.recorded_at, predictions = EXCLUDED.predictions, labelled = EXCLUDED.labelled, metrics = EXCLUDED.metrics;

-- name: MonitorRealized
SELECT monitor, run_id, step_id, batch, slice, recorded_at, predictions, labelled, metrics::text AS metrics
FROM monitor_realized WHERE monitor = @monitor
ORDER BY recorded_at, batch, slice;

-- name: TriggerClaim
-- The first claim of (key, window) wins; the row returned is the winner's, so a loser learns who claimed it.
WITH inserted AS (
    INSERT INTO monitor_triggers (dedup_key, window_start, triggering_run_id, triggering_step_id, workflow, params, reason, claimed_at)
    VALUES (@dedup_key, @window_start, @run_id, @step_id, @workflow, @params, @reason, @now)
    ON CONFLICT (dedup_key, window_start) DO NOTHING
    RETURNING triggering_run_id, triggering_step_id, started_run_id
)
SELECT triggering_run_id, triggering_step_id, started_run_id FROM inserted
UNION ALL
SELECT triggering_run_id, triggering_step_id, started_run_id FROM monitor_triggers
WHERE dedup_key = @dedup_key AND window_start = @window_start AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: TriggerStarted
UPDATE monitor_triggers SET started_run_id = @started_run_id
WHERE dedup_key = @dedup_key AND window_start = @window_start AND triggering_run_id = @run_id AND triggering_step_id = @step_id;

-- name: TriggerRelease
-- A claim whose start failed is given up, so another alert in the window can try again.
DELETE FROM monitor_triggers
WHERE dedup_key = @dedup_key AND window_start = @window_start AND triggering_run_id = @run_id AND triggering_step_id = @step_id
  AND started_run_id IS NULL;

-- name: ChallengerRecordBatch
-- One point per shadow-scored batch (migration 0064); a retried attempt of the same step replaces its row.
INSERT INTO challenger_batches (monitor, run_id, step_id, batch, recorded_at, champion_version, challenger_version, rows, agreement,
                                prediction_psi, labelled, champion_metrics, challenger_metrics)
VALUES (@monitor, @run_id, @step_id, @batch, @at, @champion_version, @challenger_version, @rows, @agreement,
        @prediction_psi, @labelled, @champion_metrics, @challenger_metrics)
ON CONFLICT (monitor, run_id, step_id) DO UPDATE
SET batch = EXCLUDED.batch, recorded_at = EXCLUDED.recorded_at, champion_version = EXCLUDED.champion_version,
    challenger_version = EXCLUDED.challenger_version, rows = EXCLUDED.rows, agreement = EXCLUDED.agreement,
    prediction_psi = EXCLUDED.prediction_psi, labelled = EXCLUDED.labelled, champion_metrics = EXCLUDED.champion_metrics,
    challenger_metrics = EXCLUDED.challenger_metrics;

-- name: ChallengerBatches
-- The shadow evidence for one champion/challenger pair, oldest first.
SELECT monitor, run_id, step_id, batch, recorded_at, champion_version, challenger_version, rows, agreement, prediction_psi,
       labelled, champion_metrics::text AS champion_metrics, challenger_metrics::text AS challenger_metrics
FROM challenger_batches
WHERE monitor = @monitor AND champion_version = @champion_version AND challenger_version = @challenger_version
ORDER BY recorded_at, run_id, step_id;

-- name: ChallengerRecordRealized
-- Labels that arrived after a shadow-scored batch: its realized metrics of both models, on the batch's point(s) of the
-- series (the run that shadow-scored it, for the same pair of versions).
UPDATE challenger_batches
SET labelled = @labelled, champion_metrics = @champion_metrics, challenger_metrics = @challenger_metrics
WHERE monitor = @monitor AND run_id = @run_id AND champion_version = @champion_version AND challenger_version = @challenger_version;
