-- Champion / challenger (issue 18): each batch the challenger shadow-scored is one point of a series per monitor,
-- naming the two versions compared, how they agreed, and (once labels were joined) the realized metrics of both on
-- the same labelled rows. The promotion policy reads the points of the current pair. Keyed by the step that wrote
-- it, so a retried attempt replaces its own row.
CREATE TABLE challenger_batches (
    monitor            text             NOT NULL,
    run_id             uuid             NOT NULL,
    step_id            text             NOT NULL,
    batch              text             NOT NULL,
    recorded_at        timestamptz      NOT NULL,
    champion_version   text             NOT NULL,
    challenger_version text             NOT NULL,
    rows               bigint           NOT NULL,
    agreement          double precision NOT NULL,
    prediction_psi     double precision NULL,
    labelled           bigint           NOT NULL DEFAULT 0,
    champion_metrics   jsonb            NULL,
    challenger_metrics jsonb            NULL,
    PRIMARY KEY (monitor, run_id, step_id)
);
CREATE INDEX challenger_batches_pair ON challenger_batches (monitor, champion_version, challenger_version, recorded_at);
