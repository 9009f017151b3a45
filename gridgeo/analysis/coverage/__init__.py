"""Grid coverage: gaps, overlaps, communities, and which grid holds each building.

Rules R1 (全覆盖: grids cover the district without gaps), R2 (无缝对接: grids do not
overlap and neighbours share edges exactly) and R3 (every grid lies in one community).

Every function takes GeoDataFrames as :meth:`Store.read_layer` returns them (a
``code`` column and a ``geometry``, usually EPSG:4326), measures in metres in
:func:`metric_crs` and returns its geometries in EPSG:4326. Invalid polygons are
repaired with ``make_valid``; a geometry that is not an area raises
:class:`~gridgeo.errors.ValidationError` naming its code. Rows without a geometry are
ignored. Duplicate codes are kept as separate rows (and reported as such), never merged.

Modules
-------
geometry
    Checking and repairing the polygons, the metric CRS.
topology
    :func:`grid_gaps` and :func:`grid_overlaps` (R1, R2).
communities
    :func:`grid_communities` (R3).
buildings
    :func:`building_grid`, :func:`straddling_buildings` and :func:`buildings_outside`.
"""

from gridgeo.analysis.coverage.buildings import (
    building_grid,
    buildings_outside,
    straddling_buildings,
)
from gridgeo.analysis.coverage.communities import grid_communities
from gridgeo.analysis.coverage.geometry import metric_crs
from gridgeo.analysis.coverage.topology import grid_gaps, grid_overlaps

__all__ = [
    "building_grid",
    "buildings_outside",
    "grid_communities",
    "grid_gaps",
    "grid_overlaps",
    "metric_crs",
    "straddling_buildings",
]
