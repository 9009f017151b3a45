"""Grids in communities: every grid lies in exactly one community (R3)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.coverage.geometry import measuring_crs, polygons, to_4326
from gridgeo.analysis.findings import findings
from gridgeo.policy import Policy

__all__ = ["grid_communities"]

#: problem -> Chinese and English explanation
_TEXT = {
    "none": ("网格不在任何社区内", "grid {g} lies in no community"),
    "several": ("网格跨越{n}个社区", "grid {g} spans {n} communities"),
    "mismatch": (
        "网格登记属于{d}社区，实际位于{c}社区",
        "grid {g} is declared in community {d} but lies in {c}",
    ),
}


def grid_communities(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find grids that do not lie in exactly one community (rule R3).

    Each grid's area is shared out among the communities it overlaps. A grid is
    reported when no community holds more than ``policy.straddle_min_share`` of it
    (``problem = "none"``), when several do (``"several"``), or when its declared
    ``community`` column names another community than the one holding most of it
    (``"mismatch"``).

    Parameters
    ----------
    grids
        Grid polygons with ``code`` and (optionally) ``community``.
    communities
        Community polygons with ``code``.
    policy
        Thresholds (``straddle_min_share``, ``metric_crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (severity ``error``, entity ``grids``, code = grid code) with
        ``problem``, ``community`` (holding most of the grid, or None), ``share``
        (its share), ``n_communities`` (holding more than the straddle share),
        ``declared`` (the grid's ``community`` value); geometry: the grid.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"code": ["C1", "C2"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> g = gpd.GeoDataFrame({"code": ["G1", "G2"], "community": ["C1", "C1"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(50, 0, 150, 100)])
    >>> r = grid_communities(g.to_crs(4326), c.to_crs(4326))
    >>> r[["rule", "code", "problem", "n_communities"]].values.tolist()
    [['R3', 'G2', 'several', 2]]
    """
    policy = policy or Policy()
    crs = measuring_crs(grids, policy)
    codes, geoms, rows = polygons(grids, "grids", crs)
    ccodes, cgeoms, _ = polygons(communities, "communities", crs or grids.crs)
    community, best_share, n_comm = _largest_community(geoms, ccodes, cgeoms, policy)
    declared = _declared(grids, rows)
    problem = np.where(
        n_comm == 0,
        "none",
        np.where(
            n_comm > 1,
            "several",
            np.where((declared != None) & (declared != community), "mismatch", ""),  # noqa: E711
        ),
    )
    sel = problem != ""
    args = [
        {"g": codes[k], "n": n_comm[k], "d": declared[k], "c": community[k], "p": problem[k]}
        for k in np.flatnonzero(sel)
    ]
    return findings(
        "R3",
        "error",
        "grids",
        codes[sel],
        [_TEXT[a["p"]][0].format(**a) for a in args],
        [_TEXT[a["p"]][1].format(**a) for a in args],
        geometry=to_4326(geoms[sel], crs) if crs is not None else [],
        extra=pd.DataFrame(
            {
                "problem": problem[sel].astype(object),
                "community": pd.Series(community[sel], dtype=object),
                "share": np.round(best_share[sel], 4),
                "n_communities": n_comm[sel].astype(np.int64),
                "declared": pd.Series(declared[sel], dtype=object),
            }
        ),
    )


def _largest_community(
    geoms: np.ndarray, ccodes: np.ndarray, cgeoms: np.ndarray, policy: Policy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per grid: the community holding most of it (or None), its share, and how many hold it."""
    gi, ci = shapely.STRtree(cgeoms).query(geoms, predicate="intersects")
    share = shapely.area(shapely.intersection(geoms[gi], cgeoms[ci])) / shapely.area(geoms[gi])
    pairs = pd.DataFrame({"g": gi, "c": ci, "share": share})
    pairs = pairs[pairs["share"] > 0].sort_values(["g", "share"], ascending=[True, False])
    best = pairs.drop_duplicates("g").set_index("g")
    n_held = pairs[pairs["share"] > policy.straddle_min_share].groupby("g").size()
    n = len(geoms)
    best_c = best["c"].reindex(range(n))
    community = np.array(
        [None if pd.isna(k) else str(ccodes[int(k)]) for k in best_c], dtype=object
    )
    best_share = best["share"].reindex(range(n), fill_value=0.0).to_numpy()
    return community, best_share, n_held.reindex(range(n), fill_value=0).to_numpy()


def _declared(grids: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray:
    """The ``community`` each kept grid row declares (None where it declares none)."""
    if "community" not in grids.columns:
        return np.full(len(rows), None, dtype=object)
    declared = grids["community"].astype(object).to_numpy()[rows]
    return np.array([None if pd.isna(d) else str(d) for d in declared], dtype=object)
