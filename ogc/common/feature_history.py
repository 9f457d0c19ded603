"""A feature as it was: ``/items/{featureId}?version=N`` or ``?datetime=<instant>`` (ADR 0013,
decision 11), with the links of the OGC Versioned Features proposal (RFC 5829 relations).

The answer is the state in force at that layer version (``layers.edit.history``), rendered
by the same expressions as the current feature, for the caller's view of that version's
schema (internal fields removed) and inside an area-limited caller's areas. A feature that
existed at another version is a 410 with ``latest-version`` and ``version-history`` links;
one the caller never could have seen is a 404, as an unknown id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson
import psycopg
from fastapi import Request
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Layer
from layers.crs import content_crs_header
from layers.edit.errors import FeatureGone
from layers.edit.history import (
    FeatureRevision,
    VersionRow,
    feature_at,
    render_states,
    revisions,
    version_at,
    visible,
)
from layers.edit.revision import Revision, whole_seconds
from layers.errors import InvalidParameter, NotFound
from layers.features import AreaClip
from layers.features.render import feature_json
from ogc import deps
from ogc.common.features import representation_variant
from ogc.common.items_request import feature_query
from ogc.gate.visible import cache_scope, caller_view
from ogc.http import paths
from ogc.http.links import GEOJSON, JSON, link
from ogc.http.negotiation import not_modified, output_format, validators

VERSION_PARAMETERS = ("version", "datetime")


def asks_for_a_version(request: Request) -> bool:
    params = request.query_params
    return any(name in params for name in VERSION_PARAMETERS)


@dataclass(frozen=True)
class FeatureUrls:
    """The URLs around one feature's versions."""

    item: str

    @classmethod
    def of(cls, base: str, layer_id: str, fid: int) -> FeatureUrls:
        return cls(paths.href(base, paths.ITEM, collectionId=layer_id, featureId=fid))

    @property
    def versions(self) -> str:
        return f"{self.item}/versions"

    def memento(self, version: int) -> str:
        """The canonical URL of the feature as a revision left it."""
        return f"{self.item}?version={version}"


@dataclass(frozen=True)
class Lineage:
    """A feature's revisions the caller may know of, newest first, and its URLs."""

    urls: FeatureUrls
    known: list[FeatureRevision]

    @property
    def states(self) -> list[FeatureRevision]:
        """The revisions that left the feature existing (the versions links name)."""
        return [r for r in self.known if r.exists]

    def neighbours(self, revision: FeatureRevision) -> list[dict[str, str]]:
        """``latest-version``, ``predecessor-version`` and ``successor-version`` links."""
        states = self.states
        found: list[dict[str, str]] = []
        if states:
            found.append(link(self.urls.memento(states[0].version), "latest-version", GEOJSON))
        older = [r for r in states if r.version < revision.version]
        newer = [r for r in states if r.version > revision.version]
        if older:
            found.append(link(self.urls.memento(older[0].version), "predecessor-version", GEOJSON))
        if newer:
            found.append(link(self.urls.memento(newer[-1].version), "successor-version", GEOJSON))
        return found

    def gone(self, layer: Layer, fid: int, wanted: Wanted, version: int | None) -> NotFound:
        """Not there at ``version``: 404 when it did not exist yet (or the caller may know
        none of it), 410 Gone when it existed before — deleted, or left out by a newer
        ingest — with links to its latest version and its history."""
        if version is None or all(r.version > version for r in self.known):
            return NotFound(
                f"feature {fid} did not exist in collection '{layer.id}' {wanted.given}"
            )
        links = [*self.neighbours(self.known[0])[:1], self._history_link()]
        return FeatureGone(
            f"feature {fid} of '{layer.id}' no longer existed {wanted.given}; its versions "
            f"are listed at {self.urls.versions}",
            link_header(links),
        )

    def _history_link(self) -> dict[str, str]:
        return link(self.urls.versions, "version-history", GEOJSON, "This feature's versions")


def link_header(links: Sequence[dict[str, str]]) -> str:
    return ", ".join(f'<{item["href"]}>; rel="{item["rel"]}"' for item in links)


async def lineage_of(
    conn: psycopg.AsyncConnection[Any],
    layer: Layer,
    fid: int,
    clip: AreaClip | None,
    base: str,
) -> tuple[Lineage, list[FeatureRevision]]:
    """The caller's lineage of ``fid`` and the whole history (which decides states)."""
    history = await revisions(conn, layer.id, fid)
    area = clip.geometry if clip is not None else None
    known = await visible(conn, history, area, layer.storage_srid)
    return Lineage(FeatureUrls.of(base, layer.id, fid), known), history


@dataclass(frozen=True)
class Wanted:
    """The version a request names: ``version=N``, or the one current at ``datetime``."""

    number: int | None
    at: datetime | None
    given: str

    async def resolve(self, conn: psycopg.AsyncConnection[Any], layer_id: str) -> int | None:
        if self.number is not None:
            return self.number
        assert self.at is not None
        return await version_at(conn, layer_id, self.at)


