"""A published layer as it was at an earlier version, read through the gate.

Every ingest keeps its own table and every edit makes a new version on the table it changed
(ADR 0013), so version N is N's table less what later edits changed, plus those features as
the first later edit found them (``sql/version_rows.sql``; the rule of
``layers.edit.history.in_force``). The caller must see the layer now (the job owner's
catalog), reads only the fields they see now, and only inside their areas (``Context.clip``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import shapely
from psycopg import sql
from pydantic import BaseModel, Field, model_validator

from layers.catalog import FieldInfo
from layers.errors import InvalidParameter
from layers.platform import DATA_SCHEMA
from spatial.context import Context
from spatial.errors import check_geometry_types
from spatial.geodesy import STORAGE_CRS
from spatial.network import load_sql
from spatial.sqlparts import row_conditions


class VersionChoice(BaseModel):
    """One version of a layer: by number, or the one current at an instant."""

    version: int | None = Field(None, ge=1, description="Layer version number")
    datetime: dt.datetime | None = Field(
        None, description="Instant (RFC 3339): the newest version made at or before it"
    )

    @model_validator(mode="after")
    def _one(self) -> VersionChoice:
        if (self.version is None) == (self.datetime is None):
            raise ValueError("give exactly one of 'version' or 'datetime'")
        return self

    @property
    def given(self) -> str:
        return f"version {self.version}" if self.version else f"at {self.datetime}"


def _version_row(ctx: Context, layer_id: str, choice: VersionChoice) -> dict[str, Any]:
    params: dict[str, Any] = {"schema": DATA_SCHEMA, "layer": layer_id}
    params |= {"version": choice.version, "at": choice.datetime}
    row = ctx.connection().execute(load_sql("layer_version").encode(), params).fetchone()
    if row is None or row[0] is None:
        span = (
            ctx.connection()
            .execute(load_sql("version_span").encode(), {"layer": layer_id})
            .fetchone()
        )
        known = "" if span is None or span[0] is None else f" (it has versions {span[0]}–{span[1]})"
        raise InvalidParameter(f"layer '{layer_id}' has no {choice.given}{known}")
    version, table_name, srid, schema, kept = row
    if not kept:
        raise InvalidParameter(f"the rows of version {version} of '{layer_id}' are no longer kept")
    fields = [FieldInfo.from_json(f).name for f in schema or ()]
    return {"version": version, "table": table_name, "srid": srid, "fields": fields}


def read_version(
    ctx: Context,
    layer_id: str,
    choice: VersionChoice,
    field: str | None = None,
    geometry: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """Columns fid, ``value`` (the field as text, None without one) and geometry in EPSG:4490;
    the frame's ``attrs["version"]`` is the version read."""
    reading_now = layer_id in ctx.used
    layer = ctx.layer(layer_id)  # 400 unless the caller sees the layer
    if not reading_now:  # lineage names the versions read, not the current one
        ctx.used.pop(layer.id, None)
    if layer.kind != "vector":
        raise InvalidParameter(f"'{layer_id}' is a {layer.kind} layer; give a vector layer")
    found = _version_row(ctx, layer.id, choice)
    if field is not None and (field not in layer.field_names or field not in found["fields"]):
        raise InvalidParameter(f"layer '{layer_id}' {choice.given} has no field '{field}'")
    ctx.versions_read.add((layer.id, int(found["version"])))
    value = (
        sql.SQL("NULL::text")
        if field is None
        else sql.SQL("t.{}::text").format(sql.Identifier(field))
    )
    conditions = row_conditions(None, None, ctx.clip(layer.id)) or [sql.SQL("true")]
    query = sql.SQL(load_sql("version_rows")).format(
        table=sql.Identifier(DATA_SCHEMA, found["table"]),
        value=value,
        conditions=sql.SQL(" AND ").join(conditions),
    )
    params = {"layer": layer.id, "table_name": found["table"], "version": found["version"]}
    params |= {"field": field, "srid": found["srid"]}
    rows = ctx.connection().execute(query, params).fetchall()
    geoms = shapely.from_wkb([bytes(r[2]) if r[2] is not None else None for r in rows])
    frame = gpd.GeoDataFrame(
        {"fid": [r[0] for r in rows], "value": [r[1] for r in rows]},
        geometry=geoms,
        crs=STORAGE_CRS,
    )
    if geometry is not None:
        check_geometry_types(f"layer '{layer_id}'", frame.geom_type.unique(), geometry)
    frame.attrs["version"] = int(found["version"])
    return frame
