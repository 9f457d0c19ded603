#!/usr/bin/env bash
# The primary's replication set-up, run once by the postgres image's entrypoint when it
# initialises the data directory (/docker-entrypoint-initdb.d): a replication role, the
# standby's physical slot (the primary keeps the WAL the standby has not received yet) and
# the pg_hba line that lets the role stream. The entrypoint restarts the server afterwards.
set -Eeo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('standby1');
SQL

echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
