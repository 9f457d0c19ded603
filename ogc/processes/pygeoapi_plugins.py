"""OneMap's analyses as pygeoapi process plugins, loadable by dotted path.

A department running its own pygeoapi lists, e.g.::

    resources:
      onemap-buffer-zones:
        type: process
        processor:
          name: ogc.processes.pygeoapi_plugins.BufferZonesProcessor
          database_url: postgresql://...   # optional; else ONEMAP_DATABASE_URL; else inline only
          caller: anonymous                # or local-admin: which layers inputs may name

Inputs are those of ``/processes/{id}`` here; inputs naming collections read the OneMap
database, inline GeoJSON ``features`` need none. Inputs may name only the layers the caller
sees (the gate, ``ogc.gate``): public ones unless the processor is configured as
``local-admin``. Only ``ogc`` may import pygeoapi (ADR 0003).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import orjson
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from layers.access.caller import ANONYMOUS, Caller
from layers.errors import OneMapError
from ogc.gate.areas import analysis_clips
from ogc.gate.caller import LOCAL_ADMIN
from ogc.gate.visible import visible_catalog
from ogc.processes.describe import process_description
from ogc.processes.encode import HTML_PAGE, EncodedOutput, encode, selected_outputs
from spatial import DEFAULT_REGISTRY, Context

CALLERS: dict[str, Caller] = {"anonymous": ANONYMOUS, "local-admin": LOCAL_ADMIN}


class OneMapProcessor(BaseProcessor):  # type: ignore[misc]
    """Runs one registered analysis; subclasses name it in ``analysis_id``."""

    analysis_id: ClassVar[str]

    def __init__(self, processor_def: dict[str, Any]) -> None:
        self.analysis = DEFAULT_REGISTRY.get(self.analysis_id)
        metadata = process_description(self.analysis, base="")
        metadata["links"] = []
        super().__init__(processor_def, metadata)
        self.database_url: str | None = processor_def.get("database_url") or os.environ.get(
            "ONEMAP_DATABASE_URL"
        )
        self.caller = caller_named(processor_def.get("caller", "anonymous"))

    @contextmanager
    def _context(self) -> Iterator[Context]:
        if not self.database_url:
            yield Context()
            return
        with Context.open(self.database_url) as ctx:
            conn, catalog = ctx.connection(), ctx.catalog
            ctx.catalog = visible_catalog(catalog, self.caller)
            ctx.clips = analysis_clips(conn, catalog, self.caller, ctx.admin_layers)
            yield ctx

    def execute(self, data: dict[str, Any], outputs: dict[str, Any] | None = None) -> Any:
        """pygeoapi's contract: (media type, value) — one output raw, several as a JSON map."""
        try:
            wanted = selected_outputs(self.analysis, list(outputs or {}))
            with self._context() as ctx:
                encoded = encode(self.analysis.execute(data, ctx), wanted)
        except OneMapError as exc:
            raise ProcessorExecuteError(exc.message) from exc
        if len(encoded) == 1:
            only = encoded[0]
            return only.media_type, orjson.loads(only.body) if only.inline else only.body
        return "application/json", {out.output_id: _json_value(out) for out in encoded}

    def __repr__(self) -> str:
        return f"<OneMapProcessor> {self.analysis_id}"


def _json_value(out: EncodedOutput) -> Any:
    """An output inside pygeoapi's JSON map: JSON as it is, an HTML page as text, a GeoTIFF
    in hex."""
    if out.inline:
        return orjson.loads(out.body)
    return out.body.decode() if out.media_type == HTML_PAGE else out.body.hex()


def caller_named(name: object) -> Caller:
    """The caller a processor's ``caller:`` setting names (a typo fails at start-up)."""
    if not isinstance(name, str) or name not in CALLERS:
        raise ValueError(f"processor caller must be one of {sorted(CALLERS)}, not {name!r}")
    return CALLERS[name]


class AffectedAreaProcessor(OneMapProcessor):
    analysis_id = "affected-area"


class NearestFacilitiesProcessor(OneMapProcessor):
    analysis_id = "nearest-facilities"


class ServiceAreaProcessor(OneMapProcessor):
    analysis_id = "service-area"


class RouteToNearestProcessor(OneMapProcessor):
    analysis_id = "route-to-nearest"


class ZonalStatisticsProcessor(OneMapProcessor):
    analysis_id = "zonal-statistics"


class InterpolationProcessor(OneMapProcessor):
    analysis_id = "interpolation"


class BufferZonesProcessor(OneMapProcessor):
    analysis_id = "buffer-zones"


class OverlayStatisticsProcessor(OneMapProcessor):
    analysis_id = "overlay-statistics"


class RedlineCheckProcessor(OneMapProcessor):
    analysis_id = "redline-check"


class TerrainProcessor(OneMapProcessor):
    analysis_id = "terrain"


class SuitabilityProcessor(OneMapProcessor):
    analysis_id = "suitability"


class RollUpProcessor(OneMapProcessor):
    analysis_id = "roll-up"


class OdCostMatrixProcessor(OneMapProcessor):
    analysis_id = "od-cost-matrix"


class ClosestFacilitiesProcessor(OneMapProcessor):
    analysis_id = "closest-facilities"


class EvacuationProcessor(OneMapProcessor):
    analysis_id = "evacuation"


class PopulationExposureProcessor(OneMapProcessor):
    analysis_id = "population-exposure"


class TyphoonWindCirclesProcessor(OneMapProcessor):
    analysis_id = "typhoon-wind-circles"


class FloodInundationProcessor(OneMapProcessor):
    analysis_id = "flood-inundation"


class TransitionMatrixProcessor(OneMapProcessor):
    analysis_id = "transition-matrix"


class ChangeInProtectedZonesProcessor(OneMapProcessor):
    analysis_id = "change-in-protected-zones"


class SlopeClassesProcessor(OneMapProcessor):
    analysis_id = "slope-classes"


class CategoricalZonalProcessor(OneMapProcessor):
    analysis_id = "categorical-zonal"


class KernelDensityProcessor(OneMapProcessor):
    analysis_id = "kernel-density"


class HotspotsProcessor(OneMapProcessor):
    analysis_id = "hotspots"


class MonitoringSeriesProcessor(OneMapProcessor):
    analysis_id = "monitoring-series"
