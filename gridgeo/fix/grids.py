"""Repair a grid coverage: close seams and slivers, settle overlaps, keep grids in their community.

The repair proposes, it does not decide: every edit is a row of ``changes`` a planner
can look at in QGIS, and what needs a decision (a wide uncovered area) is left as it
is and listed in ``left``. It works in metres (:func:`gridgeo.analysis.metric_crs`) and
is built on GEOS's coverage cleaner (:func:`shapely.coverage_clean`, GEOS 3.14):

1. **Communities** (when given): each grid belongs to the community holding most of
   its area, and is clipped to that community's polygon.
2. **Overlaps** of more than ``min_area`` m² go to one grid each, by the rules of
   :mod:`gridgeo.fix.overlaps` (responsibility, buildings, shared edge, code); the
   other grid gives the area up.
3. **Cleaning**, community by community: ``coverage_clean`` with ``snap_distance``
   (vertices and edges nearer than this are snapped together) and ``gap_width =
   max_gap_width`` fills every hole between the community's grids narrower than
   ``max_gap_width`` (the diameter of its largest inscribed circle) into the grid it
   shares the longest border with, and settles what overlap is left (at most
   ``min_area``) by the longest border. A strip narrower than ``max_gap_width``
   between a community's grids and its border goes to the community's grid sharing
   the longest border with it. Without communities, the whole coverage is cleaned at
   once.
4. A last ``coverage_clean`` of all grids (no gap filling when there are communities)
   makes edges match across community borders; it moves area by snapping only.

So an edit never moves area across a community border (beyond ``snap_distance``),
and a grid's area changes only by the pieces listed in ``changes``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.analysis import grid_gaps, metric_crs
from gridgeo.fix.arrays import unique
from gridgeo.fix.changes import grid_changes
from gridgeo.fix.geometry import merge_by, metric_polygons, polygonal, widths
from gridgeo.fix.holdings import holdings_near
from gridgeo.fix.overlaps import (
    building_votes,
    decide_overlaps,
    edge_votes,
    exclusive_parts,
    find_overlaps,
    responsibility_votes,
)
from gridgeo.policy import Policy

__all__ = ["GridRepair", "repair_grids"]


class GridRepair(NamedTuple):
    """What :func:`repair_grids` proposes."""

    #: the input grids (every row and column) with repaired geometries
    grids: gpd.GeoDataFrame
    #: one row per edit: the moved piece, from which grid to which, and why
    changes: gpd.GeoDataFrame
    #: what is still uncovered after the repair (:func:`gridgeo.analysis.grid_gaps`)
    left: gpd.GeoDataFrame


def repair_grids(
    grids: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    households: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    assignments: pd.DataFrame | None = None,
    as_of: dt.date | str | None = None,
    snap_distance: float = 0.1,
    max_gap_width: float = 1.0,
    min_area: float = 0.01,
    crs: object | None = None,
) -> GridRepair:
    """Propose a repaired grid coverage, the edits it takes, and what is left to decide.

    Parameters
    ----------
    grids
        Grid polygons with ``code`` (any other columns are kept).
    communities
        Community polygons with ``code``; grids are kept inside them.
    buildings
        Building polygons with ``code`` (and ``households``): rule 2 of the overlaps.
    households, members, assignments
        Who is responsible for which building (rule 1 of the overlaps). Without
        ``households`` a member's buildings count one each; without ``members`` every
        member named in an assignment counts.
    as_of
        The date the assignments are taken at; default today.
    snap_distance
        Metres within which vertices and edges are snapped together (policy
        ``fix_snap_distance_m``).
    max_gap_width
        Holes and border strips narrower than this (metres) are closed; wider ones are
        left (policy ``sliver_width_m``: what the check calls a seam sliver is closed).
    min_area
        Overlaps and edits smaller than this (m²) are numerical noise: the cleaner
        settles them, and ``changes`` does not list them (policy ``min_gap_area_m2``).
    crs
        The metric CRS to work in; default the grids' UTM zone.

    Returns
    -------
    GridRepair
        ``grids``: the input frame with repaired MultiPolygons (rows without a geometry
        unchanged); ``changes``: see :func:`gridgeo.fix.changes.grid_changes`;
        ``left``: the gaps, slivers and uncovered areas of the repaired grids, as
        ``grid_gaps`` (with ``district=communities``) finds them.

    Examples
    --------
    >>> import shapely
    >>> notched = shapely.Polygon([(100, 0), (200, 0), (200, 100), (100, 100), (100.4, 50)])
    >>> utm = gpd.GeoSeries([shapely.box(0, 0, 100, 100), notched], crs=32651)
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=utm.translate(350e3, 3450e3).to_crs(4326))
    >>> fixed, changes, left = repair_grids(g)
    >>> changes[["grid", "kind", "to_grid"]].values.tolist(), round(changes.area_m2.sum())
    ([['B', 'gap', 'B']], 20)
    >>> bool(shapely.coverage_is_valid(fixed.to_crs(32651).geometry.array)), len(left)
    (True, 0)
    """
    present = grids[~(grids.geometry.isna() | grids.geometry.is_empty)]
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else metric_crs(present)
    codes, before, rows = metric_polygons(grids, "grids", metric)
    comm_of, comm_geoms = _grid_communities(before, communities, metric)
    clipped = before.copy()
    inside = comm_of >= 0
    clipped[inside] = polygonal(shapely.intersection(before[inside], comm_geoms[comm_of[inside]]))
    decisions = _decisions(
        clipped, codes, metric, min_area, buildings, households, members, assignments, as_of
    )
    resolved = _give_up(clipped, decisions)
    after = _clean(resolved, comm_of, comm_geoms, snap_distance, max_gap_width)
    changes = grid_changes(
        before,
        after,
        codes,
        comm_of=comm_of,
        comm_geoms=comm_geoms,
        decisions=decisions,
        min_area=min_area,
        crs=metric,
        names=_names(grids, rows),
    )
    out = grids.copy()
    geometry = out.geometry.to_numpy(dtype=object).copy()
    geometry[rows] = np.asarray(gpd.GeoSeries(after, crs=metric).to_crs(grids.crs).array)
    out = out.set_geometry(gpd.GeoSeries(geometry, index=out.index, crs=grids.crs))
    policy = Policy(
        sliver_width_m=max_gap_width, min_gap_area_m2=min_area, metric_crs=metric.to_wkt()
    )
    return GridRepair(out, changes, grid_gaps(out, district=communities, policy=policy))


def _names(grids: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray | None:
    if "name" not in grids.columns:
        return None
    return grids["name"].astype("string").fillna("").to_numpy(dtype=object)[rows]


def _grid_communities(
    geoms: np.ndarray, communities: gpd.GeoDataFrame | None, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    """The community (position, -1: none) holding most of each grid, and the polygons."""
    if communities is None or not communities.geometry.notna().any():
        return np.full(len(geoms), -1, np.int64), np.empty(0, dtype=object)
    _, cgeoms, _ = metric_polygons(communities, "communities", crs)
    gi, ci = shapely.STRtree(cgeoms).query(geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(geoms[gi], cgeoms[ci]))
    best = pd.DataFrame({"g": gi, "c": ci, "a": area})
    best = best[best["a"] > 0].sort_values(["g", "a"], ascending=[True, False])
    best = best.drop_duplicates("g")
    comm_of = np.full(len(geoms), -1, np.int64)
    comm_of[best["g"].to_numpy()] = best["c"].to_numpy()
    return comm_of, cgeoms


def _decisions(
    geoms: np.ndarray,
    codes: np.ndarray,
    crs: pyproj.CRS,
    min_area: float,
    buildings: gpd.GeoDataFrame | None,
    households: pd.DataFrame | None,
    members: pd.DataFrame | None,
    assignments: pd.DataFrame | None,
    as_of: dt.date | str | None,
) -> pd.DataFrame:
    """Step 2: every overlap and the grid that keeps it (:mod:`gridgeo.fix.overlaps`)."""
    i, j, pieces = find_overlaps(geoms, min_area)
    votes = [("shared_edge", edge_votes(geoms, i, j, pieces))]
    if buildings is None or len(buildings) == 0 or len(pieces) == 0:
        return decide_overlaps(i, j, pieces, codes, votes)
    touched = buildings.sindex.query(
        np.asarray(gpd.GeoSeries(pieces, crs=crs).to_crs(buildings.crs).array),
        predicate="intersects",
    )[1]
    near = buildings.iloc[unique(touched)]
    exclusive = exclusive_parts(geoms, i, j, pieces)
    bcodes, bgeoms, brows = metric_polygons(near, "buildings", crs)
    weight = np.ones(len(bgeoms))
    if "households" in near.columns:
        count = pd.to_numeric(near["households"], errors="coerce").to_numpy(dtype=float)[brows]
        weight = np.where(np.isnan(count), 1.0, np.maximum(count, 1.0))
    votes.insert(0, ("buildings", building_votes(pieces, i, j, exclusive, bgeoms, weight)))
    if assignments is not None:
        if households is None:  # each building is one household of its own
            codes_b = buildings["code"].astype("string")
            households = pd.DataFrame({"code": codes_b, "building": codes_b})
        if members is None:
            named = assignments["member"].dropna().astype("string").unique()
            members = pd.DataFrame({"code": named, "role": "member"})
        held = holdings_near(
            households, buildings, members, assignments,
            as_of=as_of or dt.date.today(), around=pd.Index(bcodes),
        )  # fmt: skip
        theirs = buildings[buildings["code"].astype("string").isin(held.buildings).to_numpy(bool)]
        hcodes, hgeoms, _ = metric_polygons(theirs, "buildings", crs)
        points = shapely.point_on_surface(hgeoms)
        ids = held.buildings.get_indexer(pd.Index(hcodes))
        votes.insert(
            0,
            (
                "responsibility",
                responsibility_votes(pieces, i, j, exclusive, points, ids, held),
            ),
        )
    return decide_overlaps(i, j, pieces, codes, votes)


def _give_up(geoms: np.ndarray, decisions: pd.DataFrame) -> np.ndarray:
    """Take each overlap from its loser, where its winner still holds it (largest first).

    One overlap after the other, so that where three grids overlap and the pairwise
    decisions go round in a circle, the last grid holding the area keeps it. Overlaps
    are few (a handful per thousand grids), so this loop is not a hot path.
    """
    out = geoms.copy()
    order = np.argsort(-decisions["area_m2"].to_numpy(), kind="stable")
    pieces = decisions["geometry"].to_numpy()
    for k in order:
        win, lose = int(decisions["winner"].iloc[k]), int(decisions["loser"].iloc[k])
        taken = shapely.intersection(pieces[k], out[win])
        out[lose] = polygonal(np.array([shapely.difference(out[lose], taken)]))[0]
    return out


def _clean(
    geoms: np.ndarray,
    comm_of: np.ndarray,
    comm_geoms: np.ndarray,
    snap: float,
    width: float,
) -> np.ndarray:
    """Steps 3 and 4 of the module docstring."""
    if len(comm_geoms) == 0:
        return polygonal(shapely.coverage_clean(geoms, gap_width=width, snapping_distance=snap))
    out = geoms.copy()
    for c in np.unique(comm_of):
        idx = np.flatnonzero(comm_of == c)
        out[idx] = shapely.coverage_clean(geoms[idx], gap_width=width, snapping_distance=snap)
    out = _border_strips(polygonal(out), comm_of, comm_geoms, width)
    return polygonal(shapely.coverage_clean(out, gap_width=0.0, snapping_distance=snap))


def _border_strips(
    geoms: np.ndarray, comm_of: np.ndarray, comm_geoms: np.ndarray, width: float
) -> np.ndarray:
    """Close the narrow strips between a community's grids and its border.

    Each strip narrower than ``width`` goes to the grid of the same community that
    shares the longest border with it.
    """
    communities = np.unique(comm_of[comm_of >= 0])
    unions = np.array(
        [shapely.coverage_union_all(geoms[comm_of == c]) for c in communities], dtype=object
    )
    open_area = polygonal(shapely.difference(comm_geoms[communities], unions))
    parts, owner = shapely.get_parts(open_area, return_index=True)
    narrow = widths(parts, width / 100) < width
    parts, comm = parts[narrow], communities[owner[narrow]]
    pi, gi = shapely.STRtree(geoms).query(parts, predicate="intersects")
    keep = comm_of[gi] == comm[pi]
    pi, gi = pi[keep], gi[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(parts[pi]), shapely.boundary(geoms[gi]))
    )
    best = pd.DataFrame({"p": pi, "g": gi, "s": shared})
    best = best[best["s"] > 0].sort_values(["p", "s"], ascending=[True, False])
    best = best.drop_duplicates("p")
    return merge_by(geoms, parts[best["p"].to_numpy()], best["g"].to_numpy(), add=True)
