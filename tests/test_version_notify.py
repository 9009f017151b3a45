"""Several service processes on one PostGIS store see each other's writes.

The data-version bump notifies on commit (migration ``0006``); each ``gridgeo serve``
process listens (:class:`gridgeo.store.notify.VersionListener`) and keys its caches on
the newest version notified, reading the store instead whenever its listener cannot
vouch for the number. The first tests run on the library; the last ones start real
uvicorn processes on the sample district and write through one of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from conftest import ROOT

from gridgeo.store import Store, open_store
from gridgeo.store.notify import CHANNEL, VersionListener, conninfo_of

#: How long a write committed through one process may take to show in another.
WITHIN_S = 1.0


def _listen(url: str) -> psycopg.Connection:
    conn = psycopg.connect(conninfo_of(url), autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _payloads(conn: psycopg.Connection, timeout: float) -> list[int]:
    return [int(n.payload) for n in conn.notifies(timeout=timeout)]


def _wait(condition, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.005)
    return time.monotonic() - start


@pytest.fixture
def empty_store(fresh_postgis: str) -> Iterator[Store]:
    s = open_store(fresh_postgis)  # migrated to the head revision
    try:
        yield s
    finally:
        s.close()


# -- the notification ------------------------------------------------------------------


def test_the_notification_carries_the_version_the_bump_produced(
    fresh_postgis: str, empty_store: Store
) -> None:
    listening = _listen(fresh_postgis)
    try:
        with empty_store.engine.connect() as conn:
            conn.begin()
            Store.bump_version(conn, ["visits", "meetings"])
            assert _payloads(listening, 0.3) == []  # nothing before the commit
            conn.commit()
        # one notification for the transaction's two layers, with the new total
        assert _payloads(listening, 0.5) == [empty_store.data_version()] == [2]
        with empty_store.engine.connect() as conn:
            conn.begin()
            Store.bump_version(conn, ["visits"])
            conn.rollback()
        assert _payloads(listening, 0.3) == []  # a rolled back bump tells nobody
        # any client's write notifies, not only gridgeo's
        with empty_store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE data_versions SET version = version + 5"))
        assert _payloads(listening, 0.5) == [empty_store.data_version()] == [12]
    finally:
        listening.close()


def test_the_trigger_is_dropped_by_the_downgrade(fresh_postgis: str, empty_store: Store) -> None:
    empty_store.downgrade("0005")
    listening = _listen(fresh_postgis)
    try:
        with empty_store.engine.begin() as conn:
            Store.bump_version(conn, ["visits"])
        assert _payloads(listening, 0.3) == []
        empty_store.upgrade()
        with empty_store.engine.begin() as conn:
            Store.bump_version(conn, ["visits"])
        assert _payloads(listening, 0.5) == [2]
    finally:
        listening.close()


# -- the listener ----------------------------------------------------------------------


@contextmanager
def _listener(url: str) -> Iterator[VersionListener]:
    listener = VersionListener(conninfo_of(url), poll_seconds=0.1).start()
    try:
        assert listener.wait_healthy(10), "the listener did not connect"
        yield listener
    finally:
        listener.stop()


def test_the_listener_follows_commits_and_never_runs_ahead(
    fresh_postgis: str, empty_store: Store
) -> None:
    with _listener(fresh_postgis) as listener:
        assert listener.known() == 0
        with empty_store.engine.connect() as conn:
            conn.begin()
            Store.bump_version(conn, ["visits"])
            time.sleep(0.3)
            assert listener.known() == 0  # not before the commit
            conn.commit()
        _wait(lambda: listener.known() == 1, WITHIN_S, "the commit's notification")


def test_concurrent_bumps_of_two_layers_end_at_the_true_total(
    fresh_postgis: str, empty_store: Store
) -> None:
    """Each transaction notifies the total it saw (3 and 3): the listener still says 4.

    gridgeo's own writers take a transaction lock before they bump, so they never both
    see the same sum; another client updating ``data_versions`` takes none, and that is
    the case here (bumping through :meth:`Store.bump_version` on both connections would
    wait for the first commit, from this one thread, forever).
    """
    with empty_store.engine.begin() as conn:
        Store.bump_version(conn, ["visits", "meetings"])
    listening = _listen(fresh_postgis)
    unlocked_bump = sa.text("UPDATE data_versions SET version = version + 1 WHERE layer = :layer")
    try:
        with _listener(fresh_postgis) as listener:
            assert listener.known() == 2
            first, second = empty_store.engine.connect(), empty_store.engine.connect()
            first.begin()
            second.begin()
            # both triggers run before either commit (as at two simultaneous commits)
            for conn, layer in ((first, "visits"), (second, "meetings")):
                conn.execute(sa.text("SET lock_timeout = '5s'"))
                conn.execute(unlocked_bump, {"layer": layer})
                conn.execute(sa.text("SET CONSTRAINTS gridgeo_data_version_notify IMMEDIATE"))
            first.commit()
            second.commit()
            first.close()
            second.close()
            assert empty_store.data_version() == 4
            assert sorted(_payloads(listening, 0.5)) == [3, 3]  # neither saw the other's
            _wait(lambda: listener.known() == 4, WITHIN_S, "the listener's read after both")
    finally:
        listening.close()


def test_two_gridgeo_writes_at_once_each_get_a_version_of_their_own(
    fresh_postgis: str, empty_store: Store
) -> None:
    """The second writer waits for the first one's commit, then counts on top of it."""
    first = empty_store.engine.connect()
    first.begin()
    mine = Store.bump_version(first, ["visits"])
    theirs: list = []

    def other_writer() -> None:
        with empty_store.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            theirs.append(Store.bump_version(conn, ["meetings"]))

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        time.sleep(0.3)
        assert theirs == []  # waiting for the first writer's commit
    finally:
        first.commit()
        first.close()
        thread.join(15)
    assert not thread.is_alive()
    assert (mine.version, [t.version for t in theirs]) == (1, [2])
    assert empty_store.data_version() == 2
    # the server's clock, read after the lock: the later version has the later time
    assert mine.changed_at is not None and theirs[0].changed_at > mine.changed_at


