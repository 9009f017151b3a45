"""The tile requests a map makes, answered in front of the routes.

A map pans over the same tiles again and again, from many clients at once, and a new
tile of a stored layer should cost little more than its ``ST_AsMVT`` query. The tile
routes (``api.tiles``, ``api.reports``) validate their many query parameters and
resolve their dependencies through FastAPI, which costs about a millisecond per request:
a tenth of the query of a dense zoom-16 tile of buildings on the benchmark city.
:class:`TileResponses` is an ASGI layer that answers two kinds of ``GET /tiles/…``
request itself:

Repeated requests
    It keeps the finished responses of tile routes (status 200) and answers an
    identical request (same path, query and credentials: ``Authorization`` header,
    ``?token=`` or cookie) from memory, marked ``X-Cache: HIT``, when

    - the store's change counter is still the one read before the response was made
      (so a committed write always makes a new tile: the counter is read for every
      request, concurrent requests sharing one read), and
    - the response is younger than the token check's memory
      (``api.auth.TOKEN_CACHE_SECONDS``, 30 s), so a revoked token stops getting
      tiles as soon as it stops passing the token check.

Plain tiles of the stored layers
    ``/tiles/{communities|grids|buildings|basemap}/{z}/{x}/{y}.mvt`` with no query
    parameters other than ``v`` and ``token``: the caller is found as the route's
    :func:`api.auth.reader` finds it and the answer is
    :func:`api.tiles.tile_response`, the route's own, without FastAPI's parameter
    handling. On PostGIS such a request that has nothing in memory reads no data
    version beforehand: the tile's own statement reads it.

Anything else (another method or path, other parameters, no store open yet, a request
the plain path would refuse, which the route then refuses with its full reason) goes
to the application unchanged; ``If-None-Match`` is answered with 304 here as the route
would.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import analysis_cache, auth, tiles
from api.tiles import not_modified
from gridgeo.errors import GridGeoError

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
        ttl = auth.TOKEN_CACHE_SECONDS if self.ttl is None else self.ttl
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None and time.monotonic() - entry.made >= ttl:
                self._drop(key)
                entry = None
        plain = _plain_request(scope, headers)
        version: int | None = None
        # a plain tile of PostGIS learns the version from its own query: read it first
        # only to answer from memory
        if entry is not None or plain is None or store.engine.dialect.name != "postgresql":
            version = await analysis_cache.data_version_async(store)
        if entry is not None:
            if entry.version == version:
                with self.lock:
                    if key in self.entries:
                        self.entries.move_to_end(key)
                await _answer(entry, headers.get(b"if-none-match"), send)
                return
            with self.lock:
                self._drop(key)
        if plain is not None:
            answered = await _answer_plain(scope["app"], store, plain, version)
            if answered is not None:
                response, made_at = answered
                await response(scope, receive, self._recorder(key, made_at, send))
                return
        if version is None:
            version = await analysis_cache.data_version_async(store)
        scope.setdefault("state", {})["data_version"] = version  # the route need not read it
        await self.app(scope, receive, self._recorder(key, version, send, scope))

    def _recorder(
        self, key: tuple[Any, ...], version: int, send: Send, scope: Scope | None = None
    ) -> Send:
        """``send``, keeping a 200 response under ``key`` as made at ``version``.

        With ``scope``: the version the route says it made the response at
        (``scope["state"]["data_version"]``), when it says one.
        """
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body" and start.get("status") == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    made_at = version if scope is None else scope["state"]["data_version"]
                    self._keep(key, made_at, start, b"".join(chunks))
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


_PLAIN_TILE = re.compile(r"/tiles/([a-z_]+)/(\d{1,2})/(\d{1,10})/(\d{1,10})\.mvt")
_PLAIN_PARAMS = frozenset({"v", "token"})


@dataclass(frozen=True)
class _Plain:
    layer: str
    z: int
    x: int
    y: int
    v: int | None
    token: str | None
    how: str
    if_none_match: str | None


def _plain_request(scope: Scope, headers: dict[bytes, bytes]) -> _Plain | None:
    """A plain tile request of a stored layer, parsed (None: leave it to the route)."""
    match = _PLAIN_TILE.fullmatch(scope["path"])
    if match is None or match[1] not in tiles.STORE_TILESETS:
        return None
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    params = dict(query)
    if len(params) != len(query) or not params.keys() <= _PLAIN_PARAMS:
        return None
    v = params.get("v")
    if v is not None and not v.isdigit():
        return None
    # the token where api.auth.reader looks for it
    bearer = None
    authorization = headers.get(b"authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None  # the route says what is wrong with it
        bearer = credentials.strip()
    cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
    token, how = auth.reader_token(bearer, params.get("token"), cookies.get(auth.TOKEN_COOKIE))
    return _Plain(
        match[1],
        int(match[2]),
        int(match[3]),
        int(match[4]),
        None if v is None else int(v),
        token,
        how,
        (headers.get(b"if-none-match") or b"").decode("latin-1") or None,
    )


async def _answer_plain(
    app: Any, store: Any, plain: _Plain, version: int | None
) -> tuple[Any, int] | None:
    """The route's answer to a plain request (None: a refusal, left to the route)."""
    try:
        tiles.check_tile(plain.z, plain.x, plain.y)
        user = await auth.reader_of(app, plain.token, plain.how)
        return await tiles.tile_response(
            store,
            user,
            plain.layer,
            plain.z,
            plain.x,
            plain.y,
            tiles.Selection(),
            version,
            plain.v,
            plain.if_none_match,
        )
    except (GridGeoError, HTTPException):
        return None  # the route answers with its full reason


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
