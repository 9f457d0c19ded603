"""Spatial analyses for emergency response, environmental monitoring and planning.

Every analysis is a plain function on GeoDataFrames / rasters (``spatial.proximity``,
``spatial.zonal``, ...) and is also registered, with typed inputs, in ``DEFAULT_REGISTRY``,
from which the web service builds its OGC API – Processes. Imports no web framework.
"""

from spatial.analyses import DEFAULT_REGISTRY
from spatial.context import Context
from spatial.registry import Analysis, AnalysisRegistry, OutputSpec
from spatial.results import AnalysisResult, Raster

__all__ = [
    "DEFAULT_REGISTRY",
    "Analysis",
    "AnalysisRegistry",
    "AnalysisResult",
    "Context",
    "OutputSpec",
    "Raster",
]
