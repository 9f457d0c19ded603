"""``/viewer``: the public map viewer, a single page bundled into the package.

The page and its two assets (OpenLayers and the viewer, built from ``viewer/`` by ``make
viewer``, docs/adr/0012-viewer.md) are served from ``ogc/html/static/viewer``; the page
fetches everything else from this server's own OGC API, so it works on a network with no
internet. A ``tk=`` key in the page's URL is written into the asset URLs here and added by
the page to every request it makes. With an identity provider configured, the page also
carries its sign-in settings (``layers.access.signin``) and may reach the provider's token
endpoint.
"""

from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from layers.access.oidc_settings import OidcSettings
from layers.access.signin import SignInEndpoints, browser_config
from layers.errors import NotFound
from ogc.deps import BaseUrlDep, SettingsDep, StateDep
from ogc.http.links import key_in_query, with_key
from ogc.http.negotiation import language
from ogc.http.policy import page_policy
from ogc.state import AppState

router = APIRouter(tags=["Viewer"])

VIEWER_PATH = "/viewer"
ASSETS_PATH = VIEWER_PATH + "/assets"
ASSET_TYPES = {
    "viewer.js": "text/javascript; charset=utf-8",
    "viewer.css": "text/css; charset=utf-8",
}
NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>OneMap</title>"
    "<p>地图浏览器尚未构建。 The map viewer is not built on this server: run "
    "<code>make viewer</code> in the OneMap checkout (it needs Node.js 20 and npm), then reload."
)
IMMUTABLE = "public, max-age=31536000, immutable"  # asset URLs carry their content's digest


def viewer_dir() -> Path:
    return Path(str(resources.files("ogc.html") / "static" / "viewer"))


@router.get(VIEWER_PATH, include_in_schema=False, response_class=HTMLResponse)
async def viewer_page(
    request: Request, state: StateDep, settings: SettingsDep, base: BaseUrlDep
) -> Response:
    folder = viewer_dir()
    if not all((folder / name).is_file() for name in (*ASSET_TYPES, "index.html")):
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "60"})
    lang = language(request)
    version = assets_version(*(_stamp(folder / name) for name in ASSET_TYPES))
    query = f"?v={version}"
    key = key_in_query(request.scope["query_string"])
    if key:
        query = with_key(query, key)
    signin = await _signin(state, base)
    page = _template(_stamp(folder / "index.html")).substitute(
        html_lang="zh-CN" if lang == "zh" else "en",
        lang=lang,
        base=html.escape(base),
        assets=html.escape(base + ASSETS_PATH),
        query=html.escape(query),
        admin_layers=html.escape(",".join(settings.admin.finest_first()[::-1])),
        signin=html.escape(json.dumps(browser_config(*signin)) if signin else ""),
    )
    headers = {  # and the policy's Referrer-Policy: the provider's code in the URL stays here
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _policy(base, signin[0].token_origin if signin else None),
    }
    return HTMLResponse(page, headers=headers)


async def _signin(state: AppState, base: str) -> tuple[SignInEndpoints, OidcSettings, str] | None:
    """What ``browser_config`` needs, when the viewer offers sign-in and the provider's
    endpoints are known. The provider sends the person back to this page."""
    found = await state.signin.endpoints() if state.signin is not None else None
    if found is None:
        return None
    return found, state.settings.oidc, base + VIEWER_PATH


@router.get(ASSETS_PATH + "/{name}", include_in_schema=False)
async def viewer_asset(name: str) -> FileResponse:
    media_type = ASSET_TYPES.get(name)
    path = viewer_dir() / name
    if media_type is None or not path.is_file():
        raise NotFound(f"no viewer asset named {name[:60]!r}; the viewer has {sorted(ASSET_TYPES)}")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": IMMUTABLE})


def _policy(base: str, token_origin: str | None) -> str:
    """The browser itself refuses any request to another host (government networks often
    reach no internet, and a viewer must leak nothing to third parties) — but the identity
    provider's token endpoint, when the viewer signs people in (the redirect to its
    authorization endpoint is a navigation, which the policy does not govern)."""
    here = "'self'" + (f" {base}" if base.startswith(("http://", "https://")) else "")
    return page_policy(here, connect_also=token_origin)


Stamp = tuple[str, int, int]  # path, size, mtime_ns: a rebuilt file is read again


def _stamp(path: Path) -> Stamp:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=4)
def _template(stamp: Stamp) -> Template:
    return Template(Path(stamp[0]).read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def assets_version(*stamps: Stamp) -> str:
    """A digest of the built assets' bytes: a rebuild changes their URLs."""
    digest = hashlib.sha256()
    for stamp in stamps:
        digest.update(Path(stamp[0]).read_bytes())
    return digest.hexdigest()[:12]
