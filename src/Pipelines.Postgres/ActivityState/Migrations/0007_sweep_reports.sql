-- Intermediate validation values of the trials of a sweep (issue 5), so that trials fanned out over different
-- workers can prune each other by the median rule. A sweep is the fan-out of one step in one pipeline run; each of
-- its trials (fan-out items) has one row. A new attempt of a trial resets its row (the attempt column only grows),
-- so a retry never mixes its values with those of an earlier attempt, and a late write of a superseded attempt
-- changes nothing.
CREATE TABLE sweep_trials (
    run_id       uuid               NOT NULL,
    step_id      text               NOT NULL,
    trial        int                NOT NULL,
    number       int                NOT NULL,
    attempt      int                NOT NULL,
    metric       text               NOT NULL,
    state        text               NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
    value        double precision   NULL,
    -- steps[i] is the iteration whose value is intermediate[i], in the order reported.
    steps        int[]              NOT NULL DEFAULT '{}',
    intermediate double precision[] NOT NULL DEFAULT '{}',
    started_at   timestamptz        NOT NULL,
    updated_at   timestamptz        NOT NULL,
    finished_at  timestamptz        NULL,
    PRIMARY KEY (run_id, step_id, trial),
    CHECK (cardinality(steps) = cardinality(intermediate)),
    CHECK ((state = 'running') = (finished_at IS NULL))
);
