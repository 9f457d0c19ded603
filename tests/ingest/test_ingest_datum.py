"""Datum transformations to EPSG:4490: ballpark policy, operator parameter sets, WGS 84."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from ingest.datum import (
    DatumShift,
    Helmert7,
    load_datum_shifts,
    plan_transformation,
    transform_geometries,
)
from layers.errors import IngestError

GUANGZHOU = (113.2644, 23.1291)
GUANGZHOU_BOUNDS = (113.2, 23.0, 113.4, 23.2)
XIAN80_GK114_BOUNDS = (380_000.0, 2_500_000.0, 420_000.0, 2_560_000.0)
# Illustrative numbers of the size real Xi'an 1980 -> CGCS2000 sets have, not a real set.
HELMERT = {
    "kind": "helmert7",
    "tx": -110.0,
    "ty": 45.0,
    "tz": 62.0,
    "rx": 0.8,
    "ry": -1.3,
    "rz": 2.1,
    "ds": 3.5,
    "convention": "position_vector",
}
GUANGDONG_AREA = {"name": "Guangdong", "bbox": [109.0, 20.0, 118.0, 26.0]}


def shift(
    name: str,
    parameters: dict[str, object],
    area: dict[str, object] | None = None,
    datum: str = "xian1980",
) -> DatumShift:
    return DatumShift.model_validate(
        {
            "name": name,
            "source_datum": datum,
            "area": area or GUANGDONG_AREA,
            "parameters": parameters,
        }
    )


def xy(plan_transform: object, x: float, y: float) -> tuple[float, float]:
    lon, lat = plan_transform(np.array([x]), np.array([y]))  # type: ignore[operator]
    return float(lon[0]), float(lat[0])


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(Geod(ellps="GRS80").inv(a[0], a[1], b[0], b[1])[2])


def helmert_by_hand(lon: float, lat: float, p: Helmert7) -> tuple[float, float]:
    """Independent check: geocentric on IAG 1975, small-angle Helmert in numpy, back on GRS80."""
    to_xyz = Transformer.from_crs(
        "+proj=longlat +a=6378140 +rf=298.257",
        "+proj=geocent +a=6378140 +rf=298.257",
        always_xy=True,
    )
    from_xyz = Transformer.from_crs(
        "+proj=geocent +ellps=GRS80", "+proj=longlat +ellps=GRS80", always_xy=True
    )
    sign = 1.0 if p.convention == "position_vector" else -1.0
    rx, ry, rz = (sign * math.radians(r / 3600) for r in (p.rx, p.ry, p.rz))
    rotation = np.array([[1.0, -rz, ry], [rz, 1.0, -rx], [-ry, rx, 1.0]])
    xyz = np.array(to_xyz.transform(lon, lat, 0.0))
    moved = np.array([p.tx, p.ty, p.tz]) + (1 + p.ds * 1e-6) * rotation @ xyz
    out = from_xyz.transform(*moved)
    return float(out[0]), float(out[1])


def test_xian80_without_parameters_is_ballpark_with_a_warning() -> None:
    plan = plan_transformation(CRS.from_epsg(4610), [], GUANGZHOU_BOUNDS, "warn")
    assert plan.ballpark
    assert "tens of metres" in plan.warnings[0] and "ONEMAP_DATUM_SHIFTS" in plan.warnings[0]
    assert xy(plan.transform, *GUANGZHOU) == pytest.approx(GUANGZHOU)  # a null shift


def test_beijing54_without_parameters_is_refused_under_the_refuse_policy() -> None:
    with pytest.raises(IngestError, match=r"roads\.shp.*Beijing 1954.*tens of metres"):
        plan_transformation(
            CRS.from_epsg(2435), [], XIAN80_GK114_BOUNDS, "refuse", source_name="roads.shp"
        )


@pytest.mark.parametrize("convention", ["position_vector", "coordinate_frame"])
def test_configured_helmert_moves_the_point_as_computed_by_hand(convention: str) -> None:
    configured = shift("GD-X80", {**HELMERT, "convention": convention})
    plan = plan_transformation(CRS.from_epsg(4610), [configured], GUANGZHOU_BOUNDS, "refuse")
    assert not plan.ballpark and plan.warnings == []
    assert "7-param Helmert 'GD-X80'" in plan.description and "+proj=helmert" in plan.description
    moved = xy(plan.transform, *GUANGZHOU)
    assert isinstance(configured.parameters, Helmert7)
    expected = helmert_by_hand(*GUANGZHOU, configured.parameters)
    assert metres_between(moved, expected) < 0.001
    ballpark = plan_transformation(CRS.from_epsg(4610), [], GUANGZHOU_BOUNDS, "warn")
    offset = metres_between(moved, xy(ballpark.transform, *GUANGZHOU))
    assert offset == pytest.approx(metres_between(expected, GUANGZHOU), abs=0.001)
    assert 10 < offset < 300  # what the ballpark would have got wrong


def test_helmert_from_projected_xian80_matches_the_geographic_route() -> None:
    configured = shift("GD-X80", HELMERT)
    plan = plan_transformation(CRS.from_epsg(2383), [configured], XIAN80_GK114_BOUNDS, "refuse")
    assert "+inv +proj=tmerc" in plan.description
    lonlat = Transformer.from_crs(2383, 4610, always_xy=True).transform(400_000.0, 2_550_000.0)
    geographic = plan_transformation(CRS.from_epsg(4610), [configured], GUANGZHOU_BOUNDS, "warn")
    assert (
        metres_between(
            xy(plan.transform, 400_000.0, 2_550_000.0), xy(geographic.transform, *lonlat)
        )
        < 0.001
    )


def test_four_parameter_plane_shift_by_hand() -> None:
    params = {
        "kind": "plane4",
        "projected_epsg": 2383,
        "dx": -31.5,
        "dy": 48.2,
        "rotation": 1.5,
        "scale": -2.0,
    }
    plan = plan_transformation(
        CRS.from_epsg(2383), [shift("GZ-plane", params)], XIAN80_GK114_BOUNDS, "refuse"
    )
    assert "4-param plane similarity 'GZ-plane'" in plan.description
    assert "EPSG:4547" in plan.description
    east, north, theta, k = 400_000.0, 2_550_000.0, math.radians(1.5 / 3600), 1 - 2e-6
    by_hand = (
        -31.5 + k * (east * math.cos(theta) - north * math.sin(theta)),
        48.2 + k * (east * math.sin(theta) + north * math.cos(theta)),
    )
    expected = Transformer.from_crs(4547, 4490, always_xy=True).transform(*by_hand)
    assert metres_between(xy(plan.transform, east, north), expected) < 0.001


def test_north_east_plane_parameters_are_the_same_shift_as_published() -> None:
    east_north = {
        "kind": "plane4",
        "projected_epsg": 2383,
        "dx": -31.5,
        "dy": 48.2,
        "rotation": 1.5,
        "scale": -2.0,
    }
    north_east = {
        **east_north,
        "dx": 48.2,
        "dy": -31.5,
        "rotation": -1.5,
        "axis_order": "north_east",
    }
    plans = [
        plan_transformation(CRS.from_epsg(2383), [shift("p", p)], XIAN80_GK114_BOUNDS, "refuse")
        for p in (east_north, north_east)
    ]
    points = [xy(p.transform, 400_000.0, 2_550_000.0) for p in plans]
    assert metres_between(*points) < 1e-6


def test_most_specific_area_wins_and_partial_cover_is_noted() -> None:
    province = shift("GD", HELMERT)
    city = shift("GZ", {**HELMERT, "tx": -90.0}, {"name": "Guangzhou", "adcode_prefix": "4401"})
    plan = plan_transformation(
        CRS.from_epsg(4610), [province, city], GUANGZHOU_BOUNDS, "refuse", adcode="440106"
    )
    assert "'GZ'" in plan.description
    east_only = shift("East", HELMERT, {"name": "east", "bbox": [113.3, 22.0, 118.0, 26.0]})
    plan = plan_transformation(CRS.from_epsg(4610), [east_only], GUANGZHOU_BOUNDS, "warn")
    assert plan.ballpark and "covers only part" in plan.warnings[0]


def test_beijing54_shift_is_not_used_for_xian80() -> None:
    beijing = shift("BJ", HELMERT, datum="beijing1954")
    plan = plan_transformation(CRS.from_epsg(4610), [beijing], GUANGZHOU_BOUNDS, "warn")
    assert plan.ballpark


@pytest.mark.parametrize("code", [4326, 3857, 32649])
def test_wgs84_is_a_null_shift_without_warning(code: int) -> None:
    bounds = Transformer.from_crs(4326, code, always_xy=True).transform_bounds(*GUANGZHOU_BOUNDS)
    plan = plan_transformation(CRS.from_epsg(code), [], bounds, "refuse")
    assert not plan.ballpark and plan.warnings == []
    assert "under 1 m" in plan.description


def test_cgcs2000_projected_is_exact() -> None:
    plan = plan_transformation(CRS.from_epsg(4547), [], (0.0, 0.0, 1.0, 1.0), "refuse")
    assert not plan.ballpark and plan.warnings == []
    expected = Transformer.from_crs(4547, 4490, always_xy=True).transform(400_000.0, 2_550_000.0)
    assert xy(plan.transform, 400_000.0, 2_550_000.0) == pytest.approx(expected, abs=1e-12)


def test_transform_geometries_keeps_shapes_and_z() -> None:
    plan = plan_transformation(
        CRS.from_epsg(4610), [shift("GD-X80", HELMERT)], GUANGZHOU_BOUNDS, "refuse"
    )
    geoms = np.array(
        [shapely.Point(113.26, 23.13, 7.5), shapely.box(113.2, 23.0, 113.3, 23.1), None],
        dtype=object,
    )
    out = transform_geometries(plan, geoms)
    assert out[0].has_z and out[0].z == 7.5
    assert out[1].geom_type == "Polygon" and out[2] is None
    assert xy(plan.transform, 113.26, 23.13) == pytest.approx((out[0].x, out[0].y))


def test_load_json_and_toml(tmp_path: Path) -> None:
    document = {
        "shifts": [
            {
                "name": "GD-X80",
                "source_datum": "xian1980",
                "area": GUANGDONG_AREA,
                "parameters": HELMERT,
            }
        ]
    }
    json_file = tmp_path / "shifts.json"
    json_file.write_text(json.dumps(document))
    toml_file = tmp_path / "shifts.toml"
    toml_file.write_text(
        '[[shifts]]\nname = "GZ"\nsource_datum = "beijing1954"\n'
        '[shifts.area]\nname = "Guangzhou"\nadcode_prefix = "4401"\n'
        '[shifts.parameters]\nkind = "plane4"\nprojected_epsg = 2435\n'
        "dx = 1.0\ndy = 2.0\nrotation = 0.0\nscale = 0.0\n"
    )
    assert load_datum_shifts(json_file)[0].name == "GD-X80"
    assert load_datum_shifts(toml_file)[0].area.adcode_prefix == "4401"


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({**HELMERT, "convention": "sideways"}, "convention"),
        (
            {"kind": "plane4", "projected_epsg": 4547, "dx": 0, "dy": 0, "rotation": 0, "scale": 0},
            "not a Xi'an 1980 Gauss-Kr",
        ),
        ({"kind": "helmert7", "tx": 1.0}, "ty"),
    ],
)
def test_invalid_shift_files_name_the_file_and_problem(
    tmp_path: Path, parameters: dict[str, object], match: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "shifts": [
                    {
                        "name": "x",
                        "source_datum": "xian1980",
                        "area": GUANGDONG_AREA,
                        "parameters": parameters,
                    }
                ]
            }
        )
    )
    with pytest.raises(IngestError, match=rf"bad\.json.*{match}"):
        load_datum_shifts(bad)
