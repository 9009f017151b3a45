"""Tokens and roles: who may read which area and write what.

Every route that touches data depends on :func:`current_user`: a ``Bearer`` token
made by ``gridgeo token create``, looked up by its SHA-256. No token, or an unknown
or revoked one, is a 401; a role or area that does not fit is a 403, always with
the reason. With ``GRIDGEO_AUTH=off`` (the local demo) a request without a token
reads the whole district as an analyst would (no personal data) and cannot write.

For other routers::

    from api.auth import AreaDep, UserDep, require

    @router.get("/maps/coverage")
    def coverage(user: UserDep, area: AreaDep): ...  # area is None: whole district

    @router.post("/import", dependencies=[require("planner")])
    def import_(...): ...

Maps and reports (read-only, opened by browsers) depend on :func:`reader` instead,
tiles, TileJSON and static maps on :func:`tile_reader`. A reader's credential is one
of:

1. ``Authorization: Bearer <token>`` (API clients, map clients given a header);
2. ``?token=<token>`` in the URL: a leader's bookmarked intranet link
   ``/maps/coverage?token=ggt_...``. A page or report opened so sets the token as an
   ``HttpOnly; SameSite=Strict`` cookie (:data:`TOKEN_COOKIE`) and writes it nowhere
   else: its links and filter form carry no token;
3. the :data:`TOKEN_COOKIE` cookie (set as above), so later pages need no token in
   the URL;
4. for :func:`tile_reader` only, ``?tile_key=<key>``: a short-lived key signed by the
   server (:func:`gridgeo.access.tile_key`) that the map pages and TileJSON write into
   their tile URLs, so tiles load where cookies are blocked without the token in any
   URL. It stands for its token's principal and area; :func:`tile_key_for` makes one.

Credentials are read once per request, by :func:`credentials_of`, and must be
unambiguous (:class:`gridgeo.errors.AmbiguousCredentials`, HTTP 400, on every route,
refused by :class:`CredentialCheck` before any route runs):

- each way at most once: one ``Authorization`` header, one ``token`` and one
  ``tile_key`` query parameter, one :data:`TOKEN_COOKIE` cookie (even when the copies
  are equal);
- the ways used must carry the same token: a header, ``?token=`` and cookie that are
  not the same string are *conflicting* (an ``Authorization`` header of another scheme
  than Bearer conflicts with any token). The same token sent twice in two ways (a
  bookmarked ``?token=`` link opened again, with the cookie it set) is accepted. A
  conflict that involves the cookie also clears the cookie, so opening the link again
  works;
- a tile key sent with a token must have been made for that token (checked once the
  token is looked up).

An unknown token is a 401 whichever way it came (no fall-back to another way). Writes
accept only the header (a cookie would let another site's form write). Readers are
coroutines and remember token lookups for :data:`TOKEN_CACHE_SECONDS`, so a cached
tile costs no database round trip for authentication; a revoked token, and every tile
key made for it, stop working within that time (30 s).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from http import cookies as http_cookies
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.state import app_store, get_store
from gridgeo.access import (
    CREDENTIAL_PARAMETERS,
    Area,
    Principal,
    RedactCredentials,
    area_for,
    authenticate,
    geography,
    hash_token,
    principal_of_id,
    tile_key,
    tile_key_matches,
    tile_key_parts,
)
from gridgeo.errors import (
    AmbiguousCredentials,
    GridGeoError,
    NotFound,
    PermissionDenied,
    Unauthorized,
)
from gridgeo.store import Store

__all__ = [
    "AreaDep",
    "CredentialCheck",
    "Credentials",
    "DEMO_PRINCIPAL",
    "REFUSALS",
    "TILE_KEY_PARAMETER",
    "TOKEN_CACHE_SECONDS",
    "TOKEN_COOKIE",
    "ReaderDep",
    "TileReaderDep",
    "UserDep",
    "area_filter",
    "check_place",
    "credentials_of",
    "current_user",
    "read_area",
    "reader",
    "reader_of",
    "remember_principal",
    "remember_token",
    "require",
    "router",
    "scope_key",
    "tile_key_for",
    "tile_reader",
    "token_query",
]

#: The caller in the open demo mode (``GRIDGEO_AUTH=off``, no token sent).
DEMO_PRINCIPAL = Principal("analyst")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                    "required": ["error", "detail"],
                }
            }
        },
    }


#: The refusals every protected route can answer, for the OpenAPI document.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: _error(
        "Credentials sent twice, or two that disagree (AmbiguousCredentials): send one "
        "token, one way."
    ),
    401: _error("No token, or a token that is unknown or revoked."),
    403: _error("The token's role or area does not allow this; the detail says why."),
}

router = APIRouter(tags=["auth"], responses=REFUSALS)

_bearer = HTTPBearer(auto_error=False, description="A token from `gridgeo token create`.")

#: The cookie a page opened with ``?token=`` sets.
TOKEN_COOKIE = "gridgeo_token"
#: The query parameter of a tile key (tiles, TileJSON and static maps only).
TILE_KEY_PARAMETER = "tile_key"
#: How long a token lookup is remembered (seconds).
TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_SIZE = 4096

# -- the credentials of a request, read once -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presents as credentials, read once (:func:`credentials_of`).

    ``bearer``, ``query`` and ``cookie`` are the token as the ``Authorization: Bearer``
    header, ``?token=`` and the :data:`TOKEN_COOKIE` cookie give it (None: not sent; when
    several are sent they are the same); ``other_authorization`` says an
    ``Authorization`` header of another scheme came; ``tile_key`` is the ``?tile_key=``.
    ``rest_query`` is the query string without the credential parameters (for cache
    keys).
    """

    bearer: str | None = None
    query: str | None = None
    cookie: str | None = None
    other_authorization: bool = False
    tile_key: str | None = None
    rest_query: bytes = b""

    @property
    def token(self) -> str | None:
        """The token a reader sent, whichever way (None: none)."""
        return self.bearer or self.query or self.cookie

    @property
    def how(self) -> str:
        """Where the token came from, for a refusal."""
        if self.bearer is not None:
            return "the Bearer token"
        if self.query is not None:
            return "the token in the URL (?token=)"
        if self.cookie is not None:
            return f"the token in the {TOKEN_COOKIE} cookie"
        return "the token"


