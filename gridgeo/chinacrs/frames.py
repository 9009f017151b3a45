"""CRS names, geometries and frames: one call at a file or request boundary (see the package)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from gridgeo.chinacrs.formulas import (
    BD09,
    GCJ02,
    WGS84,
    LonLatSystem,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    lonlat_arrays,
    lonlat_result,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.errors import CRSError, Issue

__all__ = [
    "convert_geometry",
    "convert_xy",
    "from_wgs84",
    "parse_crs_name",
    "to_wgs84",
]

_NAMES: dict[str, LonLatSystem] = {
    "wgs84": WGS84,
    "wgs-84": WGS84,
    "epsg:4326": WGS84,
    "4326": WGS84,
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "bd09": BD09,
    "bd-09": BD09,
    "bd09ll": BD09,
}
_ACCEPTED = (
    "wgs84 (EPSG:4326), gcj02 (AMap, Tencent, WeChat), bd09 (Baidu longitude/latitude), "
    "or an EPSG code such as 4490 (CGCS2000) or 4547 (CGCS2000 3-degree Gauss-Kruger CM 114E)"
)


_CONVERSIONS: dict[tuple[str, str], Callable[[Any, Any], tuple[Any, Any]]] = {
    (WGS84, GCJ02): wgs84_to_gcj02,
    (WGS84, BD09): wgs84_to_bd09,
    (GCJ02, WGS84): gcj02_to_wgs84,
    (GCJ02, BD09): gcj02_to_bd09,
    (BD09, WGS84): bd09_to_wgs84,
    (BD09, GCJ02): bd09_to_gcj02,
}


def _lonlat_system(value: str) -> LonLatSystem:
    kind = parse_crs_name(value)
    if not isinstance(kind, str):
        raise CRSError(
            Issue(
                f"{value!r} is not one of the longitude/latitude systems wgs84, gcj02, bd09",
                hint="reproject EPSG codes with to_wgs84/from_wgs84",
            )
        )
    return kind


def convert_xy(lon: Any, lat: Any, *, source: str, target: str) -> tuple[Any, Any]:
    """Convert longitude/latitude between ``wgs84``, ``gcj02`` and ``bd09``.

    Parameters
    ----------
    lon, lat : array_like
        Degrees; any shape.
    source, target : str, keyword-only
        ``'wgs84'``, ``'gcj02'`` or ``'bd09'`` (or an alias :func:`parse_crs_name` accepts).

    Returns
    -------
    lon, lat : numpy.ndarray or numpy scalar
        As the functions ``<source>_to_<target>`` return them; a copy when the two are
        the same.

    Raises
    ------
    CRSError
        ``source`` or ``target`` is not one of the three.

    Examples
    --------
    >>> [round(float(v), 6) for v in convert_xy(105.0, 35.0, source="wgs84", target="gcj02")]
    [105.003286, 34.999099]
    """
    src, dst = _lonlat_system(source), _lonlat_system(target)
    if src == dst:
        x, y, shape, dtype = lonlat_arrays(lon, lat)
        return lonlat_result(x, y, shape, dtype)
    return _CONVERSIONS[src, dst](lon, lat)


def convert_geometry(geometry: Any, *, source: str, target: str) -> Any:
    """Convert geometries vertex by vertex between ``wgs84``, ``gcj02`` and ``bd09``.

    All vertices of all geometries go through one vectorised conversion
    (``shapely.transform``): points, lines, polygons with their holes, multi-geometries
    and collections alike. Z values are kept; empty geometries and None stay as they are.

    Parameters
    ----------
    geometry : shapely.Geometry, array_like of them, or geopandas.GeoSeries
        What to convert.
    source, target : str, keyword-only
        As in :func:`convert_xy`.

    Returns
    -------
    shapely.Geometry, numpy.ndarray or geopandas.GeoSeries
        The same kind of object as given; a GeoSeries keeps its index, name and CRS label.

    Examples
    --------
    >>> from shapely import Point
    >>> convert_geometry(Point(105.0, 35.0), source="wgs84", target="gcj02").wkt
    'POINT (105.00328624145706 34.99909863223526)'
    """
    src, dst = _lonlat_system(source), _lonlat_system(target)

    def vertices(x: np.ndarray, y: np.ndarray, *z: np.ndarray) -> tuple[np.ndarray, ...]:
        return (*convert_xy(x, y, source=src, target=dst), *z)

    if isinstance(geometry, gpd.GeoSeries):
        values = shapely.transform(
            np.asarray(geometry.array), vertices, include_z=None, interleaved=False
        )
        return gpd.GeoSeries(values, index=geometry.index, name=geometry.name, crs=geometry.crs)
    return shapely.transform(geometry, vertices, include_z=None, interleaved=False)


def parse_crs_name(value: str | int | CRS) -> LonLatSystem | CRS:
    """Read a CRS name: ``'wgs84'``, ``'gcj02'``, ``'bd09'`` or anything pyproj reads.

    Parameters
    ----------
    value : str, int or pyproj.CRS
        ``wgs84``/``wgs-84``/``epsg:4326``/``4326``, ``gcj02``/``gcj-02``,
        ``bd09``/``bd-09``/``bd09ll`` (any case), or an EPSG code (``4490``,
        ``'EPSG:4547'``), WKT or PROJ string.

    Returns
    -------
    str or pyproj.CRS
        ``'wgs84'``, ``'gcj02'`` or ``'bd09'``; otherwise the CRS (WGS-84 itself, however
        written, is ``'wgs84'``).

    Raises
    ------
    CRSError
        The value names no coordinate system; the message lists what is accepted.

    Examples
    --------
    >>> parse_crs_name("GCJ-02"), parse_crs_name(4326), parse_crs_name("EPSG:4490").name
    ('gcj02', 'wgs84', 'China Geodetic Coordinate System 2000')
    """
    if isinstance(value, CRS):
        crs = value
    else:
        text = str(value).strip()
        if text.lower() in _NAMES:
            return _NAMES[text.lower()]
        try:
            crs = CRS.from_user_input(int(text) if text.isdigit() else text)
        except ProjCRSError as exc:
            raise CRSError(
                Issue(f"unknown coordinate reference system {value!r}", hint=f"use {_ACCEPTED}")
            ) from exc
    return WGS84 if crs.to_epsg() == 4326 else crs


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | int | CRS | None = None) -> gpd.GeoDataFrame:
    """Return ``frame`` in WGS-84 (EPSG:4326), from whatever its coordinates are in.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The frame as read.
    crs : str, int or pyproj.CRS, optional
        What the coordinates are in, as :func:`parse_crs_name` reads it, when the frame
        does not say (or says only "longitude/latitude", as GCJ-02 files do). None: the
        frame's own CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame with CRS EPSG:4326: GCJ-02 and BD-09 converted vertex by vertex with
        the iterative inverses; EPSG codes reprojected by pyproj.

    Raises
    ------
    CRSError
        No CRS known; ``crs`` unknown; or ``crs`` contradicts the frame's own CRS
        (a projected CRS declared for coordinates said to be GCJ-02/BD-09, or two
        different EPSG codes).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> gcj = gpd.GeoDataFrame(geometry=[Point(116.38404722455657, 39.91334545536069)])
    >>> wgs = to_wgs84(gcj, "gcj02")
    >>> wgs.crs.to_epsg(), [round(v, 9) for v in wgs.geometry[0].coords[0]]
    (4326, [116.377817, 39.911954])
    """
    declared = None if frame.crs is None else CRS(frame.crs)
    kind = None if crs is None else parse_crs_name(crs)
    if kind is None:
        if declared is None:
            raise CRSError(
                Issue(
                    "no coordinate reference system",
                    hint=f"say what the coordinates are in: {_ACCEPTED}",
                )
            )
        kind = parse_crs_name(declared)
    if kind in (GCJ02, BD09):
        if declared is not None and not declared.is_geographic:
            raise CRSError(
                Issue(
                    f"the data declares the projected {declared.to_string()} but its "
                    f"coordinates are said to be {kind} longitude/latitude",
                    hint=f"drop {kind} to use the declared CRS, or fix the declaration",
                )
            )
        out = frame.copy()
        out[out.geometry.name] = convert_geometry(
            out.geometry.set_crs(None, allow_override=True), source=kind, target=WGS84
        )
        return out.set_crs(4326, allow_override=True)
    target = CRS.from_epsg(4326) if kind == WGS84 else kind
    assert isinstance(target, CRS)
    if declared is None:
        return frame.set_crs(target).to_crs(4326)
    if not declared.equals(target, ignore_axis_order=True):
        raise CRSError(
            Issue(
                f"the data declares {declared.to_string()} but its coordinates are said "
                f"to be in {target.to_string()}",
                hint="drop the CRS option to use the declared CRS, or fix the declaration",
            )
        )
    return frame.to_crs(4326)


def from_wgs84(frame: gpd.GeoDataFrame, crs: str | int | CRS) -> gpd.GeoDataFrame:
    """Return ``frame`` (any CRS, normally EPSG:4326) in ``crs``: the reverse of :func:`to_wgs84`.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        A frame with a CRS.
    crs : str, int or pyproj.CRS
        The target, as :func:`parse_crs_name` reads it.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame. For ``gcj02`` and ``bd09`` its coordinates are converted and its CRS
        label stays EPSG:4326 (the two have no EPSG code; AMap and Baidu tools read
        their longitude/latitude as such); for an EPSG code it is reprojected.

    Raises
    ------
    CRSError
        The frame has no CRS, or ``crs`` is unknown.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> wgs = gpd.GeoDataFrame(geometry=[Point(105.0, 35.0)], crs=4326)
    >>> shapely.set_precision(from_wgs84(wgs, "bd09").geometry[0], 1e-9).wkt
    'POINT (105.009666828 35.005403668)'
    """
    kind = parse_crs_name(crs)
    if frame.crs is None:
        raise CRSError(
            Issue("no coordinate reference system", hint="set one, e.g. gdf.set_crs(4326)")
        )
    out = frame.to_crs(4326)
    if kind == WGS84:
        return out
    if isinstance(kind, CRS):
        return out.to_crs(kind)
    out[out.geometry.name] = convert_geometry(out.geometry, source=WGS84, target=kind)
    return out.set_crs(4326, allow_override=True)
