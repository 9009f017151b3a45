"""Web Mercator (EPSG:3857) for drawing: mercantile's maths, vectorised over arrays.

Tiles and their bounds come from :mod:`mercantile` itself; :func:`to_mercator` is
``mercantile.xy`` applied to a whole ``(n, 2)`` array at once (a tile or a static map
projects hundreds of thousands of vertices), with latitudes clipped to the Web
Mercator square so that poles do not become infinities.
"""

from __future__ import annotations

from collections.abc import Sequence

import mercantile
import numpy as np

from gridgeo.errors import NotFound

__all__ = [
    "MAX_LAT",
    "MAX_TILE_ZOOM",
    "TILE_SIZE",
    "mercator_bounds",
    "to_lonlat_bounds",
    "to_mercator",
    "tile",
    "tile_bounds",
]

#: The latitude where Web Mercator's square ends (its y equals its x at 180°).
MAX_LAT = 85.0511287798066
#: Pixels along a tile's side.
TILE_SIZE = 256
#: The deepest zoom a tile may be asked for.
MAX_TILE_ZOOM = 24


def to_mercator(coords: np.ndarray) -> np.ndarray:
    """Longitude/latitude (``(n, 2)`` array) to Web Mercator metres (``mercantile.xy``).

    Examples
    --------
    >>> to_mercator(np.array([[180.0, 0.0], [0.0, 85.0511287798066]])).round(1).tolist()
    [[20037508.3, -0.0], [0.0, 20037508.3]]
    """
    coords = np.asarray(coords, dtype=float)
    out = np.empty_like(coords)
    out[:, 0] = np.radians(coords[:, 0]) * mercantile.RE
    lat = np.radians(np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
    out[:, 1] = mercantile.RE * np.log(np.tan(np.pi / 4 + lat / 2))
    return out


def mercator_bounds(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """A lon/lat box ``(minx, miny, maxx, maxy)`` in Web Mercator metres.

    Examples
    --------
    >>> [round(v) for v in mercator_bounds((0, 0, 1, 1))]
    [0, 0, 111319, 111325]
    """
    (x0, y0), (x1, y1) = to_mercator(np.array([[bbox[0], bbox[1]], [bbox[2], bbox[3]]]))
    return (float(x0), float(y0), float(x1), float(y1))


def to_lonlat_bounds(view: Sequence[float]) -> tuple[float, float, float, float]:
    """A Web Mercator box ``(minx, miny, maxx, maxy)`` in longitude/latitude.

    Examples
    --------
    >>> [round(v, 6) for v in to_lonlat_bounds(mercator_bounds((1, 2, 3, 4)))]
    [1.0, 2.0, 3.0, 4.0]
    """
    west, south = mercantile.lnglat(view[0], view[1])
    east, north = mercantile.lnglat(view[2], view[3])
    return (west, south, east, north)


def tile(z: int, x: int, y: int) -> mercantile.Tile:
    """The XYZ tile ``z/x/y``.

    Raises
    ------
    NotFound
        No such tile at that zoom (or the zoom is beyond :data:`MAX_TILE_ZOOM`).
    """
    if not (0 <= z <= MAX_TILE_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"tile {z}/{x}/{y} does not exist (x and y must be below 2**z)")
    return mercantile.Tile(x, y, z)


def tile_bounds(t: mercantile.Tile, margin_px: float = 0.0) -> tuple[float, float, float, float]:
    """A tile's lon/lat bounds, grown by ``margin_px`` pixels of a 256 px tile on each side.

    Examples
    --------
    >>> [round(v, 3) for v in tile_bounds(tile(1, 0, 0), margin_px=8)]
    [-185.625, -2.658, 5.625, 87.709]
    """
    b = mercantile.bounds(t)
    dx = (b.east - b.west) * margin_px / TILE_SIZE
    dy = (b.north - b.south) * margin_px / TILE_SIZE
    return (b.west - dx, b.south - dy, b.east + dx, b.north + dy)
