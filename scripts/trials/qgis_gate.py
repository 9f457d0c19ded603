"""QGIS (PyQGIS, Debian 12's 3.22) against a OneMap whose gate is in use: a manual trial.

Start the server first (scripts/trials/gate_server.py writes the JSON this reads), then run
with the system Python, not the venv::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/trials/qgis_gate.py /tmp/gate-trial.json

It adds layers as a department's user would — OGC API – Features (provider ``OAPIF``), WMTS
(provider ``wms``) and XYZ vector tiles (``vectortile``) — anonymously, with a key as ``tk=``
in the URL, with the key as the ``X-OneMap-Key`` header and with a bearer token, and prints
one line per check (``ok``/``FAIL``); the server's access log has every request's status.
QGIS 3.22 has no ``http-header:`` URI parameter and no "API header" authentication method
(both came in 3.24–3.26), so a header is set the way a 3.22 plugin sets one: a request
preprocessor of QGIS's network manager, which every provider's requests pass through.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsBlockingNetworkRequest,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize, QUrl
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtNetwork import QNetworkRequest

TIANHE = QgsRectangle(113.25, 23.08, 113.45, 23.25)  # lon/lat around 440106
GUANGZHOU = QgsRectangle(112.9, 22.5, 114.1, 23.95)
PUBLIC, RESTRICTED, INTERNAL = (
    "trial-counties",
    "trial-counties-restricted",
    "trial-cities-internal",
)
failures: list[str] = []
messages: list[str] = []


def check(what: str, ok: bool, detail: object = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"  [{detail}]" if detail else ""), flush=True)
    if not ok:
        failures.append(what)


def log_message(message: str, tag: str, level: object) -> None:
    messages.append(f"{tag}: {message}")


def told() -> str:
    """What QGIS wrote to its message log (the Log Messages panel) since the last call."""
    QgsApplication.processEvents()  # the log signals arrive through the event loop
    said = " | ".join(messages)[:300]
    messages.clear()
    return said


@dataclass(frozen=True)
class Credential:
    """How a client presents who it is: a ``tk=`` query, or request headers."""

    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@contextmanager
def presenting(credential: Credential) -> Iterator[None]:
    """Every QGIS request in the block carries the credential's headers (a 3.22 plugin's
    way: a request preprocessor of QGIS's network manager)."""

    def add(request: QNetworkRequest) -> None:
        for name, value in credential.headers:
            request.setRawHeader(name.encode(), value.encode())

    handle = QgsNetworkAccessManager.setRequestPreprocessor(add)
    try:
        yield
    finally:
        QgsNetworkAccessManager.removeRequestPreprocessor(handle)


def get_json(url: str) -> tuple[int, object]:
    request = QgsBlockingNetworkRequest()
    request.get(QNetworkRequest(QUrl(url)), forceRefresh=True)
    reply = request.reply()
    status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute) or 0
    try:
        return int(status), json.loads(bytes(reply.content()).decode())
    except ValueError:
        return int(status), None


def oapif(base: str, layer_id: str, query: str = "") -> QgsVectorLayer:
    url = base + (f"?{query}" if query else "")
    return QgsVectorLayer(f"url='{url}' typename='{layer_id}'", layer_id, "OAPIF")


def wmts(base: str, layer_id: str, query: str = "") -> QgsRasterLayer:
    capabilities = f"{base}/wmts/1.0.0/WMTSCapabilities.xml" + (f"?{query}" if query else "")
    uri = (
        "crs=EPSG:3857&dpiMode=7&format=image/png&styles=default&tileMatrixSet=WebMercatorQuad"
        f"&layers={layer_id}&url={quote(capabilities, safe='')}"
    )
    return QgsRasterLayer(uri, layer_id, "wms")


def vector_tiles(base: str, layer_id: str, query: str = "") -> QgsVectorTileLayer:
    template = f"{base}/collections/{layer_id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    template += f"?{query}" if query else ""
    uri = f"type=xyz&url={quote(template, safe='')}&zmin=0&zmax=14"
    return QgsVectorTileLayer(uri, layer_id)


