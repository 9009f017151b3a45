"""The layers vector tiles are encoded from in memory, cached per data version.

The embedded store's layers (:func:`store_memory_layer`) and the finding tilesets
(:func:`finding_layer`: the check's results or the hotspot layers of a
:class:`~api.tiles.catalogue.Selection`, within a community, a grid or a caller's area).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from api import analysis_cache
from api.tiles.areas import area_hotspots
from api.tiles.catalogue import FINDING_TILESETS, STORE_TILESETS, FindingTileset, Selection
from api.tiles.mvt import MemoryLayer
from gridgeo.access import Area
from gridgeo.store import Store

__all__ = ["finding_frame", "finding_layer", "restrict", "store_memory_layer"]


def store_memory_layer(store: Store, layer: str, area: Area | None = None) -> MemoryLayer:
    """A stored layer in memory (embedded store), with its tileset's columns.

    With ``area``, only its features (one layer per area, kept alongside the others).
    """
    version = analysis_cache.data_version(store)
    columns = STORE_TILESETS[layer].columns[0]

    def make() -> MemoryLayer:
        frame = store.read_layer(layer, columns=columns)
        return MemoryLayer(frame if area is None else area.keep(layer, frame), columns)

    return analysis_cache.memo(
        store, "memory-layers", (layer, version, area), make, size=4 * len(STORE_TILESETS)
    )


def finding_frame(
    store: Store, ts: FindingTileset, selection: Selection, area: Area | None = None
) -> Any:
    """The rows of a finding tileset's result layer for a selection (shared: read-only).

    With ``area``, only the rows of that area.
    """
    if ts.source == "hotspots":
        layers = area_hotspots(store, area, **selection.hotspot_params())
        frame = layers.get(ts.result)
        return _empty_frame() if frame is None else frame
    results = analysis_cache.check_results(store, as_of=selection.as_of)
    frame = results.get(ts.result)
    if frame is None or "geometry" not in frame:
        return _empty_frame()
    frame = restrict(frame, results, community=selection.community, grid=selection.grid)
    if area is not None:
        frame = area.keep_findings(ts.result, frame)
    return frame


def finding_layer(
    store: Store, ts: FindingTileset, selection: Selection, area: Area | None = None
) -> MemoryLayer:
    """The finding tileset's layer for a selection (and area), cached per data version."""
    version = analysis_cache.data_version(store)
    return analysis_cache.memo(
        store,
        "finding-layers",
        (ts.name, version, selection.key(ts.source), area),
        lambda: MemoryLayer(finding_frame(store, ts, selection, area), ts.columns),
        size=4 * len(FINDING_TILESETS),  # every layer of a few pages at once
    )


def _empty_frame() -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def restrict(
    frame: Any, results: dict[str, pd.DataFrame], *, community: str | None, grid: str | None
) -> Any:
    """The rows of a result layer in a community or grid (all rows when neither is given).

    Grids are kept by their codes; other findings when they intersect the area.
    """
    area = analysis_cache.area_of(results, community=community, grid=grid)
    if area is None or not len(frame):
        return frame
    if "coverage_score" in frame.columns and "community" in frame.columns:
        keep = pd.Series(True, index=frame.index)
        if community is not None:
            keep &= frame["community"].astype(str) == community
        if grid is not None:
            keep &= frame["code"].astype(str) == grid
        return frame[keep]
    shapely.prepare(area)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    return frame[shapely.intersects(area, geoms)]
