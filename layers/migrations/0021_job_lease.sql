-- A job is leased by the server process that queued or runs it (issue 16, killed job):
-- that process renews lease_until every third of the lease; any process finds jobs whose
-- lease ran out (their process died, was killed or lost the database) — running ones are
-- marked failed with the reason, waiting ones are taken over and run. Times are the
-- database's clock, so replicas with skewed clocks agree. Jobs from before this migration
-- have no lease: the first reaper treats them as expired.
ALTER TABLE onemap.jobs
    ADD COLUMN lease_holder text,
    ADD COLUMN lease_until timestamptz;
