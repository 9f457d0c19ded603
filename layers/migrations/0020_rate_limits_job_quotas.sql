-- Rate limits, job quotas and job retention (issues 16 and 17; docs/adr/0017).

-- Requests per caller identity ('key:<id>', 'user:<sub>', 'ip:<address or IPv6 /64>') and
-- fixed window, flushed by every replica about once a second (layers/access/rates.py).
-- UNLOGGED: counts of the last minutes are worth no WAL and no standby copy; a crash
-- empties the table, which only forgives the current window.
CREATE UNLOGGED TABLE onemap.rate_usage (
    identity      text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (identity, window_start)
);
CREATE INDEX rate_usage_window_idx ON onemap.rate_usage (window_start);

-- A key's own rate (requests per ONEMAP_RATE_WINDOW_S); NULL = ONEMAP_RATE_LIMIT_KEY.
ALTER TABLE onemap.api_keys ADD COLUMN rate_limit bigint CHECK (rate_limit > 0);

-- Who submitted a job, as the rate limits name callers: anonymous callers differ by
-- address, so their job quotas do too (owner_* says whose the job is; this, whose quota).
ALTER TABLE onemap.jobs ADD COLUMN submitter text;
CREATE INDEX jobs_submitter_idx ON onemap.jobs (submitter, created_at DESC);
-- Retention purges finished jobs by the time they finished.
CREATE INDEX jobs_finished_idx ON onemap.jobs (finished_at) WHERE finished_at IS NOT NULL;
