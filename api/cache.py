"""The service's memory caches: one implementation, bounded, least recently used out first.

Every cache of the service is a :class:`BoundedCache` (``cachetools.LRUCache`` behind a
lock), bounded in entries or, with a ``sizeof``, in bytes:

- :class:`BytesCache`: encoded tiles and images, each kept with the data version it was
  made at (:mod:`api.tiles.caching`);
- :class:`Memo`: computed values (the check's results, the hotspot layers, layers in
  memory, reports), each computed once at a time per key (:mod:`api.analysis_cache`);
- :class:`Newest`: the newest result of a computation made per data version (the
  check, the hotspots), at most one computation running at a time;
- the finished tile responses of :mod:`api.fastpath`.

Caches belong to a store (:func:`store_cache`): they go with it, and two stores never
share one. Their sizes are settings (:class:`gridgeo.settings.CacheSettings`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import cachetools

from gridgeo.store import Store

__all__ = ["BoundedCache", "BytesCache", "Memo", "Newest", "store_cache"]

T = TypeVar("T")


class BoundedCache:
    """A thread-safe LRU cache holding at most ``limit`` entries (or bytes, with ``sizeof``).

    Parameters
    ----------
    limit
        The most entries kept, or with ``sizeof`` the most of their summed sizes.
    sizeof
        The size of one value (None: each counts 1).

    Examples
    --------
    >>> cache = BoundedCache(2)
    >>> for key in "abc":
    ...     cache.put(key, key.upper())
    >>> cache.get("a"), cache.get("c")
    (None, 'C')
    """

    def __init__(self, limit: int, sizeof: Callable[[Any], int] | None = None) -> None:
        self.limit = limit
        self.items: cachetools.LRUCache[Hashable, Any] = cachetools.LRUCache(
            maxsize=limit, getsizeof=sizeof
        )
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def size(self) -> int:
        """The summed size of the entries kept."""
        return int(self.items.currsize)

    def get(self, key: Hashable) -> Any:
        """The value of ``key`` (None: nothing kept), now the most recently used."""
        with self.lock:
            return self.items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` (a value larger than the whole cache is not kept)."""
        with self.lock:
            self.items.pop(key, None)
            try:
                self.items[key] = value
            except ValueError:  # larger than the limit
                pass

    def pop(self, key: Hashable) -> Any:
        """Drop the entry of ``key`` and return its value (None: nothing kept)."""
        with self.lock:
            return self.items.pop(key, None)


#: What an entry of a :class:`BytesCache` costs beyond its bytes (key, tag, bookkeeping).
ENTRY_OVERHEAD = 100


class BytesCache(BoundedCache):
    """Encoded tiles or images, bounded in bytes.

    An entry may carry a ``tag`` (the data version a tile was made at): :meth:`get`
    with a tag answers only an entry made with that tag, and :meth:`newest` tells which
    tag the kept entry has, so one key holds the newest tile rather than one per version.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(limit, sizeof=lambda entry: len(entry[1]) + ENTRY_OVERHEAD)

    def get(self, key: Hashable, tag: Hashable = None) -> bytes | None:
        """The entry of ``key`` if it was made with ``tag``."""
        found = self.newest(key)
        return found[1] if found is not None and found[0] == tag else None

    def newest(self, key: Hashable) -> tuple[Hashable, bytes] | None:
        """The entry of ``key`` with its tag (None: nothing kept)."""
        return super().get(key)  # type: ignore[no-any-return]

    def put(self, key: Hashable, data: bytes, tag: Hashable = None) -> None:  # type: ignore[override]
        """Keep ``data`` for ``key``, in place of an entry with another tag."""
        super().put(key, (tag, data))


class Memo:
    """Computed values, at most ``size`` kept, with one computation per key at a time.

    Concurrent callers of one key wait for the first one's computation instead of
    running it side by side.
    """

    def __init__(self, size: int) -> None:
        self.values = BoundedCache(size)
        self.lock = threading.Lock()
        self.pending: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``, made by ``compute()`` when none is kept."""
        with self.lock:
            if key in self.values.items:
                return self.values.get(key)  # type: ignore[no-any-return]
            running = self.pending.setdefault(key, threading.Lock())
        with running:
            with self.lock:
                if key in self.values.items:
                    return self.values.get(key)  # type: ignore[no-any-return]
            value = compute()
            with self.lock:
                self.values.put(key, value)
                self.pending.pop(key, None)
            return value


class Newest:
    """The newest result of a computation made per data version, one computation at a time.

    While field writes arrive, every request may see a new data version; computing
    each version's results side by side would start as many checks of the whole store
    as there are requests (each the size of the check in memory). Here a caller that
    finds no result of the version it saw waits for the computation running now; when
    that one is of its version or newer it takes its result, otherwise the first
    waiter computes the version then current, and the others share it. So at most one
    computation runs per key, a caller never gets results older than the version it saw,
    and under a stream of writes a caller waits at most for two computations.

    ``compute()`` returns ``(version, value)``: it reads the version itself, so a
    computation that starts after a caller's read is of that version or a newer one.

    Examples
    --------
    >>> newest = Newest()
    >>> newest.get(3, lambda: (4, "results of version 4"))
    (4, 'results of version 4')
    >>> newest.get(4, lambda: (5, "not computed: version 4 is there"))
    (4, 'results of version 4')
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.running = False
        self.latest: tuple[int, Any] | None = None
        #: computations made (for the tests and benchmarks)
        self.computations = 0

    def get(self, version: int, compute: Callable[[], tuple[int, T]]) -> tuple[int, T]:
        """A result of ``version`` or newer: the newest kept, else one computed now."""
        with self.cond:
            while True:
                if self.latest is not None and self.latest[0] >= version:
                    return self.latest  # type: ignore[return-value]
                if not self.running:
                    break
                self.cond.wait()
            self.running = True
            self.computations += 1
        try:
            made = compute()
        except BaseException:
            with self.cond:
                self.running = False
                self.cond.notify_all()
            raise
        with self.cond:
            self.running = False
            if self.latest is None or made[0] >= self.latest[0]:
                self.latest = made
            self.cond.notify_all()
        return made


_caches: weakref.WeakKeyDictionary[Store, dict[str, Any]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def store_cache(store: Store, kind: str, make: Callable[[], T]) -> T:
    """The store's cache of one kind, made by ``make()`` on first use."""
    with _caches_lock:
        per_store = _caches.setdefault(store, {})
        cache = per_store.get(kind)
        if cache is None:
            cache = per_store[kind] = make()
        return cache  # type: ignore[no-any-return]
