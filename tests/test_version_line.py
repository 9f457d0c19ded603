"""An id used again after a delete continues its version line: (id, version) — what tile
cache keys and ETags are made of — never names two different data."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.access.test_ownership_writes import onemap


def _points(n: int) -> str:
    features = [
        {
            "type": "Feature",
            "properties": {"n": i},
            "geometry": {"type": "Point", "coordinates": [113.3 + i / 100, 23.1]},
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features})


def _versions(url: str, layer_id: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version FROM onemap.layer_versions WHERE layer_id = %s ORDER BY version",
            (layer_id,),
        ).fetchall()
    return [int(v) for (v,) in rows]


def test_a_layer_published_again_after_a_delete_continues_its_versions(
    sample_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "again.geojson"
    for n, flag in ((2, "--id"), (3, "--layer")):  # v1, then v2 of it
        source.write_text(_points(n))
        assert onemap(sample_url, "ingest", str(source), flag, "again-points").returncode == 0
    assert _versions(sample_url, "again-points") == [1, 2]
    done = onemap(sample_url, "layers", "delete", "again-points", "--yes")
    assert done.returncode == 0, done.stderr
    assert _versions(sample_url, "again-points") == []
    source.write_text(_points(4))
    again = onemap(sample_url, "ingest", str(source), "--id", "again-points")
    assert again.returncode == 0, again.stderr
    assert _versions(sample_url, "again-points") == [3]  # not 1: the old v1's tiles stay its own
