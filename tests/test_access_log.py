"""Tokens never reach the logs: the access log of a real ``gridgeo serve`` redacts them."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)


def test_redaction_of_request_targets() -> None:
    from gridgeo.redaction import RedactCredentials, redact_credentials

    assert redact_credentials("/tiles/a.json?token=ggt_x&v=3") == "/tiles/a.json?token=***&v=3"
    assert redact_credentials("/x?tile_key=1.2.abc") == "/x?tile_key=***"
    assert (
        redact_credentials("/x?%74oken=s&token&a=token%3Dq")
        == "/x?%74oken=***&token=***&a=token%3Dq"
    )
    assert redact_credentials("/x?tok+en=1&tokens=2") == "/x?tok+en=1&tokens=2"
    assert redact_credentials("/maps/coverage") == "/maps/coverage"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/m?token=ggt_secret", "1.1", 200), None,
    )  # fmt: skip
    assert RedactCredentials().filter(record)
    assert "ggt_secret" not in record.getMessage() and "token=***" in record.getMessage()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@embedded
def test_the_access_log_of_gridgeo_serve_shows_no_token(people: dict, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GRIDGEO_AUTH": "on", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    token = people["tokens"]["leader"]
    bogus = "ggt_bogus-never-to-be-logged"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridgeo", "serve", "--db", people["url"], "--port", str(port)],
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
                raise RuntimeError(f"gridgeo serve did not start: {log.read_text()}")
            time.sleep(0.2)
        tj = httpx.get(f"{base}/tiles/basemap.json?token={token}", timeout=60)
        assert tj.status_code == 200
        template = tj.json()["tiles"][0]
        key = parse_qs(urlsplit(template).query).get("tile_key", [None])[0]
        tile = httpx.get(template.format(z=3, x=6, y=3), timeout=60)
        assert tile.status_code == 200
        assert httpx.get(f"{base}/me?%74oken={token}", timeout=60).status_code == 401
        assert httpx.get(f"{base}/tiles/basemap.json?token={bogus}", timeout=60).status_code == 401
        httpx.get(f"{base}/tiles/basemap.json?token={token}&token={token}", timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    lines = [line for line in text.splitlines() if '"GET /' in line]
    assert len(lines) >= 6, text  # the access log is on, one line per request
    for secret in (token, bogus):
        assert secret not in text, f"the token {secret[:8]}… is in the log"
    assert "token=***" in text and "%74oken=***" in text
    assert key is not None and key not in text and "tile_key=***" in text
    assert any("401" in line and "token=***" in line for line in lines)
