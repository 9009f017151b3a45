"""Small vectorised geometry helpers the repairs share (metric arrays in, arrays out)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridgeo.errors import CRSError, Issue, ValidationError
from gridgeo.fix.arrays import unique

__all__ = ["merge_by", "metric_polygons", "polygonal", "widths"]

_AREAS = (3, 6)  # Polygon, MultiPolygon


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's area parts as one MultiPolygon (empty when it has none).

    Intersections and differences return lines and points beside their areas
    (GeometryCollections); only the areas are kept.

    Examples
    --------
    >>> g = shapely.intersection(shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1))
    >>> polygonal(np.array([g, shapely.box(0, 0, 1, 1)]))[1].geom_type
    'MultiPolygon'
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    while np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():  # nested collections
        parts, inner = shapely.get_parts(parts, return_index=True)
        owner = owner[inner]
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    out = np.array([shapely.MultiPolygon()] * len(geoms), dtype=object)
    if keep.any():
        rows = unique(owner[keep])
        out[rows] = shapely.multipolygons(parts[keep], indices=np.searchsorted(rows, owner[keep]))
    return out


def merge_by(geoms: np.ndarray, pieces: np.ndarray, owner: np.ndarray, *, add: bool) -> np.ndarray:
    """Add ``pieces`` to (or take them from) ``geoms[owner]``, one overlay per owner.

    Examples
    --------
    >>> g = np.array([shapely.box(0, 0, 2, 1)])
    >>> merge_by(g, np.array([shapely.box(1, 0, 2, 1)]), np.array([0]), add=False)[0].area
    1.0
    """
    out = np.asarray(geoms, dtype=object).copy()
    if len(pieces) == 0:
        return out
    groups = gpd.GeoSeries(pieces).groupby(np.asarray(owner)).agg(shapely.union_all)
    idx = groups.index.to_numpy(dtype=np.int64)
    merged = np.asarray(groups.to_numpy(), dtype=object)
    op = shapely.union if add else shapely.difference
    out[idx] = polygonal(op(out[idx], merged))
    return out


def widths(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Width of each polygon: the diameter of its largest inscribed circle (metres)."""
    if len(geoms) == 0:
        return np.empty(0)
    return 2 * shapely.length(shapely.maximum_inscribed_circle(geoms, tolerance))


def metric_polygons(
    gdf: gpd.GeoDataFrame, layer: str, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, valid polygonal geometries in ``crs``, and the row positions they come from.

    Rows without a geometry are left out; an invalid polygon is repaired with
    ``make_valid`` (its area parts kept); a geometry that is not an area raises.

    Raises
    ------
    CRSError
        The frame has no CRS.
    ValidationError
        A geometry is not a polygon, or has no area left after ``make_valid``.
    """
    if gdf.crs is None:
        raise CRSError(Issue("no CRS", layer=layer, hint="set one, e.g. gdf.set_crs(4326)"))
    if "code" not in gdf.columns:
        raise ValidationError(Issue("no 'code' column", layer=layer))
    geoms = np.asarray(gdf.geometry.to_crs(crs).array, dtype=object)
    rows = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    geoms = geoms[rows]
    codes = gdf["code"].astype("string").to_numpy(dtype=object)[rows]
    bad = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), _AREAS))
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    fixed = polygonal(shapely.make_valid(geoms[invalid])) if len(invalid) else geoms[:0]
    empty = invalid[shapely.is_empty(fixed)] if len(invalid) else invalid
    not_area = set(bad.tolist())
    problems = [
        Issue(
            f"{geoms[k].geom_type} is not an area" if k in not_area else "no area after make_valid",
            layer=layer,
            row=int(rows[k]) + 1,
            key=f"code {codes[k]!r}",
            hint="grids, communities and buildings must be polygons; redraw it",
        )
        for k in sorted(not_area | set(empty.tolist()))
    ]
    if problems:
        raise ValidationError(problems)
    geoms = geoms.copy()
    geoms[invalid] = fixed
    return codes, polygonal(geoms), rows
