"""Zonal statistics of a raster per polygon, each cell weighted by its exact covered fraction.

``statistics`` runs the zones (``zonal_statistics``, the entry point), ``scan`` reads one
zone's window strip by strip, ``coverage`` computes the covered fractions, ``zone_stats``
merges a zone's moments and ``quantiles`` gives its coverage-weighted percentiles.
"""

from spatial.zonal.statistics import zonal_statistics

__all__ = ["zonal_statistics"]
