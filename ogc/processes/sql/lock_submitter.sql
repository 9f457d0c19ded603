-- Concurrent submissions of one submitter (on any replica) queue here until the transaction
-- that holds the lock commits its job, so the last free slot of a quota goes to one of them.
SELECT pg_advisory_xact_lock(hashtextextended(%(submitter)s, 20))
