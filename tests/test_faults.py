"""Field writes under faults: PostgreSQL and the service killed mid-load, nothing lost or doubled.

The test starts a PostgreSQL cluster of its own (initdb into a temporary folder, its
own port) and a real ``uvicorn api.main:app`` on it, loads the sample district and
sends visit writes from several threads the way a field app does: every write has
its own ``Idempotency-Key`` and is retried, with the same key and body, until the
service acknowledges it. While the writes run, the PostgreSQL server is killed with
SIGKILL (every process of it) and started again, then the service is killed the
same way and started again. Afterwards every acknowledged write is in the store
exactly once, with the code it was acknowledged with, and every write was in the end
acknowledged.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import ROOT, need

from gridgeo.access import create_token
from gridgeo.store import open_store

BIN = Path("/usr/lib/postgresql/15/bin")
WRITES = int(os.environ.get("GRIDGEO_FAULT_WRITES", "240"))
THREADS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True)


class Cluster:
    """A PostgreSQL server of the test's own, which the test may kill and start again."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.port = _free_port()
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        _as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.log = root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/faults"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                     str(self.log), "-w", "-t", "120", "start")  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: a crash, not a shutdown."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        for p in [pid, *map(int, children.stdout.split())]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = subprocess.run(["pgrep", "-f", str(self.data)], capture_output=True)
            if alive.returncode != 0:
                break
            time.sleep(0.2)
        # the dead postmaster may linger as a zombie nobody reaps, which the next start
        # would take for a running server
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.data.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def stop(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D",
                        str(self.data), "-m", "immediate", "stop"], capture_output=True)  # fmt: skip


