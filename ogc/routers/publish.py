"""Upload endpoint: departments publish a file over HTTP, through the same ingest path."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ingest.pipeline import ingest_file
from layers.errors import Forbidden, InvalidParameter, PayloadTooLarge
from ogc.deps import BaseUrlDep, SettingsDep, StateDep
from ogc.ingest_request import build_meta, build_options

router = APIRouter(tags=["Publishing"])
LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def require_publisher(request: Request, settings: SettingsDep) -> str:
    """Who is publishing: a bearer token holder, or (without a token configured) loopback."""
    token = settings.publisher_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if token and given and secrets.compare_digest(given, token):
        return "token"
    host = request.client.host if request.client else ""
    if not token and host in LOOPBACK:
        return f"local:{host}"
    raise Forbidden("publishing needs 'Authorization: Bearer <ONEMAP_PUBLISHER_TOKEN>'")


PublisherDep = Annotated[str, Depends(require_publisher)]


@router.post("/ingest", status_code=201, summary="Publish a file as a new layer or version")
async def upload(
    state: StateDep,
    settings: SettingsDep,
    base: BaseUrlDep,
    who: PublisherDep,
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
    name = Path(file.filename or "upload").name
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
        who=who,
        source_layer=source_layer,
        encoding=encoding,
        source_crs=source_crs,
        datetime_field=datetime_field,
        datetime_start_field=datetime_start_field,
        datetime_end_field=datetime_end_field,
        no_datetime=no_datetime or None,
        naive_timezone=naive_timezone,
    )
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=_upload_root(settings.upload_dir)))
    try:
        path = await _save(file, folder / name, settings.max_upload_mb)
        meta = await run_in_threadpool(build_meta, state.database_url, path, layer, id, fields)
        result = await run_in_threadpool(ingest_file, state.database_url, path, meta, options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    body: dict[str, Any] = {
        "layer": result.layer_id,
        "version": result.version,
        "unchanged": result.skipped,
        "featuresIn": result.features_in,
        "featuresOut": result.features_out,
        "repairs": result.repairs,
        "warnings": result.warnings,
        "detected": result.detected,
        "rollups": result.rollups,
        "message": result.summary(),
        "links": [{"rel": "collection", "href": f"{base}/collections/{result.layer_id}"}],
    }
    status = 200 if result.skipped else 201
    return JSONResponse(
        body, status_code=status, headers={"Location": f"{base}/collections/{result.layer_id}"}
    )


def _upload_root(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
