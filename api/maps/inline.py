"""Layers put in the page as GeoJSON, while they are small.

Any layer above :data:`INLINE_MAX_FEATURES` features, or that would take the page past
:data:`INLINE_MAX_BYTES`, is drawn from the service's vector tiles instead, so a page
stays well under 2 MB whatever the size of the city.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

from api import tiles

__all__ = ["INLINE_MAX_BYTES", "INLINE_MAX_FEATURES", "geojson", "script_json"]

#: Layers with more features than this are drawn from vector tiles.
INLINE_MAX_FEATURES = 1500
#: Bytes of inline GeoJSON a page may hold in all; beyond it layers go to tiles.
INLINE_MAX_BYTES = 800_000


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def geojson(frame: Any, columns: list[str], points: bool = False) -> str | None:
    """A frame as compact GeoJSON text (6 decimals), or None when it is too large.

    ``points``: a layer of clustered points, four times :data:`INLINE_MAX_FEATURES` of
    them at most (a point is a tenth of a cell's size, and the browser draws clusters).
    """
    limit = INLINE_MAX_FEATURES * (4 if points else 1)
    if frame is None or len(frame) > limit:
        return None
    keep = [c for c in dict.fromkeys(columns) if c in frame.columns]
    geoms = shapely.set_precision(np.asarray(frame.geometry.values, dtype=object), 1e-6)
    props = {c: tiles.native_values(frame[c].reset_index(drop=True)) for c in keep}
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        properties = {c: props[c][i] for c in keep if props[c][i] is not None}
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return script_json({"type": "FeatureCollection", "features": features})
