"""Settle what a vector source is before loading it: encoding, CRS, datum transformation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS

from ingest.crs import resolve_crs
from ingest.datum import plan_transformation, transform_geometries
from ingest.encoding import detect_shapefile_encoding, normalise_codepage
from ingest.formats import PreparedSource
from ingest.gcj02 import gcj02_to_cgcs2000
from ingest.options import IngestOptions
from ingest.source import VectorSource, open_vector
from layers.errors import IngestError

GeometryArray = NDArray[np.object_]
ToStorage = Callable[[GeometryArray], GeometryArray]


@dataclass
class Understanding:
    """What was detected, how geometries reach EPSG:4490, and what to warn about."""

    source: VectorSource
    to_storage: ToStorage
    detected: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    identity: bool = False  # to_storage leaves coordinates as they are


def understand_vector(prepared: PreparedSource, options: IngestOptions) -> Understanding:
    encoding, how = _encoding(prepared, options.encoding)
    reader_encoding = None if prepared.is_csv else encoding  # CSVs arrive transcoded to UTF-8
    source = open_vector(
        prepared.path, options.source_layer, reader_encoding, prepared.open_options
    )
    if source.feature_count == 0:
        raise IngestError(f"{prepared.original_name}: layer '{source.layer}' has no features")
    detected: dict[str, Any] = {"encoding": encoding, "encoding_from": how, "layer": source.layer}
    if (options.source_crs or "").lower() in ("gcj02", "gcj-02"):
        return _gcj02(source, detected)
    return _projected(prepared, source, options, detected)


def _projected(
    prepared: PreparedSource, source: VectorSource, options: IngestOptions, detected: dict[str, Any]
) -> Understanding:
    declared = (
        CRS.from_user_input(options.source_crs) if options.source_crs else source.declared_crs
    )
    if source.bounds is None:
        raise IngestError(f"{prepared.original_name}: has no coordinates to publish")
    crs = resolve_crs(declared, source.bounds, source_name=prepared.original_name)
    plan = plan_transformation(
        crs.crs,
        options.datum_shifts,
        source.bounds,
        options.datum_policy,
        source_name=prepared.original_name,
    )
    detected |= {
        "crs": f"EPSG:{crs.epsg}" if crs.epsg else crs.crs.to_string(),
        "crs_from": "option" if options.source_crs else crs.how,
        "transformation": plan.description,
        "ballpark_transformation": plan.ballpark,
    }
    return Understanding(
        source,
        lambda geoms: transform_geometries(plan, geoms),
        detected,
        [*crs.warnings, *plan.warnings],
        identity=plan.identity,
    )


def _gcj02(source: VectorSource, detected: dict[str, Any]) -> Understanding:
    state = Understanding(source, lambda g: g, detected)

    def convert(geoms: GeometryArray) -> GeometryArray:
        result = gcj02_to_cgcs2000(geoms)
        worst = max(detected.get("gcj02_round_trip_error_m", 0.0), result.round_trip_error_m)
        detected["gcj02_round_trip_error_m"] = worst
        return result.geometries

    state.to_storage = convert
    detected |= {
        "crs": "GCJ-02 (lon/lat)",
        "crs_from": "option",
        "transformation": "GCJ-02 → WGS 84 (inverse of the published offset, iterated) "
        "→ CGCS2000 (null shift, under 1 m)",
    }
    return state


def _encoding(prepared: PreparedSource, forced: str | None) -> tuple[str | None, str]:
    if prepared.is_shapefile:
        result = detect_shapefile_encoding(prepared.path, forced)
        return result.encoding, result.source
    if prepared.is_csv:
        return prepared.text_encoding, "forced" if forced else "detected"
    if forced:
        return normalise_codepage(forced) or forced, "forced"
    return None, "format"  # GeoPackage, GeoJSON, KML, FileGDB are UTF-8 by definition
