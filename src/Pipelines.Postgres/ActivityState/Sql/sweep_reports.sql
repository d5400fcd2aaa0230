-- Intermediate values shared by the trials of a sweep: named statements used by ActivityState/PostgresSweepReports.cs.

-- name: SweepBegin
-- A new attempt replaces whatever an earlier attempt of the same trial reported; an older attempt arriving late
-- (its worker lost the lease but had not noticed yet) changes nothing.
INSERT INTO sweep_trials (run_id, step_id, trial, number, attempt, metric, state, started_at, updated_at)
VALUES (@run_id, @step_id, @trial, @number, @attempt, @metric, 'running', @now, @now)
ON CONFLICT (run_id, step_id, trial) DO UPDATE
SET number = EXCLUDED.number, attempt = EXCLUDED.attempt, metric = EXCLUDED.metric, state = 'running', value = NULL,
    steps = '{}', intermediate = '{}', started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at, finished_at = NULL
WHERE sweep_trials.attempt <= EXCLUDED.attempt;

-- name: SweepReport
-- The values reported so far replace the stored ones, so a repeated write (a retry after a lost reply) is harmless.
UPDATE sweep_trials SET steps = @steps, intermediate = @values, updated_at = @now
WHERE run_id = @run_id AND step_id = @step_id AND trial = @trial AND attempt = @attempt AND state = 'running';

-- name: SweepFinish
-- Repeatable by the same attempt (same outcome again); never by another one.
UPDATE sweep_trials SET state = @state, value = @value, steps = @steps, intermediate = @values, updated_at = @now,
                        finished_at = COALESCE(finished_at, @now)
WHERE run_id = @run_id AND step_id = @step_id AND trial = @trial AND attempt = @attempt
  AND (state = 'running' OR state = @state);

-- name: SweepRead
-- Every trial of the sweep, or only the finished ones not in @known (what a running trial has not seen yet).
SELECT trial, number, attempt, metric, state, value, steps, intermediate, started_at, updated_at, finished_at
FROM sweep_trials
WHERE run_id = @run_id AND step_id = @step_id
  AND (NOT @finished_only OR state IN ('complete', 'pruned'))
  AND NOT (trial = ANY (@known))
ORDER BY trial;
