"""Geometry made ready to draw: polygon rings as flat arrays, the district's outline."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

__all__ = ["CLOSE_DEG", "district_outline", "near_window", "rings"]

#: Streets between communities narrower than about twice this (degrees, ~30 m) are
#: closed when the district outline is drawn, so it runs round the district only.
CLOSE_DEG = 3e-4


def rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Polygon rings of ``geoms``: coordinates, ring offsets, polygon offsets, feature index.

    The first ring of each polygon is its exterior; polygon ``i`` belongs to feature
    ``feature[i]``. Parts that are not polygons, and empty ones, are left out.

    Examples
    --------
    >>> coords, ring_off, poly_off, feature = rings(np.array([shapely.box(0, 0, 1, 1)]))
    >>> coords.shape, ring_off.tolist(), poly_off.tolist(), feature.tolist()
    ((5, 2), [0, 5], [0, 1], [0])
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, index = parts[keep], index[keep]
    if len(parts) == 0:
        empty = np.zeros(1, dtype=np.int64)
        return np.zeros((0, 2)), empty, empty, np.zeros(0, dtype=np.int64)
    _, coords, (ring_offsets, poly_offsets) = shapely.to_ragged_array(parts)
    return coords, ring_offsets, poly_offsets, index


def near_window(frame: Any, window: shapely.Geometry) -> np.ndarray:
    """Positions of the frame's features that reach ``window`` (a lon/lat polygon).

    Large frames with a spatial index are queried through it.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if len(geoms) > 2000 and hasattr(frame, "sindex"):
        return np.sort(frame.sindex.query(window, predicate="intersects"))
    ok = ~shapely.is_missing(geoms)
    ok[ok] = shapely.intersects(geoms[ok], window)
    return np.flatnonzero(ok)


def district_outline(communities: np.ndarray) -> shapely.Geometry:
    """The district's outline: the communities' union, with streets between them closed.

    Examples
    --------
    >>> a, b = shapely.box(0, 0, 1, 1), shapely.box(1.0002, 0, 2, 1)  # a 20 m street
    >>> district_outline(np.array([a, b])).geom_type
    'Polygon'
    """
    union = shapely.union_all(shapely.make_valid(np.asarray(communities, dtype=object)))
    grown = shapely.buffer(union, CLOSE_DEG, quad_segs=2, join_style="mitre")
    return shapely.buffer(grown, -CLOSE_DEG, quad_segs=2, join_style="mitre")
