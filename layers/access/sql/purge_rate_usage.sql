-- Rate windows that ended long ago decide nothing any more.
DELETE FROM onemap.rate_usage
WHERE window_start < now() - make_interval(secs => %(older_than_s)s)
