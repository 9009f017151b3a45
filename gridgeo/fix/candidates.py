"""Who may take a building's households: members of its grid, then of adjacent grids.

Tiers, each dearer than the one before by :data:`gridgeo.fix.flow.WEIGHTS` ``tier``:

0. ``own_grid``: members whose grid is the building's grid;
1. ``adjacent_grid``: members whose grid shares an edge with it (grids of the same
   community whose boundaries run within ``1 m`` of each other for at least ``5 m``);
2. ``community``: members of the building's community who have no grid.

Members never take households of another community, and only members with room under
the cap are candidates. Most candidates can never be the best (a member 800 m away
when twenty nearer ones have room), so each arc of the nearest ones per tier is
solved first and the others are marked ``spare`` (:func:`gridgeo.fix.flow.solve_flow`
adds them back where they could have helped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridgeo.fix.flow import WEIGHTS
from gridgeo.fix.workload import Places

__all__ = ["TIERS", "candidate_arcs", "grid_adjacency"]

TIERS = ("own_grid", "adjacent_grid", "community")
_TOUCH_M = 1.0
_MIN_SHARED_M = 5.0


def grid_adjacency(where: Places) -> pd.DataFrame:
    """Pairs ``(g, h)`` (both ways) of grid positions of one community sharing an edge."""
    geoms = where.geoms
    g, h = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=_TOUCH_M)
    keep = g != h
    g, h = g[keep], h[keep]
    same = where.grid_community[g] == where.grid_community[h]
    g, h = g[same], h[same]
    near = shapely.buffer(geoms, _TOUCH_M, quad_segs=2)
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[g]), near[h]))
    keep = shared >= _MIN_SHARED_M
    return pd.DataFrame({"g": g[keep], "h": h[keep]})


def _spare(
    arcs: pd.DataFrame, room: np.ndarray, short: np.ndarray, supply: np.ndarray, k: int
) -> np.ndarray:
    """Arcs (sorted by source, tier, distance) the first solve can do without.

    Kept: the ``k`` nearest of each source and tier, in tier 0 the nearest whose room
    together is below twice the source's households, and every member short of the
    quota.
    """
    key = ["source", "tier"]
    m = arcs["member"].to_numpy()
    rank = arcs.groupby(key, sort=False).cumcount().to_numpy()
    mine = pd.Series(room[m], index=arcs.index)
    before = (mine.groupby([arcs["source"], arcs["tier"]], sort=False).cumsum() - mine).to_numpy()
    cover = (arcs["tier"].to_numpy() == 0) & (before < 2 * supply[arcs["source"].to_numpy()])
    return ~((rank < k) | cover | (short[m] > 0))


def candidate_arcs(
    source_building: np.ndarray,
    where: Places,
    member_grid: np.ndarray,
    member_community: np.ndarray,
    anchor: tuple[np.ndarray, np.ndarray],
    room: np.ndarray,
    short: np.ndarray,
    supply: np.ndarray,
    *,
    max_candidates: int = 5,
) -> pd.DataFrame:
    """The arcs of the allocation: one per (source, candidate member).

    Parameters
    ----------
    source_building
        Building id of each source (its grid and community come from ``where``).
    where
        Where buildings and grids are.
    member_grid, member_community
        Each member's grid position (-1: none) and community code (None: none).
    anchor
        Each member's anchor point ``(x, y)``: the centroid of their households.
    room, short
        Households each member can still take under the cap, and lacks to the quota.
    supply
        Open households of each source.
    max_candidates
        Candidates per source and tier that are not spare (at least), besides those
        short of the quota.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``member``, ``tier`` (0, 1, 2), ``distance_m``, ``cost`` (integer),
        ``spare`` (left out of the first solve, see :func:`gridgeo.fix.flow.solve_flow`)
        and ``group`` (community code: the independent parts of the problem).
    """
    grid = where.grid[source_building]
    community = np.where(grid >= 0, where.grid_community[np.maximum(grid, 0)], None)
    src = pd.DataFrame({"source": np.arange(len(grid)), "grid": grid, "group": community})
    src = src[(src["grid"] >= 0) & src["group"].notna()]
    able = room > 0
    gridded = pd.DataFrame({"member": np.flatnonzero(able & (member_grid >= 0))})
    gridded["grid"] = member_grid[gridded["member"]]
    adjacency = grid_adjacency(where)
    own = src.merge(gridded, on="grid").assign(tier=0)
    next_door = src.merge(adjacency, left_on="grid", right_on="g").drop(columns=["g", "grid"])
    next_door = next_door.merge(gridded, left_on="h", right_on="grid").assign(tier=1)
    loose = pd.DataFrame(
        {"member": np.flatnonzero(able & (member_grid < 0)),
         "group": member_community[able & (member_grid < 0)]}
    ).dropna()  # fmt: skip
    loose = src.merge(loose, on="group").assign(tier=2)
    cols = ["source", "member", "tier", "group"]
    arcs = pd.concat([own[cols], next_door[cols], loose[cols]], ignore_index=True)
    b = source_building[arcs["source"].to_numpy()]
    m = arcs["member"].to_numpy()
    arcs["distance_m"] = np.hypot(where.x[b] - anchor[0][m], where.y[b] - anchor[1][m])
    arcs = arcs[np.isfinite(arcs["distance_m"].to_numpy())]
    arcs = arcs.sort_values(["source", "tier", "distance_m", "member"], kind="stable")
    arcs["spare"] = _spare(arcs, room, short, supply, max_candidates)
    arcs = arcs.reset_index(drop=True)
    capped = np.minimum(np.round(arcs["distance_m"].to_numpy()), WEIGHTS["distance_cap"])
    arcs["cost"] = (capped + WEIGHTS["tier"] * arcs["tier"].to_numpy()).astype(np.int64)
    return arcs
