"""The host's PostgreSQL installation and processes, as the embedded cluster sees them.

Where the server binaries are, whether PostGIS is installed, which account runs the
cluster, and whether a pid is a live postgres: facts read from the system, kept apart
from the cluster's own life cycle (``layers.embedded``).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import stat
import subprocess
import time
from contextlib import suppress
from pathlib import Path

from layers.errors import EmbeddedClusterError

PG_LIB_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu: one bin/ per major version
SHARE_ROOT = Path("/usr/share/postgresql")
SERVICE_ACCOUNT = "postgres"
# As root, where a cluster goes when the postgres account cannot reach the data directory.
RELOCATED_ROOT = Path("/var/lib/onemap")
POSTGRES_NAMES = frozenset({"postgres", "postmaster"})

FIX_HINT = (
    "Install {what} with `apt-get install -y {packages}` (or run "
    "scripts/install-system-deps.sh), or set ONEMAP_DATABASE_URL to use an existing PostGIS server."
)


def find_pg_bindir() -> Path:
    """The newest PostgreSQL bin directory with ``initdb``, preferring one with PostGIS."""
    candidates = _bindir_candidates()
    if not candidates:
        raise EmbeddedClusterError(
            f"No PostgreSQL server binaries found in {PG_LIB_ROOT}/*/bin. "
            + FIX_HINT.format(what="them", packages="postgresql-15 postgresql-15-postgis-3")
        )
    with_postgis = [bindir for bindir in candidates if postgis_available(bindir)]
    return (with_postgis or candidates)[0]


def postgis_available(bindir: Path) -> bool:
    """Whether the PostgreSQL installation of ``bindir`` has the PostGIS extension."""
    return (_share_dir(bindir) / "extension" / "postgis.control").is_file()


def first_blocked_parent(path: Path, account: str) -> Path | None:
    """The first existing ancestor of ``path`` (from / down) ``account`` cannot enter.

    Reads the permission bits only (not ACLs): enough to explain the usual case,
    a private home directory or pytest's 0700 temporary root.
    """
    user = pwd.getpwnam(account)
    groups = set(os.getgrouplist(account, user.pw_gid))
    for directory in reversed(path.absolute().parents):
        if not directory.is_dir():
            return None
        if not _can_enter(directory.stat(), user.pw_uid, groups):
            return directory
    return None


def cluster_root(data_dir: Path) -> Path:
    """Where the embedded cluster of ``data_dir`` lives: ``data_dir / "pg"``, except as root
    when the postgres account cannot reach it (a checkout in root's 0700 home directory).

    Then it is ``relocated_root(data_dir)``, and stays there once it holds a cluster, even if
    ``data_dir`` becomes reachable later. A cluster already in an unreachable ``data_dir/pg``
    is not abandoned for an empty one: it stays put, and starting it explains the blocked
    directory.
    """
    preferred = data_dir / "pg"
    if os.geteuid() != 0:
        return preferred
    relocated = relocated_root(data_dir)
    if (relocated / "data" / "PG_VERSION").is_file():
        return relocated
    try:
        account = pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        return preferred  # service_account() explains this at start
    if first_blocked_parent(preferred, account.pw_name) is None:
        return preferred
    return preferred if (preferred / "data" / "PG_VERSION").is_file() else relocated


def relocated_root(data_dir: Path) -> Path:
    """``/var/lib/onemap/<hash of data_dir's path>/pg``: one stable place per data directory."""
    digest = hashlib.sha256(os.fsencode(data_dir.absolute())).hexdigest()[:16]
    return RELOCATED_ROOT / digest / "pg"


def make_reachable_parents(root: Path) -> None:
    """Create ``root``'s parents under ``RELOCATED_ROOT``, enterable by every account."""
    try:
        for directory in (RELOCATED_ROOT, root.parent):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o755)  # whatever the umask: the postgres account must enter
    except OSError as error:
        raise EmbeddedClusterError(
            f"Cannot create {root.parent} for the embedded cluster ({error.strerror}). "
            "Set ONEMAP_DATA_DIR to a directory the 'postgres' account can enter."
        ) from error


def _bindir_candidates() -> list[Path]:
    """PostgreSQL bin directories with initdb, newest version first."""
    found = [path for path in PG_LIB_ROOT.glob("*/bin") if (path / "initdb").is_file()]
    return sorted(found, key=_version_key, reverse=True)


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def _share_dir(bindir: Path) -> Path:
    """Debian keeps the extensions of /usr/lib/postgresql/N in /usr/share/postgresql/N."""
    return SHARE_ROOT / bindir.parent.name


def _can_enter(info: os.stat_result, uid: int, groups: set[int]) -> bool:
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def service_account() -> pwd.struct_passwd | None:
    """The account the cluster runs as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        raise EmbeddedClusterError(
            f"PostgreSQL refuses to run as root, so OneMap runs the embedded cluster as the "
            f"'{SERVICE_ACCOUNT}' account, which does not exist. Create it with `useradd "
            f"--system --user-group --home-dir /var/lib/postgresql {SERVICE_ACCOUNT}` (or run "
            "scripts/install-system-deps.sh), or set ONEMAP_DATABASE_URL."
        ) from None


def hand_over(path: Path, account: pwd.struct_passwd | None) -> None:
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def _process_status(pid: int) -> tuple[str, str] | None:
    """The (command name, state letter) of process ``pid`` from /proc, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    name = status[status.index("(") + 1 : status.rindex(")")]
    state = status[status.rindex(")") + 1 :].split()[0]
    return name, state


def is_postgres(pid: int) -> bool:
    status = _process_status(pid)
    return status is not None and status[0] in POSTGRES_NAMES


def is_live_postgres(pid: int) -> bool:
    status = _process_status(pid)
    return status is not None and status[0] in POSTGRES_NAMES and status[1] != "Z"


def wait_for_exit(pid: int, timeout_s: float) -> None:
    """Wait until a dying postgres process has gone, reaping it if it is our own zombie.

    When OneMap is PID 1 of a container, orphaned postmasters become our children
    and nobody else would reap them.
    """
    deadline = time.monotonic() + timeout_s
    while is_postgres(pid) and time.monotonic() < deadline:
        if _process_status(pid) == ("postgres", "Z"):
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


def utf8_c_locale_available() -> bool:
    try:
        result = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return False
    names = {line.strip().lower().replace("-", "") for line in result.stdout.splitlines()}
    return "c.utf8" in names


def clean_environment() -> dict[str, str]:
    """Our environment without PG* variables, which would redirect pg_ctl or the server.

    Messages stay in English because _pg_ctl_start recognises some of them.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") and key != "LANGUAGE"
    }
    environment["LC_ALL"] = "C"
    return environment
