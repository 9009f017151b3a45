"""Routes of the vector tiles: ``/tiles/{layer}/{z}/{x}/{y}.mvt`` and their TileJSON.

Routes
------
``GET /tiles/{layer}/{z}/{x}/{y}.mvt``
    One tile (``application/vnd.mapbox-vector-tile``) of a tileset of
    :mod:`api.tiles.catalogue`, answered by :func:`api.tiles.answer.tile_response`.
    Finding layers take ``?as_of=``, and ``?community=`` / ``?grid=`` to keep one area;
    the hotspot layers ``?category=``, ``?from=``, ``?to=`` and ``?cells=``.
``GET /tiles/{layer}.json``
    The tileset's TileJSON 3.0.0.

Who may read them: every route depends on :func:`api.auth.tile_reader` (a token as an
``Authorization: Bearer`` header, a ``?token=`` query parameter or the
``gridgeo_token`` cookie, or a ``?tile_key=`` as the map pages and the TileJSON write
into their tile URLs; see :mod:`api.auth`). A caller restricted to an area gets
tiles holding only the features of that area, and asking for another area's
``community``/``grid`` is a 403.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from api import analysis_cache
from api.auth import REFUSALS, TileReaderDep, check_place, tile_key_for, tile_reader
from api.dependencies import (
    MAX_ZOOM,
    AsOf,
    AsyncStoreDep,
    CategoryQ,
    CellsQ,
    CommunityQ,
    FromQ,
    GridQ,
    StoreDep,
    TileDep,
    ToQ,
    VersionQ,
    check_cells,
)
from api.tiles.answer import tile_response
from api.tiles.catalogue import TILESETS, FindingTileset, Selection, StoreTileset, tileset
from api.tiles.layers import finding_layer, store_memory_layer
from api.tiles.mvt import MVT_MEDIA_TYPE
from gridgeo.access import Area
from gridgeo.layers import LAYERS
from gridgeo.store import Store
from gridgeo.store.tiles import extent_sql

__all__ = ["ROUTE_DEPENDENCIES", "router", "tile_url"]

#: Dependencies of every route here: a token or tile key (or the open demo mode), see
#: api/auth.py.
ROUTE_DEPENDENCIES: list[Any] = [Depends(tile_reader)]

router = APIRouter(
    prefix="/tiles", tags=["tiles"], dependencies=ROUTE_DEPENDENCIES, responses=REFUSALS
)


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "the tile"},
        304: {"description": "not modified (If-None-Match)"},
        400: {"description": "no such tile"},
        404: {"description": "no such tileset"},
    },
)
async def tile(
    request: Request,
    store: AsyncStoreDep,
    user: TileReaderDep,
    layer: str,
    coords: TileDep,
    as_of: AsOf = None,
    community: CommunityQ = None,
    grid: GridQ = None,
    category: CategoryQ = None,
    start: FromQ = None,
    end: ToQ = None,
    cells: CellsQ = "auto",
    v: VersionQ = None,
) -> Response:
    """One Mapbox Vector Tile of a tileset (see ``/tiles/{layer}.json``).

    A coroutine: a tile from the cache (or a 304), and a new tile of a stored layer on
    PostGIS, are answered in the event loop without taking a worker thread (the
    ``ST_AsMVT`` query is awaited, see :mod:`api.database`); tiles encoded from frames
    in memory, and the expansion of a restricted caller's area to codes, run in threads.
    """
    ts = tileset(layer)
    coords.check()
    if isinstance(ts, FindingTileset) and ts.source == "hotspots":
        check_cells(cells)
    community, grid = community or None, grid or None  # empty: no selection
    selection = Selection(as_of, community, grid, category or None, start, end, cells)
    response, version = await tile_response(
        store,
        user,
        layer,
        coords.z,
        coords.x,
        coords.y,
        selection,
        # read just before by api.fastpath, in front of the routes (None: not read)
        getattr(request.state, "data_version", None),
        v,
        request.headers.get("if-none-match"),
    )
    request.state.data_version = version  # the version the tile was made at
    return response


def tile_url(
    base: str,
    layer: str,
    *,
    version: int,
    selection: Selection | None = None,
    tile_key: str | None = None,
) -> str:
    """The ``{z}/{x}/{y}`` URL template of a tileset, with its query parameters.

    ``tile_key``: carried as ``?tile_key=`` (:func:`api.auth.tile_key_for`), so the
    tiles load without the token in any URL and without cookies. A token is never
    written into a URL.
    """
    from urllib.parse import urlencode

    query: dict[str, Any] = {"v": version}
    ts = TILESETS[layer]
    if isinstance(ts, FindingTileset):
        query.update((selection or Selection()).query(ts.source))
    if tile_key:
        query["tile_key"] = tile_key
    return f"{base.rstrip('/')}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?{urlencode(query)}"


def _field_type(values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return "Boolean"
    if isinstance(sample, int | float):
        return "Number"
    return "String"


def _store_bounds(store: Store, layer: str, area: Area | None = None) -> tuple[float, ...] | None:
    import sqlalchemy as sa

    version = analysis_cache.data_version(store)

    def compute() -> tuple[float, ...] | None:
        if area is not None:
            frame = store.read_layer(layer, columns=[])
            frame = area.keep(layer, frame)
            return tuple(float(b) for b in frame.total_bounds) if len(frame) else None
        if store.engine.dialect.name == "postgresql":
            sql = extent_sql(layer)
            with store.engine.connect() as conn:
                row = conn.execute(sa.text(sql)).one()
            return None if row[0] is None else tuple(float(v) for v in row)
        return store_memory_layer(store, layer).bounds

    return analysis_cache.memo(store, "bounds", (layer, version, area), compute, size=16)


_STORE_FIELD_TYPES = {"int": "Number", "text": "String", "date": "String", "datetime": "String"}


@router.get(
    "/{layer}.json",
    responses={404: {"description": "no such tileset, community or grid"}},
)
def tilejson(
    request: Request,
    store: StoreDep,
    user: TileReaderDep,
    layer: str,
    as_of: AsOf = None,
    community: CommunityQ = None,
    grid: GridQ = None,
    category: CategoryQ = None,
    start: FromQ = None,
    end: ToQ = None,
    cells: CellsQ = "auto",
) -> dict[str, Any]:
    """The TileJSON 3.0.0 of a tileset: tile URL, zooms, bounds and its vector layers."""
    ts = tileset(layer)
    if isinstance(ts, FindingTileset) and ts.source == "hotspots":
        check_cells(cells)
    community, grid = community or None, grid or None  # empty: no selection
    selection = Selection(as_of, community, grid, category or None, start, end, cells)
    area = check_place(store, user, community=community, grid=grid)
    version = analysis_cache.data_version(store)
    vector_layers = []
    bounds: tuple[float, ...] | None = None
    if isinstance(ts, StoreTileset):
        for name, cols, minzoom in zip(ts.layers, ts.columns, ts.minzooms, strict=True):
            spec = LAYERS[name]
            fields = {c: _STORE_FIELD_TYPES[spec.field(c).kind] for c in cols}
            vector_layers.append(
                {"id": name, "fields": fields, "minzoom": minzoom, "maxzoom": MAX_ZOOM}
            )
            found = _store_bounds(store, name, area)
            if found is not None:
                bounds = found if bounds is None else _union(bounds, found)
    else:
        mem = finding_layer(store, ts, selection, area)
        fields = {c: _field_type(v) for c, v in zip(mem.columns, mem.values, strict=True)}
        vector_layers.append(
            {
                "id": ts.name,
                "description": ts.description,
                "fields": fields,
                "minzoom": ts.minzoom,
                "maxzoom": MAX_ZOOM,
            }
        )
        bounds = mem.bounds
    bounds = bounds or (-180.0, -85.0511, 180.0, 85.0511)
    center_zoom = max(ts.minzoom, _fit_zoom(bounds))
    return {
        "tilejson": "3.0.0",
        "name": ts.name,
        "description": ts.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [
            tile_url(
                str(request.base_url),
                layer,
                version=version,
                selection=selection,
                tile_key=tile_key_for(request, user),
            )
        ],
        "minzoom": ts.minzoom,
        "maxzoom": MAX_ZOOM,
        "bounds": [round(b, 6) for b in bounds],
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            center_zoom,
        ],
        "vector_layers": vector_layers,
        "attribution": "gridgeo",
    }


def _union(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _fit_zoom(bounds: tuple[float, ...]) -> int:
    """The largest zoom at which the bounds fit in about 3×2 tiles."""
    width = max(bounds[2] - bounds[0], 1e-9)
    return int(max(0, min(MAX_ZOOM, math.floor(math.log2(360 * 3 / width)))))
