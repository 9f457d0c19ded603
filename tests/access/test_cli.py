"""``onemap keys`` and ``onemap audit`` as a person runs them: separate processes, tables
or ``--json``, clear errors (exit 2, never a traceback), key changes in the audit log
under the local admin's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]


def onemap(url: str, *args: str, user: str = "cli-tester") -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env |= {"ONEMAP_DATABASE_URL": url, "USER": user}
    return subprocess.run(
        [sys.executable, "-m", "ogc.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)


def test_create_list_usage_revoke_and_their_audit_rows(access_url: str) -> None:
    created = as_json(
        onemap(
            access_url,
            "keys", "create", "--department", "gz-plan", "--name", "规划一张图",
            "--type", "browser", "--referer", "*.gz.gov.cn", "--role", "member",
            "--area", "440106", "--quota", "tiles=5000", "--quota", "processes=0",
            "--expires", "90d", "--json",
        )
    )  # fmt: skip
    key, secret = created["key"], created["secret"]
    assert secret.startswith("om_") and key["createdBy"] == "cli-tester"
    assert key["quotas"] == {"tiles": 5000, "features": None, "processes": 0}
    assert key["referers"] == ["*.gz.gov.cn"] and key["areas"] == ["440106"]

    table = onemap(access_url, "keys", "list", "--department", "gz-plan")
    assert table.returncode == 0 and key["id"] in table.stdout and "规划一张图" in table.stdout
    assert secret not in table.stdout
    listed = as_json(onemap(access_url, "keys", "list", "--json"))
    assert key["id"] in {k["id"] for k in listed}

    usage = as_json(onemap(access_url, "keys", "usage", key["id"], "--json"))
    assert usage["usage"] == [] and usage["key"]["id"] == key["id"]

    revoked = as_json(onemap(access_url, "keys", "revoke", key["id"], "--as", "admin-li", "--json"))
    assert revoked["status"] == "revoked" and revoked["revokedBy"] == "admin-li"
    assert key["id"] not in {k["id"] for k in as_json(onemap(access_url, "keys", "list", "--json"))}

    events = as_json(onemap(access_url, "audit", "--operation", "key.create", "--json"))
    mine = [e for e in events if e["detail"]["key_id"] == key["id"]]
    assert len(mine) == 1 and mine[0]["actor_kind"] == "local"
    assert mine[0]["actor_subject"] == "cli-tester" and mine[0]["outcome"] == "ok"
    revocations = as_json(onemap(access_url, "audit", "--actor", "admin-li", "--json"))
    assert [e["operation"] for e in revocations] == ["key.revoke"]
    assert secret not in onemap(access_url, "audit").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "create", "--department", "no-such", "--name", "x"), "not registered"),
        (("keys", "create", "--department", "gd-nr", "--name", "x", "--ip", "10.0.0.1/8"), "CIDR"),
        (("keys", "create", "--department", "gd-nr", "--name", "x", "--ip", "999.1.1.1"), "CIDR"),
        (("keys", "create", "--department", "gd-nr", "--name", "x", "--expires", "soon"), "date"),
        (("keys", "create", "--department", "gd-nr", "--name", "x", "--quota", "wms=1"), "SERVICE"),
        (("keys", "revoke", "nope"), "not a key id"),
        (("keys", "usage", "00000000-0000-0000-0000-000000000000"), "no API key"),
        (
            ("keys", "usage", "00000000-0000-0000-0000-000000000000", "--since", "2025-02-30"),
            "date",
        ),
        (("audit", "--since", "2025-06-10", "--until", "2025-06-01"), "since must be before"),
        (("audit", "--until", "yesterday-ish"), "date"),
    ],
)
def test_bad_input_is_a_clear_error_not_a_traceback(
    access_url: str, args: tuple[str, ...], message: str
) -> None:
    result = onemap(access_url, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
