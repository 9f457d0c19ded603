"""The analyses OneMap ships, by domain."""

from spatial.analyses import (
    emergency,
    environment,
    exposure,
    hazards,
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
    *monitoring.ANALYSES,
)

__all__ = ["DEFAULT_REGISTRY"]
