"""Which grid keeps an overlap: the rule, applied pair by pair.

Two grids overlap where their interiors meet over more than ``min_area`` m². The
overlap goes to one of them, by the first of these that tells them apart:

1. ``responsibility`` (when assignments are given): the grid the members responsible
   for the overlap's buildings belong to. Each (household, member) holding of a
   building whose representative point lies in the overlap votes, with one vote, for
   the member's grid; a member's grid is the grid holding most of the member's
   households outside every overlap (by their buildings' representative points).
2. ``buildings`` (when buildings are given): the grid holding more of the overlap's
   buildings' area outside the overlap, weighted by their households (``households``
   column, else one per building): a building half in the overlap and half in one
   grid stays whole in that grid.
3. ``shared_edge``: the grid the overlap shares the longer border with (the length of
   the overlap's boundary inside that grid), as GEOS's cleaner does by default.
4. ``code``: the grid whose code sorts first.

Where three grids overlap, each pair is decided alone, and the overlaps are taken from
their losers one after the other (largest first), each only where its winner still
holds it: when the decisions go round in a circle, the last grid holding the area
keeps it, and no area is ever left uncovered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridgeo.fix.arrays import isin
from gridgeo.fix.geometry import merge_by, polygonal
from gridgeo.fix.holdings import Holdings

__all__ = [
    "RULES",
    "building_votes",
    "decide_overlaps",
    "edge_votes",
    "exclusive_parts",
    "find_overlaps",
    "responsibility_votes",
]

#: rule -> (Chinese, English) wording of why the winner keeps the overlap
RULES: dict[str, tuple[str, str]] = {
    "responsibility": ("重叠处楼栋的责任党员属于该网格", "its buildings' members belong to it"),
    "buildings": ("重叠处楼栋大部分位于该网格", "its buildings lie mostly in it"),
    "shared_edge": ("与该网格共用边界更长", "it shares the longer edge with it"),
    "code": ("编号在前", "its code sorts first"),
    "cleaner": ("由覆盖清理按最长共用边界划定", "the coverage cleaner's longest shared edge"),
}


def find_overlaps(geoms: np.ndarray, min_area: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of grids overlapping by more than ``min_area``, and the overlaps."""
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    keep = ~shapely.touches(geoms[i], geoms[j])
    i, j = i[keep], j[keep]
    pieces = polygonal(shapely.intersection(geoms[i], geoms[j]))
    keep = shapely.area(pieces) > min_area
    return i[keep], j[keep], pieces[keep]


def exclusive_parts(
    geoms: np.ndarray, i: np.ndarray, j: np.ndarray, pieces: np.ndarray
) -> np.ndarray:
    """Each grid without any of its overlaps."""
    return merge_by(geoms, np.concatenate([pieces, pieces]), np.concatenate([i, j]), add=False)


