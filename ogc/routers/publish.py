"""Upload endpoint: departments publish a file over HTTP, through the same ingest path.

Who may (``ogc.gate.ownership``): a new version only by a publisher of the layer's
department or an admin (404 for a layer the caller cannot see, 403 for one they see but
do not own); a new layer belongs to its creator's department. Every upload is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ingest.pipeline import ingest_file
from ingest.request import build_meta, build_options
from ingest.workdirs import work_dir
from layers.access.caller import Caller
from layers.catalog import Catalog
from layers.catalog_write import require_registered
from layers.errors import InvalidParameter, PayloadTooLarge
from ogc.common.audit import audited, event_for
from ogc.common.upload_checks import check_upload_fields, known_departments, safe_upload_name
from ogc.deps import BaseUrlDep, CallerDep, CatalogDep, PoolDep, SettingsDep, StateDep
from ogc.errors import server_roots, without_server_paths
from ogc.gate.ownership import check_owner_kept, new_layer_department, writable_layer

router = APIRouter(tags=["Publishing"])


@router.post("/ingest", status_code=201, summary="Publish a file as a new layer or version")
async def upload(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    base: BaseUrlDep,
    caller: CallerDep,
    catalog: CatalogDep,
    pool: PoolDep,
    file: Annotated[UploadFile, File(description="Shapefile as .zip, GeoPackage, GeoJSON, …")],
    layer: Annotated[str | None, Form(description="Existing layer to version")] = None,
    id: Annotated[str | None, Form(description="Id of a new layer")] = None,
    title: Annotated[str | None, Form()] = None,
    title_en: Annotated[str | None, Form()] = None,
    level: Annotated[str | None, Form()] = None,
    adcode: Annotated[str | None, Form()] = None,
    department: Annotated[str | None, Form()] = None,
    theme: Annotated[str | None, Form()] = None,
    source_layer: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    source_crs: Annotated[str | None, Form()] = None,
    datetime_field: Annotated[str | None, Form(description="Column datetime= filters on")] = None,
    datetime_start_field: Annotated[str | None, Form(description="Interval start column")] = None,
    datetime_end_field: Annotated[str | None, Form(description="Interval end column")] = None,
    no_datetime: Annotated[bool, Form(description="No time column")] = False,
    naive_timezone: Annotated[str | None, Form(description="Zone of offset-less times")] = None,
) -> JSONResponse:
    form = {"layer": layer, "id": id, "title": title, "title_en": title_en, "level": level}
    form |= {"adcode": adcode, "department": department, "theme": theme}
    form |= {"source_layer": source_layer, "encoding": encoding, "source_crs": source_crs}
    form |= {"datetime_field": datetime_field, "datetime_start_field": datetime_start_field}
    form |= {"datetime_end_field": datetime_end_field, "naive_timezone": naive_timezone}
    check_upload_fields(form)
    name = safe_upload_name(file.filename)
    # A published (or unchanged) run is audited in the ingest's own transaction
    # (``IngestOptions.audit``); a refusal or failure here, when the block ends.
    operation = "layer.ingest"
    async with audited(pool, request, caller, operation, layer or id, refusals_only=True) as note:
        note.detail |= {"file": name, "new_layer": layer is None}
        if layer is not None and layer not in catalog.layers and state.store is not None:
            catalog = await state.store.reload()  # published a moment ago, not yet heard of
        known = await run_in_threadpool(known_departments, state.database_url)
        department = _owning_department(catalog, caller, layer, department, known)
        fields = {
            "title_zh": title,
            "title_en": title_en,
            "level": level,
            "adcode": adcode,
            "department_id": department,
            "theme": theme,
        }
        options = build_options(
            settings,
            expect_new=layer is None,
            who=caller.subject or caller.kind,
            source_layer=source_layer,
            encoding=encoding,
            source_crs=source_crs,
            datetime_field=datetime_field,
            datetime_start_field=datetime_start_field,
            datetime_end_field=datetime_end_field,
            no_datetime=no_datetime or None,
            naive_timezone=naive_timezone,
        )
        options.audit = event_for(request, caller, operation, note)
        with work_dir(settings.upload_dir, "upload") as folder:
            path = await _save(file, folder / name, settings.max_upload_mb)
            meta = await run_in_threadpool(build_meta, state.database_url, path, layer, id, fields)
            note.layer_id = meta.id
            result = await run_in_threadpool(ingest_file, state.database_url, path, meta, options)
        note.version, note.detail["unchanged"] = result.version, result.skipped
    roots = server_roots(request)
    body: dict[str, Any] = {
        "layer": result.layer_id,
        "version": result.version,
        "unchanged": result.skipped,
        "featuresIn": result.features_in,
        "featuresOut": result.features_out,
        "repairs": result.repairs,
        "warnings": [without_server_paths(w, roots) for w in result.warnings],
        "detected": result.detected,
        "rollups": result.rollups,
        "message": result.summary(),
        "links": [{"rel": "collection", "href": f"{base}/collections/{result.layer_id}"}],
    }
    status = 200 if result.skipped else 201
    return JSONResponse(
        body, status_code=status, headers={"Location": f"{base}/collections/{result.layer_id}"}
    )


def _owning_department(
    catalog: Catalog, caller: Caller, layer_id: str | None, named: str | None, known: list[str]
) -> str | None:
    """The department the upload publishes for (None: the layer keeps its own), or the
    refusal: 404/403 for a layer the caller may not see/change, 400/403 for a department."""
    if layer_id is None:
        return new_layer_department(caller, named, known)
    require_registered(named, known)
    check_owner_kept(writable_layer(catalog, layer_id, caller), named, caller)
    return named


async def _save(file: UploadFile, target: Path, max_mb: int) -> Path:
    limit, written = max_mb * 1024 * 1024, 0
    with target.open("wb") as out:
        while chunk := await file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise PayloadTooLarge(
                    f"{target.name} is larger than {max_mb} MB (ONEMAP_MAX_UPLOAD_MB)"
                )
            out.write(chunk)
    if written == 0:
        raise InvalidParameter(f"{target.name}: the uploaded file is empty")
    return target
