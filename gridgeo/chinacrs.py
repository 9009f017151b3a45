"""China's map coordinate systems: WGS-84 ↔ GCJ-02 ↔ BD-09, and any CRS to WGS-84.

Field apps in China report positions in one of two obfuscated longitude/latitude systems:

- **GCJ-02** (国测局坐标, "Mars coordinates"): WGS-84 plus an offset of 20 to 700 m given by
  a published formula on the Krasovsky ellipsoid. AMap (高德), Tencent maps, WeChat
  mini-programs and Google's China maps use it.
- **BD-09** (百度坐标, ``bd09ll``): GCJ-02 with a further polar twist and a shift of
  +0.0065° longitude, +0.006° latitude (about 900 m more). Baidu's maps and SDKs use it.

Every function here converts whole numpy columns at once. The forward conversions
(WGS-84 → GCJ-02 → BD-09) are the published formulas; the inverse ones solve the forward
formula by fixed-point iteration until the residual is below ``1e-12`` degrees (a
micrometre), at most ``MAX_ITERATIONS`` rounds. The usual one-step inverse
(``forward(p) - p`` subtracted once) is off by up to about 5 m; these are off by less than
a millimetre.

Points outside China
--------------------
A point is converted only when its WGS-84 position lies in the rectangle
``CHINA_BOX``: longitude 72.004 to 137.8347 E, latitude 0.8293 to 55.8271 N, bounds
included. This is the rectangle of prcoords' ``sanity_in_china_p`` and eviltransform's
``outOfChina``, which most implementations share. Every other point, and a NaN
coordinate, comes back unchanged: outside China the map services use WGS-84 themselves
(Baidu's SDK documentation says so of its overseas maps).
The rectangle is rough: it takes in neighbouring countries (Mongolia, both Koreas, western
Japan, much of South-East Asia), whose points are converted too, as in every other
implementation.

Conversions from WGS-84 test their input; conversions to WGS-84, and between GCJ-02 and
BD-09, test the WGS-84 position they solve for. A conversion and its inverse therefore
undo each other for every point of the rectangle. Testing the solution rather than the
input matters only within about 0.02° (2 km) of the rectangle's edges, all outside
China's territory, where a GCJ-02/BD-09 position may belong to a WGS-84 point on the
other side of the edge.
prcoords tests the same rectangle in its forward conversions and its one-step inverse
(on the GCJ-02 input); its iterative ("bored") inverses and its BD-09 twist ignore the
rectangle and move points anywhere in the world.

Other coordinate systems
------------------------
CGCS2000 (EPSG:4490) and its Gauss–Krüger zones (EPSG:4491–4554), and any other EPSG
code, go through pyproj (``GeoDataFrame.to_crs``). CGCS2000 and WGS-84 agree to better than
a metre, far below what grid and building maps resolve, so EPSG:4490 longitude/latitude
pass unchanged. :func:`to_wgs84` and :func:`from_wgs84` take any of these names, so a file
or request boundary makes one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from gridgeo.errors import CRSError, Issue

__all__ = [
    "BD09",
    "BOX_EDGE_BAND",
    "CHINA_BOX",
    "GCJ02",
    "MAX_ITERATIONS",
    "TOLERANCE",
    "WGS84",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geometry",
    "convert_xy",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_crs_name",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
LonLatSystem = Literal["wgs84", "gcj02", "bd09"]

#: (min lon, min lat, max lon, max lat) of the rectangle taken as China, bounds included
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
#: degrees beyond the box within which a GCJ-02/BD-09 position can still have its
#: WGS-84 point inside it (the largest BD-09 offset anywhere in the box is 0.018°)
BOX_EDGE_BAND = 0.1
#: the inverse conversions stop when the residual is below this many degrees ...
TOLERANCE = 1e-12
#: ... or after this many rounds (4 or 5 are needed)
MAX_ITERATIONS = 30

# Krasovsky 1940, the ellipsoid of the GCJ-02 formula
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09: shift and twist
_BD_DLON = 0.0065
_BD_DLAT = 0.006
_BD_K = math.pi * 3000.0 / 180.0

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


# ---------------------------------------------------------------------------------------
# points


def in_china(lon: Any, lat: Any, *, margin: float = 0.0) -> np.ndarray:
    """Whether each point lies in :data:`CHINA_BOX` (widened by ``margin`` degrees).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees, broadcast against each other.
    margin : float, keyword-only
        Degrees added on every side of the box.

    Returns
    -------
    numpy.ndarray of bool
        True inside the box, bounds included; False outside and for NaN.

    Examples
    --------
    >>> in_china([116.4, 139.69, 72.004], [39.9, 35.68, 0.8293]).tolist()
    [True, False, True]
    """
    lon, lat = np.asarray(lon), np.asarray(lat)
    x0, y0, x1, y1 = CHINA_BOX
    return (lon >= x0 - margin) & (lon <= x1 + margin) & (lat >= y0 - margin) & (lat <= y1 + margin)


def _gcj_shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (degrees) at WGS-84 ``lon``/``lat``, without the box test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    # the series' sines, seven of them computed and the rest from multiple-angle identities
    # (numpy's sin is most of the cost): sin 3a = sin a (3 - 4 sin² a), cos 3a likewise
    sx3, cx3 = np.sin(pi * x / 3.0), np.cos(pi * x / 3.0)
    sx1 = sx3 * (3.0 - 4.0 * sx3 * sx3)  # sin(πx)
    sx2 = 2.0 * sx1 * cx3 * (4.0 * cx3 * cx3 - 3.0)  # sin(2πx) = 2 sin(πx) cos(πx)
    sx6 = sx2 * (3.0 - 4.0 * sx2 * sx2)  # sin(6πx)
    sy3 = np.sin(pi * y / 3.0)
    sy1 = sy3 * (3.0 - 4.0 * sy3 * sy3)  # sin(πy)
    common = 20.0 * sx6 + 20.0 * sx2
    root = np.sqrt(np.abs(x))
    # the two series give the offset in metres along the meridian and the parallel
    north = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * root
        + (
            common
            + 20.0 * sy1
            + 40.0 * sy3
            + 160.0 * np.sin(pi * y / 12.0)
            + 320.0 * np.sin(pi * y / 30.0)
        )
        * 2.0
        / 3.0
    )
    east = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * root
        + (
            common
            + 20.0 * sx1
            + 40.0 * sx3
            + 150.0 * np.sin(pi * x / 12.0)
            + 300.0 * np.sin(pi * x / 30.0)
        )
        * 2.0
        / 3.0
    )
    # metres to degrees on the Krasovsky ellipsoid, at the WGS-84 latitude (|lat| < 90°)
    sin_phi2 = np.sin(np.radians(lat)) ** 2
    w = 1.0 - _EE * sin_phi2
    meridian = _A * (1.0 - _EE) / (w * np.sqrt(w))  # radius of curvature, N-S
    parallel = _A / np.sqrt(w) * np.sqrt(1.0 - sin_phi2)  # radius of the parallel
    return east * 180.0 / (pi * parallel), north * 180.0 / (pi * meridian)


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_shift(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09, without the box test."""
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_K)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def _bd_backward_once(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-step BD-09 → GCJ-02 (about 1e-7 degrees off): the start of the iteration."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    r = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    return r * np.cos(theta), r * np.sin(theta)


def _gcj_backward_once(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-step GCJ-02 → WGS-84 (up to about 5 m off): the start of the iteration."""
    dlon, dlat = _gcj_shift(lon, lat)
    return lon - dlon, lat - dlat


def _solve(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(u, v) == (lon, lat)`` by fixed-point iteration from ``start``.

    Each round subtracts the residual ``forward(u, v) - (lon, lat)``; the offsets change by
    less than a hundredth of a degree per degree, so each round gains about two digits.
    Points whose residual is below :data:`TOLERANCE` drop out of the next rounds.
    """
    u, v = start[0].copy(), start[1].copy()
    todo = np.flatnonzero(np.isfinite(u) & np.isfinite(v))
    for _ in range(MAX_ITERATIONS):
        if todo.size == 0:
            break
        fu, fv = forward(u[todo], v[todo])
        du = fu - lon[todo]
        dv = fv - lat[todo]
        u[todo] -= du
        v[todo] -= dv
        todo = todo[np.maximum(np.abs(du), np.abs(dv)) > TOLERANCE]
    return u, v


def _prepare(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], np.dtype]:
    lon_a, lat_a = np.asarray(lon), np.asarray(lat)
    dtype = np.result_type(lon_a, lat_a)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a)
    shape = lon_b.shape
    return (
        np.array(lon_b, dtype=np.float64).reshape(-1),
        np.array(lat_b, dtype=np.float64).reshape(-1),
        shape,
        dtype,
    )


