"""Results of the expensive analyses, computed once per data version and shared.

The coverage map, the finding tiles and the data API (``/findings``) all need
``run_check`` on the whole store; the hotspot map and its tiles need
``hotspot_layers``. Each result is cached per store, keyed on its parameters and on
:meth:`gridgeo.store.Store.data_version`, so a committed write makes the next request
compute new results instead of serving stale ones. Concurrent requests for the same
key wait for one computation instead of running it side by side.

The frames returned are shared between requests: treat them as read-only (copy a
frame before changing it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api import versions
from api.cache import Memo, store_cache
from api.state import settings_of
from gridgeo.store import Store
from gridgeo.store.areas import study_area
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
    "Checked",
    "area_of",
    "check_results",
    "checked",
    "data_stamp",
    "data_stamp_async",
    "data_version",
    "data_version_async",
    "hotspot_results",
    "memo",
    "resolve_as_of",
    "stamp_of_version",
    "version_reads",
]

_lock = threading.Lock()


def _cache(store: Store, kind: str, size: int | None = None) -> Memo:
    """The store's memo of one kind (``size``: values kept, set by the first call)."""
    kept = settings_of(store).analysis_cache_entries if size is None else size
    return store_cache(store, f"memo:{kind}", lambda: Memo(kept))


def memo(
    store: Store, kind: str, key: Hashable, compute: Callable[[], Any], *, size: int | None = None
) -> Any:
    """A value cached for ``store`` under ``(kind, key)``; ``compute()`` makes it once.

    Put the data version in ``key`` for anything derived from the data. ``size`` is how
    many values of this kind are kept (set by the first call; default
    ``GRIDGEO_ANALYSIS_CACHE_ENTRIES``).
    """
    return _cache(store, kind, size).get(key, compute)


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


def resolve_as_of(as_of: dt.date | None) -> dt.date:
    """The date a check is made for: ``as_of``, or today."""
    return as_of if as_of is not None else dt.date.today()


@dataclass(frozen=True)
class Checked:
    """The check's results and the data version (with its time) they were computed at."""

    stamp: DataStamp
    results: dict[str, pd.DataFrame]


def checked(store: Store, as_of: dt.date | None = None) -> Checked:
    """:func:`check_results` and the stamp whose version is their cache key.

    ``/findings`` answers with this stamp, so the version it reports is the one the
    findings were keyed on, not a later read.
    """
    from gridgeo.check import inputs_from_store, run_check

    day = resolve_as_of(as_of)
    stamp = data_stamp(store)
    results = _cache(store, "check").get(
        (day, stamp.version), lambda: run_check(inputs_from_store(store), as_of=day)
    )
    return Checked(stamp, dict(results))


def check_results(store: Store, as_of: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """Every result layer of ``gridgeo check`` on the store, cached per data version.

    Parameters
    ----------
    store
        The store to check.
    as_of
        The date assignments, visits and meetings are judged at (default: today).

    Returns
    -------
    dict of str to (Geo)DataFrame
        As :func:`gridgeo.check.run_check` returns them (findings as GeoDataFrames in
        EPSG:4326). The frames are shared: do not modify them.
    """
    return checked(store, as_of).results


def hotspot_results(store: Store, **params: Any) -> dict[str, pd.DataFrame]:
    """``gridgeo.analysis.hotspots.hotspot_layers`` on the store's problems, cached.

    Parameters
    ----------
    store
        The store whose ``problems`` (and ``communities`` as the area) are analysed.
    **params
        Keyword arguments of ``hotspot_layers`` (``cells``, ``category``, ``start``,
        ``end``...); they are part of the cache key, so they must be hashable.

    Returns
    -------
    dict of str to GeoDataFrame
        The hotspot layers (shared: do not modify them).
    """
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.settings import get_settings

    key = (tuple(sorted(params.items())), data_version(store))

    def compute() -> dict[str, pd.DataFrame]:
        problems = store.read_layer("problems")
        area = study_area(store, columns=["name"])
        return hotspot_layers(problems, area=area, timezone=get_settings().timezone, **params)

    return dict(_cache(store, "hotspots").get(key, compute))


def area_of(
    results: dict[str, pd.DataFrame], *, community: str | None = None, grid: str | None = None
) -> Any:
    """The area a map is restricted to: one grid, or the grids of one community.

    Parameters
    ----------
    results
        What :func:`check_results` returned (its ``summary_grids`` is used).
    community, grid
        Codes; None for no restriction.

    Returns
    -------
    shapely.Geometry or None
        The union of the selected grids (None when nothing is selected).

    Raises
    ------
    gridgeo.errors.NotFound
        No grid has that code, or no grid belongs to that community.
    """
    import shapely

    from gridgeo.errors import NotFound

    if community is None and grid is None:
        return None
    grids = results["summary_grids"]
    keep = pd.Series(True, index=grids.index)
    if community is not None:
        keep &= grids["community"].astype(str) == community
        if not keep.any():
            raise NotFound(f"no grid belongs to community {community!r}")
    if grid is not None:
        keep &= grids["code"].astype(str) == grid
        if not keep.any():
            where = f" in community {community!r}" if community is not None else ""
            raise NotFound(f"no grid {grid!r}{where}")
    return shapely.union_all(grids.geometry[keep].to_numpy())