def test_a_lost_connection_is_not_trusted_until_read_again(
    fresh_postgis: str, empty_store: Store
) -> None:
    with _listener(fresh_postgis) as listener:
        pid = listener.backend_pid
        with empty_store.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _wait(lambda: listener.known() is None, WITHIN_S, "noticing the lost connection")
        with empty_store.engine.begin() as conn:  # missed: nobody was listening
            Store.bump_version(conn, ["visits"])
        _wait(lambda: listener.known() == 1, 5, "reconnecting and reading the store")
        assert listener.connections == 2 and listener.backend_pid != pid


def test_the_listener_waits_for_the_schema(fresh_postgis: str) -> None:
    """Started on an empty database, it trusts nothing until the trigger exists."""
    listener = VersionListener(conninfo_of(fresh_postgis), poll_seconds=0.1).start()
    try:
        time.sleep(0.5)
        assert listener.connections == 1 and listener.known() is None
        s = open_store(fresh_postgis)
        try:
            with s.engine.begin() as conn:
                Store.bump_version(conn, ["visits"])
            _wait(lambda: listener.known() == 1, 5, "finding the trigger")
        finally:
            s.close()
    finally:
        listener.stop()


# -- one service process, in this process ---------------------------------------------


@contextmanager
def _app(url: str, listener: bool) -> Iterator[tuple[object, Store]]:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.state import app_store
    from gridgeo.settings import Settings

    app = create_app(Settings(database_url=url, version_listener=listener))
    with TestClient(app):
        store = app_store(app)
        if listener:
            assert app.state.version_listener.wait_healthy(10)
        yield app, store


@pytest.mark.parametrize("listener", [True, False])
def test_a_healthy_listener_saves_the_version_queries(
    fresh_postgis: str, empty_store: Store, listener: bool
) -> None:
    from api import analysis_cache

    with _app(fresh_postgis, listener) as (_, store):
        before = analysis_cache.version_reads()
        versions = {analysis_cache.data_version(store) for _ in range(1000)}
        made = analysis_cache.version_reads() - before
    assert versions == {0}
    assert made == (0 if listener else 1000)


def test_a_process_sees_its_own_write_before_its_notification(
    fresh_postgis: str, empty_store: Store
) -> None:
    """Without the trigger no notification comes: the local write alone forces a read."""
    from api import analysis_cache

    with _app(fresh_postgis, True) as (_, store):
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER gridgeo_data_version_notify ON data_versions"))
        assert analysis_cache.data_version(store) == 0
        with store.engine.begin() as conn:
            store.bump_version(conn, ["visits"])
        assert analysis_cache.data_version(store) == 1
        before = analysis_cache.version_reads()
        assert analysis_cache.data_version(store) == 1  # read once, then trusted again
        assert analysis_cache.version_reads() == before
        other = open_store(fresh_postgis)  # another engine of the same process
        try:
            with other.engine.begin() as conn:
                other.bump_version(conn, ["meetings"])
        finally:
            other.close()
        assert analysis_cache.data_version(store) == 2


# -- several uvicorn processes on one store --------------------------------------------

pytestmark_postgis = pytest.mark.parametrize("sample_store_url", ["postgis"], indirect=True)


