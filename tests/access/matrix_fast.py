"""The access matrix through the fast layer: the app is built as ``onemap serve`` builds it
(``create_app(..., fast_layer=True)``), so cached public tiles and single public features
are answered in front of the framework. This module says whether they were: the tile fast
path remembers every tile it served (its hot tiles, by path), the feature fast path counts
its answers. The matrix forgets the hot tiles before each caller with the public's view
(anonymous, a key without a role as header or ``tk=``) and requires them back after; it
asks the refused callers (bad tokens, the key over quota) only while the fast layer holds
the public's tiles, so their 401/429 is checked where a leak would be cheapest."""

from __future__ import annotations

from typing import Any

from ogc.routers.tiles_fastpath import ROUTES
from tests.access.matrix_rules import Case
from tests.access.matrix_world import PUBLIC, Who, World

ITEM = "/collections/{collectionId}/items/{featureId}"


def _fast_tile(case: Case) -> bool:
    """A tile of the public layer at a path the tile fast path answers."""
    if case.layers != (PUBLIC,) or "?" in case.url:
        return False
    return any(pattern.match(case.url) for pattern, _, _ in ROUTES)


def _fast_feature(case: Case) -> bool:
    return case.template == ITEM and case.layers == (PUBLIC,) and case.url.endswith("?f=json")


class FastLayer:
    """What the app's fast layer answered while the matrix ran."""

    def __init__(self, world: World, cases: list[Case]) -> None:
        tiles_fast: Any = world.client.app.fast_layer  # type: ignore[attr-defined]
        self._hot, self._features = tiles_fast._hot, tiles_fast.app
        self._served = self._features.served
        self.tiles = [case.url for case in cases if _fast_tile(case)]
        self.features = [case.url for case in cases if _fast_feature(case)]
        assert self.tiles and self.features, "the matrix asks nothing the fast layer answers"

    def forget(self) -> None:
        """Drop the hot tiles (as a catalog change does): only the fast layer puts them back."""
        self._hot.clear()

    def unready(self) -> list[str]:
        """The public's tiles the fast layer does not hold (it served each it holds)."""
        missing = [url for url in self.tiles if self._hot.get(url, False) is None]
        return [f"the fast layer does not hold {url}" for url in missing]

    def problems(self, world: World) -> list[str]:
        """Every GET of a public single feature by a caller with the public's view (no
        key in the query string) was answered by the feature fast path."""
        public = [w for w in world.callers if public_view(w) and w.tk is None]
        expected = 2 * len(self.features) * len(public)
        served = self._features.served - self._served
        if served != expected:
            return [f"the feature fast path answered {served} GETs, expected {expected}"]
        return []


def public_view(who: Who) -> bool:
    """A caller the fast layer answers: no role, and a credential that is not refused."""
    return not who.roles and not who.refused and not who.over_quota
