"""The data version (and its time) a request keys its caches on, read without piling up.

The version comes from the process's listener while it vouches for it
(:mod:`api.versions`), else from a read of the store that concurrent callers share:
threads through :func:`data_stamp`, coroutines of one event loop through
:func:`data_stamp_async`. Every stamp read is remembered for a few versions, so an
answer whose version came from elsewhere still states its time
(:func:`stamp_of_version`). :mod:`api.analysis_cache` keys its results on these.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from api import versions
from gridgeo.store import Store
from gridgeo.store.notify import VersionListener
from gridgeo.store.versions import (
    DataStamp,
    data_stamp_sql,
    data_version_sql,
    read_data_stamp,
    stamp_of_row,
)

__all__ = [
    "STAMP_SQL",
    "VERSION_SQL",
    "data_stamp",
    "data_stamp_async",
    "data_version",
    "data_version_async",
    "stamp_of_version",
    "version_reads",
]

_lock = threading.Lock()


class _VersionReader:
    """Reads of a store's data version, shared by concurrent requests without going stale.

    A caller gets the result of a read that *started after it called*, so it never sees
    a version older than the last write committed before its call. Reads run one at a
    time: callers that arrive while one runs wait for the next and share it, so 32
    concurrent tile requests make a couple of queries instead of 32.
    """

    def __init__(self, read: Callable[[], DataStamp]) -> None:
        self.read = read
        self.cond = threading.Condition()
        self.started = 0
        self.finished = 0
        self.running = False
        self.value = DataStamp(0)

    def get(self) -> DataStamp:
        with self.cond:
            need = self.started + 1  # the first read to start from now on
            while self.finished < need:
                if self.running:
                    self.cond.wait()
                    continue
                self.running = True
                self.started += 1
                number = self.started
                self.cond.release()
                try:
                    value = self.read()
                except BaseException:
                    self.cond.acquire()
                    self.running = False
                    self.started -= 1
                    self.cond.notify_all()
                    raise
                self.cond.acquire()
                self.running = False
                self.finished, self.value = number, value
                self.cond.notify_all()
            return self.value


_readers: weakref.WeakKeyDictionary[Store, _VersionReader] = weakref.WeakKeyDictionary()


class _ReadCount:
    """How many times requests read the change counter from a store (this process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self.lock:
            self.value += 1


_reads = _ReadCount()


def version_reads() -> int:
    """How many queries of the change counter requests made in this process so far.

    The listener's own reads (one per batch of notifications) are not counted here
    (``VersionListener.reads``). The benchmark compares this before and after.
    """
    return _reads.value


def _counted(read: Callable[[], DataStamp]) -> Callable[[], DataStamp]:
    def counted() -> DataStamp:
        _reads.add()
        return read()

    return counted


_version_engines: weakref.WeakKeyDictionary[Store, Any] = weakref.WeakKeyDictionary()
#: One query for a PostGIS store's change counter (the sum of the per-layer counters).
VERSION_SQL = data_version_sql(postgres=True)
#: One query for a PostGIS store's change counter and the time of its last change.
STAMP_SQL = data_stamp_sql(postgres=True)


def _version_query(store: Store) -> Callable[[], DataStamp]:
    """How to read the change counter and its time in one round trip.

    On PostGIS: an autocommit engine of its own without the store's pre-ping, so a
    read is one query instead of a ping, a BEGIN, the query and a ROLLBACK.
    """
    store_engine = getattr(store, "engine", None)
    if store_engine is None or store_engine.dialect.name != "postgresql":
        return lambda: _stamp_of(store)
    import sqlalchemy as sa

    with _lock:
        engine = _version_engines.get(store)
        if engine is None:
            engine = sa.create_engine(
                store_engine.url, isolation_level="AUTOCOMMIT", pool_size=2, pool_recycle=600
            )
            weakref.finalize(store, engine.dispose)
            _version_engines[store] = engine

    def read() -> DataStamp:
        with engine.connect() as conn:
            return read_data_stamp(conn)

    return read


def _stamp_of(store: Store) -> DataStamp:
    """The store's own read of its stamp (a store without times: its version alone)."""
    stamp = getattr(store, "data_stamp", None)
    return stamp() if callable(stamp) else DataStamp(int(store.data_version()))


_stamps: weakref.WeakKeyDictionary[Store, dict[int, DataStamp]] = weakref.WeakKeyDictionary()


def _seen(store: Store, stamp: DataStamp) -> DataStamp:
    """Remember the time of a version read (the last few versions of each store)."""
    if stamp.version in _stamps.get(store, {}):  # the usual case: seen already
        return stamp
    with _lock:
        seen = _stamps.setdefault(store, {})
        seen[stamp.version] = stamp
        while len(seen) > 16:
            del seen[min(seen)]
    return stamp


def stamp_of_version(store: Store, version: int) -> DataStamp:
    """The stamp of ``version`` as a read of this process saw it (no time if none did).

    For answers whose version came from elsewhere (a tile's own statement reads it,
    :mod:`api.fastpath` reads it before the route), so they need no read of their own.
    """
    with _lock:
        found = _stamps.get(store, {}).get(version)
    return found if found is not None else DataStamp(version)


def _known(store: Store, listener: VersionListener | None) -> DataStamp | None:
    """The listener's version with its time, when it vouches for one a read has stamped.

    A version only notified (no read of this process saw its time) is read once, so an
    answer always has the time of the version it states.
    """
    if listener is None:
        return None
    known = listener.known()
    if known is None:
        return None
    stamp = stamp_of_version(store, known)
    return stamp if stamp.changed_at is not None or known == 0 else None


def _observed(listener: VersionListener | None, read: Callable[[], DataStamp]) -> DataStamp:
    """``read()`` the store's stamp, telling ``listener`` what was read (and after what)."""
    if listener is None:
        return read()
    before = listener.local_writes()
    stamp = read()
    listener.observe(stamp.version, before)
    return stamp


def data_version(store: Store) -> int:
    """The store's change counter (0 for a store that does not count changes).

    From the process's version listener without a query while it is healthy
    (:mod:`api.versions`): never ahead of the store, and behind it only by the
    delivery time of other processes' newest notifications (this process's own
    writes are seen at once). Otherwise read from the store, and then never older
    than the last write committed before the call (see ``_VersionReader``).
    """
    return data_stamp(store).version


def data_stamp(store: Store) -> DataStamp:
    """The store's change counter and the time of its last change, read together.

    As :func:`data_version` (shares its reads); ``DataStamp(0)`` for a store that does
    not count changes.
    """
    if not callable(getattr(store, "data_version", None)):
        return DataStamp(0)
    listener = versions.listener_of(store)
    known = _known(store, listener)
    if known is not None:
        return known
    with _lock:
        reader = _readers.get(store)
    if reader is None:
        query = _counted(_version_query(store))
        with _lock:
            reader = _readers.setdefault(store, _VersionReader(query))
    return _seen(store, _observed(listener, reader.get))


class _AsyncVersionReader:
    """The same sharing as ``_VersionReader`` for coroutines of one event loop.

    Waiting callers hold no thread: on PostGIS the read itself is awaited in the event
    loop (:mod:`api.database`); other stores read in a worker thread.
    """

    def __init__(self, read: Callable[[], Awaitable[DataStamp]]) -> None:
        self.read = read
        self.waiting: asyncio.Future[DataStamp] | None = None
        self.running = False

    async def get(self) -> DataStamp:
        loop = asyncio.get_running_loop()
        if self.waiting is None:
            self.waiting = loop.create_future()
        future = self.waiting
        if not self.running:
            self._start()
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self.waiting = self.waiting, None
        assert future is not None
        self.running = True

        def done(task: asyncio.Future[DataStamp]) -> None:
            self.running = False
            if task.cancelled():
                future.cancel()
            elif task.exception() is not None:
                future.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                future.set_result(task.result())
            if self.waiting is not None:  # callers that came during this read
                self._start()

        asyncio.ensure_future(self.read()).add_done_callback(done)


_async_readers: weakref.WeakKeyDictionary[Store, dict[Any, _AsyncVersionReader]] = (
    weakref.WeakKeyDictionary()
)


def _async_version_query(store: Store) -> Callable[[], Awaitable[DataStamp]]:
    """How a coroutine reads the change counter and its time: one awaited query on PostGIS."""
    from api import database

    engine = getattr(store, "engine", None)
    if engine is not None and engine.dialect.name == "postgresql":

        async def read() -> DataStamp:
            _reads.add()
            return stamp_of_row(await database.fetch_row(store, STAMP_SQL))

        return read
    query = _counted(_version_query(store))
    return lambda: asyncio.get_running_loop().run_in_executor(None, query)


async def data_version_async(store: Store) -> int:
    """:func:`data_version` for coroutines: concurrent callers share reads, hold no thread."""
    return (await data_stamp_async(store)).version


async def data_stamp_async(store: Store) -> DataStamp:
    """:func:`data_stamp` for coroutines: concurrent callers share reads, hold no thread."""
    if not callable(getattr(store, "data_version", None)):
        return DataStamp(0)
    listener = versions.listener_of(store)
    known = _known(store, listener)
    if known is not None:
        return known
    loop = asyncio.get_running_loop()
    with _lock:
        reader = _async_readers.get(store, {}).get(loop)
    if reader is None:
        query = _async_version_query(store)
        with _lock:
            per_loop = _async_readers.setdefault(store, {})
            for old in [k for k in per_loop if k.is_closed()]:
                del per_loop[old]
            reader = per_loop.setdefault(loop, _AsyncVersionReader(query))
    if listener is None:
        return _seen(store, await reader.get())
    before = listener.local_writes()
    stamp = await reader.get()
    listener.observe(stamp.version, before)
    return _seen(store, stamp)
