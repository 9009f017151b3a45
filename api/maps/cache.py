"""Map pages made once per area, options and data version, and answered from memory.

A map page is a small HTML shell, but making it (the check's results restricted to the
caller's area, the inline GeoJSON of each small layer, folium's rendering) costs some
40 ms of CPU, so 32 clients asking for it at once wait more than a second each. A page
depends only on:

- its kind (``coverage``, ``hotspots``) and the options that change it (community,
  grid, the check's day and the ``as_of`` asked for, category, period, cells, ``lang``);
- the caller's role, member and area (:class:`gridgeo.principal.Principal` without its
  token id): never on the text of the credentials, so the same caller is served the
  same page whether its token came as a header, ``?token=`` or the cookie, and two
  callers of different areas never share one;
- the store's data version (so a committed write makes the next request make a new
  page), the style version and the app's root path.

The one part of a page that belongs to one token is the tile key its tile URLs carry
(:func:`api.auth.tile_key_for`). A page is kept cut at its tile keys, and each answer
puts the caller's own key in, so a page served from memory holds no other caller's key.
A page that holds the caller's token (which a page never should) is not kept.

Pages are kept per store, the last ``GRIDGEO_MAP_PAGES_KEPT`` (default 64), one
computation per key at a time (concurrent requests for a new page wait for the first);
a page served from memory says ``X-Cache: HIT``, a new one ``X-Cache: MISS``. A kept
page is answered in the event loop (the data version read there too), without a worker
thread: 32 clients asking for pages at once do not queue behind the interpreter's lock
in 32 threads.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api import analysis_cache
from api.auth import credentials_of, tile_key_for
from api.cache import Memo, store_cache
from api.maps.responses import page_response
from api.state import get_store, settings_of
from gridgeo import render
from gridgeo.principal import Principal
from gridgeo.store import Store

__all__ = [
    "PageCache",
    "PageStoreDep",
    "cached_page",
    "cached_page_response",
    "page_cache",
    "page_key",
    "settle_heap",
    "store_of",
]


@dataclass(frozen=True)
class _Kept:
    """A page cut at its tile keys (``parts`` joined by the caller's key make the page)."""

    parts: tuple[str, ...]


class PageCache:
    """The map pages of one store, with counts of pages served from memory and made."""

    def __init__(self, size: int) -> None:
        self.memo = Memo(size)
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Drop every kept page (for a change of the code's own limits, as tests make)."""
        with self.memo.lock:
            self.memo.values.items.clear()

    def kept(self, key: Hashable) -> _Kept | None:
        """The page kept for ``key`` (None: none), counted as served from memory."""
        value = self.memo.values.get(key)
        if isinstance(value, _Kept):
            with self.lock:
                self.hits += 1
            return value
        return None

    def get(self, key: Hashable, make: Callable[[], str | _Kept]) -> tuple[str | _Kept, bool]:
        """The page of ``key`` (made by ``make()`` when none is kept) and whether it was kept.

        A page ``make`` returns as ``str`` (one that may not be kept) is not kept.
        """
        made = False

        def compute() -> str | _Kept:
            nonlocal made
            made = True
            return make()

        value = self.memo.get(key, compute)
        if isinstance(value, str):  # not to be kept, nor given to anyone else
            self.memo.values.pop(key)
            if not made:
                value = compute()
        with self.lock:
            if made:
                self.misses += 1
            else:
                self.hits += 1
        return value, not made


_heap_lock = threading.Lock()
_heap_version: list[int] = []  # the data version the heap was last collected at


def settle_heap(version: int) -> None:
    """Take what a new page left in the caches out of the garbage collector's sweeps.

    The check's results, hot spots and frames a page is made from stay in memory for a
    data version. A full collection walks every object the collector tracks (numpy
    arrays of geometries included): some 150–400 ms on the sample district, during
    which every request in flight waits, every few hundred requests.
    :func:`gc.freeze` moves the objects alive now out of those sweeps. Once per data
    version they are put back and collected first, so unreachable cycles among them
    are freed then. The young generations are collected before each freeze (cheap: only
    what the page's build made), so the build's own garbage is not frozen with them.
    """
    with _heap_lock:
        if _heap_version != [version]:
            _heap_version[:] = [version]
            gc.unfreeze()
            gc.collect()
        else:
            gc.collect(1)
        gc.freeze()


def page_cache(store: Store) -> PageCache:
    """The store's cache of map pages."""
    size = settings_of(store).map_pages_kept
    return store_cache(store, "map-pages", lambda: PageCache(size))


def page_key(
    request: Request, user: Principal | None, kind: str, options: dict[str, Any], version: int
) -> tuple[Any, ...]:
    """What a page depends on: its kind and options, the caller's area, the data version."""
    who = None if user is None else (user.role, user.member, user.communities, user.grids)
    return (
        kind,
        tuple(sorted(options.items())),
        who,
        str(request.scope.get("root_path", "")),
        version,
        render.STYLE_VERSION,
    )


def _tile_keys(user: Principal | None) -> re.Pattern[str] | None:
    """The tile keys of ``user``'s token (``<token id>.<expiry>.<MAC>``) in a page."""
    if user is None or user.token_id is None:
        return None
    return re.compile(rf"(?<![\w.]){user.token_id}\.\d+\.[A-Za-z0-9_-]{{24}}(?![\w-])")


def _keepable(request: Request, user: Principal | None, html: str) -> str | _Kept:
    """The page cut at the caller's tile keys, or the page itself when it may not be kept."""
    token = credentials_of(request.scope).token
    if token and token in html:
        return html
    pattern = _tile_keys(user)
    return _Kept((html,) if pattern is None else tuple(pattern.split(html)))


async def store_of(request: Request) -> Store:
    """The app's store (a FastAPI dependency) without a worker thread once it is open."""
    store = getattr(request.app.state, "store", None)
    if store is not None:
        return store  # type: ignore[no-any-return]
    return await run_in_threadpool(get_store, request)


PageStoreDep = Annotated[Store, Depends(store_of)]


async def cached_page(
    request: Request, store: Store, user: Principal | None, kind: str,
    options: dict[str, Any], make: Callable[[], str],
) -> tuple[str, bool]:  # fmt: skip
    """The page ``make()`` makes for the caller, from memory when one is kept.

    Returns the page's HTML, with the caller's own tile key, and whether it came from
    memory. A kept page is answered in the event loop; ``make()`` runs in a worker
    thread. The version is read before ``make()`` runs, so a kept page is never older
    than its key says.
    """
    version = await analysis_cache.data_version_async(store)
    key = page_key(request, user, kind, options, version)
    cache = page_cache(store)
    value = cache.kept(key)
    hit = value is not None
    if value is None:
        value, hit = await run_in_threadpool(
            cache.get, key, lambda: _keepable(request, user, make())
        )
        if not hit:
            settle_heap(version)
    if isinstance(value, str):
        return value, hit
    tile_key = tile_key_for(request, user) or ""
    return tile_key.join(value.parts), hit


async def cached_page_response(
    request: Request, store: Store, user: Principal | None, kind: str,
    options: dict[str, Any], make: Callable[[], str],
) -> HTMLResponse:  # fmt: skip
    """:func:`cached_page` answered as :func:`api.maps.responses.page_response`, with ``X-Cache``."""
    html, hit = await cached_page(request, store, user, kind, options, make)
    response = page_response(request, html)
    response.headers["X-Cache"] = "HIT" if hit else "MISS"
    return response
