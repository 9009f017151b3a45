"""Big request bodies against ``gridgeo serve``: the server's memory and time to answer.

Four clients at once each send a body of ``--mb`` MB (default 200) to ``POST /visits``,
with and without a member's token, once with a ``Content-Length`` header and once
chunked (``Transfer-Encoding: chunked``, so the server cannot know the size up front).
The body is one JSON object with a note of that size, so a server that reads it all also
parses and validates it. A sampler reads the server's resident memory (RSS) every 10 ms.

For each case the script prints the statuses, the seconds until each answer, how many
bytes the clients got sent before the answer, the size of the answer, and the server's
peak RSS above its idle RSS; the line ``peak above idle (largest case): … MB`` is the
figure to compare with the goal (under 100 MB).

Run it (the sample district in a temporary embedded store; nothing else is needed)::

    .venv/bin/python benchmarks/request_bodies.py                  # 4 × 200 MB
    .venv/bin/python benchmarks/request_bodies.py --mb 20 --json figures.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
CHUNK = 1 << 20
MB = 1_000_000


@dataclass
class Answer:
    status: int
    seconds: float
    sent: int
    answer_bytes: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(directory: Path) -> tuple[str, str, str]:
    """The sample district in an embedded store; its URL, a member's token and household."""
    from typer.testing import CliRunner

    from gridgeo.access import create_token
    from gridgeo.cli import app
    from gridgeo.store import open_store

    url = f"sqlite:///{directory / 'bodies.sqlite'}"
    result = CliRunner().invoke(app, ["load", str(SAMPLE), "--db", url])
    if result.exit_code != 0:
        raise SystemExit(f"loading the sample district failed:\n{result.output}")
    store = open_store(url)
    try:
        a = store.read_layer("assignments")
        row = a[(a["kind"] == "member_household") & a["valid_to"].isna()].iloc[0]
        token, _ = create_token(store, "member", member=row["member"])
    finally:
        store.close()
    return url, token, str(row["household"])


@contextmanager
def server(url: str) -> Iterator[tuple[int, psutil.Process]]:
    """``gridgeo serve`` on a free port; yields the port and the server process."""
    port = _free_port()
    env = {**os.environ, "GRIDGEO_AUTH": "on", "GRIDGEO_DATABASE_URL": url}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridgeo", "serve", "--db", url, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/1.1"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"gridgeo serve did not start:\n{log.read().decode()[-3000:]}")
            time.sleep(0.3)
        yield port, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _body(size: int, household: str) -> Iterator[bytes]:
    head = json.dumps({"household": household})[:-1].encode() + b', "note": "'
    tail = b'"}'
    yield head
    left = size - len(head) - len(tail)
    block = b"a" * CHUNK
    while left > 0:
        n = min(left, CHUNK)
        yield block[:n]
        left -= n
    yield tail


def send(port: int, token: str | None, size: int, household: str, chunked: bool) -> Answer:
    """One POST /visits with a body of ``size`` bytes; stops sending once an answer comes."""
    headers = [
        "POST /visits HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Idempotency-Key: bench-{time.monotonic_ns()}",
        "Connection: close",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    start = time.perf_counter()
    sent = 0
    try:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        sock.setblocking(False)
        answered = False
        pieces = _body(size, household)
        for piece in pieces:
            data = memoryview(
                f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            )
            while data and not answered:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable:
                    answered = True
                    break
                if writable:
                    try:
                        n = sock.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        answered = True
                        break
                    data = data[n:]
                    sent += n
            if answered:
                break
        if not answered and chunked:
            try:
                sock.send(b"0\r\n\r\n")
            except OSError:
                pass
        sock.setblocking(True)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            got = len(response.read())
            status = response.status
        except (http.client.HTTPException, OSError):
            got, status = 0, 0
        return Answer(status, time.perf_counter() - start, sent, got)
    finally:
        sock.close()


def run_case(
    port: int,
    process: psutil.Process,
    clients: int,
    token: str | None,
    size: int,
    household: str,
    chunked: bool,
) -> tuple[list[Answer], float]:
    """``clients`` bodies at once; their answers and the server's peak RSS above idle (MB)."""
    time.sleep(1.0)  # let the server give back what an earlier case took
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(clients) as pool:
            answers = list(
                pool.map(lambda _: send(port, token, size, household, chunked), range(clients))
            )
    finally:
        done.set()
        sampler.join()
    return answers, (peak - idle) / MB


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="body size in MB (10^6 bytes)")
    parser.add_argument("--clients", type=int, default=4, help="bodies sent at once")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    size = args.mb * MB
    cases: dict[str, object] = {}
    largest = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        url, token, household = prepare(Path(tmp))
        with server(url) as (port, process):
            idle = process.memory_info().rss / MB
            print(f"{args.clients} bodies of {args.mb} MB at once; server idle RSS {idle:.0f} MB")
            for label, tok in (("no token", None), ("member token", token)):
                for chunked in (False, True):
                    answers, peak = run_case(
                        port, process, args.clients, tok, size, household, chunked
                    )
                    name = f"{label}, {'chunked' if chunked else 'Content-Length'}"
                    largest = max(largest, peak)
                    statuses = sorted({a.status for a in answers})
                    slowest = max(a.seconds for a in answers)
                    sent = max(a.sent for a in answers) / MB
                    answer = max(a.answer_bytes for a in answers)
                    print(
                        f"{name:>28}: status {statuses}, answered within {slowest:6.2f} s, "
                        f"{sent:6.1f} MB sent first, answers of {answer:,} bytes, "
                        f"peak RSS +{peak:.0f} MB"
                    )
                    cases[name] = {
                        "peak_above_idle_mb": peak,
                        "answers": [asdict(a) for a in answers],
                    }
    print(f"peak above idle (largest case): {largest:.0f} MB")
    if args.json:
        args.json.write_text(
            json.dumps({"mb": args.mb, "idle_rss_mb": idle, "cases": cases}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
