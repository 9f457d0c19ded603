-- A job's lineage records its parameters, not only the layers it read: the inputs as the
-- analysis parsed them (defaults filled in, inline features by count and digest), written
-- with the job's final status (ogc/processes/runner.py). Jobs finished before this
-- migration have none (NULL).

ALTER TABLE onemap.jobs ADD COLUMN parameters jsonb;