class Service:
    """``uvicorn api.main:app`` on the cluster, which the test may kill and start again."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.port, self.log = url, _free_port(), log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "GRIDGEO_DATABASE_URL": self.url, "GRIDGEO_AUTH": "on"}
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                 "--port", str(self.port)], cwd=ROOT, env=env, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the service did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture(scope="module")
def cluster(sample_frames: dict) -> Iterator[Cluster]:
    if not (BIN / "initdb").is_file() or shutil.which("pgrep") is None:
        need("PostgreSQL 15 server binaries", "scripts/postgis.sh installs them")
    # not under pytest's folder: the postgres user must be able to reach the data folder
    root = Path(tempfile.mkdtemp(prefix="gridgeo-faults-"))
    c = Cluster(root)
    c.start()
    try:
        admin = sa.create_engine(
            c.url.replace("/faults", "/postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE faults"))
        admin.dispose()
        store = open_store(c.url)
        try:
            store.write_layers(sample_frames, source="sample")
        finally:
            store.close()
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def _member_and_households(url: str) -> tuple[str, list[str]]:
    store = open_store(url)
    try:
        a = store.read_layer("assignments", geometry=False)
    finally:
        store.close()
    today = pd.Timestamp(dt.date.today())
    open_rows = a[(a["kind"] == "member_household") & (a["valid_to"].isna())]
    open_rows = open_rows[open_rows["valid_from"] <= today]
    member = open_rows["member"].value_counts().index[0]
    return member, sorted(open_rows.loc[open_rows["member"] == member, "household"])


def test_every_acknowledged_write_is_stored_once_through_database_and_service_crashes(
    cluster: Cluster, tmp_path: Path
) -> None:
    member, households = _member_and_households(cluster.url)
    store = open_store(cluster.url)
    try:
        token, _ = create_token(store, "member", member=member)
    finally:
        store.close()
    service = Service(cluster.url, tmp_path / "service.log")
    service.start()
    run = uuid.uuid4().hex[:8]
    bodies = [
        {"household": households[i % len(households)], "note": f"fault {run} {i}"}
        for i in range(WRITES)
    ]
    keys = [uuid.uuid4().hex for _ in range(WRITES)]
    acknowledged: dict[int, str] = {}
    attempts = [0] * WRITES
    lock = threading.Lock()
    stop = threading.Event()

    def write(i: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": keys[i]}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not stop.is_set():
            attempts[i] += 1
            try:
                r = httpx.post(
                    f"{service.base}/visits", json=bodies[i], headers=headers, timeout=20
                )
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if r.status_code in (200, 201):
                with lock:
                    acknowledged[i] = r.json()["properties"]["code"]
                return
            assert r.status_code in (502, 503), (r.status_code, r.text)
            time.sleep(0.2)

    def worker(start: int) -> None:
        for i in range(start, WRITES, THREADS):
            write(i)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    faults = []
    try:
        for share, fault in ((0.25, "database"), (0.6, "service")):
            while len(acknowledged) < share * WRITES and any(t.is_alive() for t in threads):
                time.sleep(0.05)
            faults.append((fault, len(acknowledged)))
            if fault == "database":
                cluster.kill()
                time.sleep(1)
                cluster.start()
            else:
                service.kill()  # writes in flight fail and are retried until it is back
                service.start()
    except BaseException:
        stop.set()
        raise
    finally:
        for t in threads:
            t.join(400)
        service.kill()

    assert len(acknowledged) == WRITES, f"{WRITES - len(acknowledged)} writes never acknowledged"
    engine = sa.create_engine(cluster.url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT note, code, count(*) OVER (PARTITION BY note) FROM visits "
                    "WHERE note LIKE :run"), {"run": f"fault {run} %"},
        ).all()  # fmt: skip
    engine.dispose()
    by_note = {note: (code, n) for note, code, n in stored}
    doubled = [note for note, (_, n) in by_note.items() if n > 1]
    assert not doubled, f"stored more than once: {doubled[:5]}"
    for i, code in acknowledged.items():
        assert by_note.get(bodies[i]["note"], (None,))[0] == code, f"write {i} lost"
    assert len(stored) == WRITES
    retried = sum(1 for n in attempts if n > 1)
    print(f"faults at {faults}; {WRITES} writes acknowledged, {len(stored)} stored, "
          f"0 lost, 0 doubled; {retried} retried")  # fmt: skip


BATCH = int(os.environ.get("GRIDGEO_FAULT_BATCH", "150"))


def _stored_batch(url: str, run: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT uuid, count(*) FROM visits WHERE note LIKE :run GROUP BY uuid"),
                {"run": f"batch {run} %"},
            ).all()
    finally:
        engine.dispose()
    return {u: int(n) for u, n in rows}


def _send_batch(base: str, token: str, items: list[dict]) -> dict | None:
    """One try of the batch: its answer, or None when the connection broke."""
    try:
        r = httpx.post(f"{base}/batch", json={"items": items},
                       headers={"Authorization": f"Bearer {token}"}, timeout=300)  # fmt: skip
    except httpx.HTTPError:
        return None
    if r.status_code in (502, 503):
        return None
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def _cut_off(fault: str, cluster: Cluster, service: Service, token: str, items: list[dict],
             run: str) -> tuple[set[int], int]:  # fmt: skip
    """Send the batch and kill the service or the database once some items are stored.

    Returns the items the client saw acknowledged and how many were stored at the cut.
    """
    answer: list[dict | None] = []
    sender = threading.Thread(target=lambda: answer.append(_send_batch(service.base, token, items)))
    sender.start()
    deadline = time.monotonic() + 300
    while len(_stored_batch(cluster.url, run)) < len(items) // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    at_cut = len(_stored_batch(cluster.url, run))
    if fault == "service":
        service.kill()
    else:
        cluster.kill()
        time.sleep(1)
        cluster.start()
    sender.join(400)
    if fault == "service":
        service.start()
    seen = answer[0] if answer else None
    acked = set()
    if seen is not None:
        acked = {i for i, o in enumerate(seen["items"]) if o["status"] == 201}
        assert all(o["status"] in (201, 503) for o in seen["items"]), seen["items"]
    return acked, at_cut


@pytest.mark.parametrize("fault", ["service", "database"])
def test_a_batch_cut_off_in_the_middle_is_stored_once_when_sent_again(
    cluster: Cluster, tmp_path: Path, fault: str
) -> None:
    member, households = _member_and_households(cluster.url)
    store = open_store(cluster.url)
    try:
        token, _ = create_token(store, "member", member=member)
    finally:
        store.close()
    service = Service(cluster.url, tmp_path / "service.log")
    service.start()
    run = uuid.uuid4().hex[:8]
    items = [
        {"op": "visit", "uuid": str(uuid.uuid4()),
         "body": {"household": households[i % len(households)], "note": f"batch {run} {i}"}}
        for i in range(BATCH)
    ]  # fmt: skip
    try:
        acked, at_cut = _cut_off(fault, cluster, service, token, items, run)
        before = _stored_batch(cluster.url, run)
        assert all(n == 1 for n in before.values()), "an item stored twice before the retry"
        assert {items[i]["uuid"] for i in acked} <= set(before), "an acknowledged item lost"
        assert len(before) < BATCH, "the cut came after the whole batch"
        tries, retry = 0, None
        while retry is None or any(o["status"] != 201 for o in retry["items"]):
            tries += 1
            assert tries < 30, "the batch was never acknowledged"
            retry = _send_batch(service.base, token, items)
            if retry is None:
                time.sleep(1)
    finally:
        service.kill()
    after = _stored_batch(cluster.url, run)
    assert set(after) == {item["uuid"] for item in items}
    assert all(n == 1 for n in after.values()), "an item stored twice"
    replayed = sum(1 for o in retry["items"] if o["replayed"])
    assert replayed >= len(before)
    print(f"batch cut by a {fault} kill: {BATCH} items, {len(acked)} acknowledged before the "
          f"cut, {len(before)} stored at the cut ({at_cut} seen when killing), 0 lost, "
          f"0 doubled; the retry: {replayed} replayed, {BATCH - replayed} created, "
          f"{BATCH} stored once")  # fmt: skip
