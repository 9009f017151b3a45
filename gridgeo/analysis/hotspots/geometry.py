"""Geometry shared by the hotspot modules: the working CRS, point locations, the study area.

Every module measures in one metric CRS (:func:`working_crs`), takes the locations of
points or cell centroids as coordinate arrays (:func:`point_locations`) and clips to the
study area as one prepared geometry (:func:`study_area`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridgeo.analysis.coverage import metric_crs
from gridgeo.errors import Issue, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "geometry_array",
    "has_location",
    "in_4326",
    "overlapping",
    "point_locations",
    "positions_in",
    "study_area",
    "working_crs",
]


def in_4326(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326.

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(350_000, 3_450_000)], crs=32651)
    >>> in_4326(g).crs.to_epsg()
    4326
    """
    if gdf.crs is not None and pyproj.CRS(gdf.crs).equals(pyproj.CRS(4326)):
        return gdf.copy()
    return gdf.to_crs(4326)


def geometry_array(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The geometries as a plain object array (shapely's functions are fastest on it)."""
    return np.asarray(gdf.geometry.array, dtype=object)


def has_location(geoms: np.ndarray) -> np.ndarray:
    """True where a geometry is neither missing nor empty.

    Examples
    --------
    >>> has_location(np.array([shapely.Point(1, 2), None, shapely.Point()])).tolist()
    [True, False, False]
    """
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def working_crs(gdf: gpd.GeoDataFrame, policy: Policy | None) -> pyproj.CRS:
    """``policy.metric_crs``, else the frame's own CRS when projected, else its UTM zone.

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(121.44, 31.22)], crs=4326)
    >>> working_crs(g, None).to_epsg(), working_crs(g.to_crs(4547), None).to_epsg()
    (32651, 4547)
    """
    if policy is not None and policy.metric_crs:
        return pyproj.CRS.from_user_input(policy.metric_crs)
    if gdf.crs is not None and pyproj.CRS(gdf.crs).is_projected:
        return pyproj.CRS(gdf.crs)
    geoms = geometry_array(gdf)
    geoms = geoms[has_location(geoms)]
    if len(geoms) > 1000:  # the UTM zone of the bounding box: no need to look at every row
        box = shapely.box(*shapely.total_bounds(geoms))
        return metric_crs(gpd.GeoDataFrame(geometry=[box], crs=gdf.crs), policy)
    return metric_crs(gdf, policy)


def point_locations(gdf: gpd.GeoDataFrame, crs: object) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a location, and their (centroid) coordinates in ``crs``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        A boolean mask of the rows with a location and an ``(n, 2)`` array of x, y
        (NaN where there is none).

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2, 2), None], crs=32651)
    >>> present, xy = point_locations(g, 32651)
    >>> present.tolist(), xy[0].tolist()
    ([True, False], [1.0, 1.0])
    """
    geoms = geometry_array(gdf)
    present = has_location(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    found = geoms[present]
    if not (shapely.get_type_id(found) == 0).all():
        found = shapely.centroid(found)
    xy[present] = shapely.get_coordinates(found)
    source = pyproj.CRS(gdf.crs)
    target = pyproj.CRS.from_user_input(crs)
    if present.any() and not source.equals(target):
        transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
        xy[present, 0], xy[present, 1] = transformer.transform(xy[present, 0], xy[present, 1])
    return present, xy


def study_area(area: Any, crs: object) -> shapely.Geometry | None:
    """The study area as one prepared geometry in ``crs`` (densified first, so edges stay true).

    ``area`` is a GeoDataFrame, a shapely geometry in EPSG:4326, or None (no area: None).

    Raises
    ------
    ValidationError
        The area frame has no CRS.

    Examples
    --------
    >>> study_area(shapely.box(121.4, 31.2, 121.41, 31.21), 32651).area > 1e6
    True
    """
    if area is None:
        return None
    if isinstance(area, shapely.Geometry):
        area = gpd.GeoDataFrame(geometry=[area], crs=4326)
    if area.crs is None:
        raise ValidationError(Issue("no CRS", layer="area", hint="set one, e.g. 4326"))
    geoms = geometry_array(area)
    geoms = shapely.make_valid(geoms[has_location(geoms)])
    source = pyproj.CRS(area.crs)
    target = pyproj.CRS.from_user_input(crs)
    if not source.equals(target):
        step = 0.0005 if source.is_geographic else 50.0  # about 50 m
        geoms = shapely.segmentize(geoms, step)
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=source).to_crs(target).array, dtype=object)
    region = shapely.union_all(geoms)
    shapely.prepare(region)
    return region


def overlapping(polys: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Cells sharing some area with the region (not only an edge or a corner).

    Examples
    --------
    >>> overlapping(shapely.box([0, 1, 3], 0, [1, 2, 4], 1), shapely.box(0.5, 0, 3, 1)).tolist()
    [True, True, False]
    """
    shapely.prepare(region)
    return shapely.intersects(region, polys) & ~shapely.touches(region, polys)


def positions_in(keys: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Position of each ``found`` value in the sorted array ``keys``; -1 where absent.

    This is how a cell is found from its index (an H3 cell, a fishnet square's key).

    Examples
    --------
    >>> positions_in(np.array([2, 5, 9]), np.array([5, 7, 9, 10])).tolist()
    [1, -1, 2, -1]
    """
    if not len(keys):
        return np.full(len(found), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, found), len(keys) - 1)
    return np.where(keys[pos] == found, pos, -1)
