"""Job leases (migration 0021): how a job outlives the server process that ran it.

Each server process is one lease holder. A job is leased to the process that inserted it;
the process renews the leases of the jobs it queued or runs every third of the lease
(``renew``). Any process, at start-up and then periodically, reaps what expired (``reap``):
a running job whose lease ran out is failed with the reason (its process was killed or
lost the database), a waiting one is taken over and queued here. The database's clock
decides expiry, so replicas agree whatever their own clocks say.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

import psycopg

from ogc.processes.jobs import processes_sql


def _holder_name() -> str:
    """Who holds a lease, readable by an operator: host, process, and a nonce (a pid is
    reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class JobLease:
    seconds: float
    holder: str = field(default_factory=_holder_name)

    @property
    def renew_every_s(self) -> float:
        return self.seconds / 3  # two renewals may fail before the lease runs out

    def params(self) -> dict[str, object]:
        return {"lease_holder": self.holder, "lease_s": self.seconds}


@dataclass(frozen=True)
class Reaped:
    failed: int  # running jobs of a process that is gone, now failed
    taken_over: list[tuple[str, str]]  # (job id, process id) of waiting jobs now ours


def renew(conn: psycopg.Connection, lease: JobLease, job_ids: Collection[str]) -> None:
    if job_ids:
        conn.execute(
            processes_sql("renew_job_leases"),
            {"holder": lease.holder, "lease_s": lease.seconds, "ids": list(job_ids)},
        )


def release(conn: psycopg.Connection, job_ids: Collection[str]) -> None:
    """Give up the leases of waiting jobs (a server stopping in order): the next reaper, of
    whichever process, takes them over at once instead of after the lease."""
    if job_ids:
        conn.execute(processes_sql("release_job_leases"), {"ids": list(job_ids)})


def reap(conn: psycopg.Connection, lease: JobLease, processes: Collection[str]) -> Reaped:
    """Fail the running jobs whose lease expired; take over the waiting ones of
    ``processes`` (those this process can run)."""
    failed = conn.execute(processes_sql("fail_lost_jobs")).rowcount
    params = {"holder": lease.holder, "lease_s": lease.seconds, "processes": list(processes)}
    rows = conn.execute(processes_sql("take_over_jobs"), params).fetchall()
    return Reaped(failed, [(str(job_id), str(process_id)) for job_id, process_id in rows])