def _finish(
    lon: np.ndarray, lat: np.ndarray, shape: tuple[int, ...], dtype: np.dtype
) -> tuple[Any, Any]:
    out_lon = lon.reshape(shape).astype(dtype, copy=False)
    out_lat = lat.reshape(shape).astype(dtype, copy=False)
    if shape == ():
        return out_lon[()], out_lat[()]
    return out_lon, out_lat


def _from_wgs(lon: Any, lat: Any, *, bd: bool) -> tuple[Any, Any]:
    x, y, shape, dtype = _prepare(lon, lat)
    inside = np.flatnonzero(in_china(x, y))
    gx, gy = _gcj_forward(x[inside], y[inside])
    if bd:
        gx, gy = _bd_forward(gx, gy)
    x[inside], y[inside] = gx, gy
    return _finish(x, y, shape, dtype)


def _between(lon: Any, lat: Any, *, source: LonLatSystem, target: LonLatSystem) -> tuple[Any, Any]:
    """Conversions whose box test is on the WGS-84 point they solve for.

    Only points within :data:`BOX_EDGE_BAND` of the box's edges need that point solved
    for to be tested; the rest are inside or outside whatever it is.
    """
    x, y, shape, dtype = _prepare(lon, lat)
    near = np.flatnonzero(in_china(x, y, margin=BOX_EDGE_BAND))
    px, py = x[near], y[near]
    if source == BD09:
        gx, gy = _solve(_bd_forward, px, py, _bd_backward_once(px, py))
    else:
        gx, gy = px, py
    if target == WGS84:
        ox, oy = _solve(_gcj_forward, gx, gy, _gcj_backward_once(gx, gy))
        keep = in_china(ox, oy)
    else:
        ox, oy = (gx, gy) if target == GCJ02 else _bd_forward(gx, gy)
        keep = in_china(px, py, margin=-BOX_EDGE_BAND)
        edge = np.flatnonzero(~keep)
        ex, ey = gx[edge], gy[edge]
        keep[edge] = in_china(*_solve(_gcj_forward, ex, ey, _gcj_backward_once(ex, ey)))
    x[near[keep]], y[near[keep]] = ox[keep], oy[keep]
    return _finish(x, y, shape, dtype)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to GCJ-02 (the published formula).

    Parameters
    ----------
    lon, lat : array_like
        Degrees; any shape, broadcast against each other.

    Returns
    -------
    lon, lat : numpy.ndarray or numpy scalar
        The input's shape; its floating dtype (float64 for integers). Points outside
        :data:`CHINA_BOX` and NaN come back unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([116.377817, 2.35], [39.911954, 48.85])   # Beijing, Paris
    >>> lon.round(6).tolist(), lat.round(6).tolist()
    ([116.384047, 2.35], [39.913345, 48.85])
    """
    return _from_wgs(lon, lat, bd=False)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to BD-09 (GCJ-02, then Baidu's twist).

    Same parameters and returns as :func:`wgs84_to_gcj02`.

    Examples
    --------
    >>> [round(float(v), 6) for v in wgs84_to_bd09(105.0, 35.0)]
    [105.009667, 35.005404]
    """
    return _from_wgs(lon, lat, bd=True)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to WGS-84, iteratively (error under 1 mm).

    Same parameters and returns as :func:`wgs84_to_gcj02`; a point is left unchanged
    when the WGS-84 point solved for lies outside :data:`CHINA_BOX`.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.377817, 39.911954)
    """
    return _between(lon, lat, source=GCJ02, target=WGS84)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu's twist and shift).

    Same parameters and returns as :func:`gcj02_to_wgs84`.

    Examples
    --------
    >>> [round(float(v), 6) for v in gcj02_to_bd09(123.0, 45.0)]
    [123.006365, 45.006369]
    """
    return _between(lon, lat, source=GCJ02, target=BD09)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude to GCJ-02, iteratively.

    Same parameters and returns as :func:`gcj02_to_wgs84`.
    """
    return _between(lon, lat, source=BD09, target=GCJ02)


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude to WGS-84, iteratively (error under 1 mm).

    Same parameters and returns as :func:`gcj02_to_wgs84`.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(105.00966682831948, 35.005403668456964)
    >>> round(float(lon), 9), round(float(lat), 9)
    (105.0, 35.0)
    """
    return _between(lon, lat, source=BD09, target=WGS84)


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
        x, y, shape, dtype = _prepare(lon, lat)
        return _finish(x, y, shape, dtype)
    return _CONVERSIONS[src, dst](lon, lat)


# ---------------------------------------------------------------------------------------
# geometries and frames


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
