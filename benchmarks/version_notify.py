"""Several service processes on one PostGIS store: how fast a commit reaches another one.

On a scratch database holding the sample district it measures, with the version
listener on (``LISTEN/NOTIFY``) and off (a query of the change counter per request):

1. **commit → listener**: the time from the end of a COMMIT to a
   :class:`~gridgeo.store.notify.VersionListener` on another connection holding the
   new version (the mechanism alone, through the PostgreSQL server).
2. **commit → seen**: ``--writes`` times, the benchmark commits a data-version bump
   (``Store.bump_version`` in a transaction of its own, as any writer does) and then
   asks a ``uvicorn api.main:app`` process for its TileJSON until its ``?v=`` is the
   new version; the time from the end of the COMMIT to that answer's arrival. With the
   listener off the first request after the commit sees it, so that row is the floor
   the HTTP round trip sets.
3. **version queries per 1,000 tile requests**: an in-process uvicorn serves 1,000
   requests of one cached vector tile from ``--clients`` concurrent clients; the
   service's own reads of the change counter are counted
   (:func:`api.analysis_cache.version_reads`; the listener's reads, one per batch of
   notifications, are shown beside).

    .venv/bin/python benchmarks/version_notify.py --url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/version_notify.py --writes 20 --tiles 200   # a quick run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from load_layers import scratch_database  # noqa: E402  (this folder's scratch database)

SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
QUIET = ("--log-level", "warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(
    url: str, *, listener: bool = True, auth: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``uvicorn api.main:app`` on ``url`` in a process of its own; its base URL and process."""
    port = free_port()
    env = {
        **os.environ,
        "GRIDGEO_DATABASE_URL": url,
        "GRIDGEO_AUTH": "on" if auth else "off",
        "GRIDGEO_VERSION_LISTENER": "1" if listener else "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), *QUIET],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("uvicorn did not start")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def uvicorn_process(url: str, listener: bool) -> Iterator[str]:
    """``uvicorn api.main:app`` without authentication; its base URL."""
    with uvicorn_server(url, listener=listener) as (base, _):
        yield base


def served_version(client: httpx.Client, base: str) -> int:
    tiles = client.get(f"{base}/tiles/buildings.json").json()["tiles"][0]
    found = re.search(r"[?&]v=(\d+)", tiles)
    assert found is not None
    return int(found.group(1))


def commit_to_seen(url: str, writes: int, listener: bool) -> list[float]:
    """Milliseconds from each bump's COMMIT to the other process answering with it."""
    from gridgeo.store import Store, open_store

    store = open_store(url)
    seconds = []
    try:
        with uvicorn_process(url, listener) as base, httpx.Client(timeout=30) as client:
            served_version(client, base)  # warm: the store is opened by the first request
            time.sleep(0.5)  # the listener connected
            for _ in range(writes):
                version = store.data_version() + 1  # the benchmark is the only writer
                with store.engine.connect() as conn:
                    conn.begin()
                    Store.bump_version(conn, ["visits"])
                    conn.commit()
                    committed = time.perf_counter()
                while served_version(client, base) < version:
                    if time.perf_counter() - committed > 10:
                        raise SystemExit(f"version {version} not seen within 10 s")
                seconds.append(time.perf_counter() - committed)
                time.sleep(0.01)  # writes a few milliseconds apart, not back to back
    finally:
        store.close()
    return [s * 1000 for s in seconds]


def commit_to_listener(url: str, writes: int) -> list[float]:
    """Milliseconds from each bump's COMMIT to a listener's number (on another connection)."""
    from gridgeo.store import Store, open_store
    from gridgeo.store.notify import VersionListener, conninfo_of

    store = open_store(url)
    listener = VersionListener(conninfo_of(url) or url).start()
    seconds = []
    try:
        assert listener.wait_healthy(10)
        for _ in range(writes):
            version = store.data_version() + 1
            with store.engine.connect() as conn:
                conn.begin()
                Store.bump_version(conn, ["visits"])
                conn.commit()
                committed = time.perf_counter()
            while (listener.known() or 0) < version:
                if time.perf_counter() - committed > 10:
                    raise SystemExit(f"version {version} not notified within 10 s")
                time.sleep(0.0001)
            seconds.append(time.perf_counter() - committed)
            time.sleep(0.01)
    finally:
        listener.stop()
        store.close()
    return [s * 1000 for s in seconds]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def version_queries(url: str, tiles: int, clients: int, listener: bool) -> dict[str, int]:
    """Counter reads of the service while it answers ``tiles`` requests of one kept tile."""
    import uvicorn

    from api import analysis_cache
    from api.main import create_app
    from gridgeo.settings import Settings

    app = create_app(Settings(database_url=url, auth="off", version_listener=listener))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=60) as client:
            bounds = client.get("/tiles/buildings.json").json()["bounds"]
            z, x, y = tile_of((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 15)
            path = f"/tiles/buildings/{z}/{x}/{y}.mvt"
            assert client.get(path).status_code == 200  # made and kept
            if listener:
                assert app.state.version_listener.wait_healthy(10)
            before = analysis_cache.version_reads()
            listener_before = app.state.version_listener.reads if listener else 0
            with ThreadPoolExecutor(clients) as pool:
                statuses = list(pool.map(lambda _: client.get(path).status_code, range(tiles)))
            assert set(statuses) == {200}, statuses
            made = analysis_cache.version_reads() - before
            by_listener = (app.state.version_listener.reads if listener else 0) - listener_before
    finally:
        server.should_exit = True
        thread.join(30)
    return {"requests": tiles, "version_queries": made, "listener_reads": by_listener}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostGIS server (the scratch database is made beside this one)",
    )
    parser.add_argument("--writes", type=int, default=200, help="bumps timed per mode")
    parser.add_argument("--tiles", type=int, default=1000, help="tile requests counted per mode")
    parser.add_argument("--clients", type=int, default=32, help="concurrent tile clients")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from gridgeo.cli.load import load

    database = f"gridgeo_notify_bench_{uuid.uuid4().hex[:8]}"
    figures: dict[str, dict[str, float]] = {}
    with scratch_database(args.url, database) as url:
        load(SAMPLE, db=url)
        ms = commit_to_listener(url, args.writes)
        print(
            f"commit → another connection's listener: median {statistics.median(ms):.2f} ms, "
            f"p95 {percentile(ms, 0.95):.2f} ms, max {max(ms):.2f} ms ({len(ms)} commits)"
        )
        figures["listener alone"] = {
            "commit_to_listener_median_ms": round(statistics.median(ms), 2),
            "commit_to_listener_p95_ms": round(percentile(ms, 0.95), 2),
            "commit_to_listener_max_ms": round(max(ms), 2),
        }
        for listener in (False, True):
            mode = "listener" if listener else "query per request"
            ms = commit_to_seen(url, args.writes, listener)
            counted = version_queries(url, args.tiles, args.clients, listener)
            figures[mode] = {
                "commit_to_seen_median_ms": round(statistics.median(ms), 2),
                "commit_to_seen_p95_ms": round(percentile(ms, 0.95), 2),
                "commit_to_seen_max_ms": round(max(ms), 2),
                **counted,
            }
    print(f"{'':22}{'commit→seen median':>20}{'p95':>9}{'max':>9}"
          f"{'version queries':>17}{'listener reads':>16}  per tile requests")  # fmt: skip
    for mode, f in figures.items():
        if "requests" not in f:
            continue
        print(
            f"{mode:22}{f['commit_to_seen_median_ms']:>17.2f} ms{f['commit_to_seen_p95_ms']:>6.2f} ms"
            f"{f['commit_to_seen_max_ms']:>6.2f} ms{f['version_queries']:>17}"
            f"{f['listener_reads']:>16}  {f['requests']}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
