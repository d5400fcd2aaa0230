-- The W3C trace context (traceparent) a run was started under, e.g. the API request that submitted it: workers parent
-- their step spans on it, so one trace shows the request, the steps on every worker and the activities (issue 15).
-- Kept beside runs rather than in it: only traced runs have a row, and the engine's hot paths never read it.
CREATE TABLE run_traces (
    run_id       uuid PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    trace_parent text NOT NULL CHECK (length(trace_parent) BETWEEN 1 AND 256)
);
