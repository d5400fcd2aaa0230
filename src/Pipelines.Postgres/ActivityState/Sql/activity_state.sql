-- State kept between runs by activities: named statements used by ActivityState/PostgresActivityState.cs.

-- name: ActivityStateLatest
-- The newest value written by an attempt that succeeded.
SELECT s.value::text
FROM activity_state s
JOIN attempts a ON a.step_run_id = s.step_run_id AND a.attempt = s.attempt
WHERE s.key = @key AND a.state = 'succeeded'
ORDER BY s.recorded_at DESC
LIMIT 1;

-- name: ActivityStatePropose
INSERT INTO activity_state (key, step_run_id, attempt, value, recorded_at)
VALUES (@key, @step_run_id, @attempt, @value::jsonb, @recorded_at)
ON CONFLICT (key, step_run_id, attempt) DO UPDATE SET value = EXCLUDED.value, recorded_at = EXCLUDED.recorded_at;
