"""Where a request's data version comes from: the process's listener, or the store.

On PostGIS each service process runs one :class:`gridgeo.store.notify.VersionListener`
(started and stopped with the application's lifespan, ``GRIDGEO_VERSION_LISTENER``).
While it is healthy, the version a request keys its caches on is the listener's
number, taken without a query; at start-up, after a lost connection and until the
next read, and after a write this process committed until a read after it, requests
read the version from the store (:func:`api.data_stamps.data_version`). SQLite has
no notifications: there every request reads the version (shared between concurrent
requests, as before).

A write this process commits is counted when the connection that bumped the counter
goes back to its pool (after its commit, before the route answers; any engine of the
process), so a process sees its own writes at once; other processes' writes arrive by
notification.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import sqlalchemy as sa

from gridgeo.store import Store
from gridgeo.store.notify import BUMPED, VersionListener, conninfo_of

__all__ = ["attach", "listener_of", "start_listener"]

_listeners: weakref.WeakKeyDictionary[Store, VersionListener] = weakref.WeakKeyDictionary()


def start_listener(database_url: str, enabled: bool) -> VersionListener | None:
    """The process's listener of a PostGIS ``database_url``, started (None: none).

    None when ``enabled`` is off or the store is not PostGIS (SQLite has no
    notifications).
    """
    conninfo = conninfo_of(database_url)
    if not enabled or conninfo is None:
        return None
    return VersionListener(conninfo).start()


def attach(store: Store, listener: VersionListener | None) -> None:
    """Make ``listener`` the version source of ``store``."""
    if listener is None:
        return
    _listeners[store] = listener
    with _lock:
        _counting.add(listener)
        _count_local_writes()


#: The listeners that count this process's writes.
_counting: weakref.WeakSet[VersionListener] = weakref.WeakSet()
_hooked = False
_lock = threading.Lock()


def _checkin(_dbapi_connection: Any, record: Any) -> None:
    """A connection back in its pool: if its transaction bumped the version, count it."""
    if record is not None and record.info.pop(BUMPED, False):
        with _lock:
            counting = list(_counting)
        for listener in counting:
            listener.local_write()


def _count_local_writes() -> None:
    """Count the writes of every engine of this process, not only the app's store's.

    A write committed through another engine of this process (a second store on the
    same database, a command run in-process) is then seen at once too, without
    waiting for its notification. A write to another database costs one extra read.
    """
    global _hooked
    if not _hooked:
        sa.event.listen(sa.pool.Pool, "checkin", _checkin)
        _hooked = True


def listener_of(store: Store) -> VersionListener | None:
    """The listener attached to ``store`` (None: read the version from the store)."""
    return _listeners.get(store)
