"""Placing problems: the grid and community of each problem, by its building or its point."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.frames import as_str

__all__ = ["problem_areas"]


def problem_areas(
    problems: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    building_grid: pd.DataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Attach each problem's grid and community.

    A problem is placed by its building (the grid holding most of it, from
    ``building_grid``); a problem with no building, or whose building lies in no
    grid, by its point (the first grid, in the grids' order, that the point touches).

    Parameters
    ----------
    problems
        The ``problems`` layer (``building`` and/or a point geometry).
    grids
        Grid polygons with ``code`` and ``community``.
    building_grid
        ``building_id`` → ``grid_id``, as :func:`gridgeo.analysis.building_grid`
        returns it.
    communities
        Community polygons with ``code``; used only when ``grids`` has no
        ``community`` column (a grid then belongs to the community holding its
        representative point).

    Returns
    -------
    pandas.DataFrame
        A copy of ``problems`` (a GeoDataFrame if it was one) with ``grid``,
        ``community`` and ``located_by`` (``building``, ``point`` or missing).

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["G1", "G2"], "community": ["C1", "C2"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=4326)
    >>> bg = pd.DataFrame({"building_id": ["B1"], "grid_id": ["G2"]})
    >>> p = gpd.GeoDataFrame({"code": ["P1", "P2"], "building": ["B1", None]},
    ...     geometry=shapely.points([[0.5, 0.5], [0.5, 0.5]]), crs=4326)
    >>> problem_areas(p, g, building_grid=bg)[["grid", "community", "located_by"]].values.tolist()
    [['G2', 'C2', 'building'], ['G1', 'C1', 'point']]
    """
    grid = pd.Series(pd.NA, index=problems.index, dtype="string")
    located_by = pd.Series(pd.NA, index=problems.index, dtype="string")
    if building_grid is not None and "building" in problems.columns:
        bg = building_grid.dropna(subset=["grid_id"]).drop_duplicates("building_id")
        mapping = pd.Series(as_str(bg["grid_id"]).to_numpy(), index=as_str(bg["building_id"]))
        grid = as_str(problems["building"]).map(mapping).astype("string")
        located_by[grid.notna()] = "building"
    if isinstance(problems, gpd.GeoDataFrame):
        need = (grid.isna() & problems.geometry.notna() & ~problems.geometry.is_empty).to_numpy()
        if need.any():
            rows, codes = _first_grid(problems.geometry[need], grids)
            grid.iloc[np.flatnonzero(need)[rows]] = codes
            located_by.iloc[np.flatnonzero(need)[rows]] = "point"
    out = problems.copy()
    out["grid"] = grid
    out["community"] = grid.map(_grid_community(grids, communities)).astype("string")
    out["located_by"] = located_by
    return out


def _first_grid(points: gpd.GeoSeries, grids: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the points in a grid, and the code of the first grid each touches."""
    if grids.crs is not None and points.crs is not None and points.crs != grids.crs:
        points = points.to_crs(grids.crs)
    tree = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object))
    pi, gi = tree.query(np.asarray(points.values, dtype=object), predicate="intersects")
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    return pi[first], as_str(grids["code"]).to_numpy()[gi[first]]


def _grid_community(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> pd.Series:
    """Community code by grid code: the grids' own column, else by representative point."""
    codes = as_str(grids["code"])
    if "community" in grids.columns or communities is None:
        values = as_str(grids["community"]).to_numpy() if "community" in grids.columns else pd.NA
        out = pd.Series(values, index=codes.to_numpy(), dtype="string")
        return out[~out.index.duplicated()]
    points = grids.geometry.representative_point()
    if communities.crs is not None and grids.crs is not None and communities.crs != grids.crs:
        points = points.to_crs(communities.crs)
    tree = shapely.STRtree(np.asarray(communities.geometry.values, dtype=object))
    pi, ci = tree.query(np.asarray(points.values, dtype=object), predicate="intersects")
    values = np.full(len(grids), None, dtype=object)
    values[pi[::-1]] = as_str(communities["code"]).to_numpy()[ci[::-1]]
    out = pd.Series(pd.array(values, dtype="string"), index=codes.to_numpy())
    return out[~out.index.duplicated()]
