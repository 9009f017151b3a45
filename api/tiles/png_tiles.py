"""Route of the raster tiles: ``/tiles/{layer}/{z}/{x}/{y}.png``.

Routes
------
``GET /tiles/{layer}/{z}/{x}/{y}.png``
    A 256 px PNG tile drawn with the maps' styling (:func:`gridgeo.render.draw_tile`):
    ``basemap`` (the maps' offline basemap: communities, grids, buildings and the
    district outline), ``district``, ``communities``, ``grids``, ``buildings``,
    ``problems``, and from the check's results ``grid_coverage``, ``gaps``,
    ``overlaps``, ``unassigned_buildings``... ``?transparent=true|false`` (default:
    transparent except ``basemap``), ``?as_of=`` for result layers.

Caching as :mod:`api.tiles.caching` says: drawn tiles stay in a memory cache bounded
in bytes (``GRIDGEO_PNG_CACHE_BYTES``). Who may see them: a token or a tile key
(:func:`api.auth.tile_reader`); a caller restricted to an area gets tiles drawn from
its area only (:mod:`api.tiles.areas`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from api import analysis_cache
from api.auth import REFUSALS, TileReaderDep, check_place, scope_key, tile_reader
from api.dependencies import Day, StoreDep, TileDep, VersionQ
from api.tiles.areas import area_results, view_of
from api.tiles.caching import byte_cache, cached_response
from api.tiles.mvt import MemoryLayer
from gridgeo import render
from gridgeo.access import Area
from gridgeo.store import Store

__all__ = ["AsOfQ", "ROUTE_DEPENDENCIES", "router", "tile_frames", "tile_png"]

#: Dependencies of the routes here: a token or a tile key (or the open demo mode), see
#: api/auth.py.
ROUTE_DEPENDENCIES: list[Any] = [Depends(tile_reader)]

router = APIRouter(tags=["maps and reports"], responses=REFUSALS)

#: The ``?as_of=`` of the images: the check's date for their result layers.
AsOfQ = Annotated[
    Day | None, Query(description="date of the check, for result layers (default today)")
]


def tile_frames(
    store: Store,
    layer: str,
    z: int,
    x: int,
    y: int,
    as_of: dt.date | None,
    area: Area | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames a PNG tile is drawn from: near the tile, or the check's results.

    ``area``: only what lies in it (a caller's area).
    """
    frames: dict[str, pd.DataFrame] = {}
    bbox = render.tile_bbox(z, x, y)
    postgis = store.engine.dialect.name == "postgresql"
    version = analysis_cache.data_version(store)
    view = view_of(store, area)
    for name, columns in render.tile_read_plan(layer, z):
        if postgis:
            frames[name] = view.read_layer(name, bbox=bbox, columns=columns)
        else:
            mem = analysis_cache.memo(
                store,
                f"png-layer-{name}",
                (tuple(columns), version, area),
                lambda name=name, columns=columns: MemoryLayer(
                    view.read_layer(name, columns=columns)
                ),
            )
            frames[name] = mem.window(bbox)
    if layer in render.RESULT_TILE_LAYERS:
        results = area_results(store, area, as_of)
        source = render.RESULT_TILE_LAYERS[layer]
        if source in results:
            frames[source] = results[source]
    return frames


def _tile_layer(layer: str) -> None:
    if layer not in render.TILE_LAYERS and layer not in render.RESULT_TILE_LAYERS:
        known = sorted([*render.TILE_LAYERS, *render.RESULT_TILE_LAYERS])
        raise HTTPException(
            404, f"no raster tile layer {layer!r}; the layers are: {', '.join(known)}"
        )


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.png",
    dependencies=ROUTE_DEPENDENCIES,
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the tile, 256×256 RGBA"},
        304: {"description": "not modified (If-None-Match)"},
        400: {"description": "no such tile"},
        404: {"description": "no such layer"},
    },
)
def tile_png(
    request: Request,
    store: StoreDep,
    user: TileReaderDep,
    layer: str,
    coords: TileDep,
    transparent: Annotated[
        bool | None, Query(description="transparent background (default: all but basemap)")
    ] = None,
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """One raster tile, drawn with the maps' styling (for documents and other map clients)."""
    _tile_layer(layer)
    z, x, y = coords.check().z, coords.x, coords.y
    day = (
        analysis_cache.resolve_as_of(as_of).isoformat()
        if layer in render.RESULT_TILE_LAYERS
        else None
    )
    key = ("png", layer, z, x, y, transparent, day, scope_key(user))

    def make() -> bytes:
        area = check_place(store, user)
        frames = tile_frames(store, layer, z, x, y, as_of, area)
        return render.draw_tile(frames, layer, z, x, y, transparent=transparent)

    return cached_response(
        request,
        store,
        key,
        v,
        "image/png",
        make,
        cache=byte_cache(store, "png"),
        user_scoped=True,
    )