def painted_pixels(layer: QgsMapLayer, extent: QgsRectangle = GUANGZHOU) -> int:
    """Pixels of a 256×256 render of ``extent`` (on white) that the layer painted."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    to_layer = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), layer.crs(), QgsProject.instance()
    )
    settings.setExtent(to_layer.transformBoundingBox(extent))
    settings.setOutputSize(QSize(256, 256))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    white = QColor(255, 255, 255).rgb()
    return sum(1 for x in range(256) for y in range(256) if image.pixel(x, y) != white)


def features(layer: QgsVectorLayer) -> list[dict[str, object]]:
    return [feature.attributeMap() for feature in layer.getFeatures()]


def anonymous(base: str) -> None:
    _, listing = get_json(f"{base}/collections")
    ids = {c["id"] for c in listing["collections"]} if isinstance(listing, dict) else set()
    shown = sorted(ids & {PUBLIC, RESTRICTED, INTERNAL})
    check("anonymous: /collections lists the public layer only", shown == [PUBLIC], shown)
    public = oapif(base, PUBLIC)
    count = len(features(public)) if public.isValid() else 0
    check("anonymous: OAPIF public layer, 124 features", count == 124, count)
    names = public.fields().names()
    check("anonymous: internal field 'city' absent", "city" not in names, names)
    told()
    hidden = oapif(base, RESTRICTED)
    check("anonymous: OAPIF restricted layer does not open", not hidden.isValid(), told())
    tiles = wmts(base, PUBLIC)
    check("anonymous: WMTS public layer renders", tiles.isValid() and painted_pixels(tiles) > 1000)
    check("anonymous: WMTS restricted layer does not open", not wmts(base, RESTRICTED).isValid())
    mvt = vector_tiles(base, PUBLIC)
    check("anonymous: MVT public layer renders", mvt.isValid() and painted_pixels(mvt) > 1000)
    nothing = painted_pixels(vector_tiles(base, RESTRICTED))
    check("anonymous: MVT restricted layer renders nothing", nothing == 0, nothing)


def as_member(base: str, how: str, member: Credential, tianhe: Credential) -> None:
    """A member's view, and an area-limited member's, presented as ``how`` says."""
    with presenting(member):
        restricted = oapif(base, RESTRICTED, member.query)
        count = len(features(restricted)) if restricted.isValid() else 0
        check(f"{how}: OAPIF restricted layer, 124 features", count == 124, count)
        internal = oapif(base, INTERNAL, member.query)
        count = len(features(internal)) if internal.isValid() else 0
        check(f"{how}: OAPIF internal layer, 21 features", count == 21, count)
        names = oapif(base, PUBLIC, member.query).fields().names()
        check(f"{how}: internal field 'city' present", "city" in names, names)
        tiles = wmts(base, RESTRICTED, member.query)
        painted = painted_pixels(tiles) if tiles.isValid() else 0
        check(f"{how}: WMTS restricted layer renders", painted > 1000, painted)
        mvt = vector_tiles(base, RESTRICTED, member.query)
        painted = painted_pixels(mvt) if mvt.isValid() else 0
        check(f"{how}: MVT restricted layer renders", painted > 1000, painted)
    with presenting(tianhe):
        area = oapif(base, RESTRICTED, tianhe.query)
        found = sorted(str(row["name"]) for row in features(area)) if area.isValid() else []
        check(f"{how}: area-limited caller sees Tianhe and its neighbours", 0 < len(found) < 15,
              found)  # fmt: skip


def main(path: str) -> int:
    with open(path) as file:
        trial = json.load(file)
    base, keys, tokens = trial["url"], trial["keys"], trial["tokens"]
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(log_message)
    anonymous(base)
    by_tk = {name: Credential(query=f"tk={secret}") for name, secret in keys.items()}
    as_member(base, "tk= in the URL", by_tk["member"], by_tk["tianhe"])
    plain = oapif(base, PUBLIC, by_tk["plain"].query)
    names = plain.fields().names()
    check("tk= of a key without roles: 'city' absent", "city" not in names, names)
    told()
    bad = oapif(base, PUBLIC, "tk=om_nosuchkey")
    check("tk= unknown key: the layer does not open", not bad.isValid(), told())
    by_header = {n: Credential(headers=(("X-OneMap-Key", s),)) for n, s in keys.items()}
    as_member(base, "X-OneMap-Key header", by_header["member"], by_header["tianhe"])
    by_token = {
        n: Credential(headers=(("Authorization", f"Bearer {t}"),)) for n, t in tokens.items()
    }
    as_member(base, "Bearer token", by_token["member"], by_token["tianhe"])
    print(f"\n{len(failures)} check(s) failed" if failures else "\nall checks passed")
    app.exitQgis()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gate-trial.json"))
