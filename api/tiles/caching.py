"""HTTP caching of tiles, maps and reports: ETags, 304s and the byte caches.

Every response's ETag is made of its parameters, the caller's area and the store's
data version, so a committed write makes new tiles, maps and reports, never stale ones;
``If-None-Match`` answers 304. Encoded tiles stay in a memory cache bounded in bytes
(:func:`byte_cache`, ``GRIDGEO_TILE_CACHE_BYTES`` and ``GRIDGEO_PNG_CACHE_BYTES``),
maps and reports in a small LRU (``GRIDGEO_DOCUMENTS_KEPT``). A URL carrying
``?v=<data version>`` may be cached by browsers for a day; otherwise they revalidate
each time (``no-cache``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from api import analysis_cache
from api.cache import BytesCache, store_cache
from api.freshness import stamp_headers
from api.state import settings_of
from gridgeo import render
from gridgeo.store import Store

__all__ = ["byte_cache", "cache_headers", "cached_response", "etag_of", "not_modified"]


def etag_of(key: tuple[Any, ...]) -> str:
    """A strong ETag for a response keyed on ``key``."""
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header value names ``etag`` (or ``*``)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


def cache_headers(etag: str, version: int, v: int | None) -> dict[str, str]:
    """The caching headers of a response made at data ``version`` for a URL's ``?v=``."""
    return {
        "ETag": etag,
        "Cache-Control": (
            "private, max-age=86400" if v is not None and v == version else "private, no-cache"
        ),
        "Vary": "Authorization, Cookie",
    }


def byte_cache(store: Store, kind: str) -> BytesCache:
    """The store's cache of one kind of encoded response (``"mvt"``, ``"png"``)."""
    settings = settings_of(store)
    limit = settings.tile_cache_bytes if kind == "mvt" else settings.png_cache_bytes
    return store_cache(store, f"bytes:{kind}", lambda: BytesCache(limit))


def cached_response(
    request: Request,
    store: Store,
    key: tuple[Any, ...],
    v: int | None,
    media_type: str,
    make: Callable[[], bytes],
    *,
    cache: BytesCache | None = None,
    kind: str = "documents",
    user_scoped: bool = False,
) -> Response:
    """Answer 304, a cached body or a freshly made one, keyed on the data version.

    ``key`` must hold the caller's area (:func:`api.auth.scope_key`). With
    ``user_scoped`` the caller's right is checked by ``make`` only, so a 304 is given
    only for a body in the cache (made for that key after the check). Without
    ``cache``, bodies are kept in the store's memo of ``kind``.
    """
    version = analysis_cache.data_version(store)
    full_key = (*key, version, render.STYLE_VERSION)
    etag = etag_of(full_key)
    stamp = analysis_cache.stamp_of_version(store, version)
    headers = {
        **cache_headers(etag, version, v),
        **stamp_headers(stamp, settings_of(store).timezone),
    }
    headers["Vary"] = headers.pop("Vary")  # in the order the headers always had
    if not user_scoped and not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if cache is not None:
        data = cache.get(full_key)
        if data is None:
            data = make()
            cache.put(full_key, data)
    else:
        kept = settings_of(store).documents_kept
        data = analysis_cache.memo(store, kind, full_key, make, size=kept)
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)
