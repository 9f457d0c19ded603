"""Where an area-limited caller sees a layer's features: the clip of every path.

``clip_for`` is None for everyone who sees the layer whole (no ``Caller.areas``, or a public
layer); else the union of the caller's areas, read once per catalog snapshot and set of areas
(``ogc.plans.Snapshot.area_clip``) and bound with the statements of items, counts, tiles, map
tiles, GetFeatureInfo and analysis inputs. The rule is ``layers.access.rules.area_limited``.

An analysis runs as its job's owner, maybe long after the request, on its own session:
``analysis_clips`` reads the owner's areas there, for every layer the analysis could read
clipped (``spatial.Context.clips``, applied by each input read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from layers.access.areas import read_area_union_sync
from layers.access.caller import Caller
from layers.access.rules import area_limited
from layers.catalog import Catalog, Layer
from layers.features.query import AreaClip
from layers.platform import AdminLayers
from ogc.plans import Snapshot

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool


async def clip_for(
    snapshot: Snapshot,
    layer: Layer,
    caller: Caller,
    pool: AsyncConnectionPool,
    admin: AdminLayers,
) -> AreaClip | None:
    """The area ``caller`` sees ``layer``'s features in, or None for all of them."""
    if not area_limited(layer, caller):
        return None
    return await snapshot.area_clip(pool, admin, caller.areas)


def analysis_clips(
    conn: psycopg.Connection, catalog: Catalog, caller: Caller, admin: AdminLayers
) -> dict[str, bytes]:
    """Layer id -> the areas ``caller`` reads that layer in (EWKB), for every layer of
    ``catalog`` they see clipped; empty (and no query) for a caller without areas."""
    limited = [layer.id for layer in catalog if area_limited(layer, caller)]
    if not limited:
        return {}
    area = read_area_union_sync(conn, catalog, admin, caller.areas)
    return dict.fromkeys(limited, area)
