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

Maps, tiles and reports (read-only, opened by browsers) depend on :func:`reader`
instead, which takes the token from, in this order:

1. ``Authorization: Bearer <token>`` (API clients, map clients given a header);
2. ``?token=<token>`` in the URL: a leader's bookmarked intranet link
   ``/maps/coverage?token=ggt_...``. A page opened so also gets the token as an
   ``HttpOnly; SameSite=Strict`` cookie (:data:`TOKEN_COOKIE`), and the tile URLs,
   links and filter form it writes carry ``token=`` as well, so its tiles load
   (and a bookmark of any of them works) even where cookies are blocked;
3. the :data:`TOKEN_COOKIE` cookie (set as above), so later pages need no token in
   the URL.

An unknown token is a 401 whichever way it came (no fall-back to the next way).
Writes accept only the header (a cookie would let another site's form write).
:func:`reader` is a coroutine and remembers token lookups for
:data:`TOKEN_CACHE_SECONDS`, so a cached tile costs no database round trip for
authentication (a revoked token may keep reading maps for that long).
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyCookie, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.state import app_store, get_store
from gridgeo.access import Area, Principal, area_for, authenticate, hash_token
from gridgeo.errors import PermissionDenied, Unauthorized
from gridgeo.store import Store

__all__ = [
    "AreaDep",
    "DEMO_PRINCIPAL",
    "REFUSALS",
    "TOKEN_CACHE_SECONDS",
    "TOKEN_COOKIE",
    "ReaderDep",
    "UserDep",
    "area_filter",
    "check_place",
    "current_user",
    "reader",
    "reader_of",
    "reader_token",
    "remember_token",
    "require",
    "router",
    "scope_key",
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
    401: _error("No token, or a token that is unknown or revoked."),
    403: _error("The token's role or area does not allow this; the detail says why."),
}

router = APIRouter(tags=["auth"], responses=REFUSALS)

_bearer = HTTPBearer(auto_error=False, description="A token from `gridgeo token create`.")


def current_user(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the ``Authorization: Bearer`` token (a FastAPI dependency).

    Raises
    ------
    Unauthorized
        No token (unless the demo mode is on), or an unknown or revoked token.
    """
    if credentials is None:
        settings = getattr(request.app.state, "settings", None)
        if settings is not None and getattr(settings, "auth", "on") == "off":
            return DEMO_PRINCIPAL
        raise Unauthorized(
            "this endpoint needs a token: send 'Authorization: Bearer <token>' "
            "(an administrator creates one with `gridgeo token create`)"
        )
    principal = authenticate(store, credentials.credentials)
    if principal is None:
        raise Unauthorized("the token is not valid: it is unknown or has been revoked")
    return principal


UserDep = Annotated[Principal, Depends(current_user)]

# -- readers of maps, tiles and reports (header, ?token= or cookie) ------------------------

#: The cookie a page opened with ``?token=`` sets.
TOKEN_COOKIE = "gridgeo_token"
#: How long a token lookup is remembered (seconds).
TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_SIZE = 4096

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

_lookups: weakref.WeakKeyDictionary[Store, dict[str, tuple[float, Principal | None]]] = (
    weakref.WeakKeyDictionary()
)
_lookups_lock = threading.Lock()


async def _principal_of(store: Store, token: str) -> Principal | None:
    """:func:`authenticate`, remembered for :data:`TOKEN_CACHE_SECONDS` (also failures)."""
    digest = hash_token(token)
    now = time.monotonic()
    with _lookups_lock:
        known = _lookups.setdefault(store, {})
        hit = known.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await run_in_threadpool(authenticate, store, token)
    with _lookups_lock:
        if len(known) >= _TOKEN_CACHE_SIZE:
            for key in [k for k, (until, _) in known.items() if until <= now] or list(known):
                del known[key]
        known[digest] = (now + TOKEN_CACHE_SECONDS, principal)
    return principal


async def reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    query: Annotated[str | None, Depends(_query_token)],
    cookie: Annotated[str | None, Depends(_cookie_token)],
) -> Principal:
    """The caller of a map, tile or report route (header, ``?token=`` or cookie).

    A coroutine: no thread, and no query when the token was looked up in the last
    :data:`TOKEN_CACHE_SECONDS`.

    Raises
    ------
    Unauthorized
        No token (unless the demo mode is on), or an unknown or revoked one.
    """
    bearer = credentials.credentials if credentials is not None else None
    return await reader_of(request.app, *reader_token(bearer, query, cookie))


def reader_token(
    bearer: str | None, query: str | None, cookie: str | None
) -> tuple[str | None, str]:
    """The token a reader sent, and where it was, for a refusal.

    The Bearer header first, else ``?token=``, else the cookie; None when there is none.
    """
    if bearer is not None:
        return bearer, "the Bearer token"
    if query:
        return query, "the token in the URL (?token=)"
    if cookie:
        return cookie, f"the token in the {TOKEN_COOKIE} cookie"
    return None, ""


async def reader_of(app: Any, token: str | None, how: str = "the token") -> Principal:
    """The principal of a reader's token (None: no token), as :func:`reader` finds it.

    ``how`` names where the token came from, for the refusal.

    Raises
    ------
    Unauthorized
        No token (unless the demo mode is on), or an unknown or revoked one.
    """
    if token is None:
        settings = getattr(app.state, "settings", None)
        if settings is not None and getattr(settings, "auth", "on") == "off":
            return DEMO_PRINCIPAL
        raise Unauthorized(
            "this page needs a token: send 'Authorization: Bearer <token>', or open it "
            "with ?token=<token> (an administrator creates one with `gridgeo token create`)"
        )
    principal = await _principal_of(app_store(app), token)
    if principal is None:
        raise Unauthorized(f"{how} is not valid: it is unknown or has been revoked")
    return principal


ReaderDep = Annotated[Principal, Depends(reader)]


def token_query(request: Request) -> str | None:
    """The token of a request that came with ``?token=`` (to carry on in the URLs it makes)."""
    if request.headers.get("authorization"):
        return None
    return request.query_params.get("token") or None


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
