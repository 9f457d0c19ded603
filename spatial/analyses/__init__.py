"""The analyses OneMap ships, by domain."""

from spatial.analyses import change, classes, emergency, environment, hotspots, planning
from spatial.registry import AnalysisRegistry

DEFAULT_REGISTRY = AnalysisRegistry().register(
    *emergency.ANALYSES,
    *environment.ANALYSES,
    *planning.ANALYSES,
    *change.ANALYSES,
    *classes.ANALYSES,
    *hotspots.ANALYSES,
)

__all__ = ["DEFAULT_REGISTRY"]
