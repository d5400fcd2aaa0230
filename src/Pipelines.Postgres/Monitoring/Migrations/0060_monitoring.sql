-- Monitoring after deployment (issue 18). A reference profile is what a model's training data and predictions looked
-- like; each scored batch is compared with the latest reference of its monitor (usually the model name) and the
-- result kept as a time series, so the monitoring report can chart the last N batches. Realized metrics are what the
-- predictions of a batch turned out to be worth once the delayed labels arrived.
-- Rows are keyed by the step that wrote them, so a retried attempt replaces its own row and never adds a second.
CREATE TABLE monitor_references (
    monitor     text        NOT NULL,
    run_id      uuid        NOT NULL,
    step_id     text        NOT NULL,
    created_at  timestamptz NOT NULL,
    model       text        NULL,
    profile     jsonb       NOT NULL,
    PRIMARY KEY (monitor, run_id, step_id)
);
CREATE INDEX monitor_references_latest ON monitor_references (monitor, created_at DESC);

CREATE TABLE monitor_batches (
    monitor        text             NOT NULL,
    run_id         uuid             NOT NULL,
    step_id        text             NOT NULL,
    batch          text             NOT NULL,
    recorded_at    timestamptz      NOT NULL,
    rows           bigint           NOT NULL,
    verdict        text             NOT NULL CHECK (verdict IN ('ok', 'warn', 'alert')),
    max_psi        double precision NULL,
    prediction_psi double precision NULL,
    -- Per-feature measures (PSI, KS, chi-squared, missing rates, range and unseen shares) and findings.
    result         jsonb            NOT NULL,
    PRIMARY KEY (monitor, run_id, step_id)
);
CREATE INDEX monitor_batches_recent ON monitor_batches (monitor, recorded_at DESC);

CREATE TABLE monitor_realized (
    monitor     text        NOT NULL,
    run_id      uuid        NOT NULL,
    step_id     text        NOT NULL,
    batch       text        NOT NULL,
    -- 'all' for the whole batch, else 'column=value'.
    slice       text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    predictions bigint      NOT NULL,
    labelled    bigint      NOT NULL,
    metrics     jsonb       NOT NULL,
    PRIMARY KEY (monitor, run_id, step_id, batch, slice)
);
