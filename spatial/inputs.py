"""Typed inputs shared by the analyses, and how they become GeoDataFrames and rasters.

A vector input is a published collection (optionally restricted to an admin unit) or
inline GeoJSON features; a raster input is a raster layer (resolved to its COG through
the catalog's ``metadata.cog_path``) or a file path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from psycopg import sql
from pydantic import BaseModel, Field, PrivateAttr, model_validator

from layers.catalog import Layer
from layers.cql2 import compile_filter
from layers.errors import InvalidParameter, NotFound
from layers.features import table_of
from layers.features.filters import layer_queryables
from spatial.context import Context
from spatial.errors import about, check_geometry_types
from spatial.geodesy import STORAGE_CRS
from spatial.raster_source import RasterSource
from spatial.sqlparts import row_conditions

ADCODE_PATTERN = r"^[0-9]{6}$"
MAX_INLINE_FEATURES = 100_000


class NamedInput(BaseModel):
    """An input that knows its name in the request, so its errors can say which it is."""

    _input_name: str = PrivateAttr(default="")

    @property
    def input_name(self) -> str:
        return self._input_name

    def named(self, name: str) -> NamedInput:
        copy = self.model_copy()
        copy._input_name = name
        return copy


class LayerInput(NamedInput):
    """A published collection, or inline GeoJSON features (lon/lat, CGCS2000/WGS 84)."""

    collection: str | None = Field(None, description="Collection (layer) id, e.g. 'gd-counties'")
    adcode: str | None = Field(
        None, pattern=ADCODE_PATTERN, description="Only features inside this admin unit"
    )
    filter: str | None = Field(
        None,
        description="CQL2 text filter on the collection, e.g. \"kind = 'hospital'\"",
        examples=["kind = 'hospital'"],
    )
    features: dict[str, Any] | None = Field(
        None, description="Inline GeoJSON FeatureCollection instead of a collection"
    )

    @model_validator(mode="after")
    def _one_source(self) -> LayerInput:
        if (self.collection is None) == (self.features is None):
            raise ValueError("give exactly one of 'collection' or 'features'")
        inline = (self.features or {}).get("features")
        if isinstance(inline, list) and len(inline) > MAX_INLINE_FEATURES:  # before a job exists
            raise ValueError(
                f"inline 'features' must be a list of at most {MAX_INLINE_FEATURES:,} features; "
                "publish larger inputs as a layer"
            )
        return self

    @property
    def label(self) -> str:
        return self.collection or "inline features"


class RasterInput(NamedInput):
    """A published raster layer, named as vector inputs name theirs: ``{"collection": id}``
    (its COG comes from the catalog's version asset). A server file ``path`` is for admins
    and notebooks only."""

    collection: str | None = Field(
        None, description="Raster layer id, e.g. 'gd-dem'", examples=["gd-dem"]
    )
    path: str | None = Field(
        None, description="GeoTIFF/COG file on the server (admins and notebooks only)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> RasterInput:
        if (self.collection is None) == (self.path is None):
            raise ValueError("give exactly one of 'collection' or 'path'")
        return self


def admin_level(adcode: str) -> str:
    if adcode.endswith("0000"):
        return "province"
    return "city" if adcode.endswith("00") else "county"


def admin_unit(ctx: Context, adcode: str) -> shapely.Geometry:
    """The geometry of an admin unit, from the admin layer of its level."""
    layer_id = ctx.admin_layers.for_level(admin_level(adcode))
    frame = read_collection(ctx, layer_id)
    if "adcode" not in frame.columns:
        raise InvalidParameter(f"admin layer '{layer_id}' has no 'adcode' field")
    match = frame[frame["adcode"].astype(str) == adcode]
    if match.empty:
        raise InvalidParameter(
            f"admin code {adcode} is not in layer '{layer_id}'; "
            "give a 6-digit GB/T 2260 code of Guangdong, e.g. 440106"
        )
    return shapely.union_all(match.geometry.values)


def read_layer(
    ctx: Context,
    spec: LayerInput,
    *,
    within: shapely.Geometry | None = None,
    geometry: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """The input's features in EPSG:4490, optionally only those intersecting ``within``.

    ``geometry`` lists the geometry types the analysis accepts; a layer of another type is
    refused from its catalog entry, before anything is read. Errors name the input.
    """
    with about(spec.input_name):
        return _read_layer(ctx, spec, within, geometry)


def vector_layer(ctx: Context, spec: LayerInput) -> Layer:
    """The catalog entry of a collection input that must be a vector layer (400 naming it)."""
    with about(spec.input_name):
        if spec.collection is None:
            raise InvalidParameter("give a published collection id here, not inline features")
        return _vector(ctx, spec.collection)


def _vector(ctx: Context, layer_id: str) -> Layer:
    layer = ctx.layer(layer_id)
    if layer.kind != "vector":
        raise InvalidParameter(
            f"'{layer_id}' is a {layer.kind} layer; this input needs a vector layer"
        )
    return layer


def _read_layer(
    ctx: Context,
    spec: LayerInput,
    within: shapely.Geometry | None,
    geometry: tuple[str, ...] | None,
) -> gpd.GeoDataFrame:
    if geometry is not None and spec.collection is not None:
        declared = (_vector(ctx, spec.collection).geometry_type or "").removesuffix(" Z")
        check_geometry_types(f"layer '{spec.collection}'", [declared.removesuffix("Z")], geometry)
    area = within
    if spec.adcode is not None:
        unit = admin_unit(ctx, spec.adcode)
        area = unit if area is None else shapely.intersection(area, unit)
    if spec.features is not None:
        frame = features_frame(spec.features)
        if geometry is not None:
            check_geometry_types("inline features", frame.geom_type.unique(), geometry)
        if area is not None:  # interiors must meet: a neighbour touching the edge is out
            frame = frame[shapely.relate_pattern(frame.geometry.values._data, area, "T********")]
        return frame
    assert spec.collection is not None
    return read_collection(ctx, spec.collection, within=area, filter=spec.filter)


def features_frame(collection: dict[str, Any]) -> gpd.GeoDataFrame:
    """Inline GeoJSON features as a frame; every feature needs a valid, non-empty geometry."""
    if collection.get("type") != "FeatureCollection" or not collection.get("features"):
        raise InvalidParameter("inline 'features' must be a non-empty GeoJSON FeatureCollection")
    features = collection["features"]
    if not isinstance(features, list) or len(features) > MAX_INLINE_FEATURES:
        raise InvalidParameter(
            f"inline 'features' must be a list of at most {MAX_INLINE_FEATURES:,} features; "
            "publish larger inputs as a layer"
        )
    try:
        frame = gpd.GeoDataFrame.from_features(features, crs=STORAGE_CRS)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidParameter(f"inline 'features' is not valid GeoJSON: {exc}") from None
    missing = np.flatnonzero(frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy())
    if len(missing):
        raise InvalidParameter(
            f"inline feature {int(missing[0])} has no geometry; every feature needs one"
        )
    frame.insert(0, "fid", np.arange(1, len(frame) + 1))
    return frame


def filter_condition(layer: Layer, text: str | None) -> sql.Composable | None:
    """A CQL2 text filter compiled against the layer's queryables (values bound)."""
    if text is None:
        return None
    return compile_filter(
        text,
        "cql2-text",
        layer_queryables(layer),
        geometry_column="geom",
        storage_srid=layer.storage_srid,
    )


def read_collection(
    ctx: Context,
    layer_id: str,
    *,
    within: shapely.Geometry | None = None,
    filter: str | None = None,
) -> gpd.GeoDataFrame:
    layer = _vector(ctx, layer_id)
    columns = sql.SQL(", ").join(sql.Identifier(f.name) for f in layer.fields)
    query = sql.SQL("SELECT fid, {columns}{sep} ST_AsBinary(geom) FROM {table}").format(
        columns=columns, sep=sql.SQL(",") if layer.fields else sql.SQL(""), table=table_of(layer)
    )
    # Values are sql.Literal here, as in the compiled CQL2 filter: no placeholders to mix.
    conditions = row_conditions(filter_condition(layer, filter), within, ctx.clip(layer.id))
    if conditions:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
    rows = ctx.connection().execute(query + sql.SQL(" ORDER BY fid")).fetchall()
    names = ["fid", *layer.field_names]
    records = [dict(zip(names, row[:-1], strict=True)) for row in rows]
    geoms = shapely.from_wkb([bytes(row[-1]) if row[-1] is not None else None for row in rows])
    return gpd.GeoDataFrame(records, columns=names, geometry=geoms, crs=STORAGE_CRS)


def raster_source(ctx: Context, spec: RasterInput) -> RasterSource:
    """The GeoTIFF of a raster input, with the areas the caller may read a layer in (errors
    name the input)."""
    with about(spec.input_name):
        return _raster_source(ctx, spec)


def _raster_source(ctx: Context, spec: RasterInput) -> RasterSource:
    if spec.collection is not None:
        layer = ctx.layer(spec.collection)
        if layer.kind != "raster":
            raise InvalidParameter(
                f"'{spec.collection}' is a vector layer; give a raster layer (e.g. a DEM)"
            )
        cog = layer.asset_path or layer.metadata.get("cog_path")  # the version's COG
        if not cog:
            raise NotFound(f"raster layer '{spec.collection}' has no COG file recorded yet")
        label = f"{spec.input_name}: raster layer '{layer.id}'".removeprefix(": ")
        return RasterSource(Path(str(cog)), ctx.clip(layer.id), label)
    path = allowed_raster_path(spec, ctx.raster_roots)
    if not path.is_file():  # the path is not echoed: what exists on the server is not said
        raise InvalidParameter("raster 'path' names no file; give a raster layer id instead")
    return RasterSource(path, label=f"raster file {path.name}")


PATH_REFUSED = (
    "a raster 'path' (a server file) is not allowed here; name a published raster layer "
    'instead: {"collection": "gd-dem"} (see /collections)'
)


def allowed_raster_path(spec: RasterInput, roots: tuple[Path, ...] | None) -> Path:
    """The input's file if it lies below ``roots`` (None: anywhere; empty: nowhere, the
    rule for callers who are not admins) — else a 400 that does not echo the path."""
    assert spec.path is not None
    path = Path(spec.path).resolve()
    if roots is not None and not any(path.is_relative_to(r) for r in roots):
        raise InvalidParameter(PATH_REFUSED)
    return path


def check_raster_paths(model: BaseModel, roots: tuple[Path, ...] | None) -> None:
    """Refuse (400 naming the input) every raster path of parsed inputs outside ``roots``:
    before a job exists, the check its run makes again."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, RasterInput) and value.path is not None:
            with about(value.input_name or name):
                allowed_raster_path(value, roots)