def _inside(points: np.ndarray, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, geometry) index pairs of points lying in the geometries."""
    return shapely.STRtree(geoms).query(points, predicate="within")


def responsibility_votes(
    pieces: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    exclusive: np.ndarray,
    points: np.ndarray,
    building_ids: np.ndarray,
    held: Holdings,
) -> np.ndarray:
    """Votes for (grid i, grid j) of each pair: holdings whose member belongs there."""
    votes = np.zeros((len(pieces), 2))
    bp, gp = _inside(points, exclusive)  # buildings -> the grid holding them alone
    grid_of = np.full(len(held.buildings), -1, np.int64)
    grid_of[building_ids[bp]] = gp
    hh_grid = np.where(held.household_building >= 0, grid_of[held.household_building], -1)
    hh, member = held.pairs()
    home = pd.DataFrame({"m": member, "g": hh_grid[hh]})
    home = home[home["g"] >= 0].value_counts().reset_index(name="n")
    home = home.sort_values(["m", "n", "g"], ascending=[True, False, True]).drop_duplicates("m")
    member_grid = np.full(len(held.members), -1, np.int64)
    member_grid[home["m"].to_numpy()] = home["g"].to_numpy()
    bq, pq = _inside(points, pieces)  # buildings in each overlap
    in_piece = pd.DataFrame({"b": building_ids[bq], "p": pq})
    near = isin(held.household_building[hh], in_piece["b"].to_numpy())
    hh_b = pd.DataFrame({"b": held.household_building[hh[near]], "g": member_grid[member[near]]})
    votes_for = in_piece.merge(hh_b, on="b")
    for side, grid in enumerate((i, j)):
        hit = votes_for["g"].to_numpy() == grid[votes_for["p"].to_numpy()]
        votes[:, side] = np.bincount(votes_for["p"].to_numpy()[hit], minlength=len(pieces))
    return votes


def building_votes(
    pieces: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    exclusive: np.ndarray,
    bgeoms: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """Household-weighted share of the overlap's buildings lying in grid i / grid j alone."""
    votes = np.zeros((len(pieces), 2))
    bq, pq = shapely.STRtree(pieces).query(bgeoms, predicate="intersects")
    keep = ~shapely.touches(bgeoms[bq], pieces[pq])
    bq, pq = bq[keep], pq[keep]
    area = shapely.area(bgeoms[bq])
    for side, grid in enumerate((i, j)):
        share = shapely.area(shapely.intersection(bgeoms[bq], exclusive[grid[pq]])) / area
        votes[:, side] = np.bincount(pq, weights=share * weight[bq], minlength=len(pieces))
    return votes


def edge_votes(geoms: np.ndarray, i: np.ndarray, j: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Length of each overlap's boundary inside grid i / grid j (where it borders them)."""
    edge = shapely.boundary(pieces)
    return np.column_stack(
        [
            shapely.length(shapely.difference(edge, shapely.boundary(geoms[i]))),
            shapely.length(shapely.difference(edge, shapely.boundary(geoms[j]))),
        ]
    )


def decide_overlaps(
    i: np.ndarray,
    j: np.ndarray,
    pieces: np.ndarray,
    codes: np.ndarray,
    votes: list[tuple[str, np.ndarray]],
) -> pd.DataFrame:
    """Decide every overlap by the first rule whose votes tell the two grids apart.

    Parameters
    ----------
    i, j, pieces
        The overlapping pairs and their overlaps (:func:`find_overlaps`).
    codes
        Grid codes (rule ``code``, the last resort: the code sorting first wins).
    votes
        ``(rule, votes)`` in order of precedence; ``votes`` has one row per pair and
        two columns, for grid ``i`` and grid ``j``.

    Returns
    -------
    pandas.DataFrame
        One row per overlap: ``a``, ``b`` (grid positions, ``a < b``), ``winner``,
        ``loser``, ``rule``, ``area_m2`` and ``geometry`` (the overlap, an object column).

    Examples
    --------
    >>> codes = np.array(["A", "B"], dtype=object)
    >>> d = decide_overlaps(np.array([0]), np.array([1]), np.array([shapely.box(0, 0, 1, 1)]),
    ...                     codes, [("shared_edge", np.array([[1.0, 3.0]]))])
    >>> d[["winner", "loser", "rule"]].values.tolist()
    [[1, 0, 'shared_edge']]
    """
    winner_is_b = codes[j] < codes[i]
    rule = np.full(len(pieces), "code", dtype=object)
    decided = np.zeros(len(pieces), dtype=bool)
    for name, v in votes:
        differ = ~decided & ~np.isclose(v[:, 0], v[:, 1], rtol=1e-9, atol=1e-9)
        winner_is_b[differ] = v[differ, 1] > v[differ, 0]
        rule[differ] = name
        decided |= differ
    return pd.DataFrame(
        {
            "a": i,
            "b": j,
            "winner": np.where(winner_is_b, j, i),
            "loser": np.where(winner_is_b, i, j),
            "rule": rule,
            "area_m2": shapely.area(pieces),
            "geometry": pieces,
        }
    )
