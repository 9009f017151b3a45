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
   server (:func:`gridgeo.tokens.tile_key`) that the map pages and TileJSON write into
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

The reading of credentials and the middleware are in :mod:`api.credentials`, the
readers (token cache, tile keys, the cookie) in :mod:`api.readers`; this module has
the callers of the data routes, their areas and roles, and ``GET /me``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from api.credentials import (
    BEARER,
    DEMO_PRINCIPAL,
    TILE_KEY_PARAMETER,
    TOKEN_COOKIE,
    CredentialCheck,
    Credentials,
    auth_off,
    credentials_of,
)
from api.readers import (
    TOKEN_CACHE_SECONDS,
    ReaderDep,
    TileReaderDep,
    reader,
    reader_of,
    remember_principal,
    remember_token,
    tile_key_for,
    tile_reader,
    token_query,
)
from api.state import get_store
from gridgeo.areas import Area, area_for, geography
from gridgeo.errors import NotFound, PermissionDenied, Unauthorized
from gridgeo.principal import Principal
from gridgeo.store import Store
from gridgeo.tokens import authenticate

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

# -- callers of the data routes (the Authorization header) ---------------------------------


def current_user(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
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
        if auth_off(request.app):
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

# -- areas of the caller -------------------------------------------------------------------


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
