"""Tiles and map images: vector tiles, PNG tiles and static maps, one job per module.

=====================  ========================================================
``catalogue``          the tilesets (stored layers, findings) and a finding's
                       :class:`Selection`
``mvt``                :class:`MemoryLayer`: a frame in memory with its R-trees,
                       encoded as Mapbox Vector Tiles (or windowed for drawing)
``layers``             the in-memory layers of the embedded store and of the
                       findings, cached per data version
``areas``              what a caller restricted to an area sees (:class:`AreaStore`,
                       the area's check results and hot spots)
``hotspot_places``     the grid and community of each hotspot cell, and the
                       problems counted as points
``caching``            ETags, 304s, the byte caches and the cached responses
``answer``             the answer to a vector tile request (cache, PostGIS, memory)
``vector_tiles``       routes ``/tiles/{layer}/{z}/{x}/{y}.mvt`` and
                       ``/tiles/{layer}.json``
``png_tiles``          route ``/tiles/{layer}/{z}/{x}/{y}.png``
``static_maps``        route ``/maps/static.png``
=====================  ========================================================

The PostGIS tile statements are in :mod:`gridgeo.store.tiles`, beside the store's other
SQL; the request parameters in :mod:`api.dependencies`. :data:`ROUTERS` are the
package's routers, in the order the app includes them.
"""

from __future__ import annotations

from api.dependencies import (
    MAX_ZOOM,
    AsOf,
    CellsQ,
    CommunityQ,
    Day,
    FromQ,
    GridQ,
    ToQ,
    VersionQ,
    check_cells,
    check_tile,
)
from api.tiles import png_tiles, static_maps, vector_tiles
from api.tiles.answer import render_tile, tile_response
from api.tiles.areas import AreaStore, area_hotspots, area_results
from api.tiles.caching import etag_of, not_modified
from api.tiles.catalogue import (
    FINDING_TILESETS,
    STORE_TILESETS,
    TILESETS,
    FindingTileset,
    Selection,
    StoreTileset,
)
from api.tiles.layers import finding_frame, finding_layer, restrict
from api.tiles.mvt import BUFFER, EXTENT, MVT_MEDIA_TYPE, MemoryLayer, native_values
from api.tiles.vector_tiles import router, tile_url

__all__ = [
    "BUFFER",
    "EXTENT",
    "FINDING_TILESETS",
    "MAX_ZOOM",
    "MVT_MEDIA_TYPE",
    "ROUTERS",
    "STORE_TILESETS",
    "TILESETS",
    "AreaStore",
    "AsOf",
    "CellsQ",
    "CommunityQ",
    "Day",
    "FindingTileset",
    "FromQ",
    "GridQ",
    "MemoryLayer",
    "Selection",
    "StoreTileset",
    "ToQ",
    "VersionQ",
    "area_hotspots",
    "area_results",
    "check_cells",
    "check_tile",
    "etag_of",
    "finding_frame",
    "finding_layer",
    "native_values",
    "not_modified",
    "render_tile",
    "restrict",
    "router",
    "tile_response",
    "tile_url",
]

#: The routers of tiles and map images.
ROUTERS = (vector_tiles.router, png_tiles.router, static_maps.router)
