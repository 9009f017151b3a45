"""Bounded requests: the body limit, 422s that do not echo, no 500 from a schema value.

The limit is checked as the body is read: a ``Content-Length`` over it is refused before
anything else (no token lookup), and a chunked body is cut off once it passes the limit,
here against a real ``gridgeo serve`` over a socket. Both stores.
"""

from __future__ import annotations

import io
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import api.write_route
from api.main import create_app
from gridgeo.settings import DEFAULT_MAX_BODY_BYTES, Settings

LIMIT = 10_000


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    settings = Settings(database_url=people["url"], auth="on", max_body_bytes=LIMIT)
    with TestClient(create_app(settings)) as c:
        yield c


def _member(people: dict) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {people['tokens']['member']}",
        "Idempotency-Key": uuid.uuid4().hex,
        "Content-Type": "application/json",
    }


def test_the_default_limit_is_one_mebibyte(monkeypatch):
    monkeypatch.delenv("GRIDGEO_MAX_BODY_BYTES", raising=False)
    assert Settings(_env_file=None).max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1 << 20
    monkeypatch.setenv("GRIDGEO_MAX_BODY_BYTES", "1234")
    assert Settings(_env_file=None).max_body_bytes == 1234


def test_a_content_length_over_the_limit_is_refused_before_the_token_is_looked_up(
    client, people, monkeypatch
):
    looked_up: list[str] = []
    monkeypatch.setattr(api.write_route, "authenticate", lambda *a: looked_up.append("x"))
    body = b'{"note": "' + b"a" * LIMIT + b'"}'
    for headers in (_member(people), {"Content-Type": "application/json"}):
        r = client.post("/visits", content=body, headers=headers)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "RequestTooLarge"
        assert f"limit of {LIMIT:,} bytes" in r.json()["detail"]
        assert "GRIDGEO_MAX_BODY_BYTES" in r.json()["detail"]
    assert looked_up == []
    # every route, whatever its method
    assert client.request("GET", "/layers", content=body).status_code == 413


def test_a_chunked_body_over_the_limit_is_cut_off(client, people):
    def chunks() -> Iterator[bytes]:
        yield b'{"household": "x", "note": "'
        for _ in range(20):
            yield b"a" * 1000
        yield b'"}'

    r = client.post("/visits", content=chunks(), headers=_member(people))
    assert r.status_code == 413, r.text
    assert "larger than the limit" in r.json()["detail"]


def test_a_body_within_the_limit_is_written(client, people):
    note = "b" * 3000
    r = client.post(
        "/visits",
        json={"household": people["own"]["member"], "note": note},
        headers=_member(people),
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["note"] == note


def test_a_bad_content_length_is_a_400(client, people):
    headers = [(k, v) for k, v in _member(people).items()]
    for lengths in (["12", "12"], ["twelve"]):
        r = client.post(
            "/visits",
            content=b'{"household": "x"}',
            headers=headers + [("Content-Length", n) for n in lengths],
        )
        assert r.status_code == 400, (lengths, r.text)
        assert "Content-Length" in r.json()["detail"]


# -- 422s that name the field and do not echo ----------------------------------------------


def test_a_422_names_each_bad_field_without_echoing_the_input(client, people):
    secret = "潜在的敏感输入-sensitive-" * 10  # 170 characters
    body = {
        "household": people["own"]["member"],
        "note": secret + "n" * 4000,  # too long
        "visited_at": "yesterday " + secret,
        "geometry": {"type": "Point", "coordinates": [500, 0]},
        "colour": secret,
    }
    r = client.post("/visits", json=body, headers=_member(people))
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["error"] == "ValidationError"
    assert secret[:7] not in r.text and "yesterday" not in r.text
    fields = {f["field"] for f in out["fields"]}
    assert {"body note", "body visited_at", "body geometry.coordinates[0]", "body colour"} <= fields
    assert "body note: String should have at most 4000 characters" in out["detail"]
    assert "write the time as YYYY-MM-DD" in out["detail"]
    assert len(r.content) < 2000


def test_a_missing_header_and_bad_query_values_name_their_place(client, people):
    headers = _member(people)
    del headers["Idempotency-Key"]
    r = client.post("/visits", json={"household": "x"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("header Idempotency-Key: Field required")
    r = client.get("/layers/grids?limit=0", headers=headers)
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == "query parameter limit"


def test_a_body_that_is_not_json_is_a_400(client, people):
    r = client.post("/visits", content=b'{"household": ', headers=_member(people))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "BadRequest"
    assert "not valid JSON" in r.json()["detail"]


def test_unknown_routes_and_methods_answer_in_the_same_shape(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"error": "NotFound", "detail": "Not Found"}
    r = client.get("/visits")
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"


# -- no 500 from a value that fits the schema ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"household": "%s", "geometry": {"type": "Point", "coordinates": [NaN, 31]}}', "[0]"),
        ('{"household": "%s", "geometry": {"type": "Point", "coordinates": [121, 1e400]}}', "[1]"),
        ('{"household": "%s", "geometry": {"type": "Point", "coordinates": [-Infinity, 31]}}', "[0]"),
        ('{"household": "%s", "note": "\\ud800"}', "note"),
        ('{"household": "%s", "note": "ok", "\\udfff": 1}', "body"),
    ],
)  # fmt: skip
def test_odd_values_are_422s_not_500s(client, people, text, where):
    body = (text % people["own"]["member"]).encode()
    r = client.post("/visits", content=body, headers=_member(people))
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]


