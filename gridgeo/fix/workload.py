"""Members' workload: how many households, where, and how far apart (the quality figures).

A member's **grid** is the grid holding most of the member's households (by their
buildings, :func:`gridgeo.analysis.building_grid`); a member with no household takes
the first grid (by code) of their organisation's ``organisation_grid`` assignments,
and has no grid without one. A member's **community** is their grid's, else the
``community`` column of the members layer.

Walking distance has no street network to go by, so it is measured as the straight
line between buildings in metres (:func:`gridgeo.analysis.metric_crs`); a household
stands at its building's centroid (household points lie inside their building). A
member's **spread** is the mean distance from their households to the centroid of
their households: small when the households are close together, and the proxy for
the walk of a round of visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.analysis import active_assignments, building_grid, metric_crs
from gridgeo.fix.geometry import metric_polygons
from gridgeo.fix.holdings import Holdings, holdings

__all__ = ["Places", "home_grids", "member_workload", "places", "spread"]


@dataclass(frozen=True)
class Places:
    """Where things are, in metres: buildings (by building id) and grids (by position)."""

    x: np.ndarray  # building centroid (NaN: no geometry)
    y: np.ndarray
    grid: np.ndarray  # grid position of each building (-1: in no grid)
    grid_codes: np.ndarray
    grid_community: np.ndarray  # community code of each grid (None: none)
    grid_x: np.ndarray  # representative point of each grid
    grid_y: np.ndarray
    geoms: np.ndarray  # metric grid polygons
    crs: pyproj.CRS


def places(
    held: Holdings,
    buildings: pd.DataFrame,
    grids: pd.DataFrame,
    *,
    grid_of: pd.DataFrame | None = None,
) -> Places:
    """Locate the buildings of ``held`` and the grids; ``grid_of`` as ``building_grid`` gives."""
    crs = metric_crs(grids)
    gcodes, ggeoms, grows = metric_polygons(grids, "grids", crs)
    community = (
        grids["community"].astype("string").to_numpy(dtype=object)[grows]
        if "community" in grids.columns
        else np.full(len(gcodes), None, dtype=object)
    )
    community = np.array([None if pd.isna(c) else c for c in community], dtype=object)
    # centroids in the buildings' CRS, then projected: over a building the difference
    # to a centroid computed in metres is far below a millimetre
    centre = shapely.centroid(np.asarray(buildings.geometry.array, dtype=object))
    centre = np.asarray(gpd.GeoSeries(centre, crs=buildings.crs).to_crs(crs).array)
    n = len(held.buildings)
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    ids = held.building_rows
    x[ids[::-1]] = shapely.get_x(centre)[::-1]  # a code listed twice: its first row
    y[ids[::-1]] = shapely.get_y(centre)[::-1]
    if grid_of is None:
        grid_of = building_grid(buildings, grids)
    located = grid_of.dropna(subset=["grid_id"])
    first = pd.Series(gcodes, dtype=object).drop_duplicates()  # index: first position
    b = held.buildings.get_indexer(pd.Index(located["building_id"].astype("string")))
    g = pd.Index(first.to_numpy()).get_indexer(pd.Index(located["grid_id"].astype("string")))
    ok = (b >= 0) & (g >= 0)
    grid = np.full(n, -1, np.int64)
    grid[b[ok]] = first.index.to_numpy()[g[ok]]
    point = shapely.point_on_surface(ggeoms)
    return Places(
        x, y, grid, gcodes, community, shapely.get_x(point), shapely.get_y(point), ggeoms, crs
    )


def spread(
    hh: np.ndarray, member: np.ndarray, held: Holdings, where: Places
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per member of ``held``: households, centroid (x, y) and spread (NaN: none placed).

    ``hh`` and ``member`` are distinct holdings (household id, member id).
    """
    b = held.household_building[hh]
    x = np.where(b >= 0, where.x[np.maximum(b, 0)], np.nan)
    y = np.where(b >= 0, where.y[np.maximum(b, 0)], np.nan)
    nm = len(held.members)
    count = np.bincount(member, minlength=nm)
    ok = ~np.isnan(x)
    placed = np.bincount(member[ok], minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.bincount(member[ok], weights=x[ok], minlength=nm) / placed
        cy = np.bincount(member[ok], weights=y[ok], minlength=nm) / placed
        dist = np.hypot(x[ok] - cx[member[ok]], y[ok] - cy[member[ok]])
        mean = np.bincount(member[ok], weights=dist, minlength=nm) / placed
    return count, cx, cy, mean


def home_grids(
    hh: np.ndarray,
    member: np.ndarray,
    held: Holdings,
    where: Places,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: object,
) -> tuple[np.ndarray, np.ndarray]:
    """Grid position (-1: none) and community code (None) of each member of ``held``."""
    nm = len(held.members)
    g = where.grid[np.maximum(held.household_building[hh], 0)]
    g = np.where(held.household_building[hh] >= 0, g, -1)
    votes = pd.DataFrame({"m": member[g >= 0], "g": g[g >= 0]}).value_counts().reset_index()
    votes = votes.sort_values(["m", "count", "g"], ascending=[True, False, True])
    votes = votes.drop_duplicates("m")
    grid = np.full(nm, -1, np.int64)
    grid[votes["m"].to_numpy()] = votes["g"].to_numpy()
    info = members.drop_duplicates("code")
    info.index = pd.Index(info["code"].astype("string"))
    codes = pd.Index(held.members)
    if "organisation" in members.columns:
        og = active_assignments(assignments, as_of=as_of, kind="organisation_grid")
        og = pd.DataFrame({"o": og["organisation"].astype("string"), "g": og["grid"]})
        og["g"] = pd.Index(where.grid_codes).get_indexer(og["g"].astype("string"))
        og = og[og["g"] >= 0].sort_values(["o", "g"]).drop_duplicates("o").set_index("o")["g"]
        org = info["organisation"].astype("string").reindex(codes)
        fallback = org.map(og).fillna(-1).to_numpy(dtype=np.int64)
        grid = np.where(grid >= 0, grid, fallback)
    community = np.where(grid >= 0, where.grid_community[np.maximum(grid, 0)], None)
    if "community" in members.columns:
        own = info["community"].astype("string").reindex(codes).to_numpy(dtype=object)
        community = np.where(grid >= 0, community, own)
    community = np.array([None if pd.isna(c) else c for c in community], dtype=object)
    return grid, community


def member_workload(
    households: pd.DataFrame,
    buildings: pd.DataFrame,
    grids: pd.DataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: object,
    grid_of: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each partner member's households, grid, community and spread on ``as_of``.

    Parameters
    ----------
    households, buildings, grids, members, assignments
        Layer frames (buildings and grids with geometries).
    as_of
        The date.
    grid_of
        Building → grid as :func:`gridgeo.analysis.building_grid` returns it; computed
        when not given.

    Returns
    -------
    pandas.DataFrame
        One row per member of role ``member``: ``member_id``, ``households`` (as the
        check's ``member_households`` counts them), ``grid``, ``community`` and
        ``spread_m`` (NaN for a member with no household).

    Examples
    --------
    >>> from gridgeo.synth import generate
    >>> L = generate("tiny", seed=0).layers
    >>> w = member_workload(L["households"], L["buildings"], L["grids"], L["members"],
    ...                     L["assignments"], as_of="2025-03-03")
    >>> int((w["households"] < 10).sum()), w["spread_m"].notna().all()
    (4, np.False_)
    """
    held = holdings(households, buildings, members, assignments, as_of=as_of)
    where = places(held, buildings, grids, grid_of=grid_of)
    hh, member = held.pairs()
    count, _, _, mean = spread(hh, member, held, where)
    grid, community = home_grids(hh, member, held, where, members, assignments, as_of=as_of)
    code = np.append(where.grid_codes, None).astype(object)
    return pd.DataFrame(
        {
            "member_id": pd.Series(held.members, dtype=object),
            "households": count.astype(np.int64),
            "grid": pd.Series(code[grid], dtype=object),
            "community": pd.Series(community, dtype=object),
            "spread_m": np.round(mean, 1),
        }
    )
