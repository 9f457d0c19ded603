"""The analyses OneMap ships, by domain."""

from spatial.analyses import (
    change,
    classes,
    emergency,
    environment,
    exposure,
    hazards,
    hotspots,
    monitoring,
    planning,
    response,
)
from spatial.registry import AnalysisRegistry

DEFAULT_REGISTRY = AnalysisRegistry().register(
    *emergency.ANALYSES,
    *response.ANALYSES,
    *environment.ANALYSES,
    *planning.ANALYSES,
    *exposure.ANALYSES,
    *hazards.ANALYSES,
    *change.ANALYSES,
    *classes.ANALYSES,
    *hotspots.ANALYSES,
    *monitoring.ANALYSES,
)

__all__ = ["DEFAULT_REGISTRY"]
