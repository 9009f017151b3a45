"""Field writes: ``POST /visits``, ``/meetings``, ``/problems`` and the problem lifecycle.

Grid workers and members write, as themselves, in their area, each write with an
``Idempotency-Key`` header, a ``uuid`` in its body, or both (:func:`identified`); a
problem step may name the version it edits (``version`` or ``If-Match``,
:func:`version_of`). ``POST /batch`` (:mod:`api.batch`) applies many such writes. The logic lives in :mod:`gridgeo.fieldwork`; this module
translates HTTP, and makes sure a write is refused as early as it can be:

1. a body over ``GRIDGEO_MAX_BODY_BYTES`` never gets here (:class:`api.main.BodyLimit`);
2. :class:`api.write_route.WriteRoute` authenticates the caller from the ``Authorization: Bearer``
   header and checks the role the route needs **before the body is read**: no token,
   an unknown one, a read-only role or the open demo (``GRIDGEO_AUTH=off``) get their
   401 or 403 without a byte of the body being parsed;
3. the body is read (within the limit), parsed and validated by FastAPI (422 naming
   the bad fields, see :func:`api.main._request_validation_handler`);
4. :mod:`gridgeo.fieldwork` checks every reference against the caller's area first,
   with one answer for unknown and foreign codes, then the data rules.

The principal that :class:`~api.write_route.WriteRoute` found is the one the route uses
(:data:`~api.write_route.WriterDep`): the token is looked up once per request. The bodies
are the models of :mod:`api.write_bodies`. A write's :class:`gridgeo.fieldwork.WriteOutcome`
becomes its status here: 201 for a created row, 200 for a moved problem, and on a retry
the status of the first answer with ``Idempotent-Replayed: true``. Every answer of a
write carries ``X-Data-Version``, the store's change counter the write made (a replay:
the counter when the retry came).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.auth import REFUSALS
from api.freshness import version_headers
from api.state import get_store
from api.write_bodies import (
    CloseIn,
    EscalateIn,
    IdempotencyKey,
    IfMatch,
    MeetingIn,
    ProblemCode,
    ProblemIn,
    ResolveIn,
    VisitIn,
    row_of,
)
from api.write_route import WriterDep, WriteRoute, write_roles
from gridgeo import fieldwork
from gridgeo.errors import Issue, ValidationError
from gridgeo.principal import WRITER_ROLES
from gridgeo.store import Store

__all__ = ["STATUS_OF", "WRITE_ERRORS", "answer", "identified", "router", "version_of"]

StoreDep = Annotated[Store, Depends(get_store)]

router = APIRouter(tags=["writes"], responses=REFUSALS, route_class=WriteRoute)


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
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "The body is not JSON, or two Authorization headers."},
    404: _ERR,
    409: {
        **_ERR,
        "description": "A code that exists already, a `uuid` used before for another "
        "write, a step the problem's status does not allow, or a stale version "
        "(then `version` holds the problem's current one).",
    },
    413: {**_ERR, "description": "The body is larger than GRIDGEO_MAX_BODY_BYTES."},
    422: {
        **_ERR,
        "description": "Invalid body or headers: the detail names each bad field "
        "(the input is not echoed).",
    },
}


#: The HTTP status of what a write did (a replay answers with the first write's).
STATUS_OF = {"created": 201, "updated": 200}


def identified(key: str | None, uuid: Any) -> str | None:
    """The write's idempotency key, after refusing a write with neither key nor uuid."""
    if key is None and uuid is None:
        missing = "Field required: a write needs an Idempotency-Key header or a uuid in its body"
        raise RequestValidationError(
            [{"type": "missing", "loc": ("header", "Idempotency-Key"), "msg": missing}]
        )
    return key


def version_of(body_version: int | None, if_match: str | None) -> int | None:
    """The version a problem step edits: the body's ``version`` or the ``If-Match`` header."""
    header = None
    if if_match is not None:
        header = int(if_match.removeprefix("W/").strip('"'))
    if body_version is not None and header is not None and body_version != header:
        raise ValidationError(
            Issue(
                f"the body's version {body_version} and If-Match {header} differ",
                column="version",
                hint="send the version once",
            )
        )
    return body_version if body_version is not None else header


