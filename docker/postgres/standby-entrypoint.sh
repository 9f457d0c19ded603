#!/usr/bin/env bash
# The standby's entrypoint: on the first start (an empty data directory) copy the primary
# with pg_basebackup, streaming from slot standby1, and mark the copy a standby
# (standby.signal and primary_conninfo); then, on every start, hand over to the postgres
# image's own entrypoint, which finds an initialised directory and runs PostgreSQL.
set -Eeo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
: "${PRIMARY_HOST:?set PRIMARY_HOST}" "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
: "${PRIMARY_PORT:=5432}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  primary=(--host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username=replicator)
  until gosu postgres pg_isready "${primary[@]}" --quiet; do
    sleep 1
  done
  PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup "${primary[@]}" \
    --pgdata="$PGDATA" --wal-method=stream --slot=standby1 --checkpoint=fast --write-recovery-conf
  # Stated in full (the later line wins): the password is not left to pg_basebackup -R.
  conninfo="host=$PRIMARY_HOST port=$PRIMARY_PORT user=replicator"
  echo "primary_conninfo = '$conninfo password=$REPLICATION_PASSWORD application_name=standby1'" \
    >> "$PGDATA/postgresql.auto.conf"
fi

exec docker-entrypoint.sh "$@"