_STATE_CREDENTIALS = "gridgeo_credentials"
_STATE_PRINCIPAL = "gridgeo_principal"
_WAYS = {
    "header": "the Authorization header",
    "query": "?token= in the URL",
    "cookie": f"the {TOKEN_COOKIE} cookie",
}


def credentials_of(scope: Scope) -> Credentials:
    """The request's credentials, read once and kept in its scope.

    Raises
    ------
    AmbiguousCredentials
        A way used twice, or ways that carry different tokens (see the module docstring).
    """
    state = scope.setdefault("state", {})
    known = state.get(_STATE_CREDENTIALS)
    if known is None:
        known = _read_credentials(scope)
        state[_STATE_CREDENTIALS] = known
    assert isinstance(known, Credentials)
    return known


def _read_credentials(scope: Scope) -> Credentials:
    authorization: list[bytes] = []
    cookie_headers: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization.append(value)
        elif name == b"cookie":
            cookie_headers.append(value)
    found, rest_query = _query_credentials(scope.get("query_string", b""))
    cookies = _token_cookies(cookie_headers) if cookie_headers else []
    if len(authorization) > 1:
        raise _ambiguous(
            f"the request has {len(authorization)} Authorization headers: send one", cookies
        )
    for name, values in found.items():
        if len(values) > 1:
            raise _ambiguous(
                f"the URL has the {name} parameter {len(values)} times: give it once", cookies
            )
    if len(cookies) > 1:
        raise _ambiguous(
            f"the request carries the {TOKEN_COOKIE} cookie {len(cookies)} times", cookies
        )
    sent: dict[str, str] = {}  # way -> the token it carries (another scheme's header: itself)
    bearer = None
    if authorization:
        text = authorization[0].decode("latin-1")
        scheme, _, rest = text.partition(" ")
        if scheme.lower() == "bearer" and rest.strip():
            bearer = rest.strip()
        sent["header"] = bearer if bearer is not None else "\0" + text
    query = found["token"][0] or None if "token" in found else None
    if query is not None:
        sent["query"] = query
    cookie = cookies[0] or None if cookies else None
    if cookie is not None:
        sent["cookie"] = cookie
    if len(sent) > 1 and len(set(sent.values())) > 1:
        ways = " and ".join(_WAYS[w] for w in sent)
        raise _ambiguous(f"{ways} carry different tokens: send one token, one way", cookies)
    key = found[TILE_KEY_PARAMETER][0] or None if TILE_KEY_PARAMETER in found else None
    if bearer is None and query is None and cookie is None and key is None:
        return Credentials(other_authorization=bool(authorization), rest_query=rest_query)
    return Credentials(
        bearer, query, cookie, bool(authorization) and bearer is None, key, rest_query
    )


