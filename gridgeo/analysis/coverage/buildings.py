"""Buildings in grids: which grid holds each building, and the buildings across or outside.

Every building belongs to the grid holding most of its area (:func:`building_grid`);
a building split between grids breaks R2 (:func:`straddling_buildings`), one in no
grid breaks R1 (:func:`buildings_outside`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.coverage.geometry import polygons
from gridgeo.analysis.findings import findings
from gridgeo.analysis.frames import join_runs
from gridgeo.policy import Policy

__all__ = ["building_grid", "building_pairs", "buildings_outside", "straddling_buildings"]


def building_pairs(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(building codes, geoms, rows, grid codes, pair building, pair grid, pair share).

    Pairs are every (building, grid) whose intersection has an area, with the share of
    the building's area in that grid. Shares are area ratios inside one building, so
    they are computed in the grids' own CRS: over a building's extent any map
    projection is affine to within 1e-6, and affine maps keep area ratios.
    """
    gcodes, ggeoms, _ = polygons(grids, "grids", None)
    bcodes, bgeoms, brows = polygons(buildings, "buildings", grids.crs)
    shapely.prepare(ggeoms)
    bi, gi = shapely.STRtree(ggeoms).query(bgeoms, predicate="intersects")
    # in grid order within a building, whatever the tree's order: a tie between two
    # grids goes to the grid listed first, with all the grids or with those around
    order = np.lexsort((gi, bi))
    bi, gi = bi[order], gi[order]
    share = np.zeros(len(bi))
    # a pair whose grid covers the building: share 1, no intersection needed
    covered = shapely.covered_by(bgeoms[bi], ggeoms[gi])
    share[covered] = 1.0
    done = np.zeros(len(bgeoms), dtype=bool)
    done[bi[covered]] = True
    rest = np.flatnonzero(~done[bi])
    if len(rest):
        barea = shapely.area(bgeoms)
        inter = shapely.intersection(bgeoms[bi[rest]], ggeoms[gi[rest]])
        share[rest] = np.minimum(shapely.area(inter) / barea[bi[rest]], 1.0)
    # drop pairs touching only along an edge, and the other grids of covered buildings
    keep = (share > 0) & ~(done[bi] & ~covered)
    return bcodes, bgeoms, brows, gcodes, bi[keep], gi[keep], share[keep]


