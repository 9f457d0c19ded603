"""Who may change what (issue 13): a publisher writes only their department's layers (403
for another's they see, 404 for one they cannot see), admins every layer; a new layer
belongs to its creator's department; access changes and the command line's writes are
audited — denied ones too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import (
    A_EDIT,
    A_PUBLIC,
    B_PUBLIC,
    B_RESTRICTED,
    DEPT_A,
    DEPT_B,
    as_,
    audit_rows,
    owned,
    wait_for_layer,
)

__all__ = ["owned"]  # the fixture
ROOT = Path(__file__).resolve().parents[2]


def _points(n: int) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"n{i}", "secret": f"s{i}"},
            "geometry": {"type": "Point", "coordinates": [113.3 + i / 100, 23.1]},
        }
        for i in range(n)
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})


POINTS, OTHER_POINTS = _points(3), _points(2)


def _upload(client: TestClient, who: str | None, **form: str) -> Any:
    headers = as_(who) if who else {}
    files = {"file": ("points.geojson", POINTS, "application/geo+json")}
    return client.post("/ingest", files=files, data=form, headers=headers)


def test_a_publisher_versions_only_their_departments_layers(
    owned: TestClient, sample_url: str
) -> None:
    mine = _upload(owned, "alice", layer=A_PUBLIC)
    assert mine.status_code == 201, mine.text
    theirs = _upload(owned, "alice", layer=B_PUBLIC)
    assert theirs.status_code == 403, theirs.text  # visible, not writable
    assert DEPT_B in theirs.json()["detail"]
    hidden = _upload(owned, "alice", layer=B_RESTRICTED)
    unknown = _upload(owned, "alice", layer="own-nosuch")
    assert hidden.status_code == unknown.status_code == 404  # does not exist for alice
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("own-nosuch", B_RESTRICTED)
    moved = _upload(owned, "alice", layer=A_PUBLIC, department=DEPT_B)
    assert moved.status_code == 403  # giving a layer away is an admin's
    assert _upload(owned, None, layer=A_PUBLIC).status_code == 403  # anonymous: before the body
    assert _upload(owned, "bea", layer=B_RESTRICTED).status_code == 403  # a member reads only

    admin = _upload(owned, "root", layer=B_RESTRICTED)
    assert admin.status_code == 201, admin.text
    layer = wait_for_layer(owned, B_RESTRICTED, version=admin.json()["version"])
    assert layer["accessLevel"] == "restricted" and layer["department"]["id"] == DEPT_B

    denied = [r for r in audit_rows(sample_url, "layer.ingest", "alice") if r["outcome"] != "ok"]
    assert {(r["layer_id"], r["outcome"]) for r in denied} >= {
        (B_PUBLIC, "denied"),
        (B_RESTRICTED, "denied"),
    }
    ok = [r for r in audit_rows(sample_url, "layer.ingest", "alice") if r["outcome"] == "ok"]
    assert ok[-1]["layer_id"] == A_PUBLIC and ok[-1]["version"] == mine.json()["version"]
    assert ok[-1]["actor_kind"] == "user" and ok[-1]["actor_departments"] == [DEPT_A]
    assert str(ok[-1]["client_addr"]) == "testclient" or ok[-1]["client_addr"] is None


def test_a_new_layer_belongs_to_its_creators_department(owned: TestClient) -> None:
    created = _upload(owned, "alice", id="own-new-a")
    assert created.status_code == 201, created.text
    assert wait_for_layer(owned, "own-new-a")["department"]["id"] == DEPT_A
    several = _upload(owned, "both", id="own-new-both")
    assert several.status_code == 400 and "name" in several.json()["detail"]
    named = _upload(owned, "both", id="own-new-both", department=DEPT_B)
    assert named.status_code == 201, named.text
    assert wait_for_layer(owned, "own-new-both")["department"]["id"] == DEPT_B
    other = _upload(owned, "alice", id="own-new-x", department=DEPT_B)
    assert other.status_code == 403
    unknown = _upload(owned, "root", id="own-new-x", department="no-such-dept")
    assert unknown.status_code == 400 and "not registered" in unknown.json()["detail"]
    anywhere = _upload(owned, "root", id="own-new-root", department=DEPT_B)
    assert anywhere.status_code == 201
    assert wait_for_layer(owned, "own-new-root")["department"]["id"] == DEPT_B


def test_access_changes_by_owner_and_admin_only(owned: TestClient, sample_url: str) -> None:
    url = f"/admin/layers/{A_EDIT}"
    fields = owned.patch(url, json={"internalFields": ["secret"]}, headers=as_("alice"))
    assert fields.status_code == 200, fields.text
    assert fields.json()["internalFields"] == ["secret"]
    assert fields.headers["cache-control"].endswith("no-store")
    wait_for_layer(owned, A_EDIT, metadata={"internal_fields": ["secret"]})

    assert owned.patch(url, json={"department": DEPT_B}, headers=as_("alice")).status_code == 403
    assert owned.patch(url, json={"level": "internal"}, headers=as_("bob")).status_code == 403
    assert owned.patch(url, json={"level": "internal"}).status_code == 403  # anonymous sees it
    hidden = owned.patch(
        f"/admin/layers/{B_RESTRICTED}", json={"level": "public"}, headers=as_("alice")
    )
    assert hidden.status_code == 404
    bad = owned.patch(url, json={"internalFields": ["nosuch"]}, headers=as_("alice"))
    assert bad.status_code == 400 and "nosuch" in bad.json()["detail"]
    assert owned.patch(url, json={"level": "secret"}, headers=as_("alice")).status_code in (
        400,
        422,
    )

    closed = owned.patch(url, json={"level": "restricted"}, headers=as_("alice"))
    assert closed.status_code == 200 and closed.json()["accessLevel"] == "restricted"
    wait_for_layer(owned, A_EDIT, accessLevel="restricted")
    assert owned.get(f"/collections/{A_EDIT}").status_code == 404
    assert owned.get(f"/collections/{A_EDIT}", headers=as_("alice")).status_code == 200
    moved = owned.patch(url, json={"department": DEPT_B}, headers=as_("root"))
    assert moved.status_code == 200 and moved.json()["department"] == DEPT_B
    wait_for_layer(owned, A_EDIT, department={"id": DEPT_B, "name": DEPT_B})
    assert owned.get(f"/collections/{A_EDIT}", headers=as_("alice")).status_code == 404
    assert owned.patch(url, json={"level": "public"}, headers=as_("bob")).status_code == 200

    rows = audit_rows(sample_url, "layer.access", "alice")
    assert [r["outcome"] for r in rows][:2] == ["ok", "denied"]
    assert rows[0]["detail"]["after"]["internalFields"] == ["secret"]
    assert any(r["layer_id"] == B_RESTRICTED and r["outcome"] == "denied" for r in rows)
    moved_row = audit_rows(sample_url, "layer.access", "root")[-1]
    assert moved_row["detail"]["before"]["department"] == DEPT_A
    assert moved_row["detail"]["after"]["department"] == DEPT_B


def onemap(url: str, *args: str, user: str = "carol") -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env |= {"ONEMAP_DATABASE_URL": url, "USER": user, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "ogc.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_writes_are_audited_as_the_local_admin(
    owned: TestClient, sample_url: str, tmp_path: Path
) -> None:
    source, changed_source = tmp_path / "cli-points.geojson", tmp_path / "cli-v2.geojson"
    source.write_bytes(POINTS)
    changed_source.write_bytes(OTHER_POINTS)
    first = onemap(sample_url, "ingest", str(source), "--id", "own-cli", "--department", DEPT_A)
    assert first.returncode == 0, first.stderr
    second = onemap(sample_url, "ingest", str(changed_source), "--layer", "own-cli", "--as", "dave")
    assert second.returncode == 0, second.stderr
    unknown = onemap(sample_url, "ingest", str(source), "--id", "own-cli2", "--department", "nope")
    assert unknown.returncode == 2 and "not registered" in unknown.stderr
    back = onemap(sample_url, "layers", "rollback", "own-cli")
    assert back.returncode == 0, back.stderr
    access = onemap(
        sample_url, "layers", "access", "own-cli", "--level", "internal",
        "--internal-fields", "secret", "--as", "dave",
    )  # fmt: skip
    assert access.returncode == 0, access.stderr
    assert "internal" in access.stdout and "secret" in access.stdout
    bad = onemap(sample_url, "layers", "access", "own-cli", "--internal-fields", "nosuch")
    assert bad.returncode == 2 and "nosuch" in bad.stderr

    carol = audit_rows(sample_url, "layer.ingest", "carol")
    assert [(r["layer_id"], r["version"], r["outcome"]) for r in carol][-2:] == [
        ("own-cli", 1, "ok"),
        ("own-cli2", None, "failed"),
    ]
    assert carol[-1]["actor_kind"] == "local" and carol[-1]["detail"]["via"] == "cli"
    assert [
        (r["version"], r["outcome"]) for r in audit_rows(sample_url, "layer.ingest", "dave")
    ] == [(2, "ok")]
    rollback = audit_rows(sample_url, "layer.rollback", "carol")
    assert [(r["layer_id"], r["version"]) for r in rollback] == [("own-cli", 1)]
    changed = audit_rows(sample_url, "layer.access", "dave")[-1]
    assert changed["detail"]["after"] == {
        "accessLevel": "internal",
        "department": DEPT_A,
        "internalFields": ["secret"],
    }
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT access_level, metadata -> 'internal_fields' FROM onemap.layers WHERE id = %s",
            ("own-cli",),
        ).fetchone()
    assert row == ("internal", ["secret"])
    shown = onemap(sample_url, "audit", "--actor", "dave", "--json")
    assert shown.returncode == 0, shown.stderr
    assert {e["operation"] for e in orjson.loads(shown.stdout)} >= {"layer.ingest", "layer.access"}


def test_a_rollback_keeps_the_layers_access(
    owned: TestClient, sample_url: str, tmp_path: Path
) -> None:
    """Access is the layer's, not the version's: rolling back never reopens a closed layer."""
    source, changed_source = tmp_path / "roll.geojson", tmp_path / "roll-v2.geojson"
    source.write_bytes(POINTS)
    changed_source.write_bytes(OTHER_POINTS)
    assert onemap(sample_url, "ingest", str(source), "--id", "own-roll").returncode == 0
    assert onemap(sample_url, "ingest", str(changed_source), "--layer", "own-roll").returncode == 0
    closed = onemap(sample_url, "layers", "access", "own-roll", "--level", "restricted",
                    "--department", DEPT_A, "--internal-fields", "secret")  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert onemap(sample_url, "layers", "rollback", "own-roll").returncode == 0
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT current_version, access_level, department_id, metadata -> 'internal_fields' "
            "FROM onemap.layers WHERE id = %s",
            ("own-roll",),
        ).fetchone()
    assert row == (1, "restricted", DEPT_A, ["secret"])