class Served:
    """A ``uvicorn api.main:app`` process: its base URL and process."""

    def __init__(self, base: str, proc: subprocess.Popen[bytes]) -> None:
        self.base, self.proc = base, proc


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(url: str, log: Path) -> Iterator[Served]:
    port = _free_port()
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url, "GRIDGEO_AUTH": "on"}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Served(base, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _served_version(client: httpx.Client, served: Served, token: str) -> int:
    """The data version a process keys its answers on: TileJSON's ``?v=``."""
    r = client.get(
        f"{served.base}/tiles/buildings.json", headers={"Authorization": f"Bearer {token}"}
    )
    r.raise_for_status()
    found = re.search(r"[?&]v=(\d+)", r.json()["tiles"][0])
    assert found is not None
    return int(found.group(1))


def _query(url: str, sql: str, *params: object) -> object:
    with psycopg.connect(conninfo_of(url), autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _store_version(url: str) -> int:
    return int(_query(url, "SELECT coalesce(sum(version), 0) FROM data_versions"))  # type: ignore[arg-type]


def _listener_pid(url: str, served: Served) -> int | None:
    """The backend of ``served``'s listener (its application name carries the process id)."""
    pid = _query(
        url,
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
        "AND datname = current_database()",
        f"gridgeo-versions-{served.proc.pid}",
    )
    return None if pid is None else int(pid)  # type: ignore[call-overload]


def _write_visit(client: httpx.Client, served: Served, people: dict) -> None:
    r = client.post(
        f"{served.base}/visits",
        json={"household": people["own"]["member"], "note": f"notify {uuid.uuid4().hex[:6]}"},
        headers={
            "Authorization": f"Bearer {people['tokens']['member']}",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def two_servers(
    people: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, Served]]:
    logs = tmp_path_factory.mktemp("uvicorn")
    with _serve(people["url"], logs / "a.log") as a, _serve(people["url"], logs / "b.log") as b:
        for served in (a, b):  # each has a listener of its own, connected
            _wait(lambda s=served: _listener_pid(people["url"], s) is not None, 10, "LISTEN")
        yield a, b


@pytestmark_postgis
def test_a_write_through_one_process_shows_in_the_other(two_servers, people) -> None:
    a, b = two_servers
    leader = people["tokens"]["leader"]
    with httpx.Client(timeout=60) as client:
        assert _served_version(client, b, leader) == _store_version(people["url"])
        for _ in range(3):
            _write_visit(client, a, people)
            written = _store_version(people["url"])
            assert _served_version(client, a, leader) == written  # its own write: at once
            _wait(
                lambda w=written: _served_version(client, b, leader) == w,
                WITHIN_S,
                "the write through A showing in B",
            )


def _source(client: httpx.Client, served: Served) -> str:
    """Where ``served`` takes its data version from now (``/health``'s ``versions``)."""
    return str(client.get(f"{served.base}/health").json()["versions"])


@pytestmark_postgis
def test_a_process_whose_listener_is_cut_off_never_goes_back(two_servers, people) -> None:
    a, b = two_servers
    leader = people["tokens"]["leader"]
    seen: list[tuple[int, int]] = []  # (version B answered, store's version after it)
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(timeout=60) as watcher:
            while not stop.is_set():
                answered = _served_version(watcher, b, leader)
                seen.append((answered, _store_version(people["url"])))

    watching = threading.Thread(target=watch)
    watching.start()
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(3):
                _wait(lambda: _source(client, b) == "notified", 10, "B listening")
                pid = _listener_pid(people["url"], b)
                assert pid is not None
                assert _query(people["url"], "SELECT pg_terminate_backend(%s)", pid) is True
                _wait(lambda: _source(client, b) == "read", WITHIN_S, "B noticing the loss")
                _write_visit(client, a, people)  # while B's listener is down
                written = _store_version(people["url"])
                # nobody notified B: it reads the store, so the write shows at once
                assert _served_version(client, b, leader) == written
                _wait(lambda: _source(client, b) == "notified", 10, "B's listener reconnecting")
                assert _listener_pid(people["url"], b) not in (None, pid)
                _write_visit(client, a, people)  # and after it is back
                written = _store_version(people["url"])
                _wait(
                    lambda w=written: _served_version(client, b, leader) == w,
                    WITHIN_S,
                    "the write showing in B after its listener came back",
                )
    finally:
        stop.set()
        watching.join()
    answers = [v for v, _ in seen]
    assert len(answers) > 10
    assert answers == sorted(answers), "B answered with an older version than before"
    assert all(v <= after for v, after in seen), "B answered ahead of the store"


@pytestmark_postgis
def test_a_process_started_late_has_the_current_version(two_servers, people, tmp_path) -> None:
    a, _ = two_servers
    with httpx.Client(timeout=60) as client:
        _write_visit(client, a, people)
        written = _store_version(people["url"])
        with _serve(people["url"], tmp_path / "late.log") as late:
            assert _served_version(client, late, people["tokens"]["leader"]) == written
