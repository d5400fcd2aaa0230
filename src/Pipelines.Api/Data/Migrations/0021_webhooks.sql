-- Webhook deliveries: one row per (endpoint, event), however many servers saw the event; retried with backoff.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    url              text NOT NULL,
    event_key        text NOT NULL,
    event            text NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    next_at          timestamptz NOT NULL,
    last_status      int NULL,
    last_error       text NULL,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz NULL,
    UNIQUE (url, event_key),
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
