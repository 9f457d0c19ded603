"""The notebook client (notebooks/onemap_client.py) reads collections into GeoDataFrames."""

from __future__ import annotations

from onemap_client import read_collection  # notebooks/ (pytest pythonpath)


def test_read_whole_collection_following_pages(live_url: str) -> None:
    frame = read_collection(live_url, "gd-counties")
    assert len(frame) == 124
    assert frame.crs.to_string() == "OGC:CRS84"
    assert {"adcode", "name"} <= set(frame.columns)


def test_bbox_and_crs(live_url: str) -> None:
    frame = read_collection(live_url, "synthetic-facilities", bbox=(113.2, 23.0, 113.4, 23.2))
    assert 0 < len(frame) < 620
    assert frame.geometry.x.between(113.2, 113.4).all()
    projected = read_collection(
        live_url, "gd-cities", crs="http://www.opengis.net/def/crs/EPSG/0/4547", max_features=3
    )
    assert len(projected) == 3 and projected.crs.to_epsg() == 4547
    assert projected.total_bounds[0] > 100_000  # metres, not degrees


def test_cql2_filter(live_url: str) -> None:
    frame = read_collection(live_url, "synthetic-facilities", filter="kind = 'hospital'")
    assert len(frame) == 124 and set(frame["kind"]) == {"hospital"}
