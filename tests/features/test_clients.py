"""Real clients against a real uvicorn server: GDAL/OGR OAPIF, OWSLib, geopandas."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import geopandas
import pytest
from owslib.ogcapi.features import Features

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.helpers.live import RequestSpy, live_server


@pytest.fixture(scope="module")
def spy() -> RequestSpy:
    return RequestSpy()


@pytest.fixture(scope="module")
def server(settings: ServiceSettings, spy: RequestSpy, events_layer: str) -> Iterator[str]:
    with live_server(create_app(settings), spy=spy) as live:
        yield live.url


def ogr(*args: str) -> str:
    result = subprocess.run(
        ["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("layer", "count"), [("gd-cities", 21), ("gd-counties", 124)])
def test_ogr_oapif_reads_every_feature(server: str, layer: str, count: int) -> None:
    summary = ogr("-so", f"OAPIF:{server}", layer)
    assert f"Feature Count: {count}" in summary
    # -al reads every feature through the next links (page size forced small).
    listing = ogr("-al", "-oo", "PAGE_SIZE=20", f"OAPIF:{server}", layer)
    assert listing.count("OGRFeature(") == count
    assert "天河区" in listing or layer == "gd-cities"


def test_ogr_oapif_lists_collections_and_filters(server: str) -> None:
    layers = ogr(f"OAPIF:{server}")
    assert "gd-counties" in layers and "feat-events" in layers
    filtered = ogr("-al", "-where", "adcode = '440106'", f"OAPIF:{server}", "gd-counties")
    assert filtered.count("OGRFeature(") == 1 and "天河区" in filtered
    box = ogr("-al", "-spat", "113.3", "23.1", "113.4", "23.2", f"OAPIF:{server}", "gd-counties")
    assert "天河区" in box


def test_owslib_features(server: str) -> None:
    client = Features(server)
    assert "gd-counties" in [c["id"] for c in client.collections()["collections"]]
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (client.conformance()["conformsTo"])
    )
    page = client.collection_items("gd-counties", limit=200)
    assert page["numberMatched"] == 124 and len(page["features"]) == 124
    one = client.collection_items("gd-counties", adcode="440106")
    assert one["features"][0]["properties"]["name"] == "天河区"
    queryables = client.collection_queryables("gd-counties")
    assert "adcode" in queryables["properties"]


def test_geopandas_reads_an_items_url(server: str) -> None:
    frame = geopandas.read_file(f"{server}/collections/gd-counties/items?limit=1000")
    assert len(frame) == 124
    assert "天河区" in set(frame["name"])
    assert frame.geometry.iloc[0].geom_type == "MultiPolygon"
    assert 109 < frame.total_bounds[0] < frame.total_bounds[2] < 118


def assert_filtered_on_the_server(spy: RequestSpy, layer: str, wanted: dict[str, str]) -> None:
    """The filter reached the server once, and GDAL never paged through the whole layer
    (its one unfiltered request is the small page it reads the schema from)."""
    requests = spy.items_requests(layer)
    filtered = [q for q in requests if all(q.get(k) == [v] for k, v in wanted.items())]
    assert len(filtered) == 1, requests
    unfiltered = [q for q in requests if q not in filtered]
    assert len(unfiltered) <= 1, f"client-side filtering: {requests}"
    for query in unfiltered:
        assert not {"after", "offset"} & set(query), f"paged through the layer: {requests}"
        assert int(query["limit"][0]) <= 20, query


def ogr2ogr_geojson(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        ["/usr/bin/ogr2ogr", "-f", "GeoJSON", "/vsistdout/", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    collection: dict[str, Any] = json.loads(result.stdout)
    return collection


def test_debian_ogr2ogr_sends_where_to_the_server(server: str, spy: RequestSpy) -> None:
    """GDAL 3.6 reads /api, finds adcode among gd-counties' items parameters, sends adcode=…"""
    spy.seen.clear()
    out = ogr2ogr_geojson("-where", "adcode = '440106'", f"OAPIF:{server}", "gd-counties")
    assert [f["properties"]["name"] for f in out["features"]] == ["天河区"]
    assert_filtered_on_the_server(spy, "gd-counties", {"adcode": "440106"})
    assert any(path == "/api" for path, _ in spy.seen)


def test_debian_ogr2ogr_sends_both_sides_of_an_and(server: str, spy: RequestSpy) -> None:
    spy.seen.clear()
    where = "city_adcode = '440100' AND name = '天河区'"
    out = ogr2ogr_geojson("-where", where, f"OAPIF:{server}", "gd-counties")
    assert [f["properties"]["adcode"] for f in out["features"]] == ["440106"]
    assert_filtered_on_the_server(spy, "gd-counties", {"city_adcode": "440100", "name": "天河区"})


PYOGRIO_WHERE = """
import json, sys
import pyogrio
url, layer, where = sys.argv[1:]
frame = pyogrio.read_dataframe(url, layer=layer, where=where)
print(json.dumps({"gdal": pyogrio.__gdal_version__, "names": list(frame["name"])}))
"""


def pyogrio_names(url: str, layer: str, where: str) -> dict[str, Any]:
    """pyogrio's bundled GDAL, in a child process: it keeps the GIL while GDAL fetches
    ``/api`` for the attribute filter, which would stall this process's server thread."""
    result = subprocess.run(
        [sys.executable, "-c", PYOGRIO_WHERE, url, layer, where],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_pyogrio_gdal_312_sends_where_to_the_server(server: str, spy: RequestSpy) -> None:
    spy.seen.clear()
    read = pyogrio_names(f"OAPIF:{server}", "gd-counties", "adcode = '440106'")
    assert tuple(read["gdal"]) >= (3, 12, 0)
    assert read["names"] == ["天河区"]
    assert_filtered_on_the_server(spy, "gd-counties", {"adcode": "440106"})
    spy.seen.clear()
    events = pyogrio_names(f"OAPIF:{server}", "feat-events", "name = '事件7'")
    assert events["names"] == ["事件7"]
    assert_filtered_on_the_server(spy, "feat-events", {"name": "事件7"})