def test_a_lone_surrogate_in_a_path_is_refused_cleanly(client, people):
    r = client.post("/problems/%ED%A0%80/resolve", json={}, headers=_member(people))
    assert r.status_code in (403, 422), r.text
    r.json()


@pytest.mark.parametrize(("width", "lang"), [(200, "zh"), (220, "zh"), (239, "zh"), (249, "en")])
def test_narrow_static_maps_are_drawn(client, people, width, lang):
    r = client.get(
        f"/maps/static.png?width={width}&height=200&lang={lang}",
        headers={"Authorization": f"Bearer {people['tokens']['planner']}"},
    )
    assert r.status_code == 200, r.text[:300]
    assert Image.open(io.BytesIO(r.content)).size == (width, 200)


# -- against a real server: the body is not read -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(people: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``gridgeo serve`` with the default limit, on the module's store."""
    port = _free_port()
    env = {**os.environ, "GRIDGEO_AUTH": "on", "GRIDGEO_DATABASE_URL": people["url"]}
    env.pop("GRIDGEO_MAX_BODY_BYTES", None)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridgeo", "serve", "--db", people["url"], "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gridgeo serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _send(port: int, headers: list[str], total: int, chunked: bool) -> tuple[int, int, bytes]:
    """POST /visits with a body of ``total`` bytes; stop sending when an answer comes.

    Returns the status, the bytes sent before the answer, and the answer's body.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = ["POST /visits HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            f"Idempotency-Key: {uuid.uuid4().hex}", framing, *headers]  # fmt: skip
    sent = 0
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        block = b"a" * 65536
        piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        pending = memoryview(b"")
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if writable:
                pending = pending or memoryview(piece)
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                pending, sent = pending[n:], sent + n
        sock.setblocking(True)
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        status = int(data.split(b" ", 2)[1])
        return status, sent, data.split(b"\r\n\r\n", 1)[1]
    finally:
        sock.close()


def test_a_served_big_body_is_refused_without_being_read(server, people):
    total = 50_000_000
    token = [f"Authorization: Bearer {people['tokens']['member']}"]
    cases = [([], False, 413), ([], True, 401), (token, False, 413), (token, True, 413)]
    for headers, chunked, status in cases:
        got, sent, body = _send(server, headers, total, chunked)
        assert got == status, (headers, chunked, body)
        # socket buffers hold a few megabytes; the rest of the 50 MB is never sent
        assert sent < total / 5, (headers, chunked, sent)
        if status == 413:
            assert b"1,048,576 bytes" in body
