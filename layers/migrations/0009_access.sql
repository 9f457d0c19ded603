-- API keys, their daily usage, and the audit log (issue 13; docs/adr/0011-keys-quotas-audit.md).
-- A key's secret is never stored: only its SHA-256 (the secret is a 32-byte random token,
-- so a fast hash is enough). Usage is counted here, not in process memory, so every
-- replica decides quotas on the same totals.

CREATE TABLE onemap.api_keys (
    id              uuid PRIMARY KEY,
    secret_hash     bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    department_id   text NOT NULL REFERENCES onemap.departments (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type            text NOT NULL CHECK (type IN ('browser', 'server')),
    referers        text[] NOT NULL DEFAULT '{}',   -- host patterns, e.g. '*.gd.gov.cn'
    ip_ranges       cidr[] NOT NULL DEFAULT '{}',   -- client addresses a server key may use
    roles           text[] NOT NULL DEFAULT '{}'
                    CHECK (roles <@ ARRAY['government', 'member', 'publisher', 'admin']),
    areas           text[] NOT NULL DEFAULT '{}',   -- adcode prefixes the key is limited to
    -- Daily quotas per service (Asia/Shanghai days); NULL = unlimited, 0 = not allowed.
    quota_tiles     bigint CHECK (quota_tiles >= 0),
    quota_features  bigint CHECK (quota_features >= 0),
    quota_processes bigint CHECK (quota_processes >= 0),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    revoked_by      text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_department_idx ON onemap.api_keys (department_id);

CREATE TABLE onemap.api_key_usage (
    key_id      uuid NOT NULL REFERENCES onemap.api_keys (id) ON DELETE CASCADE,
    day         date NOT NULL,                     -- the Asia/Shanghai calendar day
    service     text NOT NULL CHECK (service IN ('tiles', 'features', 'processes')),
    count       bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (key_id, day, service)
);

-- A revoked or changed key must stop working on every replica at once: each process
-- LISTENs and drops its key-lookup cache on this channel.
CREATE FUNCTION onemap.notify_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_keys', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_changed
    AFTER INSERT OR UPDATE OR DELETE ON onemap.api_keys
    FOR EACH ROW EXECUTE FUNCTION onemap.notify_key_change();

-- Who did what, when, from where, with what outcome: writes, key and role changes, denials.
CREATE TABLE onemap.audit_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT now(),
    actor_kind         text NOT NULL CHECK (actor_kind IN ('anonymous', 'user', 'key', 'local')),
    actor_subject      text,
    actor_departments  text[] NOT NULL DEFAULT '{}',
    operation          text NOT NULL,
    layer_id           text,
    version            integer,
    request_id         text,
    client_addr        inet,
    outcome            text NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    detail             jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON onemap.audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON onemap.audit_log (actor_subject, at DESC);
CREATE INDEX audit_log_layer_idx ON onemap.audit_log (layer_id, at DESC) WHERE layer_id IS NOT NULL;

-- Reads of restricted layers, counted per caller × layer × hour (tiles would flood the log).
CREATE TABLE onemap.audit_reads (
    hour               timestamptz NOT NULL,
    actor_kind         text NOT NULL,
    actor_subject      text NOT NULL DEFAULT '',
    layer_id           text NOT NULL,
    actor_departments  text[] NOT NULL DEFAULT '{}',
    count              bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (hour, actor_kind, actor_subject, layer_id)
);
CREATE INDEX audit_reads_layer_idx ON onemap.audit_reads (layer_id, hour DESC);
