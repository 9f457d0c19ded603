"""The server settings OneMap writes for its embedded cluster (``onemap.conf``, included
from ``postgresql.conf`` and rewritten at every start, so a changed port takes effect)."""

from __future__ import annotations

from pathlib import Path


def onemap_conf(host: str, port: int, socket_dir: Path) -> str:
    """A single-node development server: local connections only, sized for a laptop."""
    quoted_socket_dir = str(socket_dir).replace("'", "''")
    return (
        "# Written by OneMap at every start: change ONEMAP_EMBEDDED_PORT, not this file.\n"
        f"listen_addresses = '{host}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{quoted_socket_dir}'\n"
        "max_connections = 100\n"
        "shared_buffers = '256MB'\n"
        "work_mem = '16MB'\n"
        "maintenance_work_mem = '256MB'\n"
        "effective_cache_size = '1GB'\n"
        "max_wal_size = '1GB'\n"
        # A single node with no replicas or archive: minimal WAL. A version table that
        # is created and loaded in one transaction (as ingest does) then skips WAL.
        "wal_level = minimal\n"
        "max_wal_senders = 0\n"
        "synchronous_commit = off\n"  # dev cluster: a crash may lose the last commits
        "logging_collector = off\n"  # pg_ctl -l already sends the server log to postgres.log
        "log_line_prefix = '%m [%p] '\n"
    )
