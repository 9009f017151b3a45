"""Asynchronous PostGIS connections for the requests that must answer quickly.

A tile that is not in any cache costs its ``ST_AsMVT`` query plus what the service adds
around it. Run through the store's SQLAlchemy engine, that addition is a worker thread
to hand the query to, a pool checkout and SQLAlchemy's own bookkeeping; for the small
tiles of zoom 15 and 16, whose queries take a few milliseconds, it was most of the
time. The tile routes and the change-counter read (:mod:`api.analysis_cache`) therefore
talk to PostGIS through a pool of psycopg's asynchronous connections, awaited in the
event loop itself.

Connections of this pool are in autocommit (a tile is one statement, so no BEGIN and
ROLLBACK around it) with JIT compilation and parallel workers off: both cost a tile
query more than they save (measured on the benchmark city: z15 64 → 16 ms). Their
statements are never prepared on the server: a prepared tile query gets a generic plan
after a few runs, in which the tile's envelope is no longer a constant but is computed
again for every feature (measured: z15 31 → 37 ms).

One pool per store and event loop (an asyncio pool belongs to the loop it was opened
in): :func:`pool` opens it on first use, :func:`close` closes it when the application
stops. Its size and connect timeout are ``GRIDGEO_POOL_SIZE`` and
``GRIDGEO_CONNECT_TIMEOUT``. Stores other than PostGIS have no pool (``None``); their
routes keep using the store in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

from api.state import settings_of
from gridgeo.errors import StoreError, database_reason
from gridgeo.store import Store

__all__ = ["SESSION_OPTIONS", "close", "fetch_row", "pool"]

#: The session settings of the pool's connections (libpq ``options``).
SESSION_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"
_pools: weakref.WeakKeyDictionary[Store, dict[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _conninfo(store: Store) -> str | None:
    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "postgresql":
        return None
    url = engine.url.set(drivername="postgresql")
    return str(url.render_as_string(hide_password=False))


async def _open(conninfo: str, size: int, timeout: float) -> Any:
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "options": SESSION_OPTIONS, "prepare_threshold": None},
        max_idle=600,
        open=False,
        name="gridgeo-tiles",
    )
    try:
        await pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        await pool.close()
        raise StoreError(
            f"the database does not answer: no connection within {timeout:g} s"
        ) from exc
    return pool


async def pool(store: Store) -> Any:
    """The store's asynchronous connection pool in this event loop (None: not PostGIS).

    Raises
    ------
    StoreError
        The database does not answer (HTTP 503); the next call tries again.
    """
    loop = asyncio.get_running_loop()
    opening = _pools.get(store, {}).get(loop)  # the common case: open already
    if opening is None:
        conninfo = _conninfo(store)
        if conninfo is None:
            return None
        with _lock:
            per_loop = _pools.setdefault(store, {})
            for old in [k for k in per_loop if k.is_closed()]:
                del per_loop[old]
            opening = per_loop.get(loop)
            if opening is None:
                settings = settings_of(store)
                opening = per_loop[loop] = asyncio.ensure_future(
                    _open(conninfo, settings.pool_size, settings.connect_timeout)
                )
    elif opening.done() and not opening.cancelled() and opening.exception() is None:
        return opening.result()
    try:
        return await asyncio.shield(opening)
    except StoreError:
        with _lock:
            if _pools.get(store, {}).get(loop) is opening:
                del _pools[store][loop]
        raise


async def close(store: Store) -> None:
    """Close the store's pool of this event loop (when the application stops)."""
    loop = asyncio.get_running_loop()
    with _lock:
        opening = _pools.get(store, {}).pop(loop, None)
    if opening is None:
        return
    try:
        opened = await opening
    except StoreError:
        return
    await opened.close()


async def fetch_row(
    store: Store, sql: str, params: dict[str, Any] | None = None
) -> tuple[Any, ...] | None:
    """The first row of one statement (None for no row).

    Binary results: a ``bytea`` comes back as bytes, without a text round trip.

    Raises
    ------
    StoreError
        The store is not PostGIS, or the database does not answer (HTTP 503).
    """
    import psycopg

    opened = await pool(store)
    if opened is None:
        raise StoreError("asynchronous queries need a PostGIS store")
    try:
        async with opened.connection() as conn:
            cur = conn.cursor(binary=True)
            await cur.execute(sql, params)
            row = await cur.fetchone()
    except psycopg.OperationalError as exc:
        raise StoreError(f"the database does not answer: {database_reason(exc)}") from exc
    return row
