"""Routes of the basemaps the service serves: Tianditu and AMap proxied, a basemap file.

Routes
------
``GET /basemaps/tianditu/{layer}/{z}/{x}/{y}``
    A Tianditu tile (``vec_w``, ``cva_w``, ``img_w``, ``cia_w``), fetched by the service
    with ``GRIDGEO_TIANDITU_KEY``: the key stays on the server, in no page and no URL a
    browser sees. 404 while no key is set.
``GET /basemaps/amap/{z}/{x}/{y}.png``
    The WGS-84 tile re-projected from AMap's GCJ-02 tiles
    (:func:`gridgeo.basemaps.gcj02_tile`), so the overlays need no shift. 404 unless
    ``GRIDGEO_AMAP=1``.
``GET /basemaps/file/{z}/{x}/{y}``
    A tile of ``GRIDGEO_BASEMAP_FILE`` (MBTiles or PMTiles; PNG, JPEG, WebP or MVT);
    204 where the file has none. 404 while no file is set.

The providers' tiles are kept in a memory cache bounded in bytes
(``GRIDGEO_BASEMAP_CACHE_BYTES``), shared by every caller: they are the same for all.
A provider that does not answer, or answers no image, is a 502 ``UpstreamError`` that
names the provider, layer and tile, never the URL. Who may see them: as for the other
tiles, a token or a tile key (:func:`api.auth.tile_reader`).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from api.auth import REFUSALS, tile_reader
from api.cache import BytesCache
from api.dependencies import TileDep
from api.tiles.caching import etag_of, not_modified
from gridgeo.basemaps import BasemapFile, amap_url, fetch_tile, gcj02_tile, tianditu_url
from gridgeo.errors import ConfigError, FileFormatError, NotFound
from gridgeo.settings import Settings

__all__ = ["basemap_file", "provider_cache", "router"]

router = APIRouter(tags=["maps and reports"], responses=REFUSALS)
_lock = threading.Lock()
#: How long browsers keep a basemap tile (a day): they do not change with the data.
CACHE_CONTROL = "private, max-age=86400"


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def provider_cache(app: Any) -> BytesCache:
    """The app's cache of the providers' tiles (made on first use)."""
    state = app.state
    with _lock:
        if getattr(state, "basemap_cache", None) is None:
            state.basemap_cache = BytesCache(state.settings.basemap_cache_bytes)
        return state.basemap_cache  # type: ignore[no-any-return]


def basemap_file(request: Request) -> BasemapFile | None:
    """The app's open ``GRIDGEO_BASEMAP_FILE`` (None: no file set).

    Raises
    ------
    ConfigError
        The file is missing, or neither MBTiles nor PMTiles (a 500 naming it).
    """
    path = _settings(request).basemap_file
    if not path:
        return None
    state = request.app.state
    with _lock:
        opened = getattr(state, "basemap_file", None)
        if opened is None or str(opened.path) != path:
            try:
                opened = state.basemap_file = BasemapFile.open(path)
            except (NotFound, FileFormatError) as exc:
                raise ConfigError(f"GRIDGEO_BASEMAP_FILE: {exc}") from None
        return opened  # type: ignore[no-any-return]


def _answer(request: Request, key: tuple[Any, ...], data: bytes | None, media: str) -> Response:
    etag = etag_of(key)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization, Cookie"}
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=media, headers=headers)


def _media(data: bytes) -> str:
    return "image/jpeg" if data.startswith(b"\xff\xd8") else "image/png"


def _cached(request: Request, key: tuple[Any, ...], make: Any) -> bytes:
    cache = provider_cache(request.app)
    data = cache.get(key)
    if data is None:
        data = make() or b""
        cache.put(key, data)
    return data  # type: ignore[no-any-return]


#: The answers of the providers' tiles.
_IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "the tile"},
    204: {"description": "the provider has no tile here"},
    304: {"description": "not modified (If-None-Match)"},
    404: {"description": "no such layer, or the basemap is not offered (see the settings)"},
    502: {"description": "the provider did not answer with a tile (UpstreamError)"},
}


@router.get(
    "/basemaps/tianditu/{layer}/{z}/{x}/{y}",
    dependencies=[Depends(tile_reader)],
    response_class=Response,
    responses=_IMAGE,
)
def tianditu_tile(request: Request, layer: str, coords: TileDep) -> Response:
    """A Tianditu tile, fetched by the service with its key (kept in a bounded cache)."""
    settings = _settings(request)
    if settings.tianditu_key is None:
        raise NotFound("no Tianditu basemap: GRIDGEO_TIANDITU_KEY is not set")
    z, x, y = coords.check().z, coords.x, coords.y
    url = tianditu_url(settings.tianditu_url, settings.tianditu_key.get_secret_value(),
                       layer, z, x, y)  # fmt: skip
    key = ("tianditu", layer, z, x, y)
    what = f"Tianditu {layer} {z}/{x}/{y}"
    data = _cached(request, key, lambda: fetch_tile(url, what, settings.upstream_timeout))
    return _answer(request, key, data, _media(data))


@router.get(
    "/basemaps/amap/{z}/{x}/{y}.png",
    dependencies=[Depends(tile_reader)],
    response_class=Response,
    responses=_IMAGE,
)
def amap_tile(request: Request, coords: TileDep) -> Response:
    """An AMap tile re-projected from GCJ-02 to WGS-84 (kept in a bounded cache)."""
    settings = _settings(request)
    if not settings.amap:
        raise NotFound("no AMap basemap: GRIDGEO_AMAP is not 1")
    z, x, y = coords.check().z, coords.x, coords.y

    def source(sz: int, sx: int, sy: int) -> bytes | None:
        url = amap_url(settings.amap_url, sz, sx, sy)
        what = f"AMap {sz}/{sx}/{sy}"
        data = _cached(request, ("amap-gcj02", sz, sx, sy),
                       lambda: fetch_tile(url, what, settings.upstream_timeout))  # fmt: skip
        return data or None

    key = ("amap", z, x, y)
    data = _cached(request, key, lambda: gcj02_tile(z, x, y, source))
    return _answer(request, key, data, "image/png")


@router.get(
    "/basemaps/file/{z}/{x}/{y}",
    dependencies=[Depends(tile_reader)],
    response_class=Response,
    responses={
        200: {"description": "the tile (PNG, JPEG, WebP or MVT)"},
        204: {"description": "the file has no tile here"},
        304: {"description": "not modified (If-None-Match)"},
        404: {"description": "no basemap file is set"},
    },
)
def file_tile(request: Request, coords: TileDep) -> Response:
    """A tile of the basemap file (``GRIDGEO_BASEMAP_FILE``)."""
    opened = basemap_file(request)
    if opened is None:
        raise NotFound("no basemap file: GRIDGEO_BASEMAP_FILE is not set")
    z, x, y = coords.check().z, coords.x, coords.y
    data = opened.tile(z, x, y)
    key = ("file", str(opened.path), opened.path.stat().st_mtime_ns, z, x, y)
    return _answer(request, key, data, opened.media_type)
