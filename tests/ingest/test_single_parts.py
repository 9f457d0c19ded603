"""``--single-parts`` (ADR 0013, decision 14): a polygon source whose every feature is one
part keeps Polygon, so an edited feature comes back as it was sent; a source with one
real multi-part feature, or an ingest without the option, is stored as multi."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from layers.catalog import Catalog
from tests.ingest.conftest import Publish, rows


def square(x: float) -> list[list[list[float]]]:
    return [[[x, 23.1], [x + 0.01, 23.1], [x + 0.01, 23.11], [x, 23.11], [x, 23.1]]]


def geojson(path: Path, *, with_multi: bool) -> Path:
    features = [
        {"type": "Feature", "properties": {"n": n},
         "geometry": {"type": "Polygon", "coordinates": square(113.2 + n * 0.02)}}
        for n in range(3)
    ]  # fmt: skip
    if with_multi:
        parts = [square(113.5), square(113.6)]
        features.append(
            {"type": "Feature", "properties": {"n": 9},
             "geometry": {"type": "MultiPolygon", "coordinates": parts}}
        )  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_one_part_each_keeps_the_single_type(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    tmp_path: Path,
    layer_id: str,
) -> None:
    publish(geojson(tmp_path / "single.geojson", with_multi=False), layer_id, single_parts=True)
    layer = catalog().get(layer_id)
    assert layer.geometry_type == "Polygon"
    stored = rows(
        migrated_url,
        f"SELECT DISTINCT GeometryType(geom), ST_NPoints(geom) FROM onemap_data.{layer.table_name}",
    )
    assert stored == [("POLYGON", 5)]


def test_a_multi_part_feature_or_no_option_stores_multi(
    publish: Publish, catalog: Callable[[], Catalog], tmp_path: Path, layer_id: str
) -> None:
    mixed = geojson(tmp_path / "mixed.geojson", with_multi=True)
    publish(mixed, layer_id, single_parts=True)
    assert catalog().get(layer_id).geometry_type == "MultiPolygon"
    plain = geojson(tmp_path / "plain.geojson", with_multi=False)
    publish(plain, f"{layer_id}-plain")
    assert catalog().get(f"{layer_id}-plain").geometry_type == "MultiPolygon"
