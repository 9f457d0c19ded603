"""``PATCH /admin/layers/{collectionId}``: who may see a layer (issue 13).

Access level, owner department and internal fields, in one change. The owning department's
publishers may set level and fields; moving the layer to another department is an admin's
(``ogc.gate.ownership.check_access_change``). A layer the caller cannot see is a 404, one
they see but do not own a 403; both are audited as denied, a change with before and after.
Every replica reloads its catalog on the change (the catalog trigger's NOTIFY).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from layers.access.layer_access import AccessChange, change_layer_access
from ogc.common.audit import audited, client_address, request_id
from ogc.deps import CallerDep, CatalogDep, PoolDep
from ogc.gate.ownership import check_access_change
from ogc.gate.visible import visible_layer

router = APIRouter(prefix="/admin", tags=["Administration"])
NO_STORE = {"Cache-Control": "no-store"}
LayerId = Annotated[str, PathParam(alias="collectionId", max_length=48, description="Layer id")]


class AccessRequest(BaseModel):
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

    def change(self) -> AccessChange:
        fields = None if self.internal_fields is None else tuple(self.internal_fields)
        return AccessChange(self.level, self.department, fields)


@router.patch("/layers/{collectionId}", summary="Change who may see a layer")
async def change_access(
    request: Request,
    pool: PoolDep,
    catalog: CatalogDep,
    caller: CallerDep,
    layer_id: LayerId,
    body: AccessRequest,
) -> JSONResponse:
    async with audited(pool, request, caller, "layer.access", layer_id, refusals_only=True):
        layer = visible_layer(catalog, layer_id, caller)
        check_access_change(layer, caller, body.department)
        async with pool.connection() as conn:
            after = await change_layer_access(
                conn,
                layer,
                body.change(),
                caller,
                client_addr=client_address(request),
                request_id=request_id(request),
            )
    return JSONResponse({"layer": layer_id} | after, headers=NO_STORE)