def _by_building(
    bi: np.ndarray, gi: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs sorted by building, largest share first within a building."""
    order = np.lexsort((-share, bi))
    return bi[order], gi[order], share[order]


def building_grid(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> pd.DataFrame:
    """Assign each building to the grid that holds most of its area.

    A building whose grid covers it gets share 1 without any intersection being
    computed; only buildings on a grid edge or partly outside every grid are cut.

    Parameters
    ----------
    buildings
        Building polygons with ``code``.
    grids
        Grid polygons with ``code``.
    policy
        Unused (shares are ratios); accepted for a uniform signature.

    Returns
    -------
    pandas.DataFrame
        One row per building with a geometry, on the buildings' index: ``building_id``
        (code), ``grid_id`` (None when in no grid), ``share`` (of the building's area
        in that grid) and ``n_grids`` (grids holding part of it).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> b = gpd.GeoDataFrame({"code": ["B1", "B2", "B3"]}, crs=32651, geometry=[
    ...     shapely.box(10, 10, 20, 20), shapely.box(94, 10, 104, 20),
    ...     shapely.box(300, 0, 310, 10)])
    >>> r = building_grid(b.to_crs(4326), g.to_crs(4326))
    >>> r.grid_id.tolist(), r.share.round(2).tolist(), r.n_grids.tolist()
    (['A', 'A', None], [1.0, 0.6, 0.0], [1, 2, 0])
    """
    bcodes, _, brows, gcodes, bi, gi, share = building_pairs(buildings, grids)
    n = len(bcodes)
    bi, gi, share = _by_building(bi, gi, share)
    first = np.ones(len(bi), dtype=bool)
    first[1:] = bi[1:] != bi[:-1]
    grid_id = np.full(n, None, dtype=object)
    grid_id[bi[first]] = gcodes[gi[first]]
    best = np.zeros(n)
    best[bi[first]] = share[first]
    out = pd.DataFrame(
        {
            "building_id": pd.Series(bcodes, dtype=object),
            "grid_id": pd.Series(grid_id, dtype=object),
            "share": best,
            "n_grids": np.bincount(bi, minlength=n).astype(np.int64),
        }
    )
    out.index = buildings.index[brows]
    return out


def straddling_buildings(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find buildings split between grids (rule R2, severity ``warning``).

    A building straddles when at least two grids each hold at least
    ``policy.straddle_min_share`` of its area. It breaks R2 in the sense that grid
    boundaries should run between buildings, so that each building (and its
    households) belongs to one grid.

    Parameters
    ----------
    buildings, grids
        Polygons with ``code``.
    policy
        Thresholds (``straddle_min_share``).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (entity ``buildings``) with ``building_id``, ``grid_ids`` and
        ``shares`` (comma-joined, largest share first, shares to 2 decimals); the
        geometry is the building's.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> b = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[shapely.box(94, 10, 104, 20)], crs=32651)
    >>> straddling_buildings(b.to_crs(4326), g.to_crs(4326))[["grid_ids", "shares"]].values.tolist()
    [['A,B', '0.60,0.40']]
    """
    policy = policy or Policy()
    bcodes, bgeoms, _, gcodes, bi, gi, share = building_pairs(buildings, grids)
    keep = share >= policy.straddle_min_share
    bi, gi, share = bi[keep], gi[keep], share[keep]
    counts = np.bincount(bi, minlength=len(bcodes))
    sel = counts[bi] >= 2
    bi, gi, share = _by_building(bi[sel], gi[sel], share[sel])
    first = np.flatnonzero(np.r_[True, bi[1:] != bi[:-1]]) if len(bi) else np.empty(0, int)
    idx = bi[first]
    codes = bcodes[idx]
    grid_ids = join_runs(gcodes[gi].tolist(), first, len(bi))
    shares = join_runs(np.char.mod("%.2f", share).tolist(), first, len(bi))
    return findings(
        "R2",
        "warning",
        "buildings",
        codes,
        [f"楼栋跨越网格{g}（面积占比{s}）" for g, s in zip(grid_ids, shares, strict=True)],
        [
            f"building lies across grids {g} (area shares {s})"
            for g, s in zip(grid_ids, shares, strict=True)
        ],
        geometry=gpd.GeoSeries(bgeoms[idx], crs=grids.crs).to_crs(4326),
        extra=pd.DataFrame(
            {
                "building_id": codes,
                "grid_ids": grid_ids.astype(object),
                "shares": shares.astype(object),
            }
        ),
    )


def buildings_outside(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find buildings that lie in no grid at all (rule R1, severity ``warning``).

    A building counts as outside when no grid holds any of its area (touching a grid
    along an edge is not being in it). Buildings partly outside are not listed here:
    their largest grid is in :func:`building_grid`.

    Parameters
    ----------
    buildings, grids
        Polygons with ``code``.
    policy
        Unused; accepted for a uniform signature.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (entity ``buildings``) with ``building_id``; geometry: the building.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=32651)
    >>> b = gpd.GeoDataFrame({"code": ["B1", "B2"]}, crs=32651,
    ...     geometry=[shapely.box(10, 10, 20, 20), shapely.box(100, 0, 110, 10)])
    >>> buildings_outside(b.to_crs(4326), g.to_crs(4326)).building_id.tolist()
    ['B2']
    """
    _, ggeoms, _ = polygons(grids, "grids", None)
    bcodes, bgeoms, _ = polygons(buildings, "buildings", grids.crs)
    shapely.prepare(ggeoms)
    bi, gi = shapely.STRtree(ggeoms).query(bgeoms, predicate="intersects")
    # interiors meet (so the intersection has an area) unless they only touch
    inside = ~shapely.touches(bgeoms[bi], ggeoms[gi])
    idx = np.flatnonzero(np.bincount(bi[inside], minlength=len(bcodes)) == 0)
    codes = bcodes[idx]
    return findings(
        "R1",
        "warning",
        "buildings",
        codes,
        "楼栋不在任何网格内，未纳入网格管理",
        "building lies in no grid",
        geometry=gpd.GeoSeries(bgeoms[idx], crs=grids.crs).to_crs(4326),
        extra=pd.DataFrame({"building_id": codes.astype(object)}),
    )
