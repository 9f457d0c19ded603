"""The analyses OneMap ships, by domain."""

from spatial.analyses import emergency, environment, monitoring, planning
from spatial.registry import AnalysisRegistry

DEFAULT_REGISTRY = AnalysisRegistry().register(
    *emergency.ANALYSES, *environment.ANALYSES, *planning.ANALYSES, *monitoring.ANALYSES
)

__all__ = ["DEFAULT_REGISTRY"]
