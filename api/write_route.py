"""Write routes that authenticate their caller, and check its role, before the body is read.

:class:`WriteRoute` finds the caller of a write from the ``Authorization: Bearer``
header alone (:func:`write_principal`) and leaves it for the route (:data:`WriterDep`):
no token, an unknown one, a read-only role or the open demo (``GRIDGEO_AUTH=off``) get
their 401 or 403 without a byte of the body being parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.credentials import auth_off, credentials_of
from api.state import app_store
from gridgeo.errors import PermissionDenied, Unauthorized
from gridgeo.principal import Principal
from gridgeo.tokens import authenticate

__all__ = [
    "PRINCIPAL_KEY",
    "ROLES_KEY",
    "WriteRoute",
    "WriterDep",
    "write_principal",
    "write_roles",
]

#: Where :class:`WriteRoute` leaves the authenticated caller in the request's scope.
PRINCIPAL_KEY = "gridgeo.writer"
#: The OpenAPI extension that names the roles a write route lets through.
ROLES_KEY = "x-gridgeo-roles"


def write_roles(*roles: str) -> dict[str, Any]:
    """The ``openapi_extra`` of a write route that lets ``roles`` through."""
    return {ROLES_KEY: list(roles)}


async def write_principal(request: Request, roles: tuple[str, ...]) -> Principal:
    """The caller of a write, from the request's headers alone (the body is not read).

    Only the ``Authorization: Bearer`` header counts (a cookie or ``?token=`` would
    let another site's form write). The token is looked up on every write, never
    remembered, so a revoked token stops writing at once.

    ``Authorization`` headers sent twice never get here (:class:`api.credentials.CredentialCheck`
    refuses them).

    Raises
    ------
    Unauthorized
        No token (with ``GRIDGEO_AUTH=on``), a header that is not ``Bearer <token>``, or
        an unknown or revoked token.
    PermissionDenied
        The open demo, a role that does not write here, or a token without a member.
    """
    credentials = credentials_of(request.scope)  # CredentialCheck refused duplicates
    if credentials.bearer is None and not credentials.other_authorization:
        if not auth_off(request.app):
            raise Unauthorized(
                "this endpoint needs a token: send 'Authorization: Bearer <token>' "
                "(an administrator creates one with `gridgeo token create`)"
            )
        raise PermissionDenied(
            "the open demo (GRIDGEO_AUTH=off) only reads: a write needs the token of a "
            "grid worker or member in 'Authorization: Bearer <token>'"
        )
    token = credentials.bearer
    if token is None:
        raise Unauthorized("send the token as 'Authorization: Bearer <token>'")
    app = request.app
    principal = await run_in_threadpool(lambda: authenticate(app_store(app), token))
    if principal is None:
        raise Unauthorized("the token is not valid: it is unknown or has been revoked")
    if principal.role not in roles:
        who = "grid workers and members" if len(roles) > 1 else "grid workers"
        raise PermissionDenied(
            f"role {principal.role} may not {request.method} {request.url.path}; "
            f"only {who} write this, as their own member"
        )
    if not principal.member:
        raise PermissionDenied(f"this {principal.role} token names no member to write as")
    return principal


class WriteRoute(APIRoute):
    """A route that authenticates its caller, and checks the role, before its body is read.

    FastAPI reads, parses and validates a body before any dependency runs, so a
    dependency cannot refuse a caller first. This route class wraps the handler: the
    caller is found by :func:`write_principal` from the headers, left in the request's
    scope for :data:`WriterDep`, and only then is the body read (within
    ``GRIDGEO_MAX_BODY_BYTES``) and handed to FastAPI. The roles come from the route's
    ``openapi_extra[ROLES_KEY]``, which also documents them.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        roles = tuple((self.openapi_extra or {}).get(ROLES_KEY, ()))
        if not roles:
            raise TypeError(
                f"write route {self.path} names no roles (openapi_extra[{ROLES_KEY!r}])"
            )
        handler = super().get_route_handler()

        async def authenticated_first(request: Request) -> Response:
            request.scope[PRINCIPAL_KEY] = await write_principal(request, roles)
            await request.body()  # now, within the body limit; FastAPI parses it next
            return await handler(request)

        return authenticated_first


_bearer = HTTPBearer(auto_error=False, description="A grid worker's or member's token.")


def _writer(
    request: Request,
    # documents the Bearer scheme in OpenAPI; the token was checked by WriteRoute
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):  # a route not made by WriteRoute
        raise Unauthorized("this endpoint needs a token: send 'Authorization: Bearer <token>'")
    return principal


#: The caller of a write, as :class:`WriteRoute` authenticated it.
WriterDep = Annotated[Principal, Depends(_writer)]
