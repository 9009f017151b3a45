"""The name labels of a map: grids and communities at a point inside each, by zoom.

Community names are shown while the district is seen whole, grid names from the zoom at
which a typical grid is wide enough for its name (:func:`grid_zoom`); map.js hides any
label that would touch one already placed, so labels never overlap. The labels go in the
page; a district of more than :data:`~api.maps.inline.INLINE_MAX_FEATURES` grids gets its
community labels only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api import analysis_cache
from api.maps import inline
from gridgeo.layers import names_by_code
from gridgeo.store import Store

__all__ = ["LABEL_PX", "grid_zoom", "label_points", "layer_names"]

#: How wide (pixels) a typical grid must be on screen before grid names are shown.
LABEL_PX = 90


def layer_names(store: Store, layer: str, version: int) -> dict[str, str]:
    """Code → name of a store layer's rows (the code where a row has no name), per version."""

    def read() -> dict[str, str]:
        return names_by_code(store.read_layer(layer, columns=["name"]))

    return analysis_cache.memo(store, f"{layer}-names", version, read)


def grid_zoom(grids: Any) -> int:
    """The zoom from which grid names are shown: a median grid ``LABEL_PX`` pixels wide."""
    if not len(grids):
        return 18
    minx, _, maxx, _ = shapely.bounds(np.asarray(grids.geometry.values, dtype=object)).T
    width = float(np.nanmedian(maxx - minx))
    if not width > 0:
        return 18
    # a degree of longitude is 256 * 2**z / 360 pixels at zoom z (Web Mercator)
    return max(0, min(20, math.ceil(math.log2(LABEL_PX * 360 / (256 * width)))))


def _points(frame: Any, names: dict[str, str], kind: str) -> list[dict[str, Any]]:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    points = shapely.point_on_surface(geoms)
    out = []
    for code, point in zip(frame["code"].astype(str), points, strict=True):
        if point is None or point.is_empty:
            continue
        out.append({"lat": round(point.y, 6), "lng": round(point.x, 6),
                    "text": names.get(code, code), "kind": kind})  # fmt: skip
    return out


def label_points(store: Store, version: int, grids: Any) -> list[dict[str, Any]]:
    """Labels of ``grids`` (code, community, geometry) and of their communities.

    The grids' labels are left out when there are more than ``INLINE_MAX_FEATURES``.
    """
    grid_names = layer_names(store, "grids", version)
    communities = store.read_layer("communities", columns=["name"])
    shown = set(grids["community"].dropna().astype(str)) if len(grids) else set()
    communities = communities[communities["code"].astype(str).isin(shown)]
    names = layer_names(store, "communities", version)
    points = _points(communities, names, "community")
    if len(grids) <= inline.INLINE_MAX_FEATURES:
        points += _points(grids[pd.notna(grids.geometry)], grid_names, "grid")
    return points
