"""Cells: H3 hexagons, a square fishnet or the grids, and the problems counted in them.

Every cell of the study area is kept, also those without a problem, as Esri's Optimized
Hot Spot Analysis does with bounding polygons; cells outside the area are not made.
:func:`assign_cells` makes the cells and finds the cell of each problem;
:func:`aggregate` turns that into the counts the statistics work on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.analysis.hotspots.geometry import (
    geometry_array,
    overlapping,
    point_locations,
    positions_in,
    study_area,
    working_crs,
)
from gridgeo.analysis.hotspots.hexagons import h3_cells_in, h3_cells_of_points, h3_ids
from gridgeo.errors import Issue, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "CellAssignment",
    "aggregate",
    "assign_cells",
    "cell_values",
    "spec_number",
]

#: finds the position of the cell of each (x, y) row among the cells; -1 for none
Locate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CellAssignment:
    """The cells of a study area and the cell each problem lies in.

    Attributes
    ----------
    ids
        Cell ids (H3 index, ``"250m_i_j"`` squares, grid codes), an object array.
    polygons
        The cells' polygons in ``crs``.
    crs
        EPSG:4326 for H3 cells, else ``metric_crs``.
    owner
        Per problem (row of the input), the position of its cell; -1 when it has no
        location or lies outside every cell.
    metric_crs
        The CRS distances are measured in.
    info
        ``metric_crs``, ``cells`` (the specification), ``outside`` and
        ``without_location`` (problems not counted): the ``attrs`` of the results.
    """

    ids: np.ndarray
    polygons: np.ndarray
    crs: object
    owner: np.ndarray
    metric_crs: pyproj.CRS
    info: dict[str, Any]

    def frame(self) -> gpd.GeoDataFrame:
        """The cells as ``cell_id`` and ``geometry`` in EPSG:4326."""
        return gpd.GeoDataFrame(
            {"cell_id": pd.Series(self.ids, dtype=object)},
            geometry=gpd.GeoSeries(self.polygons, crs=self.crs).to_crs(4326).array,
            crs=4326,
        )

    def counts(self) -> gpd.GeoDataFrame:
        """The cells with ``count``, the problems in each (see :func:`aggregate`)."""
        out = self.frame()
        inside = self.owner[self.owner >= 0]
        out.insert(1, "count", np.bincount(inside, minlength=len(self.ids)).astype(np.int64))
        out.attrs.update(self.info)
        return out


def spec_number(text: object, spec: str) -> float:
    """The number in an option such as ``h3:9`` or ``knn:8``.

    Raises
    ------
    ValidationError
        It is not a number.

    Examples
    --------
    >>> spec_number("250", "square:250")
    250.0
    """
    try:
        return float(str(text))
    except ValueError:
        raise ValidationError(
            Issue(f"{spec!r}: {text!r} is not a number", hint="e.g. h3:9, square:250, knn:8")
        ) from None


def assign_cells(
    problems: gpd.GeoDataFrame,
    *,
    area: Any = None,
    cells: str | gpd.GeoDataFrame = "h3:9",
    policy: Policy | None = None,
) -> CellAssignment:
    """The cells covering the study area and the cell of each problem (see :func:`aggregate`).

    H3 cells are made and matched in EPSG:4326, squares and grids in the metric CRS.

    Examples
    --------
    >>> xy = [(350_010, 3_450_010), (350_150, 3_450_010), (350_900, 3_450_010)]
    >>> pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32651)
    >>> area = shapely.box(350_000, 3_450_000, 350_300, 3_450_100)
    >>> area = gpd.GeoDataFrame(geometry=[area], crs=32651)
    >>> a = assign_cells(pts, area=area, cells="square:100")
    >>> a.ids.tolist(), a.owner.tolist(), a.info["outside"]
    (['100m_3500_34500', '100m_3501_34500', '100m_3502_34500'], [0, 1, -1], 1)
    """
    if problems.crs is None:
        raise ValidationError(Issue("no CRS", layer="problems", hint="set one, e.g. 4326"))
    grids = cells if isinstance(cells, gpd.GeoDataFrame) else None
    if grids is not None:
        base = grids
    elif isinstance(area, gpd.GeoDataFrame) and len(area):
        base = area
    else:
        base = problems
    crs = working_crs(base, policy) if len(base) else pyproj.CRS(32651)
    spec = "grids" if grids is not None else str(cells).strip().lower()
    kind, _, size = spec.partition(":")
    if kind not in ("grids", "h3", "square"):
        raise ValidationError(
            Issue(
                f"unknown cells {cells!r}",
                hint="use h3:RES (e.g. h3:9), square:METRES (e.g. square:250) or grids",
            )
        )
    frame_crs: object = 4326 if kind == "h3" else crs
    present, xy = point_locations(problems, frame_crs)
    region = study_area(area, frame_crs)
    if grids is not None:
        ids, polys, region, locate = _grid_layout(grids, crs, region)
    else:
        if region is None:
            region = _hull(xy[present], 1e-5 if kind == "h3" else 1.0)
        layout = _h3_layout if kind == "h3" else _square_layout
        ids, polys, locate = layout(region, size, spec)
    inside = present.copy()
    if present.any():
        inside[present] = shapely.intersects_xy(region, xy[present, 0], xy[present, 1])
    owner = np.full(len(problems), -1, dtype=np.int64)
    if inside.any() and len(ids):
        owner[inside] = locate(xy[inside])
    info = {
        "metric_crs": crs.to_string(),
        "cells": spec,
        "outside": int((present & (owner < 0)).sum()),
        "without_location": int((~present).sum()),
    }
    return CellAssignment(ids, polys, frame_crs, owner, crs, info)


def _grid_layout(
    grids: gpd.GeoDataFrame, crs: pyproj.CRS, region: shapely.Geometry | None
) -> tuple[np.ndarray, np.ndarray, shapely.Geometry, Locate]:
    """The grids overlapping the region (all of them without one) as cells."""
    if "code" not in grids.columns and "cell_id" not in grids.columns:
        raise ValidationError(Issue("no 'code' column", layer="grids"))
    ids = grids["cell_id" if "cell_id" in grids.columns else "code"].astype(str).to_numpy()
    polys = shapely.make_valid(geometry_array(grids.to_crs(crs)))
    if region is not None:
        keep = overlapping(polys, region)
        ids, polys = ids[keep], polys[keep]
    else:
        region = shapely.union_all(polys)
        shapely.prepare(region)

    def locate(xy: np.ndarray) -> np.ndarray:
        tree = shapely.STRtree(polys)
        pi, ci = tree.query(shapely.points(xy), predicate="intersects")
        first = np.unique(pi, return_index=True)[1]
        found = np.full(len(xy), -1, dtype=np.int64)
        found[pi[first]] = ci[first]
        return found

    return ids, polys, region, locate


def _h3_layout(
    region: shapely.Geometry, size: str, spec: str
) -> tuple[np.ndarray, np.ndarray, Locate]:
    """The H3 cells of resolution ``size`` (default 9) overlapping the region."""
    res = int(spec_number(size or 9, spec))
    if not 0 <= res <= 15:
        raise ValidationError(Issue(f"H3 resolution must be 0–15, not {res}"))
    ints, polys = h3_cells_in(region, res)

    def locate(xy: np.ndarray) -> np.ndarray:
        return positions_in(ints, h3_cells_of_points(xy[:, 1], xy[:, 0], res))

    return h3_ids(ints), polys, locate


def _square_keys(ij: np.ndarray) -> np.ndarray:
    return (ij[:, 0] << 32) + (ij[:, 1] & 0xFFFFFFFF)


def _square_layout(
    region: shapely.Geometry, size: str, spec: str
) -> tuple[np.ndarray, np.ndarray, Locate]:
    """Squares of a fishnet (``size`` metres, default 250) overlapping the region.

    The squares are aligned on multiples of their size and sorted by their (column,
    row) key; their ids are ``"{size}m_{column}_{row}"``.
    """
    step = spec_number(size or 250, spec)
    if not step > 0:
        raise ValidationError(Issue(f"square cell size must be positive, not {step}"))
    x0, y0, x1, y1 = region.bounds
    i = np.arange(math.floor(x0 / step), math.floor(x1 / step) + 1)
    j = np.arange(math.floor(y0 / step), math.floor(y1 / step) + 1)
    ii, jj = (a.ravel() for a in np.meshgrid(i, j))
    boxes = shapely.box(ii * step, jj * step, (ii + 1) * step, (jj + 1) * step)
    keep = overlapping(boxes, region)
    ii, jj, boxes = ii[keep], jj[keep], boxes[keep]
    keys = _square_keys(np.column_stack([ii, jj]).astype(np.int64))
    order = np.argsort(keys)
    ids = np.array([f"{step:g}m_{a}_{b}" for a, b in zip(ii[order], jj[order], strict=True)])
    keys = keys[order]

    def locate(xy: np.ndarray) -> np.ndarray:
        return positions_in(keys, _square_keys(np.floor(xy / step).astype(np.int64)))

    return ids.astype(object), boxes[order], locate


def _hull(xy: np.ndarray, pad: float) -> shapely.Geometry:
    """Convex hull of many points (scipy's Qhull), slightly padded if degenerate."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = shapely.Polygon(xy[ConvexHull(xy).vertices])
    except (QhullError, ValueError, IndexError):
        hull = shapely.convex_hull(shapely.multipoints(xy)).buffer(pad)
    shapely.prepare(hull)
    return hull


def aggregate(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame = "h3:9",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Count problem points in cells covering the study area, empty cells included.

    Parameters
    ----------
    problems
        Points (any CRS).
    area
        The study area (the district boundary, the communities…; a GeoDataFrame or a
        shapely geometry in EPSG:4326). Default: the union of the grids when ``cells``
        are grids, else the convex hull of the points. Points outside it are not
        counted (their number is in ``attrs["outside"]``).
    cells
        ``"h3:RES"`` (H3 hexagons: every cell overlapping the area), ``"square:M"``
        (a fishnet of M-metre squares aligned on multiples of M in the metric CRS, every
        square overlapping the area) or a polygon GeoDataFrame with a ``code`` column
        (the grids: those overlapping the area).
    policy
        ``metric_crs`` for distances and squares (default: the data's UTM zone).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``count``, ``geometry`` (EPSG:4326), one row per cell.

    Examples
    --------
    >>> pts = gpd.GeoSeries(shapely.points([[10, 10], [20, 10], [260, 40]]), crs=32651)
    >>> pts = gpd.GeoDataFrame(geometry=pts.translate(350_000, 3_450_000))
    >>> area = shapely.box(350_000, 3_450_000, 350_500, 3_450_100)
    >>> area = gpd.GeoDataFrame(geometry=[area], crs=32651)
    >>> aggregate(pts, area=area, cells="square:100")[["cell_id", "count"]].to_numpy().tolist()
    [['100m_3500_34500', 2], ['100m_3501_34500', 0], ['100m_3502_34500', 1], ['100m_3503_34500', 0], ['100m_3504_34500', 0]]
    """
    return assign_cells(problems, area=area, cells=cells, policy=policy).counts()


def cell_values(cells: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """The analysed column of the cells as floats; missing or infinite values are refused.

    Raises
    ------
    ValidationError
        No such column, or a value that is not a finite number (every such cell named).

    Examples
    --------
    >>> cell_values(pd.DataFrame({"count": [3, 0]}), "count").tolist()
    [3.0, 0.0]
    """
    if column not in cells.columns:
        raise ValidationError(Issue(f"no column {column!r} to analyse", layer="cells"))
    y = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValidationError(
            [
                Issue("not a finite number", layer="cells", row=int(k) + 1, column=column)
                for k in bad
            ],
            summary=f"{len(bad)} cell(s) without a usable {column!r}:",
        )
    return y
