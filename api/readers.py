"""Readers of maps, tiles and reports: their principal from a token or a tile key.

Readers are coroutines and remember token lookups for :data:`TOKEN_CACHE_SECONDS`, so a
cached tile costs no database round trip for authentication; a revoked token, and every
tile key made for it, stop working within that time (30 s). See :mod:`api.auth` for the
ways a reader's credential may come.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
import weakref
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyQuery, HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Scope

from api.credentials import (
    BEARER,
    DEMO_PRINCIPAL,
    TILE_KEY_PARAMETER,
    TOKEN_COOKIE,
    Credentials,
    auth_off,
    credentials_of,
)
from api.state import app_store
from gridgeo.errors import AmbiguousCredentials, Unauthorized
from gridgeo.principal import Principal
from gridgeo.store import Store
from gridgeo.tokens import (
    authenticate,
    hash_token,
    principal_of_id,
    tile_key,
    tile_key_matches,
    tile_key_parts,
)

__all__ = [
    "TOKEN_CACHE_SECONDS",
    "ReaderDep",
    "TileReaderDep",
    "forget_lookups",
    "reader",
    "reader_of",
    "remember_principal",
    "remember_token",
    "tile_key_for",
    "tile_reader",
    "tile_secret",
    "token_query",
]

#: How long a token lookup is remembered (seconds).
TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_SIZE = 4096
_STATE_PRINCIPAL = "gridgeo_principal"

_query_token = APIKeyQuery(
    name="token",
    auto_error=False,
    description="The token in the URL (bookmarkable map links); same as the Bearer header.",
)
_cookie_token = APIKeyCookie(
    name=TOKEN_COOKIE,
    auto_error=False,
    description="Set by a map page or report opened with ?token=.",
)
_tile_key_query = APIKeyQuery(
    name=TILE_KEY_PARAMETER,
    auto_error=False,
    description="A short-lived tile key, as the map pages and TileJSON write it into tile URLs.",
)

_lookups: weakref.WeakKeyDictionary[Store, dict[str, tuple[float, Principal | None]]] = (
    weakref.WeakKeyDictionary()
)
_lookups_lock = threading.Lock()


def forget_lookups() -> None:
    """Forget every remembered token lookup (the next read looks its token up again)."""
    with _lookups_lock:
        _lookups.clear()


async def _remembered(store: Store, key: str, lookup: Any, *args: Any) -> Principal | None:
    """``lookup(store, *args)`` in a thread, remembered for :data:`TOKEN_CACHE_SECONDS`."""
    now = time.monotonic()
    with _lookups_lock:
        known = _lookups.get(store)
        if known is None:
            known = _lookups.setdefault(store, {})
        hit = known.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await run_in_threadpool(lookup, store, *args)
    with _lookups_lock:
        if len(known) >= _TOKEN_CACHE_SIZE:
            for old in [k for k, (until, _) in known.items() if until <= now] or list(known):
                del known[old]
        known[key] = (now + TOKEN_CACHE_SECONDS, principal)
    return principal


async def _principal_of(store: Store, token: str) -> Principal | None:
    """:func:`authenticate`, remembered for :data:`TOKEN_CACHE_SECONDS` (also failures)."""
    return await _remembered(store, hash_token(token), authenticate, token)


_PROCESS_SECRET = secrets.token_bytes(32)


def tile_secret(app: Any) -> bytes:
    """The key that signs tile keys: ``GRIDGEO_TILE_KEY_SECRET``, else this process's own."""
    secret = getattr(getattr(app.state, "settings", None), "tile_key_secret", None)
    if secret is None:
        return _PROCESS_SECRET
    return hashlib.sha256(secret.get_secret_value().encode("utf-8")).digest()


