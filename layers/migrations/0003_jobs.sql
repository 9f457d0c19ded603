-- OGC API - Processes: jobs and their results, kept in the database so they survive a
-- restart and every replica sees them. A running job's session carries the application
-- name 'onemap-job-<id>', so a job whose session is gone can be recognised as orphaned
-- and dismissal can cancel its statement (pg_cancel_backend) from any replica.

CREATE TABLE onemap.jobs (
    id              uuid PRIMARY KEY,
    process_id      text NOT NULL,
    status          text NOT NULL DEFAULT 'accepted'
                    CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    message         text NOT NULL DEFAULT '',
    progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    request         jsonb NOT NULL,           -- the execute request as received
    caller          text,                     -- who asked (department / token subject)
    lineage         jsonb NOT NULL DEFAULT '[]'::jsonb,
    published_layer text,                     -- collection id when the result was published
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_created_idx ON onemap.jobs (created_at DESC);
CREATE INDEX jobs_open_idx ON onemap.jobs (status) WHERE status IN ('accepted', 'running');

CREATE TABLE onemap.job_results (
    job_id      uuid NOT NULL REFERENCES onemap.jobs (id) ON DELETE CASCADE,
    output_id   text NOT NULL,
    media_type  text NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (job_id, output_id)
);

-- Routing (service areas, routes) needs pgRouting; create it where it is installed and
-- permitted, otherwise the routing processes say what is missing when they are called.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pgrouting;
        EXCEPTION WHEN insufficient_privilege OR feature_not_supported THEN
            RAISE NOTICE 'pgrouting is installed but could not be created: %', SQLERRM;
        END;
    END IF;
END;
$$;
