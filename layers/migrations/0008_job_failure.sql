-- Why a job failed, as HTTP status and exception type, so its results answer with the
-- failure's own status (OGC API - Processes /req/core/job-results-failed): 400 for bad
-- inputs, 413 past the statement timeout, 503 when the server stopped, 500 for a bug.
ALTER TABLE onemap.jobs ADD COLUMN failure_status integer;
ALTER TABLE onemap.jobs ADD COLUMN failure_type text;