def _ambiguous(problem: str, cookies: list[str]) -> AmbiguousCredentials:
    if cookies:  # cleared by the refusal (see _refusal)
        problem += f"; the {TOKEN_COOKIE} cookie has been cleared: open the link again"
    return AmbiguousCredentials(problem)


def _token_cookies(headers: list[bytes]) -> list[str]:
    """Every value of :data:`TOKEN_COOKIE` in the Cookie headers (as Starlette parses one)."""
    values = []
    for header in headers:
        for chunk in header.decode("latin-1").split(";"):
            name, eq, value = chunk.partition("=")
            if eq and name.strip() == TOKEN_COOKIE:
                values.append(http_cookies._unquote(value.strip()))
    return values


def _query_credentials(query_string: bytes) -> tuple[dict[str, list[str]], bytes]:
    """The values of each credential parameter (names percent-decoded), and the rest."""
    found: dict[str, list[str]] = {}
    if not query_string or (
        b"%" not in query_string and b"token" not in query_string and b"key" not in query_string
    ):
        return found, query_string  # no credential parameter can be in it
    rest = []
    for part in query_string.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name in CREDENTIAL_PARAMETERS:
            found.setdefault(name, []).append(unquote_plus(value))  # as parse_qsl reads it
        elif part:
            rest.append(part)
    return found, "&".join(rest).encode("latin-1")


class CredentialCheck:
    """ASGI middleware in front of every route: ambiguous credentials are a 400.

    It reads the credentials once (:func:`credentials_of`; the routes and
    :mod:`api.fastpath` use that reading), refuses a request whose credentials are
    ambiguous with the app's own error answer (HTTP 400, ``AmbiguousCredentials``)
    before anything else runs, and gives every response ``Referrer-Policy:
    no-referrer``. Building it also makes uvicorn's access log write ``token=`` and
    ``tile_key=`` values as ``***`` (:class:`gridgeo.access.RedactCredentials`), however
    the app is served.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactCredentials) for f in access.filters):
            access.addFilter(RedactCredentials())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        try:
            credentials_of(scope)
        except AmbiguousCredentials as exc:
            response = await _refusal(scope, exc)
            await response(scope, receive, send_with_policy)
            return
        await self.app(scope, receive, send_with_policy)


async def _refusal(scope: Scope, exc: AmbiguousCredentials) -> Response:
    """The app's own answer to ``exc`` (its handler of gridgeo errors), cookie cleared."""
    request = Request(scope)
    handler = getattr(scope.get("app"), "exception_handlers", {}).get(GridGeoError)
    if handler is not None:
        response = await handler(request, exc)
    else:  # an app without gridgeo's handlers
        response = JSONResponse(
            status_code=400, content={"error": type(exc).__name__, "detail": str(exc)}
        )
    if _token_cookies([value for name, value in scope["headers"] if name == b"cookie"]):
        response.delete_cookie(TOKEN_COOKIE, path=str(scope.get("root_path", "")) or "/")
    return response


# -- callers of the data routes (the Authorization header) ---------------------------------


