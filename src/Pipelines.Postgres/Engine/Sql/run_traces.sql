-- name: RecordRunTrace
INSERT INTO run_traces (run_id, trace_parent) VALUES (@run_id, @trace_parent);

-- name: RunTrace
SELECT trace_parent FROM run_traces WHERE run_id = @run_id;
