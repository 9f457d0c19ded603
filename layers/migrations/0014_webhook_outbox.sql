-- Change notifications (docs/adr/0014-change-notifications.md): every publish, edit,
-- rollback and delete writes one CloudEvent into the outbox in the change's own transaction;
-- the server's delivery worker fans each event out to the subscriptions that may read its
-- layer and POSTs it to each, at least once, in order per subscription and layer.

CREATE TABLE onemap.change_events (
    seq             bigserial PRIMARY KEY,            -- order of the changes (per layer: commit order,
                                                      -- as every writer of a layer holds its lock)
    id              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),  -- the CloudEvent's id
    layer_id        text NOT NULL,                    -- the CloudEvent's subject
    type            text NOT NULL,
    time            timestamptz NOT NULL DEFAULT now(),
    data            jsonb NOT NULL,
    access_level    text NOT NULL,                    -- the layer's access when it changed:
    department_id   text,                             -- who may be told of it
    fanned_out      boolean NOT NULL DEFAULT false
);
CREATE INDEX change_events_to_fan_out ON onemap.change_events (seq) WHERE NOT fanned_out;

CREATE TABLE onemap.webhook_subscriptions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    department_id     text NOT NULL REFERENCES onemap.departments (id),  -- the receiver
    watch_department  text NOT NULL REFERENCES onemap.departments (id),  -- whose layers
    layer_id          text,                          -- one of them; NULL: all of them
    url               text NOT NULL,
    secret            text NOT NULL,                 -- HMAC key; shown once, at creation
    description       text NOT NULL DEFAULT '',
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_subscriptions_layer ON onemap.webhook_subscriptions (layer_id);
CREATE INDEX webhook_subscriptions_watch ON onemap.webhook_subscriptions (watch_department);

CREATE TABLE onemap.webhook_deliveries (
    subscription_id  uuid NOT NULL REFERENCES onemap.webhook_subscriptions (id) ON DELETE CASCADE,
    event_seq        bigint NOT NULL REFERENCES onemap.change_events (seq) ON DELETE CASCADE,
    layer_id         text NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_status      integer,
    last_error       text,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    PRIMARY KEY (subscription_id, event_seq)
);
-- The head of each (subscription, layer) queue: its oldest pending delivery.
CREATE INDEX webhook_deliveries_pending
    ON onemap.webhook_deliveries (subscription_id, layer_id, event_seq) WHERE state = 'pending';

-- Wake the delivery worker when a change commits (a rolled-back change sends nothing).
CREATE FUNCTION onemap.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER change_events_notify AFTER INSERT ON onemap.change_events
    FOR EACH STATEMENT EXECUTE FUNCTION onemap.notify_outbox();
