"""Field writes: ``POST /visits``, ``/meetings``, ``/problems`` and the problem lifecycle.

Grid workers and members write, as themselves, in their area, each write with an
``Idempotency-Key`` header. The logic lives in :mod:`gridgeo.fieldwork`; this module
translates HTTP, and makes sure a write is refused as early as it can be:

1. a body over ``GRIDGEO_MAX_BODY_BYTES`` never gets here (:class:`api.main.BodyLimit`);
2. :class:`WriteRoute` authenticates the caller from the ``Authorization: Bearer``
   header and checks the role the route needs **before the body is read**: no token,
   an unknown one, a read-only role or the open demo (``GRIDGEO_AUTH=off``) get their
   401 or 403 without a byte of the body being parsed;
3. the body is read (within the limit), parsed and validated by FastAPI (422 naming
   the bad fields, see :func:`api.main._request_validation_handler`);
4. :mod:`gridgeo.fieldwork` checks every reference against the caller's area first,
   with one answer for unknown and foreign codes, then the data rules.

The principal that :class:`WriteRoute` found is the one the route uses
(:data:`WriterDep`): the token is looked up once per request.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Depends, Header, Request, Security
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import REFUSALS
from api.state import app_store, get_store
from gridgeo import fieldwork
from gridgeo.access import WRITER_ROLES, Principal, authenticate
from gridgeo.errors import BadRequest, PermissionDenied, Unauthorized
from gridgeo.store import Store

__all__ = [
    "CloseIn",
    "EscalateIn",
    "MeetingIn",
    "PointIn",
    "ProblemIn",
    "ResolveIn",
    "VisitIn",
    "WriteRoute",
    "WriterDep",
    "router",
    "write_principal",
]

#: Where :class:`WriteRoute` leaves the authenticated caller in the request's scope.
PRINCIPAL_KEY = "gridgeo.writer"
#: The OpenAPI extension that names the roles a write route lets through.
ROLES_KEY = "x-gridgeo-roles"


# -- authentication before the body ---------------------------------------------------------


async def write_principal(request: Request, roles: tuple[str, ...]) -> Principal:
    """The caller of a write, from the request's headers alone (the body is not read).

    Only the ``Authorization: Bearer`` header counts (a cookie or ``?token=`` would
    let another site's form write). The token is looked up on every write, never
    remembered, so a revoked token stops writing at once.

    Raises
    ------
    BadRequest
        More than one ``Authorization`` header.
    Unauthorized
        No token (with ``GRIDGEO_AUTH=on``), a header that is not ``Bearer <token>``, or
        an unknown or revoked token.
    PermissionDenied
        The open demo, a role that does not write here, or a token without a member.
    """
    values = request.headers.getlist("authorization")
    if len(values) > 1:
        raise BadRequest(
            f"the request has {len(values)} Authorization headers: send exactly one, "
            "'Authorization: Bearer <token>'"
        )
    if not values:
        if request.app.state.settings.auth != "off":
            raise Unauthorized(
                "this endpoint needs a token: send 'Authorization: Bearer <token>' "
                "(an administrator creates one with `gridgeo token create`)"
            )
        raise PermissionDenied(
            "the open demo (GRIDGEO_AUTH=off) only reads: a write needs the token of a "
            "grid worker or member in 'Authorization: Bearer <token>'"
        )
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
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
StoreDep = Annotated[Store, Depends(get_store)]

router = APIRouter(tags=["writes"], responses=REFUSALS, route_class=WriteRoute)


def _roles(*roles: str) -> dict[str, Any]:
    return {ROLES_KEY: list(roles)}


_ERR = {
    "description": "Refused: the detail says why.",
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
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "The body is not JSON, or two Authorization headers."},
    404: _ERR,
    409: _ERR,
    413: {**_ERR, "description": "The body is larger than GRIDGEO_MAX_BODY_BYTES."},
    422: {
        **_ERR,
        "description": "Invalid body or headers: the detail names each bad field "
        "(the input is not echoed).",
    },
}


# -- validation of inputs ------------------------------------------------------------------


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _sane_time(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _sane_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) or (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        return value
    raise ValueError("write the date as YYYY-MM-DD")


def _iso_time(value: Any) -> Any:
    if isinstance(value, dt.datetime) or (
        isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value)
    ):
        return value
    raise ValueError("write the time as YYYY-MM-DDTHH:MM[:SS][+08:00] (ISO 8601)")


Code = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Text = Annotated[str, Field(max_length=4000), AfterValidator(_no_nul)]
Time = Annotated[dt.datetime, BeforeValidator(_iso_time), AfterValidator(_sane_time)]
Day = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_sane_date)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A unique key per write (e.g. a UUID); a retry with the same key and "
        "body returns the first result instead of writing again.",
    ),
]
ProblemCode = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]


class PointIn(BaseModel):
    """A GeoJSON Point in longitude/latitude (EPSG:4326)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: tuple[Lon, Lat]

    def shape(self) -> shapely.Point:
        return shapely.Point(*self.coordinates)


class VisitIn(BaseModel):
    """A visit: the member defaults to the token's member; the time to now."""

    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    member: Code | None = None
    household: Code | None = None
    building: Code | None = None
    visited_at: Time | None = Field(None, description="Without an offset: local time.")
    note: Text | None = None
    geometry: PointIn | None = None


class MeetingIn(BaseModel):
    """A grid council meeting."""

    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    grid: Code
    held_on: Day | None = None
    attendance: Annotated[int, Field(ge=0, le=100_000)] | None = None
    topic: Text | None = None


class ProblemIn(BaseModel):
    """A new problem (it starts open)."""

    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    category: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
    description: Text | None = None
    household: Code | None = None
    building: Code | None = None
    visit: Code | None = None
    responsible: Code | None = None
    reported_at: Time | None = None
    deadline: Day | None = None
    geometry: PointIn | None = None


class ResolveIn(BaseModel):
    """Solved on the spot."""

    model_config = ConfigDict(extra="forbid")
    at: Time | None = Field(None, description="When; default now.")


class EscalateIn(BaseModel):
    """Escalated to the community party committee."""

    model_config = ConfigDict(extra="forbid")
    at: Time | None = None
    deadline: Day | None = None


class CloseIn(BaseModel):
    """Closed, with the feedback given to the resident (required)."""

    model_config = ConfigDict(extra="forbid")
    feedback: Text | None = Field(None, description="What the resident was told; required.")
    at: Time | None = None


def _row(model: BaseModel) -> dict[str, Any]:
    row = model.model_dump(exclude_none=True)
    geometry = getattr(model, "geometry", None)
    if geometry is not None:
        row["geometry"] = geometry.shape()
    return row


def _answer(outcome: fieldwork.WriteOutcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(status_code=outcome.status, content=outcome.body, headers=headers)


# -- routes ------------------------------------------------------------------------------------

#: OpenAPI links from a new problem to its lifecycle steps (schemathesis follows them).
_PROBLEM_LINKS = {
    step: {"operationId": f"{step}_problem", "parameters": {"code": "$response.body#/id"}}
    for step in ("resolve", "escalate", "close")
}
_CREATED = {201: {"description": "Stored (or, on a retry, the first result)."}}
_MOVED = {200: {"description": "Moved (or, on a retry, the first result)."}}
_WRITERS = _roles(*sorted(WRITER_ROLES))


@router.post(
    "/visits",
    status_code=201,
    operation_id="record_visit",
    responses={**_CREATED, **_WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def post_visit(
    body: VisitIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Record a visit to a household within the member's assignments."""
    return _answer(fieldwork.record_visit(store, _row(body), principal=user, idempotency_key=key))


@router.post(
    "/meetings",
    status_code=201,
    operation_id="record_meeting",
    responses={**_CREATED, **_WRITE_ERRORS},
    openapi_extra=_roles("grid_worker"),
)
def post_meeting(
    body: MeetingIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Record a grid council meeting (grid workers, for their grids)."""
    return _answer(fieldwork.record_meeting(store, _row(body), principal=user, idempotency_key=key))


@router.post(
    "/problems",
    status_code=201,
    operation_id="report_problem",
    responses={201: {**_CREATED[201], "links": _PROBLEM_LINKS}, **_WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def post_problem(
    body: ProblemIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Put a problem on the list; it starts open."""
    return _answer(fieldwork.report_problem(store, _row(body), principal=user, idempotency_key=key))


@router.post(
    "/problems/{code}/resolve",
    operation_id="resolve_problem",
    responses={**_MOVED, **_WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def resolve(
    code: ProblemCode, body: ResolveIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Solved on the spot: an open problem becomes ``resolved_on_site``."""
    return _answer(
        fieldwork.resolve_problem(store, code, at=body.at, principal=user, idempotency_key=key)
    )


@router.post(
    "/problems/{code}/escalate",
    operation_id="escalate_problem",
    responses={**_MOVED, **_WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def escalate(
    code: ProblemCode, body: EscalateIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Escalated to the community party committee: an open problem becomes ``escalated``."""
    return _answer(
        fieldwork.escalate_problem(
            store, code, at=body.at, deadline=body.deadline, principal=user, idempotency_key=key
        )
    )


@router.post(
    "/problems/{code}/close",
    operation_id="close_problem",
    responses={**_MOVED, **_WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def close(
    code: ProblemCode, body: CloseIn, user: WriterDep, store: StoreDep, key: IdempotencyKey
) -> JSONResponse:
    """Closed with feedback to the resident (销号); the feedback text is required."""
    return _answer(
        fieldwork.close_problem(
            store, code, feedback=body.feedback, at=body.at, principal=user, idempotency_key=key
        )
    )
