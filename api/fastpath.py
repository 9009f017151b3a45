"""Repeated tile requests answered from memory, in front of the routes.

A map pans over the same tiles again and again, from many clients at once. The tile
routes (``api.tiles``, ``api.reports``) already cache what they encode, but each request
still goes through the full route: query validation, the token check, the area check.
:class:`TileResponses` keeps the finished responses of ``GET /tiles/…`` (status 200)
and answers an identical request (same path, query and credentials: ``Authorization``
header, ``?token=`` or cookie) itself, without entering the application, when

- the store's change counter is still the one read before the response was made (so
  a committed write always makes a new tile: the counter is read for every request,
  concurrent requests sharing one read), and
- the response is younger than the token check's memory
  (``api.auth.TOKEN_CACHE_SECONDS``, 30 s), so a revoked token stops getting tiles
  as soon as it stops passing the token check.

Anything else (another method or path, no store open yet, a miss) goes to the
application unchanged; ``If-None-Match`` is answered with 304 here as the route would.
A response given from memory carries ``X-Cache: HIT``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import analysis_cache, auth
from api.tiles import not_modified

__all__ = ["TileResponses"]

_CREDENTIALS = (b"authorization", b"cookie")


@dataclass(frozen=True)
class _Entry:
    version: int
    made: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes | None


class TileResponses:
    """ASGI middleware: repeated ``GET /tiles/…`` requests answered from memory.

    Parameters
    ----------
    app
        The application.
    ttl
        Seconds a response is reused at most (default: ``api.auth.TOKEN_CACHE_SECONDS``).
    limit
        Bytes of responses kept (least recently used dropped first).
    """

    def __init__(
        self, app: ASGIApp, ttl: float | None = None, limit: int = 64 * 1024 * 1024
    ) -> None:
        self.app = app
        self.ttl = ttl
        self.limit = limit
        self.entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith("/tiles/")
            or not scope["path"].endswith((".mvt", ".png"))
        ):
            await self.app(scope, receive, send)
            return
        store = getattr(scope["app"].state, "store", None)
        if store is None:  # opened by the first request that needs it
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = (
            scope["path"],
            scope["query_string"],
            *(headers.get(name, b"") for name in _CREDENTIALS),
        )
        version = await analysis_cache.data_version_async(store)
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                ttl = auth.TOKEN_CACHE_SECONDS if self.ttl is None else self.ttl
                if entry.version == version and time.monotonic() - entry.made < ttl:
                    self.entries.move_to_end(key)
                else:
                    self._drop(key)
                    entry = None
        if entry is not None:
            await _answer(entry, headers.get(b"if-none-match"), send)
            return
        scope.setdefault("state", {})["data_version"] = version  # the route need not read it
        await self.app(scope, receive, self._recorder(key, version, send))

    def _recorder(self, key: tuple[Any, ...], version: int, send: Send) -> Send:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body" and start.get("status") == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._keep(key, version, start, b"".join(chunks))
            await send(message)

        return record

    def _keep(self, key: tuple[Any, ...], version: int, start: Message, body: bytes) -> None:
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"set-cookie"]
        etag = next((v for k, v in headers if k.lower() == b"etag"), None)
        entry = _Entry(version, time.monotonic(), headers, body, etag)
        with self.lock:
            self._drop(key)
            self.entries[key] = entry
            self.size += len(body) + 200
            while self.size > self.limit and self.entries:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.size -= len(entry.body) + 200


async def _answer(entry: _Entry, if_none_match: bytes | None, send: Send) -> None:
    if entry.etag is not None and if_none_match is not None:
        if not_modified(if_none_match.decode("latin-1"), entry.etag.decode("latin-1")):
            headers = [(k, v) for k, v in entry.headers if k.lower() != b"content-length"]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
    headers = [*entry.headers, (b"x-cache", b"HIT")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})
