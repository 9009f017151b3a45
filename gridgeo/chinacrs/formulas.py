"""The formulas: WGS-84 ↔ GCJ-02 ↔ BD-09 over whole numpy columns (see the package)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

__all__ = [
    "BD09",
    "BOX_EDGE_BAND",
    "CHINA_BOX",
    "GCJ02",
    "LonLatSystem",
    "MAX_ITERATIONS",
    "TOLERANCE",
    "WGS84",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "lonlat_arrays",
    "lonlat_result",
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


def lonlat_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], np.dtype]:
    """Flat float64 copies of ``lon``/``lat`` broadcast together, their shape and result dtype."""
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


def lonlat_result(
    lon: np.ndarray, lat: np.ndarray, shape: tuple[int, ...], dtype: np.dtype
) -> tuple[Any, Any]:
    """Undo :func:`lonlat_arrays`: the given shape and dtype, scalars for a scalar input."""
    out_lon = lon.reshape(shape).astype(dtype, copy=False)
    out_lat = lat.reshape(shape).astype(dtype, copy=False)
    if shape == ():
        return out_lon[()], out_lat[()]
    return out_lon, out_lat


def _from_wgs(lon: Any, lat: Any, *, bd: bool) -> tuple[Any, Any]:
    x, y, shape, dtype = lonlat_arrays(lon, lat)
    inside = np.flatnonzero(in_china(x, y))
    gx, gy = _gcj_forward(x[inside], y[inside])
    if bd:
        gx, gy = _bd_forward(gx, gy)
    x[inside], y[inside] = gx, gy
    return lonlat_result(x, y, shape, dtype)


def _between(lon: Any, lat: Any, *, source: LonLatSystem, target: LonLatSystem) -> tuple[Any, Any]:
    """Conversions whose box test is on the WGS-84 point they solve for.

    Only points within :data:`BOX_EDGE_BAND` of the box's edges need that point solved
    for to be tested; the rest are inside or outside whatever it is.
    """
    x, y, shape, dtype = lonlat_arrays(lon, lat)
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
    return lonlat_result(x, y, shape, dtype)


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
