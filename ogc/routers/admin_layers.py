"""The admin API's layer writes (issue 13): who may see a layer, its metadata and style,
rollback and delete.

- ``PATCH /admin/layers/{collectionId}``: access level, owner department and internal
  fields (``layers.access.layer_access``), titles, descriptions, keywords, licence,
  attribution and style (``layers.layer_admin.change_layer_metadata``), in one transaction.
- ``POST /admin/layers/{collectionId}/rollback`` ``{"version": N}`` (default: the previous).
- ``DELETE /admin/layers/{collectionId}``.

Each is for the owning department's publishers and admins (moving a layer to another
department: admins only; ``ogc.gate.ownership``). A layer the caller cannot see is a 404,
one they see but do not own a 403; both are audited as denied, a done change in its own
transaction (rollback and delete run the command line's code: ``layers.layer_admin``).
Every replica reloads its catalog on the change (the catalog trigger's NOTIFY). Writes pass
the write guard as every write does (same origin only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from layers.access.audit import AuditEvent
from layers.access.layer_access import AccessChange, change_layer_access
from layers.catalog import Layer
from layers.db import connect
from layers.errors import InvalidParameter
from layers.layer_admin import (
    Deleted,
    MetadataChange,
    RolledBack,
    change_layer_metadata,
    delete_layer,
    rollback_layer,
)
from ogc.common.audit import AuditNote, audited, client_address, event_for, request_id
from ogc.deps import CallerDep, CatalogDep, PoolDep, StateDep
from ogc.gate.ownership import check_owner_kept, writable_layer
from tiles.styles import check_style

router = APIRouter(prefix="/admin", tags=["Administration"])
NO_STORE = {"Cache-Control": "no-store"}
LayerId = Annotated[str, PathParam(alias="collectionId", max_length=48, description="Layer id")]
Text = Annotated[str, Field(max_length=2000)]
ACCESS_FIELDS = frozenset({"level", "department", "internal_fields"})


class LayerChange(BaseModel):
    """The settings to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    level: Literal["public", "internal", "restricted"] | None = Field(
        None, alias="accessLevel", description="公众版 public, 政务版 internal, or restricted"
    )
    department: str | None = Field(None, max_length=48, description="Owner (admins only)")
    internal_fields: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None,
        alias="internalFields",
        max_length=500,
        description="Fields hidden below the internal level ([] clears the list)",
    )
    title: Text | None = Field(None, min_length=1, description="Chinese title")
    title_en: Text | None = Field(None, alias="titleEn", min_length=1)
    description: Text | None = Field(None, description="Chinese description")
    description_en: Text | None = Field(None, alias="descriptionEn")
    keywords: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=100)
    license: Text | None = None
    attribution: Text | None = None
    style: dict[str, Any] | None = Field(
        None,
        description="Map style (tiles.styles.Style's keys, e.g. "
        '{"fill": "#1f78b4", "fill_opacity": 0.4, "label_field": "name"}); '
        "null: back to the default",
    )

    def access(self) -> AccessChange | None:
        if not ACCESS_FIELDS & self.model_fields_set:
            return None
        fields = None if self.internal_fields is None else tuple(self.internal_fields)
        return AccessChange(self.level, self.department, fields)

    def metadata(self, layer: Layer) -> MetadataChange:
        set_style = "style" in self.model_fields_set
        return MetadataChange(
            title_zh=self.title,
            title_en=self.title_en,
            description_zh=self.description,
            description_en=self.description_en,
            keywords=None if self.keywords is None else tuple(self.keywords),
            license=self.license,
            attribution=self.attribution,
            style=check_style(layer, self.style) if self.style is not None else None,
            set_style=set_style,
        )


@router.patch(
    "/layers/{collectionId}",
    summary="Change a layer's access, metadata or style (owner's publishers, admins)",
)
async def change_layer(
    request: Request,
    pool: PoolDep,
    catalog: CatalogDep,
    caller: CallerDep,
    layer_id: LayerId,
    body: LayerChange,
) -> JSONResponse:
    access = body.access()
    operation = "layer.access" if access is not None else "layer.metadata"
    async with audited(pool, request, caller, operation, layer_id, refusals_only=True):
        layer = writable_layer(catalog, layer_id, caller)
        if access is not None:
            check_owner_kept(layer, body.department, caller)
        metadata = body.metadata(layer)
        if access is None and metadata.empty:
            raise InvalidParameter("nothing to change: give access, metadata or style settings")
        document: dict[str, Any] = {"layer": layer_id}
        async with pool.connection() as conn, conn.transaction():
            if access is not None:
                document |= await change_layer_access(
                    conn,
                    layer,
                    access,
                    caller,
                    client_addr=client_address(request),
                    request_id=request_id(request),
                )
            if not metadata.empty:
                event = event_for(request, caller, "layer.metadata", AuditNote(layer_id))
                document |= await change_layer_metadata(conn, layer, metadata, event)
    return JSONResponse(document, headers=NO_STORE)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=1, le=1_000_000, description="Version to make current (default: the previous)"
    )


@router.post(
    "/layers/{collectionId}/rollback",
    summary="Make an earlier version of a layer current again (owner's publishers, admins)",
)
async def rollback(
    request: Request,
    state: StateDep,
    pool: PoolDep,
    catalog: CatalogDep,
    caller: CallerDep,
    layer_id: LayerId,
    body: RollbackRequest,
) -> JSONResponse:
    operation = "layer.rollback"
    async with audited(pool, request, caller, operation, layer_id, refusals_only=True) as note:
        writable_layer(catalog, layer_id, caller)
        note.detail["to"] = body.version
        event = event_for(request, caller, operation, note)
        done = await run_in_threadpool(_rollback, state.database_url, layer_id, body.version, event)
    document = {"layer": layer_id, "version": done.version, "rollups": done.rollups}
    return JSONResponse(document, headers=NO_STORE)


def _rollback(url: str, layer_id: str, version: int | None, event: AuditEvent) -> RolledBack:
    with connect(url) as conn:
        return rollback_layer(conn, layer_id, version, event)


@router.delete(
    "/layers/{collectionId}",
    summary="Delete a layer with every version (owner's publishers, admins)",
)
async def delete(
    request: Request,
    state: StateDep,
    pool: PoolDep,
    catalog: CatalogDep,
    caller: CallerDep,
    layer_id: LayerId,
) -> JSONResponse:
    operation = "layer.delete"
    async with audited(pool, request, caller, operation, layer_id, refusals_only=True) as note:
        writable_layer(catalog, layer_id, caller)
        event = event_for(request, caller, operation, note)
        raster_dir = state.settings.raster_dir.resolve()
        done = await run_in_threadpool(_delete, state.database_url, layer_id, event, raster_dir)
    document = {
        "layer": layer_id,
        "deleted": True,
        "versions": done.versions,
        "rollups": {"refreshed": done.rollups.refreshed, "removed": done.rollups.emptied},
    }
    return JSONResponse(document, headers=NO_STORE)


def _delete(url: str, layer_id: str, event: AuditEvent, raster_dir: Path) -> Deleted:
    with connect(url) as conn:
        return delete_layer(conn, layer_id, event, raster_dir)
