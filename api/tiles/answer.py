"""The answer to a vector tile request: from memory, from PostGIS or encoded in memory.

Every tile has an ETag made of its layer, coordinates, parameters, the caller's area
and the store's data version, so a write makes new tiles, never stale ones;
``If-None-Match`` answers 304 without touching the data. Tiles are kept in a memory
cache bounded in bytes (``GRIDGEO_TILE_CACHE_BYTES``). A stored layer's tile on
PostGIS is one awaited ``ST_AsMVT`` statement (:mod:`gridgeo.store.tiles`) that also
reads the data version; the embedded store's layers and the findings are encoded from
frames in memory (:mod:`api.tiles.mvt`) in a worker thread.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api import analysis_cache, database
from api.auth import check_place, scope_key
from api.freshness import stamp_headers
from api.state import settings_of
from api.tiles.caching import byte_cache, cache_headers, etag_of, not_modified
from api.tiles.catalogue import TILESETS, FindingTileset, Selection, store_parts
from api.tiles.layers import finding_layer, store_memory_layer
from api.tiles.mvt import MVT_MEDIA_TYPE
from gridgeo.access import Area, Principal
from gridgeo.store import Store
from gridgeo.store.tiles import mvt_statement

__all__ = ["postgis_tile", "render_tile", "tile_response"]


async def postgis_tile(
    store: Store,
    parts: list[tuple[str, tuple[str, ...]]],
    z: int,
    x: int,
    y: int,
    area: Area | None = None,
    known: int | None = None,
) -> tuple[int, bytes | None]:
    """The data version and the tile of stored layers, in one awaited statement.

    The store's change counter is read by the tile's own statement, so both come from
    one snapshot: the tile is exactly the data of that version, and a tile needs no
    round trip of its own to learn it. When the counter still equals ``known`` (the
    version of a tile kept from before), the tile is not made again: (version, None).
    """
    sql, params = mvt_statement(parts, z, x, y, area)
    params["known"] = -1 if known is None else known
    row = await database.fetch_row(
        store,
        f"SELECT s.v, CASE WHEN s.v = %(known)s THEN NULL ELSE ({sql}) END "
        f"FROM ({analysis_cache.VERSION_SQL}) AS s(v)",
        params,
    )
    assert row is not None
    version, data = int(row[0]), row[1]
    if data is None and version != known:
        data = b""  # no feature in the tile
    return version, None if data is None else bytes(data)


async def render_tile(
    store: Store,
    name: str,
    z: int,
    x: int,
    y: int,
    selection: Selection | None = None,
    area: Area | None = None,
) -> bytes:
    """Encode one tile of a tileset (no cache; b"" for an empty tile).

    A coroutine: a stored layer's tile on PostGIS is one awaited ``ST_AsMVT`` query;
    tiles encoded from frames in memory (findings, the embedded store) are made in a
    worker thread.

    Parameters
    ----------
    store
        The store.
    name
        A key of :data:`TILESETS`.
    z, x, y
        The tile (XYZ scheme, as Leaflet and ``ST_TileEnvelope`` count them).
    selection
        For finding tilesets: the check's date and area, or the hotspot options.
    area
        Only the features of this area (a caller's, :func:`gridgeo.access.area_for`).

    Returns
    -------
    bytes
        The Mapbox Vector Tile.
    """
    ts = TILESETS[name]
    if isinstance(ts, FindingTileset):
        if z < ts.minzoom:
            return b""

        def encode() -> bytes:
            return finding_layer(store, ts, selection or Selection(), area).tile(name, z, x, y)

        return await run_in_threadpool(encode)
    parts = store_parts(ts, z)
    if not parts:
        return b""
    if store.engine.dialect.name == "postgresql":
        _, data = await postgis_tile(store, parts, z, x, y, area)
        return data or b""

    def in_memory() -> bytes:
        return b"".join(
            store_memory_layer(store, layer, area).tile(layer, z, x, y, cols)
            for layer, cols in parts
        )

    return await run_in_threadpool(in_memory)


async def tile_response(
    store: Store,
    user: Principal,
    layer: str,
    z: int,
    x: int,
    y: int,
    selection: Selection,
    version: int | None = None,
    v: int | None = None,
    if_none_match: str | None = None,
) -> tuple[Response, int]:
    """The answer to a valid tile request (the route's, and :mod:`api.fastpath`'s).

    A kept tile answers when it was made at the current data version. A stored layer's
    tile on PostGIS learns the version from its own statement (see :func:`postgis_tile`),
    so a new tile costs one round trip: its query.

    Parameters
    ----------
    store, user
        The store and the caller.
    layer, z, x, y
        A key of :data:`TILESETS` and a tile that exists.
    selection
        The finding tilesets' options.
    version
        The store's data version, if it was read just before (None: not read).
    v
        The data version the URL was made for (lets browsers cache the tile).
    if_none_match
        The request's ``If-None-Match`` header.

    Returns
    -------
    tuple[Response, int]
        The response (200 or 304) and the data version of its tile.

    Raises
    ------
    PermissionDenied
        ``selection`` names a community or grid outside the caller's area.
    """
    ts = TILESETS[layer]
    params: tuple[Any, ...] = ()
    if isinstance(ts, FindingTileset):
        params = selection.key(ts.source)
    # the caller's area is in the key: a tile made for one area is never given to another
    key = (layer, z, x, y, *params, scope_key(user))
    cache = byte_cache(store, "mvt")
    kept = cache.newest(key)
    data = kept[1] if kept is not None and version is not None and kept[0] == version else None
    if data is None:
        version, data = await _made_tile(store, user, layer, z, x, y, selection, version, kept)
        cache.put(key, data, version)
    assert version is not None
    etag = etag_of((layer, z, x, y, version, *params, scope_key(user)))
    headers = cache_headers(etag, version, v)
    if isinstance(ts, FindingTileset):  # which data the findings are of
        stamp = analysis_cache.stamp_of_version(store, version)
        headers.update(stamp_headers(stamp, settings_of(store).timezone))
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers), version
    return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers), version


async def _made_tile(
    store: Store,
    user: Principal,
    layer: str,
    z: int,
    x: int,
    y: int,
    selection: Selection,
    version: int | None,
    kept: tuple[Any, bytes] | None,
) -> tuple[int, bytes]:
    """The data version and the tile, made now unless ``kept`` is still the data's.

    Made (and the caller's right to it checked) before any 304: an ETag alone never
    answers for a tile the caller was not given.
    """
    area = None
    if not user.district_wide:  # the area's codes may have to be read: in a thread
        area = await run_in_threadpool(
            check_place, store, user, community=selection.community, grid=selection.grid
        )
    parts = store_parts(TILESETS[layer], z)
    if parts and store.engine.dialect.name == "postgresql":
        known = None if kept is None else int(kept[0])
        version, data = await postgis_tile(store, parts, z, x, y, area, known)
        if data is None:  # the kept tile is still the data's
            assert kept is not None
            data = kept[1]
        return version, data
    if version is None:
        version = await analysis_cache.data_version_async(store)
    if kept is not None and kept[0] == version:
        return version, kept[1]
    return version, await render_tile(store, layer, z, x, y, selection, area)