def tile_key_for(request: Request, user: Principal | None) -> str | None:
    """A tile key for the caller's tile URLs (None: the open demo mode needs none).

    Valid for ``GRIDGEO_TILE_KEY_SECONDS`` and at most a sixth more: the expiry is
    rounded up to a sixth of that, so the pages made close together write the same tile
    URLs (and the browser's cache of versioned tiles serves them all). A request that
    came with a tile key and no token gets that key back: a tile key never makes a
    longer-lived one.
    """
    if user is None or user.token_id is None:
        return None
    credentials = credentials_of(request.scope)
    if credentials.tile_key is not None and credentials.token is None:
        return credentials.tile_key
    seconds = int(getattr(request.app.state.settings, "tile_key_seconds", 3600))
    step = max(1, seconds // 6)
    expires = math.ceil((time.time() + seconds) / step) * step
    return tile_key(user, expires, tile_secret(request.app))


#: Tile keys whose signature was checked, with the principal and secret it was checked for.
_good_tile_keys: set[tuple[str, Principal, bytes]] = set()
_BAD_TILE_KEY = (
    "the tile key (tile_key=) is not valid: it is malformed, or its token is unknown or "
    "has been revoked; reload the map page"
)


async def _principal_of_tile_key(app: Any, key: str) -> Principal:
    claimed = tile_key_parts(key)
    if claimed is None:
        raise Unauthorized(_BAD_TILE_KEY)
    token_id, expires = claimed
    if expires < time.time():
        raise Unauthorized("the tile key (tile_key=) has expired: reload the map page")
    store = app_store(app)
    principal = await _remembered(store, f"id:{token_id}", principal_of_id, token_id)
    if principal is None:
        raise Unauthorized(_BAD_TILE_KEY)
    secret = tile_secret(app)
    checked = (key, principal, secret)  # the principal as it is now: a revoked one is None
    if checked not in _good_tile_keys:
        if not tile_key_matches(key, principal, secret):
            raise Unauthorized(_BAD_TILE_KEY)
        if len(_good_tile_keys) >= _TOKEN_CACHE_SIZE:
            _good_tile_keys.clear()
        _good_tile_keys.add(checked)
    return principal


async def reader_of(app: Any, credentials: Credentials, *, tile_key: bool = False) -> Principal:
    """The principal of a reader's credentials (tile keys only with ``tile_key``).

    Raises
    ------
    AmbiguousCredentials
        A tile key made for another token than the one sent with it.
    Unauthorized
        No credential (unless the demo mode is on), an unknown or revoked token, a
        header of another scheme than Bearer, a tile key that is not valid (or sent
        where it is not accepted).
    """
    if credentials.tile_key is not None and not tile_key:
        raise Unauthorized(
            "a tile key (tile_key=) opens only tiles, TileJSON and static maps: open "
            "this page with your token"
        )
    token = credentials.token
    if credentials.other_authorization:
        raise Unauthorized(
            "the Authorization header is not a token: send 'Authorization: Bearer <token>'"
        )
    principal = None
    if token is not None:
        principal = await _principal_of(app_store(app), token)
        if principal is None:
            raise Unauthorized(f"{credentials.how} is not valid: it is unknown or has been revoked")
    if credentials.tile_key is not None:
        keyed = await _principal_of_tile_key(app, credentials.tile_key)
        if principal is not None and principal.token_id != keyed.token_id:
            raise AmbiguousCredentials(
                "the tile key (tile_key=) was made for another token than the one sent "
                "with it: send one of them, or reload the map page"
            )
        principal = keyed
    if principal is not None:
        return principal
    if auth_off(app):
        return DEMO_PRINCIPAL
    raise Unauthorized(
        "this page needs a token: send 'Authorization: Bearer <token>', or open it "
        "with ?token=<token> (an administrator creates one with `gridgeo token create`)"
    )


async def _reader(request: Request, *, tile_key: bool) -> Principal:
    state = request.scope.setdefault("state", {})
    known = state.get(_STATE_PRINCIPAL)
    if known is None or (not tile_key and credentials_of(request.scope).tile_key is not None):
        known = await reader_of(request.app, credentials_of(request.scope), tile_key=tile_key)
        state[_STATE_PRINCIPAL] = known
    assert isinstance(known, Principal)
    return known


def remember_principal(scope: Scope, principal: Principal) -> None:
    """Keep the principal :func:`reader_of` found for a tile request: the route uses it."""
    scope.setdefault("state", {})[_STATE_PRINCIPAL] = principal


async def reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    query: Annotated[str | None, Depends(_query_token)],
    cookie: Annotated[str | None, Depends(_cookie_token)],
) -> Principal:
    """The caller of a map page or report (header, ``?token=`` or cookie).

    A coroutine: no thread, and no query when the token was looked up in the last
    :data:`TOKEN_CACHE_SECONDS`. (The parameters document the ways in OpenAPI; the
    credentials are those :func:`credentials_of` read.)

    Raises
    ------
    Unauthorized
        No token (unless the demo mode is on), an unknown or revoked one, or a tile key.
    """
    return await _reader(request, tile_key=False)


async def tile_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    query: Annotated[str | None, Depends(_query_token)],
    cookie: Annotated[str | None, Depends(_cookie_token)],
    key: Annotated[str | None, Depends(_tile_key_query)],
) -> Principal:
    """The caller of a tile, TileJSON or static map: :func:`reader`, or a tile key.

    A principal that :mod:`api.fastpath` found for the request already is taken as it is.

    Raises
    ------
    AmbiguousCredentials
        A tile key made for another token than the one sent with it.
    Unauthorized
        No credential (unless the demo mode is on), or one that is not valid.
    """
    return await _reader(request, tile_key=True)


ReaderDep = Annotated[Principal, Depends(reader)]
TileReaderDep = Annotated[Principal, Depends(tile_reader)]


def token_query(request: Request) -> str | None:
    """The token of a request opened with ``?token=`` (None: none, or a header as well)."""
    credentials = credentials_of(request.scope)
    return credentials.query if credentials.bearer is None else None


def remember_token(request: Request, response: Response) -> Response:
    """Set the token cookie on a page opened with ``?token=`` (see the module docstring)."""
    token = token_query(request)
    if token:
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=str(request.scope.get("root_path", "")) or "/",
        )
    return response
