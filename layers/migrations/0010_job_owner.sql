-- Jobs belong to the caller who submitted them (issue 13): who they were (kind, subject,
-- departments) decides who may follow, read and dismiss the job; what they could do
-- (roles, areas) is kept too, so a job runs as its owner — after a restart as well.
ALTER TABLE onemap.jobs
    ADD COLUMN owner_kind text NOT NULL DEFAULT 'anonymous'
        CHECK (owner_kind IN ('anonymous', 'user', 'key', 'local')),
    ADD COLUMN owner_subject text,
    ADD COLUMN owner_departments text[] NOT NULL DEFAULT '{}',
    ADD COLUMN owner_roles text[] NOT NULL DEFAULT '{}'
        CHECK (owner_roles <@ ARRAY['government', 'member', 'publisher', 'admin']),
    ADD COLUMN owner_areas text[] NOT NULL DEFAULT '{}';

-- The owner string of earlier jobs: 'token' was the publisher token's holder (a key with
-- the publisher and admin roles); anything else ran as anonymous, and stays so.
UPDATE onemap.jobs
SET owner_kind = 'key', owner_subject = 'token', owner_roles = ARRAY['publisher', 'admin']
WHERE caller = 'token';

ALTER TABLE onemap.jobs DROP COLUMN caller;
CREATE INDEX jobs_owner_idx ON onemap.jobs (owner_kind, owner_subject, created_at DESC);