def answer(outcome: fieldwork.WriteOutcome) -> JSONResponse:
    """A write's outcome as its HTTP answer, with the data version it made.

    A replay carries the version when the retry came (:class:`~gridgeo.fieldwork.WriteOutcome`).
    """
    headers = version_headers(outcome.data_version)
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        status_code=STATUS_OF[outcome.first], content=outcome.feature, headers=headers
    )


# -- routes ------------------------------------------------------------------------------------

#: OpenAPI links from a new problem to its lifecycle steps (schemathesis follows them).
_PROBLEM_LINKS = {
    step: {"operationId": f"{step}_problem", "parameters": {"code": "$response.body#/id"}}
    for step in ("resolve", "escalate", "close")
}
_CREATED = {201: {"description": "Stored (or, on a retry, the first result)."}}
_MOVED = {200: {"description": "Moved (or, on a retry, the first result)."}}
_WRITERS = write_roles(*sorted(WRITER_ROLES))


@router.post(
    "/visits",
    status_code=201,
    operation_id="record_visit",
    responses={**_CREATED, **WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def post_visit(
    body: VisitIn, user: WriterDep, store: StoreDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Record a visit to a household within the member's assignments."""
    key = identified(key, body.uuid)
    return answer(fieldwork.record_visit(store, row_of(body), principal=user, idempotency_key=key))


@router.post(
    "/meetings",
    status_code=201,
    operation_id="record_meeting",
    responses={**_CREATED, **WRITE_ERRORS},
    openapi_extra=write_roles("grid_worker"),
)
def post_meeting(
    body: MeetingIn, user: WriterDep, store: StoreDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Record a grid council meeting (grid workers, for their grids)."""
    key = identified(key, body.uuid)
    return answer(
        fieldwork.record_meeting(store, row_of(body), principal=user, idempotency_key=key)
    )


@router.post(
    "/problems",
    status_code=201,
    operation_id="report_problem",
    responses={201: {**_CREATED[201], "links": _PROBLEM_LINKS}, **WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def post_problem(
    body: ProblemIn, user: WriterDep, store: StoreDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Put a problem on the list; it starts open (version 1)."""
    key = identified(key, body.uuid)
    return answer(
        fieldwork.report_problem(store, row_of(body), principal=user, idempotency_key=key)
    )


@router.post(
    "/problems/{code}/resolve",
    operation_id="resolve_problem",
    responses={**_MOVED, **WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def resolve(
    code: ProblemCode,
    body: ResolveIn,
    user: WriterDep,
    store: StoreDep,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Solved on the spot: an open problem becomes ``resolved_on_site``."""
    return answer(
        fieldwork.resolve_problem(
            store, code, at=body.at, **_step(body, key, if_match), principal=user
        )
    )


@router.post(
    "/problems/{code}/escalate",
    operation_id="escalate_problem",
    responses={**_MOVED, **WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def escalate(
    code: ProblemCode,
    body: EscalateIn,
    user: WriterDep,
    store: StoreDep,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Escalated to the community party committee: an open problem becomes ``escalated``."""
    return answer(
        fieldwork.escalate_problem(
            store,
            code,
            at=body.at,
            deadline=body.deadline,
            **_step(body, key, if_match),
            principal=user,
        )
    )


@router.post(
    "/problems/{code}/close",
    operation_id="close_problem",
    responses={**_MOVED, **WRITE_ERRORS},
    openapi_extra=_WRITERS,
)
def close(
    code: ProblemCode,
    body: CloseIn,
    user: WriterDep,
    store: StoreDep,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Closed with feedback to the resident (销号); the feedback text is required."""
    return answer(
        fieldwork.close_problem(
            store,
            code,
            feedback=body.feedback,
            at=body.at,
            **_step(body, key, if_match),
            principal=user,
        )
    )


def _step(body: ResolveIn | EscalateIn | CloseIn, key: str | None, if_match: str | None) -> Any:
    """The version, uuid and key of a problem step, after refusing one with neither id."""
    return {
        "version": version_of(body.version, if_match),
        "uuid": None if body.uuid is None else str(body.uuid),
        "idempotency_key": identified(key, body.uuid),
    }
