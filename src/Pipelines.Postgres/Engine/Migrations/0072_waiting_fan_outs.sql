-- The leader's safety net for fan-outs (issue 19) looks for waiting parents with no open item on every sweep; this
-- keeps that a look at the few waiting fan-outs rather than a scan of every step.
CREATE INDEX step_runs_waiting_fan_outs ON step_runs (id) WHERE state = 'waiting' AND children_total IS NOT NULL;
