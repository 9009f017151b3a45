"""H3 hexagons: the cells of an area, their polygons, the cell of each point, neighbours.

h3 4.x works one cell at a time; these functions keep the Python loops to one call per
cell or point and build the polygons with one shapely call per ring size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.hotspots.geometry import overlapping, positions_in

__all__ = [
    "h3_cells_in",
    "h3_cells_of_points",
    "h3_ids",
    "h3_neighbour_pairs",
    "h3_polygons",
    "is_h3",
]


def h3_cells_of_points(lat: np.ndarray, lng: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (uint64) of many points.

    h3 4.x has no vectorised ``latlng_to_cell`` (``h3.api.numpy_int`` is scalar too):
    a generator over the integer API fills one array, about 0.6 s per million points.

    Examples
    --------
    >>> cells = h3_cells_of_points(np.array([31.22]), np.array([121.44]), 9)
    >>> h3_ids(cells).tolist()
    ['89309959c5bffff']
    """
    from h3.api import basic_int

    f = basic_int.latlng_to_cell
    return np.fromiter(
        (f(a, b, res) for a, b in zip(lat.tolist(), lng.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(lat),
    )


def h3_ids(ints: np.ndarray) -> np.ndarray:
    """The hexadecimal H3 index strings of integer cells (an object array)."""
    return np.array([format(int(c), "x") for c in ints], dtype=object)


def h3_cells_in(region: shapely.Geometry, res: int) -> tuple[np.ndarray, np.ndarray]:
    """H3 cells (uint64, sorted) overlapping a region in EPSG:4326, and their hexagons.

    Examples
    --------
    >>> ints, polys = h3_cells_in(shapely.box(121.43, 31.21, 121.45, 31.225), 8)
    >>> len(ints), bool((np.diff(ints.astype(float)) > 0).all()), polys[0].geom_type
    (13, True, 'Polygon')
    """
    from h3.api import basic_int

    found: set[int] = set()
    for part in shapely.get_parts(region):
        if part.geom_type != "Polygon" or part.area == 0:
            continue
        shape = basic_int.geo_to_h3shape(part)
        found.update(basic_int.h3shape_to_cells_experimental(shape, res, contain="overlap"))
    if not found:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=object)
    ints = np.array(sorted(found), dtype=np.uint64)
    polys = h3_polygons(ints)
    # "overlap" is generous at the edge: keep the cells that really share area with it
    keep = overlapping(polys, region)
    return ints[keep], polys[keep]


def h3_polygons(ints: np.ndarray) -> np.ndarray:
    """Hexagons (and pentagons) of H3 cells, EPSG:4326, built in one call per shape."""
    from h3.api import basic_int

    rings = [np.asarray(basic_int.cell_to_boundary(int(c)))[:, ::-1] for c in ints]
    sizes = np.array([len(r) for r in rings])
    polys = np.empty(len(rings), dtype=object)
    for k in np.unique(sizes):
        at = np.flatnonzero(sizes == k)
        coords = np.stack([rings[i] for i in at])
        closed = np.concatenate([coords, coords[:, :1]], axis=1)
        polys[at] = shapely.polygons(closed)
    return polys


def is_h3(ids: pd.Series) -> bool:
    """True when every value is a valid H3 index (the first 50 are looked at first).

    Examples
    --------
    >>> is_h3(pd.Series(["89309959c5bffff"])), is_h3(pd.Series(["G01"]))
    (True, False)
    """
    import h3

    values = ids.astype(str).to_numpy()
    return (
        len(values) > 0
        and all(h3.is_valid_cell(v) for v in values[:50])
        and all(h3.is_valid_cell(v) for v in values)
    )


def h3_neighbour_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(i, j)`` of every pair of cells that are H3 neighbours (ring 1).

    Examples
    --------
    >>> import h3
    >>> centre = "89309959c5bffff"
    >>> i, j = h3_neighbour_pairs(np.array([centre, *h3.grid_ring(centre, 1)[:2]]))
    >>> sorted(zip(i.tolist(), j.tolist()))
    [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    """
    import h3
    from h3.api import basic_int

    ints = np.array([h3.str_to_int(str(c)) for c in ids], dtype=np.uint64)
    order = np.argsort(ints)
    sorted_ints = ints[order]
    rows, cols = [], []
    for pos, c in enumerate(ints.tolist()):
        ring = np.array(basic_int.grid_ring(c, 1), dtype=np.uint64)
        at = positions_in(sorted_ints, ring)
        hit = at >= 0
        rows.append(np.full(int(hit.sum()), pos))
        cols.append(order[at[hit]])
    return np.concatenate(rows), np.concatenate(cols)
