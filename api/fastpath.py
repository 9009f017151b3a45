"""The tile requests a map makes, answered in front of the routes.

A map pans over the same tiles again and again, from many clients at once, and a new
tile of a stored layer should cost little more than its ``ST_AsMVT`` query. The tile
routes (:mod:`api.tiles`) validate their many query parameters and
resolve their dependencies through FastAPI, which costs about a millisecond per request:
a tenth of the query of a dense zoom-16 tile of buildings on the benchmark city.
:class:`TileResponses` is an ASGI layer that answers two kinds of ``GET /tiles/…``
request itself:

Every such request is authenticated first, once, as the routes do it
(:func:`api.auth.reader_of` on the credentials :func:`api.auth.credentials_of` read,
token lookups remembered for 30 s), and the principal found is handed on to the route.
A request without valid, unambiguous credentials is never answered here: the route
refuses it with its reason.

Repeated requests
    It keeps the finished responses of tile routes (status 200) and answers a request
    from memory, marked ``X-Cache: HIT``, when one was kept for the same path, the same
    query without its credentials (``token``, ``tile_key``) and the same area of the
    authenticated caller (:func:`api.auth.scope_key`, the key of every tile cache), and

    - the store's change counter is still the one read before the response was made
      (so a committed write always makes a new tile: the counter is read for every
      request, concurrent requests sharing one read), and
    - the response is younger than the token check's memory
      (``api.auth.TOKEN_CACHE_SECONDS``, 30 s).

    Nothing of the credentials' text is in the key: the same caller is served the same
    tile whether its token came as a header, ``?token=``, the cookie or a tile key, and
    a credential that does not authenticate gets nothing from memory.

Plain tiles of the stored layers
    ``/tiles/{communities|grids|buildings|basemap}/{z}/{x}/{y}.mvt`` with no query
    parameters other than ``v``, ``token`` and ``tile_key``: the answer is
    :func:`api.tiles.answer.tile_response`, the route's own, without FastAPI's parameter
    handling. On PostGIS such a request that has nothing in memory reads no data
    version beforehand: the tile's own statement reads it.

Anything else (another method or path, other parameters, no store open yet, a request
the plain path would refuse, which the route then refuses with its full reason) goes
to the application unchanged; ``If-None-Match`` is answered with 304 here as the route
would.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import analysis_cache, auth
from api.cache import BoundedCache
from api.dependencies import check_tile
from api.tiles.answer import tile_response
from api.tiles.caching import not_modified
from api.tiles.catalogue import STORE_TILESETS, Selection
from gridgeo.errors import GridGeoError
from gridgeo.settings import get_settings

__all__ = ["TileResponses", "answer_plain"]


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
        Bytes of responses kept, least recently used dropped first (default:
        ``GRIDGEO_TILE_RESPONSE_CACHE_BYTES``).
    """

    def __init__(self, app: ASGIApp, ttl: float | None = None, limit: int | None = None) -> None:
        self.app = app
        self.ttl = ttl
        self.limit = get_settings().tile_response_cache_bytes if limit is None else limit
        self.entries = BoundedCache(self.limit, sizeof=lambda entry: len(entry.body) + 200)

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
        try:  # authenticated once: the route is given the principal found here
            credentials = auth.credentials_of(scope)
            user = await auth.reader_of(scope["app"], credentials, tile_key=True)
        except GridGeoError:  # no, bad or ambiguous credentials: the route says why
            await self.app(scope, receive, send)
            return
        auth.remember_principal(scope, user)
        key = (scope["path"], credentials.rest_query, auth.scope_key(user))
        if_none_match = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        ttl = auth.TOKEN_CACHE_SECONDS if self.ttl is None else self.ttl
        entry: _Entry | None = self.entries.get(key)
        if entry is not None and time.monotonic() - entry.made >= ttl:
            self.entries.pop(key)
            entry = None
        version: int | None = None
        if entry is not None:
            version = await analysis_cache.data_version_async(store)
            if entry.version == version:
                await _answer(entry, if_none_match, send)
                return
            self.entries.pop(key)
        plain = _plain_request(scope, credentials.rest_query, if_none_match)
        # a plain tile of PostGIS learns the version from its own query: read it first
        # only to answer from memory
        if version is None and (plain is None or store.engine.dialect.name != "postgresql"):
            version = await analysis_cache.data_version_async(store)
        if plain is not None:
            answered = await answer_plain(store, user, plain, version)
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
        self.entries.put(key, _Entry(version, time.monotonic(), headers, body, etag))


_PLAIN_TILE = re.compile(r"/tiles/([a-z_]+)/(\d{1,2})/(\d{1,10})/(\d{1,10})\.mvt")


@dataclass(frozen=True)
class _Plain:
    layer: str
    z: int
    x: int
    y: int
    v: int | None
    if_none_match: str | None


def _plain_request(scope: Scope, rest_query: bytes, if_none_match: bytes | None) -> _Plain | None:
    """A plain tile request of a stored layer, parsed (None: leave it to the route).

    ``rest_query``: the query string without its credentials.
    """
    match = _PLAIN_TILE.fullmatch(scope["path"])
    if match is None or match[1] not in STORE_TILESETS:
        return None
    v = None
    if rest_query:
        query = parse_qsl(rest_query.decode("latin-1"), keep_blank_values=True)
        if len(query) != 1 or query[0][0] != "v":
            return None
        text = query[0][1]
        if not (text.isascii() and text.isdigit()):  # "²" is a digit int() refuses
            return None
        v = int(text)
    return _Plain(
        match[1],
        int(match[2]),
        int(match[3]),
        int(match[4]),
        v,
        (if_none_match or b"").decode("latin-1") or None,
    )


async def answer_plain(
    store: Any, user: Any, plain: _Plain, version: int | None
) -> tuple[Any, int] | None:
    """The route's answer to a plain request (None: a refusal, left to the route)."""
    try:
        check_tile(plain.z, plain.x, plain.y)
        return await tile_response(
            store,
            user,
            plain.layer,
            plain.z,
            plain.x,
            plain.y,
            Selection(),
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