def wanted_version(request: Request) -> Wanted:
    """``version=N`` or ``datetime=<RFC 3339 instant>`` (one of them; 400 otherwise)."""
    params = request.query_params
    if "version" in params and "datetime" in params:
        raise InvalidParameter("give version or datetime, not both")
    if "version" in params:
        text = params["version"]
        if not text.isdigit() or int(text) < 1:
            raise InvalidParameter(f"version must be a layer version number, got {text[:40]!r}")
        return Wanted(int(text), None, f"at version {text}")
    text = params["datetime"]
    return Wanted(None, parse_instant(text), f"at {text[:40]}")


def parse_instant(text: str) -> datetime:
    """One RFC 3339 instant with its offset (an interval or a naive time is a 400)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidParameter(
            f"datetime {text[:60]!r}: a feature is read at one instant with its offset, "
            "e.g. datetime=2026-12-02T08:00:00Z (intervals select items, not one feature)"
        )
    return moment


async def historic_feature(
    request: Request, layer: Layer, caller: Caller, clip: AreaClip | None, fid: int
) -> Response:
    """``/items/{fid}?version=N|datetime=T``: the feature as it was then."""
    output = output_format(request, ("json", "geojson"))
    wanted = wanted_version(request)
    state = deps.state_of(request)
    base = deps.base_url_of(request, state.settings)
    async with deps.pool_of(state).connection() as conn:
        lineage, history = await lineage_of(conn, layer, fid, clip, base)
        version = await wanted.resolve(conn, layer.id)
        if version is None:
            raise lineage.gone(layer, fid, wanted, None)
        found = await feature_at(conn, layer.id, history, version)
        revision = found.revision
        if revision is None or revision not in lineage.known:
            raise lineage.gone(layer, fid, wanted, version)
        stored = version_view(request, layer, found.version, caller)
        text = await _rendered(conn, request, stored, revision, clip)
    if text is None:
        raise lineage.gone(layer, fid, wanted, version)
    return _memento(request, layer, caller, (output, fid), lineage, revision, text)


def version_view(request: Request, layer: Layer, row: VersionRow, caller: Caller) -> Layer:
    """The caller's view of ``layer`` at version ``row``: that version's table and fields,
    less the fields the layer's metadata marks internal (read from the catalog's layer:
    the caller's view of it no longer names them)."""
    whole = deps.snapshot_of(deps.state_of(request)).catalog.layers.get(layer.id, layer)
    return caller_view(row.layer(whole), caller)


async def _rendered(
    conn: psycopg.AsyncConnection[Any],
    request: Request,
    stored: Layer,
    revision: FeatureRevision,
    clip: AreaClip | None,
) -> str | None:
    assert revision.state is not None
    params = {k: v for k, v in request.query_params.items() if k not in VERSION_PARAMETERS}
    query = feature_query(stored, params, deps.served_crs_of(request))
    area = clip.geometry if clip is not None else None
    item = feature_json(stored, query)
    [text] = await render_states(conn, stored, item, [revision.state], area)
    return text


def _memento(
    request: Request,
    layer: Layer,
    caller: Caller,
    shape: tuple[str, int],
    lineage: Lineage,
    revision: FeatureRevision,
    text: str,
) -> Response:
    """The 200 of a version: its validators, ``Memento-Datetime`` and links (also as
    ``Link``), the feature's own id."""
    urls, (output, fid) = lineage.urls, shape
    scope = cache_scope(layer, caller)
    kept = Revision(layer.id, fid, revision.version, revision.modified_at)
    headers = validators(layer, request, output, scope) | kept.headers(
        representation_variant(request, output, scope)
    )
    headers["Memento-Datetime"] = format_datetime(kept_time(revision), usegmt=True)
    links = [
        link(str(request.url), "self", GEOJSON, "This feature as it was"),
        link(urls.memento(revision.version), "canonical", GEOJSON),
        link(urls.item, "original", GEOJSON, "This feature now"),
        link(urls.versions, "version-history", GEOJSON, "This feature's versions"),
        *lineage.neighbours(revision),
        link(urls.item.rsplit("/items/", 1)[0], "collection", JSON, layer.title),
    ]
    headers["Link"] = link_header([x for x in links if x["rel"] != "self"])
    cached = not_modified(request, headers, revision.modified_at)
    if cached is not None:
        return cached
    body = text.encode()[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    params = {k: v for k, v in request.query_params.items() if k not in VERSION_PARAMETERS}
    crs = feature_query(layer, params, deps.served_crs_of(request)).output_crs
    headers["Content-Crs"] = content_crs_header(crs)
    return Response(body, media_type=GEOJSON, headers=headers)


def kept_time(revision: FeatureRevision) -> datetime:
    """A revision's time as validators say it: UTC, whole seconds."""
    return whole_seconds(revision.modified_at)
