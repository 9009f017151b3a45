"""The change counter of a PostGIS store, kept current by ``LISTEN/NOTIFY``.

Every commit that bumps ``data_versions`` sends a notification on :data:`CHANNEL` whose
payload is the new total (a deferred trigger, migration ``0006``, so writes of any
client notify, and only when they commit). A :class:`VersionListener` is one thread
with a connection of its own that listens on that channel and keeps the newest
version known, so a service process learns of writes committed by the others without
a query per request. SQLite has no notifications: its readers keep reading the counter.

What the listener's number guarantees
-------------------------------------
``LISTEN`` is issued before the counter is read, at every (re)connection: a commit
before that read is in the read, and a commit after it sends a notification this
connection receives (PostgreSQL delivers a notification only after its transaction's
commit is visible to a new snapshot). Each batch of notifications is followed by a
read of the counter on the same connection, so the number is exact even when two
transactions bump different layers at once (each notifies the total *it* saw, which
may miss the other's bump; the read after both does not). The number therefore is

* never ahead of the store: it only ever comes from committed data;
* never older than a commit whose notification was received, i.e. behind the store
  only by the delivery time of the newest notifications (about a millisecond here,
  see ``benchmarks/README.md``);
* trusted (:meth:`VersionListener.known` gives it) only while the connection is up
  and has been read since it was last (re)connected. Between a lost connection and
  the next successful read it is not given at all: the caller reads the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BUMPED", "CHANNEL", "VersionListener", "conninfo_of", "read_then"]

#: The notification channel of the change counter (see migration ``0006``).
CHANNEL = "gridgeo_data_version"
#: Set in a connection's ``info`` by :meth:`gridgeo.store.Store.bump_version`: this
#: connection's transaction bumped the counter (the service counts a local write when
#: the connection goes back to its pool, after the commit).
BUMPED = "gridgeo.bumped_version"
#: The trigger that sends the notifications (its absence: nothing to listen for).
TRIGGER = "gridgeo_data_version_notify"

_log = logging.getLogger("gridgeo.store.notify")

_TOTAL_SQL = "SELECT coalesce(sum(version), 0)::bigint FROM data_versions"
_TRIGGER_SQL = "SELECT count(*) FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal"


def conninfo_of(url: str) -> str | None:
    """The libpq connection string of a PostgreSQL store URL (None: another store)."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class VersionListener:
    """One thread that keeps the newest committed data version of a PostGIS store.

    Parameters
    ----------
    conninfo
        The database to listen to (:func:`conninfo_of`).
    application_name
        How the connection shows in ``pg_stat_activity`` (default:
        ``gridgeo-versions-<pid>``).
    poll_seconds
        How often the thread looks up from waiting (to stop, or to look for the
        trigger again when the schema did not have it yet).
    retry_seconds
        How long it waits before connecting again after the connection was lost.

    Notes
    -----
    Writes this process commits itself are counted with :meth:`local_write` (the
    service does it when a connection that bumped the counter goes back to its pool):
    until a read that started after such a write is observed, :meth:`known` gives
    nothing, so a process always sees its own writes at once, without waiting for
    their notification.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        application_name: str | None = None,
        poll_seconds: float = 0.25,
        retry_seconds: float = 1.0,
    ) -> None:
        import os

        self.conninfo = conninfo
        self.application_name = application_name or f"gridgeo-versions-{os.getpid()}"
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._value = 0
        self._healthy = False
        self._local = 0  # writes this process committed
        self._local_seen = 0  # of which a read after them was observed
        self._pending = False  # a notification came since the last read
        self.connections = 0  # how many times the listener (re)connected
        self.notifications = 0
        self.reads = 0  # counter reads made by the listener itself
        self.backend_pid: int | None = None

    # -- what requests ask ------------------------------------------------------------
    def known(self) -> int | None:
        """The newest committed version, or None when the caller must read the store."""
        with self._lock:
            if not self._healthy or self._local_seen < self._local:
                return None
            return self._value

    def local_write(self) -> None:
        """Count a write this process committed (its notification may still be on its way)."""
        with self._lock:
            self._local += 1

    def local_writes(self) -> int:
        """How many writes this process committed (take it *before* reading the store)."""
        with self._lock:
            return self._local

    def observe(self, version: int, local_writes: int | None = None) -> None:
        """A version read from the store, after ``local_writes`` (see :meth:`local_writes`)."""
        with self._lock:
            self._value = max(self._value, int(version))
            if local_writes is not None:
                self._local_seen = max(self._local_seen, local_writes)

    @property
    def healthy(self) -> bool:
        """Whether the connection is up and was read since it was (re)connected."""
        with self._lock:
            return self._healthy

    # -- the thread ------------------------------------------------------------------
    def start(self) -> VersionListener:
        """Start listening in a daemon thread (it connects, and reconnects, on its own)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="gridgeo-version-listener", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop listening and close the connection (waits up to ``timeout`` seconds)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_healthy(False)

    def wait_healthy(self, timeout: float) -> bool:
        """Wait until :attr:`healthy` (for tests and start-up checks); whether it is."""
        import time

        deadline = time.monotonic() + timeout
        while not self.healthy:
            if time.monotonic() > deadline or self._stopping.is_set():
                return False
            time.sleep(0.01)
        return True

    def _set_healthy(self, healthy: bool) -> None:
        with self._lock:
            self._healthy = healthy

    def _run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                self._listen(psycopg)
            except psycopg.Error as exc:
                self._set_healthy(False)
                _log.warning("version listener lost its connection (%s); reconnecting", exc)
            except Exception:  # never let the thread die: requests then read the store
                self._set_healthy(False)
                _log.exception("version listener failed; reconnecting")
            self._stopping.wait(self.retry_seconds)

    def _listen(self, psycopg: Any) -> None:
        with psycopg.connect(
            self.conninfo,
            autocommit=True,
            application_name=self.application_name,
            connect_timeout=10,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        ) as conn:
            conn.execute(f"LISTEN {CHANNEL}")  # before the read: no commit falls between
            with self._lock:
                self.connections += 1
                self.backend_pid = conn.info.backend_pid
            has_trigger = self._has_trigger(conn)
            if has_trigger:
                self._read(conn, become_healthy=True)
            else:
                _log.warning(
                    "no %s trigger in the database (run `gridgeo db upgrade`): "
                    "requests read the data version from the store",
                    TRIGGER,
                )
            while not self._stopping.is_set():
                # notifications that came during a read were kept by psycopg: they
                # come first, at once
                for notify in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                    self._on_notify(notify)
                if self._pending:  # the rest of a burst, so one read answers for all
                    for notify in conn.notifies(timeout=0):
                        self._on_notify(notify)
                if not has_trigger:  # e.g. the schema was made after we connected
                    has_trigger = self._has_trigger(conn)
                    if has_trigger:
                        self._read(conn, become_healthy=True)
                    continue
                while self._pending and not self._stopping.is_set():
                    self._read(conn)
        self._set_healthy(False)

    def _has_trigger(self, conn: Any) -> bool:
        return int(conn.execute(_TRIGGER_SQL, (TRIGGER,)).fetchone()[0]) > 0

    def _read(self, conn: Any, *, become_healthy: bool = False) -> None:
        with self._lock:
            self._pending = False  # notifications from now on need another read
        row = conn.execute(_TOTAL_SQL).fetchone()
        with self._lock:
            self.reads += 1
            self._value = max(self._value, int(row[0]))
            if become_healthy:
                self._healthy = True

    def _on_notify(self, notify: Any) -> None:
        with self._lock:
            self.notifications += 1
            self._pending = True
            try:
                self._value = max(self._value, int(notify.payload))
            except ValueError:  # a NOTIFY by hand without a number: the read tells
                pass


def read_then(listener: VersionListener | None, read: Callable[[], int]) -> int:
    """``read()`` the store's version, telling ``listener`` what was read (and after what)."""
    if listener is None:
        return read()
    before = listener.local_writes()
    value = read()
    listener.observe(value, before)
    return value
