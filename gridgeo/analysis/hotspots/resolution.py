"""The default cells of a hotspot analysis, chosen from the problems themselves.

Cells too coarse for the data hold hundreds of problems each: a few cells, all alike,
and no hot spot stands out. Cells too fine hold one problem or none. :func:`auto_cells`
takes the coarsest H3 resolution at which the typical occupied cell holds at most
:data:`TARGET_PER_CELL` problems and the problems occupy at least
:data:`MIN_OCCUPIED` cells (Esri's Optimized Hot Spot Analysis asks for 30 features);
:func:`cell_size_m` says how large a cell is.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np

from gridgeo.analysis.hotspots.geometry import point_locations
from gridgeo.analysis.hotspots.hexagons import h3_cells_of_points

__all__ = [
    "AUTO",
    "MIN_OCCUPIED",
    "RESOLUTIONS",
    "TARGET_PER_CELL",
    "auto_cells",
    "cell_size_m",
    "is_auto",
]

#: the ``cells`` value that asks for :func:`auto_cells`
AUTO = "auto"
#: the H3 resolutions :func:`auto_cells` chooses from, coarse to fine (sides of about
#: 1.2 km, 465 m, 176 m, 66 m and 25 m in Shanghai)
RESOLUTIONS = (7, 8, 9, 10, 11)
#: the median number of problems per occupied cell the chosen cells have at most
TARGET_PER_CELL = 10
#: the number of cells the problems occupy at the chosen resolution, at least
MIN_OCCUPIED = 30
#: the resolution when there is no problem to choose from
FALLBACK = 9


def is_auto(cells: object) -> bool:
    """Whether ``cells`` asks for cells chosen from the data (``"auto"``)."""
    return isinstance(cells, str) and cells.strip().lower() == AUTO


def auto_cells(problems: gpd.GeoDataFrame) -> str:
    """The default cells of these problems, ``h3:RES``.

    The coarsest of :data:`RESOLUTIONS` at which the problems occupy at least
    :data:`MIN_OCCUPIED` cells and the median occupied cell holds at most
    :data:`TARGET_PER_CELL` of them. Too few problems to occupy that many cells: the
    coarsest with that median; h3:11 when no resolution has it, h3:9 without problems.

    Examples
    --------
    >>> import shapely
    >>> spread = shapely.points([(121.44 + i * 0.002, 31.22) for i in range(40)])
    >>> auto_cells(gpd.GeoDataFrame(geometry=spread, crs=4326))  # 190 m apart
    'h3:10'
    >>> few = shapely.points([(121.44, 31.22)] * 5)
    >>> auto_cells(gpd.GeoDataFrame(geometry=few, crs=4326))
    'h3:7'
    """
    if problems.crs is None or not len(problems):
        return f"h3:{FALLBACK}"
    present, xy = point_locations(problems, 4326)
    xy = xy[present]
    if not len(xy):
        return f"h3:{FALLBACK}"
    fits = []
    for res in RESOLUTIONS:
        _, per_cell = np.unique(h3_cells_of_points(xy[:, 1], xy[:, 0], res), return_counts=True)
        if np.median(per_cell) <= TARGET_PER_CELL:
            if len(per_cell) >= MIN_OCCUPIED:
                return f"h3:{res}"
            fits.append(res)
    return f"h3:{fits[0] if fits else RESOLUTIONS[-1]}"


def cell_size_m(spec: str, lon: float, lat: float) -> float | None:
    """The edge in metres of the cells ``spec`` at a place (None for grids).

    A hexagon's side from the area of the H3 cell at (``lon``, ``lat``), as a regular
    hexagon; a square's side. H3 hexagons vary in size over the globe: the side a reader
    sees on the map of Shanghai at resolution 9 is about 176 m, H3's global average 201 m.

    Examples
    --------
    >>> round(cell_size_m("h3:9", 121.44, 31.22)), cell_size_m("square:250", 0, 0)
    (176, 250.0)
    """
    kind, _, size = str(spec).strip().lower().partition(":")
    if kind == "square" and size:
        return float(size)
    if kind != "h3" or not size:
        return None
    import h3

    area = h3.cell_area(h3.latlng_to_cell(lat, lon, int(size)), unit="m^2")
    return math.sqrt(2 * area / (3 * math.sqrt(3)))
