"""The credentials of a request, read once, and the middleware that refuses ambiguous ones.

A reader's credential is one of an ``Authorization: Bearer`` header, ``?token=``, the
:data:`TOKEN_COOKIE` cookie or (tiles only) ``?tile_key=``; :func:`credentials_of`
reads them once per request and refuses them when they are ambiguous (see
:mod:`api.auth`), and :class:`CredentialCheck` does so before any route runs.
:data:`DEMO_PRINCIPAL` is the caller when no credential is needed
(``GRIDGEO_AUTH=off``, :func:`auth_off`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import cookies as http_cookies
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgeo.errors import AmbiguousCredentials, GridGeoError
from gridgeo.principal import Principal
from gridgeo.redaction import CREDENTIAL_PARAMETERS, RedactCredentials

__all__ = [
    "BEARER",
    "DEMO_PRINCIPAL",
    "TILE_KEY_PARAMETER",
    "TOKEN_COOKIE",
    "CredentialCheck",
    "Credentials",
    "auth_off",
    "credentials_of",
]

#: The caller in the open demo mode (``GRIDGEO_AUTH=off``, no token sent).
DEMO_PRINCIPAL = Principal("analyst")

#: The Bearer scheme of the data and reader routes, as OpenAPI documents it.
BEARER = HTTPBearer(auto_error=False, description="A token from `gridgeo token create`.")

#: The cookie a page opened with ``?token=`` sets.
TOKEN_COOKIE = "gridgeo_token"
#: The query parameter of a tile key (tiles, TileJSON and static maps only).
TILE_KEY_PARAMETER = "tile_key"


def auth_off(app: Any) -> bool:
    """Whether the app runs the open demo mode (``GRIDGEO_AUTH=off``)."""
    settings = getattr(app.state, "settings", None)
    return settings is not None and getattr(settings, "auth", "on") == "off"


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
    ``tile_key=`` values as ``***`` (:class:`gridgeo.redaction.RedactCredentials`), however
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