def current_user(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the ``Authorization: Bearer`` token (a FastAPI dependency).

    (``credentials`` documents the header in OpenAPI; the token is the one
    :func:`credentials_of` read.)

    Raises
    ------
    AmbiguousCredentials
        Credentials sent twice or disagreeing (see the module docstring).
    Unauthorized
        No token (unless the demo mode is on), or an unknown or revoked token.
    """
    bearer = credentials_of(request.scope).bearer
    if bearer is None:
        settings = getattr(request.app.state, "settings", None)
        if settings is not None and getattr(settings, "auth", "on") == "off":
            return DEMO_PRINCIPAL
        raise Unauthorized(
            "this endpoint needs a token: send 'Authorization: Bearer <token>' "
            "(an administrator creates one with `gridgeo token create`)"
        )
    principal = authenticate(store, bearer)
    if principal is None:
        raise Unauthorized("the token is not valid: it is unknown or has been revoked")
    return principal


UserDep = Annotated[Principal, Depends(current_user)]

# -- readers of maps, tiles and reports (header, ?token=, cookie or tile key) ---------------

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


def _tile_secret(app: Any) -> bytes:
    """``GRIDGEO_TILE_KEY_SECRET``, else this process's own random secret."""
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
    return tile_key(user, expires, _tile_secret(request.app))


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
    secret = _tile_secret(app)
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
    settings = getattr(app.state, "settings", None)
    if settings is not None and getattr(settings, "auth", "on") == "off":
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
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
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
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
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


def scope_key(user: Principal) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """What a cached map, tile or report of ``user`` depends on.

    None for the district, else the area as the token gives it (with the data
    version, it fixes the codes).
    """
    if user.district_wide:
        return None
    return (user.communities, user.grids)


def check_place(
    store: Store, user: Principal, *, community: str | None = None, grid: str | None = None
) -> Area | None:
    """The caller's area, after refusing a community or grid outside it (403).

    A community is the caller's when the token names it; a grid when it lies in one of
    those communities or the token names it. Unknown codes get the same refusal, so
    nothing tells what another area holds.
    """
    area = area_for(store, user)
    if area is None:
        return None
    if community is not None and community not in area.communities:
        raise PermissionDenied(f"community {community!r} is not in your area ({user.describe()})")
    if grid is not None and grid not in area.grids:
        raise PermissionDenied(f"grid {grid!r} is not in your area ({user.describe()})")
    return area


def read_area(store: Store, user: Principal, *, community: str | None = None) -> Area | None:
    """The area a read covers: the caller's, narrowed to ``community`` when one is given.

    Raises
    ------
    PermissionDenied
        ``community`` is outside a restricted caller's area, or unknown (the same
        refusal, see :func:`check_place`).
    NotFound
        ``community`` is unknown (a district-wide caller).
    """
    area = check_place(store, user, community=community)
    if community is None:
        return area
    geo = geography(store)
    if community not in geo.community_codes:
        raise NotFound(f"no community {community!r}")
    scope = geo.area((community,), ())
    return scope if area is None else area.intersection(scope)


def require(*roles: str) -> Any:
    """A dependency that lets only ``roles`` through (403 with the reason otherwise).

    Use it as ``dependencies=[require("planner")]`` or
    ``user: Annotated[Principal, require("leader", "planner")]``.
    """

    def dependency(user: UserDep) -> Principal:
        if user.role not in roles:
            raise PermissionDenied(
                f"role {user.role} may not do this; it needs one of: {', '.join(roles)}"
            )
        return user

    return Depends(dependency)


def area_filter(user: UserDep, store: Annotated[Store, Depends(get_store)]) -> Area | None:
    """The caller's area (None: the whole district), as a FastAPI dependency.

    ``area.keep(layer, frame)`` keeps the rows of a layer frame in the area,
    ``area.keep_findings(name, frame)`` those of a check result, and
    ``area.holds(layer, code)`` tests one entity.
    """
    return area_for(store, user)


AreaDep = Annotated[Area | None, Depends(area_filter)]


@router.get("/me", summary="Who the token belongs to")
def me(user: UserDep) -> dict[str, Any]:
    """The caller's role, member, area and whether they may see personal data."""
    return {
        "role": user.role,
        "member": user.member,
        "communities": list(user.communities),
        "grids": list(user.grids),
        "district_wide": user.district_wide,
        "personal_data": user.may_see_personal,
    }
