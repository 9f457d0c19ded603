"""The admin API's remaining layer writes (issue 13): metadata and style (``PATCH``),
rollback and delete — for the owning department's publishers and admins only (403 for a
layer the caller sees, 404 for one they cannot), audited (denied too), each replica
reloading; rollback and delete run the command line's code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import (
    A_EDIT,
    B_RESTRICTED,
    as_,
    audit_rows,
    owned,
    wait_for_layer,
)
from tests.access.test_ownership_writes import onemap
from tests.helpers.wait import wait_for

__all__ = ["owned"]  # the fixture


def _points(n: int) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"g{i}", "secret": f"s{i}"},
            "geometry": {"type": "Point", "coordinates": [113.3 + i / 100, 23.15]},
        }
        for i in range(n)
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})


def _upload(client: TestClient, who: str, n: int, **form: str) -> Any:
    files = {"file": ("gaps.geojson", _points(n), "application/geo+json")}
    answer = client.post("/ingest", files=files, data=form, headers=as_(who))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_metadata_and_style_by_owner_and_admin_only(owned: TestClient, sample_url: str) -> None:
    url = f"/admin/layers/{A_EDIT}"
    change = {
        "title": "改过的点",
        "titleEn": "Edited points",
        "description": "说明",
        "keywords": ["gaps", "edited"],
        "license": "CC-BY-4.0",
        "attribution": "Dept A",
        "style": {"fill": "#ff0000", "fill_opacity": 0.5, "label_field": "name"},
    }
    done = owned.patch(url, json=change, headers=as_("alice"))
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"].endswith("no-store")
    assert done.json()["titleZh"] == "改过的点" and done.json()["style"]["fill"] == "#ff0000"
    layer = wait_for_layer(owned, A_EDIT, title_zh="改过的点")
    assert layer["metadata"]["style"]["label_field"] == "name"
    collection = owned.get(f"/collections/{A_EDIT}").json()
    assert collection["license"] == "CC-BY-4.0" and collection["attribution"] == "Dept A"
    assert collection["keywords"] == ["gaps", "edited"]
    style = owned.get(f"/collections/{A_EDIT}/style.json").json()
    paints = [layer.get("paint", {}) for layer in style["layers"]]
    assert any(
        p.get("circle-color") == "#ff0000" or p.get("fill-color") == "#ff0000" for p in paints
    )

    assert owned.patch(url, json={"title": "x"}, headers=as_("bob")).status_code == 403
    assert owned.patch(url, json={"title": "x"}).status_code == 403  # anonymous sees it
    hidden = owned.patch(f"/admin/layers/{B_RESTRICTED}", json={"title": "x"}, headers=as_("alice"))
    assert hidden.status_code == 404
    for bad in ({"fill": "red"}, {"colour": "#000000"}, {"label_size": 1.5}, {"label_field": "x"}):
        refused = owned.patch(url, json={"style": bad}, headers=as_("alice"))
        assert refused.status_code == 400 and "style" in refused.json()["detail"], bad
    assert owned.patch(url, json={}, headers=as_("alice")).status_code == 400
    assert owned.patch(url, json={"title": ""}, headers=as_("alice")).status_code == 400
    reset = owned.patch(url, json={"style": None}, headers=as_("root"))
    assert reset.status_code == 200 and reset.json()["style"] is None

    rows = audit_rows(sample_url, "layer.metadata", "alice")
    ok = [r for r in rows if r["outcome"] == "ok"]
    assert ok[-1]["layer_id"] == A_EDIT and "titleZh" in ok[-1]["detail"]["changed"]
    assert ok[-1]["detail"]["after"]["style"]["fill"] == "#ff0000"
    assert any(r["outcome"] == "denied" for r in rows)  # the hidden layer
    assert audit_rows(sample_url, "layer.metadata", "bob")[-1]["outcome"] == "denied"
    assert audit_rows(sample_url, "layer.metadata", "root")[-1]["detail"]["changed"] == ["style"]


def test_rollback_by_owner_and_admin_only(owned: TestClient, sample_url: str) -> None:
    layer_id = "own-gap-roll"
    assert _upload(owned, "alice", 2, id=layer_id)["version"] == 1
    assert _upload(owned, "alice", 3, layer=layer_id)["version"] == 2
    wait_for_layer(owned, layer_id, version=2)
    url = f"/admin/layers/{layer_id}/rollback"
    assert owned.post(url, json={"version": 1}, headers=as_("bob")).status_code == 403
    assert owned.post(url, json={"version": 1}).status_code == 403
    unknown = owned.post(url, json={"version": 9}, headers=as_("alice"))
    assert unknown.status_code == 404 and "no version 9" in unknown.json()["detail"]
    current = owned.post(url, json={"version": 2}, headers=as_("alice"))
    assert current.status_code == 400
    done = owned.post(url, json={"version": 1}, headers=as_("alice"))
    assert done.status_code == 200, done.text
    assert done.json()["version"] == 1
    assert wait_for_layer(owned, layer_id, version=1)["featureCount"] == 2
    forward = owned.post(url, json={"version": 2}, headers=as_("root"))
    assert forward.status_code == 200 and forward.json()["version"] == 2
    back = owned.post(url, json={}, headers=as_("alice"))  # default: the previous version
    assert back.status_code == 200 and back.json()["version"] == 1

    rows = audit_rows(sample_url, "layer.rollback", "alice")
    assert [(r["version"], r["outcome"]) for r in rows if r["outcome"] == "ok"] == [(1, "ok")] * 2
    assert {r["outcome"] for r in rows} == {"ok", "denied", "failed"}  # 404 and 400 too
    assert audit_rows(sample_url, "layer.rollback", "bob")[-1]["outcome"] == "denied"
    assert audit_rows(sample_url, "layer.rollback", "root")[-1]["version"] == 2


def _exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"onemap_data.{name}",)).fetchone()
    return row is not None and row[0] is not None


def test_delete_by_owner_and_admin_only(owned: TestClient, sample_url: str) -> None:
    layer_id = "own-gap-del"
    _upload(owned, "alice", 2, id=layer_id)
    _upload(owned, "alice", 4, layer=layer_id)
    wait_for_layer(owned, layer_id, version=2)
    with psycopg.connect(sample_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM onemap.layer_versions WHERE layer_id = %s", (layer_id,)
            )
        ]
    assert len(tables) == 2 and all(_exists(sample_url, t) for t in tables)
    url = f"/admin/layers/{layer_id}"
    assert owned.delete(url, headers=as_("bob")).status_code == 403
    assert owned.delete(url, headers=as_("bea")).status_code == 403  # a member reads only
    assert owned.delete(url).status_code == 403
    done = owned.delete(url, headers=as_("alice"))
    assert done.status_code == 200, done.text
    no_rollups = {"refreshed": [], "removed": []}
    assert done.json() == {"layer": layer_id, "deleted": True, "versions": 2, "rollups": no_rollups}
    wait_for(
        lambda: owned.get(f"/collections/{layer_id}", headers=as_("root")).status_code == 404,
        f"{layer_id} never left the catalog",
    )
    assert not any(_exists(sample_url, t) for t in [*tables, layer_id])  # tables, stable view
    assert owned.delete(url, headers=as_("alice")).status_code == 404

    rows = audit_rows(sample_url, "layer.delete", "alice")
    ok = [r for r in rows if r["outcome"] == "ok"]
    assert len(ok) == 1 and ok[0]["version"] == 2 and ok[0]["detail"]["versions"] == 2
    assert rows[-1]["outcome"] == "denied"  # the second delete: no such layer
    assert audit_rows(sample_url, "layer.delete", "bob")[-1]["outcome"] == "denied"


def test_the_layer_writes_are_in_the_openapi_document(owned: TestClient) -> None:
    paths = owned.get("/api").json()["paths"]
    assert {"patch", "delete"} <= set(paths["/admin/layers/{collectionId}"])
    assert "post" in paths["/admin/layers/{collectionId}/rollback"]
    schema = owned.get("/api").json()["components"]["schemas"]["LayerChange"]["properties"]
    assert {"title", "style", "accessLevel", "keywords"} <= set(schema)


def test_the_command_line_deletes_with_the_same_code(
    owned: TestClient, sample_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "gap-cli.geojson"
    source.write_bytes(_points(3))
    assert onemap(sample_url, "ingest", str(source), "--id", "own-gap-cli").returncode == 0
    unsure = onemap(sample_url, "layers", "delete", "own-gap-cli")
    assert unsure.returncode == 2 and "--yes" in unsure.stderr
    done = onemap(sample_url, "layers", "delete", "own-gap-cli", "--yes", "--as", "erin")
    assert done.returncode == 0, done.stderr
    assert "deleted with 1 versions" in done.stdout
    again = onemap(sample_url, "layers", "delete", "own-gap-cli", "--yes", "--as", "erin")
    assert again.returncode != 0 and "does not exist" in again.stderr
    rows = audit_rows(sample_url, "layer.delete", "erin")
    assert [(r["actor_kind"], r["outcome"], r["version"]) for r in rows] == [
        ("local", "ok", 1),
        ("local", "denied", None),
    ]
    assert rows[0]["detail"]["via"] == "cli"


def _versions(url: str, layer_id: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version, table_name FROM onemap.layer_versions WHERE layer_id = %s "
            "ORDER BY version",
            (layer_id,),
        ).fetchall()
    return [(int(v), str(t)) for v, t in rows]


def test_a_roll_up_goes_with_its_members(owned: TestClient, sample_url: str) -> None:
    """Deleting a county layer of a theme takes its rows out of the roll-ups (their older
    versions reading it go too) and the last member takes them away; deleting a roll-up
    with members is a 409 naming them, over HTTP and on the command line."""
    theme, city, province = "gapdel", "gapdel-440100", "gapdel-440000"
    yuexiu, tianhe = f"{theme}-440104", f"{theme}-440106"
    for layer_id, n in ((yuexiu, 2), (tianhe, 3)):
        code = layer_id.rsplit("-", 1)[1]
        _upload(owned, "alice", n, id=layer_id, level="county", adcode=code, theme=theme)
    _upload(owned, "alice", 4, layer=tianhe)  # the roll-ups' versions: [yuexiu], +tianhe v1, v2
    wait_for_layer(owned, city, version=3)
    tianhe_tables = [t for _, t in _versions(sample_url, tianhe)]
    reading_tianhe = [t for v, t in _versions(sample_url, city) if v >= 2]
    for rollup in (city, province):
        refused = owned.delete(f"/admin/layers/{rollup}", headers=as_("alice"))
        assert refused.status_code == 409, refused.text
        assert f"({yuexiu}, {tianhe})" in refused.json()["detail"]
    cli = onemap(sample_url, "layers", "delete", city, "--yes", "--as", "erin")
    assert cli.returncode != 0 and f"({yuexiu}, {tianhe}) and is rebuilt" in cli.stderr

    done = owned.delete(f"/admin/layers/{tianhe}", headers=as_("alice"))
    assert done.status_code == 200, done.text
    assert done.json()["rollups"] == {"refreshed": [city, province], "removed": []}
    wait_for_layer(owned, city, version=4)
    items = owned.get(f"/collections/{city}/items", headers=as_("root")).json()
    assert items["numberMatched"] == 2  # Yuexiu's two points
    with psycopg.connect(sample_url) as conn:
        view = _versions(sample_url, city)[-1][1]
        sources = conn.execute(f'SELECT DISTINCT source_layer FROM onemap_data."{view}"').fetchall()
    assert sources == [(yuexiu,)]
    assert [v for v, _ in _versions(sample_url, city)] == [1, 4]  # 2 and 3 read Tianhe's
    assert not any(_exists(sample_url, t) for t in [*tianhe_tables, *reading_tianhe])
    row = audit_rows(sample_url, "layer.delete", "alice")[-1]
    assert row["detail"]["rollups"] == {"refreshed": [city, province], "removed": []}

    last = owned.delete(f"/admin/layers/{yuexiu}", headers=as_("alice"))
    assert last.status_code == 200, last.text
    assert last.json()["rollups"] == {"refreshed": [], "removed": [city, province]}
    for gone in (yuexiu, city, province):
        wait_for(
            lambda gone=gone: (
                owned.get(f"/collections/{gone}", headers=as_("root")).status_code == 404
            ),
            f"{gone} never left the catalog",
        )
        assert _versions(sample_url, gone) == [] and not _exists(sample_url, gone)


def test_roll_ups_a_member_left_go_too(owned: TestClient, sample_url: str) -> None:
    """A member published again under another theme leaves its old theme's roll-ups with no
    member (still reading its first version): such a roll-up may be deleted, and deleting
    the member removes every roll-up that still reads it, of either theme."""
    member, old_city = "gaporph-440103", "gaporph-440100"
    _upload(owned, "alice", 2, id=member, level="county", adcode="440103", theme="gaporph")
    wait_for_layer(owned, old_city)
    _upload(owned, "alice", 3, layer=member, theme="gapmoved")
    wait_for_layer(owned, "gapmoved-440100")
    orphan = owned.delete(f"/admin/layers/{old_city}", headers=as_("alice"))
    assert orphan.status_code == 200, orphan.text
    done = owned.delete(f"/admin/layers/{member}", headers=as_("alice"))
    assert done.status_code == 200, done.text
    removed = ["gapmoved-440100", "gapmoved-440000", "gaporph-440000"]
    assert done.json()["rollups"] == {"refreshed": [], "removed": removed}
    for gone in (member, old_city, *removed):
        assert _versions(sample_url, gone) == [] and not _exists(sample_url, gone)
