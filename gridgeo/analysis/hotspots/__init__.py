"""Problem hotspots: where problems concentrate, and where that is new or growing.

Problem points (filtered by category, status and period) are counted in cells: H3
hexagons (``"h3:9"``), a square fishnet in the metric CRS (``"square:250"``, metres) or
the grids themselves (a grids GeoDataFrame). Every cell of the study area is kept, also
those without a problem, as Esri's Optimized Hot Spot Analysis does with bounding
polygons; cells outside the area are not made.

On the cell counts:

* :func:`gi_star`: Getis-Ord Gi* (self included, binary weights) with the analytic z and
  two-sided p, a seeded conditional-permutation pseudo-p and Esri's ``gi_bin`` (−3…+3,
  99/95/90 % confidence, false-discovery-rate corrected);
* :func:`local_moran`: Local Moran's I clusters HH, LL, LH, HL;
* :func:`kernel_density`: a Gaussian kernel density raster and its contour polygons;
* :func:`emerging_hotspots`: Gi* per time slice plus a Mann-Kendall trend per cell,
  classified in Esri's emerging hot spot categories.

:func:`hotspot_layers` runs them all and is what the CLI, the map service and the
notebooks call. The statistics are PySAL's (``esda.G_Local``, ``esda.Moran_Local``,
``esda.fdr``; a ``libpysal`` graph can be the weights): the analytic Gi* is the same
formula computed as one sparse product, and the permutation engine draws exactly esda's
permutations (same seed, same pseudo-p) without esda's per-observation copy of the data.
Every returned geometry is in EPSG:4326. The functions are pure: problem points in, frames
out; reading problem files is :func:`gridgeo.hotspot_inputs.read_problems`.

The modules, one job each (as esda's are):

=================  ========================================================================
``selection``      which problems: categories, statuses, a period of local days
``cells``          H3 / square / grid cells of the study area and the counts in them
``resolution``     the default cells (``"auto"``), chosen from the problems; cell sizes
``hexagons``       H3 cells, polygons and neighbours
``geometry``       the working CRS, point locations, the study area
``weights``        the binary neighbour matrix (queen, knn, distance, libpysal graphs)
``permutation``    the conditional randomisation engine, pseudo-p, FDR and confidence bins
``getis_ord``      Gi*
``moran``          Local Moran's I
``density``        kernel density and its contours
``emerging``       Mann-Kendall and emerging hot spot patterns
``layers``         :func:`hotspot_layers`, all of them for one selection
=================  ========================================================================
"""

from __future__ import annotations

from typing import Any

from gridgeo.analysis.hotspots.cells import aggregate
from gridgeo.analysis.hotspots.density import DensitySurface, kernel_density
from gridgeo.analysis.hotspots.emerging import (
    PATTERNS,
    emerging_hotspots,
    emerging_pattern,
    mann_kendall,
)
from gridgeo.analysis.hotspots.getis_ord import gi_star
from gridgeo.analysis.hotspots.layers import hotspot_layers
from gridgeo.analysis.hotspots.moran import local_moran
from gridgeo.analysis.hotspots.selection import select_problems
from gridgeo.analysis.hotspots.weights import spatial_weights

__all__ = [
    "PATTERNS",
    "DensitySurface",
    "aggregate",
    "emerging_hotspots",
    "emerging_pattern",
    "gi_star",
    "hotspot_layers",
    "kernel_density",
    "local_moran",
    "mann_kendall",
    "select_problems",
    "spatial_weights",
]

#: names that moved to :mod:`gridgeo.hotspot_inputs` (file reading is not analysis);
#: still importable from here, without importing the reader until they are asked for
_MOVED_TO_INPUTS = ("read_problems", "CATEGORY_COLUMNS", "TIME_COLUMNS")


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_INPUTS:
        from gridgeo import hotspot_inputs

        return getattr(hotspot_inputs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
