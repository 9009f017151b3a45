"""``POST /batch``: the writes a field app kept while offline, sent in one request.

The caller is authenticated, and its role checked, before the body is read
(:class:`api.write_route.WriteRoute`, as for every write). The items are applied in
order, each on its own, all or nothing, exactly as its single route would apply it
(:mod:`api.writes`): a failed item changes nothing and does not stop the items after
it. The answer is a 200 with, for each item, the status and body its single route
would have given (201 or 200 with the feature, a replay with ``replayed: true``, or the
refusal: 403, 404, 409, 422, 503...).

Each item needs its ``key`` (an idempotency key, in the namespace of the caller's
token, as the ``Idempotency-Key`` header) or its ``uuid``, so that sending the same
batch again, after a connection lost half way, stores the rest once and gives the
first answers of the items already stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import psycopg
import pydantic
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from api.auth import REFUSALS
from api.freshness import version_headers
from api.refusals import refusal, validation_refusal
from api.state import get_store
from api.write_bodies import (
    ClientId,
    CloseIn,
    EscalateIn,
    MeetingIn,
    ProblemIn,
    ResolveIn,
    VisitIn,
    row_of,
)
from api.write_route import WriterDep, WriteRoute, write_roles
from api.writes import STATUS_OF, WRITE_ERRORS, identified
from gridgeo import fieldwork
from gridgeo.errors import GridGeoError, Issue, StoreError, ValidationError, database_reason
from gridgeo.principal import WRITER_ROLES, Principal
from gridgeo.store import Store

__all__ = ["BatchIn", "BatchItem", "BatchOut", "ItemOut", "apply_item", "router"]

StoreDep = Annotated[Store, Depends(get_store)]

router = APIRouter(tags=["writes"], responses=REFUSALS, route_class=WriteRoute)

#: The body model of each operation.
BODIES: dict[str, type[BaseModel]] = {
    "visit": VisitIn,
    "meeting": MeetingIn,
    "problem": ProblemIn,
    "resolve": ResolveIn,
    "escalate": EscalateIn,
    "close": CloseIn,
}
Operation = Literal["visit", "meeting", "problem", "resolve", "escalate", "close"]
_STEPS = ("resolve", "escalate", "close")


class BatchItem(BaseModel):
    """One write of a batch: what it is, its id, its body and (for a step) its problem."""

    model_config = ConfigDict(extra="forbid")
    op: Operation
    key: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")] | None = (
        Field(None, description="An idempotency key, as the Idempotency-Key header.")
    )
    uuid: ClientId | None = None
    problem: (
        Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")] | None
    ) = Field(None, description="The code of the problem a step moves (resolve, escalate, close).")
    body: dict[str, Any] = Field(
        default_factory=dict, description="The body the single route takes (see its schema)."
    )


class BatchIn(BaseModel):
    """The writes, applied in order (at most ``GRIDGEO_BATCH_MAX_ITEMS``)."""

    model_config = ConfigDict(extra="forbid")
    items: list[BatchItem] = Field(min_length=1)


class ItemOut(BaseModel):
    """What became of one item: the status and body its single route would give."""

    index: int
    status: int
    replayed: bool = False
    body: dict[str, Any]


class BatchOut(BaseModel):
    """One answer per item, in order, and how many ended each way."""

    items: list[ItemOut]
    created: int
    updated: int
    replayed: int
    refused: int


def apply_item(
    store: Store, user: Principal, item: BatchItem
) -> tuple[int, bool, dict[str, Any], int | None]:
    """Apply one item as its single route would; its status, replay, body and data version.

    The version is the one the write made (a replay: the one when it came; a refusal: None).
    """
    try:
        body = _body(item)
        outcome = _write(store, user, item, body)
    except pydantic.ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        return _refused(validation_refusal(errors))
    except RequestValidationError as exc:  # no key and no uuid
        return _refused(validation_refusal(exc.errors()))
    except GridGeoError as exc:
        return _refused(refusal(exc))
    except (sa.exc.OperationalError, sa.exc.InterfaceError, psycopg.OperationalError) as exc:
        return _refused(
            refusal(StoreError(f"the database does not answer: {database_reason(exc)}"))
        )
    return STATUS_OF[outcome.first], outcome.replayed, outcome.feature, outcome.data_version


def _refused(response: Any) -> tuple[int, bool, dict[str, Any], None]:
    return int(response.status_code), False, json.loads(bytes(response.body)), None


def _body(item: BatchItem) -> BaseModel:
    """The item's body as its route's model, with the item's uuid in it."""
    data = dict(item.body)
    if item.uuid is not None:
        given = data.get("uuid")
        if given is not None and str(given).lower() != str(item.uuid):
            raise ValidationError(
                Issue(
                    "the item's uuid and its body's uuid differ",
                    column="uuid",
                    hint="send the uuid once",
                )
            )
        data["uuid"] = str(item.uuid)
    if (item.op in _STEPS) != (item.problem is not None):
        need = "needs the code of its problem" if item.op in _STEPS else "names no problem"
        raise ValidationError(Issue(f"a {item.op} item {need}", column="problem"))
    return BODIES[item.op].model_validate(data)


def _write(store: Store, user: Principal, item: BatchItem, body: Any) -> fieldwork.WriteOutcome:
    key = identified(item.key, body.uuid)
    if item.op in ("visit", "meeting", "problem"):
        write = {
            "visit": fieldwork.record_visit,
            "meeting": fieldwork.record_meeting,
            "problem": fieldwork.report_problem,
        }[item.op]
        return write(store, row_of(body), principal=user, idempotency_key=key)
    assert item.problem is not None
    common: dict[str, Any] = {
        "at": body.at,
        "version": body.version,
        "uuid": None if body.uuid is None else str(body.uuid),
        "principal": user,
        "idempotency_key": key,
    }
    if item.op == "resolve":
        return fieldwork.resolve_problem(store, item.problem, **common)
    if item.op == "escalate":
        return fieldwork.escalate_problem(store, item.problem, deadline=body.deadline, **common)
    return fieldwork.close_problem(store, item.problem, feedback=body.feedback, **common)


@router.post(
    "/batch",
    operation_id="write_batch",
    response_model=BatchOut,
    responses={
        200: {"description": "Each item's status and body, in order."},
        **{k: v for k, v in WRITE_ERRORS.items() if k in (400, 413, 422)},
    },
    openapi_extra=write_roles(*sorted(WRITER_ROLES)),
)
def post_batch(
    batch: BatchIn, request: Request, response: Response, user: WriterDep, store: StoreDep
) -> BatchOut:
    """Apply a field app's writes in order, each all or nothing; a status per item.

    An item is ``{op, key | uuid, body, problem?}``: ``op`` one of ``visit``,
    ``meeting``, ``problem``, ``resolve``, ``escalate``, ``close``; ``body`` what the
    single route takes; ``problem`` the code a step moves. Items that fail leave the
    store as it was and do not stop the items after them. ``X-Data-Version`` is the
    data version after the last item applied (none applied: the version now).
    """
    limit = request.app.state.settings.batch_max_items
    if len(batch.items) > limit:
        raise ValidationError(
            Issue(
                f"a batch holds at most {limit} writes (GRIDGEO_BATCH_MAX_ITEMS), this one "
                f"{len(batch.items)}",
                column="items",
                hint="send the writes in several batches, in order",
            )
        )
    out: list[ItemOut] = []
    known: list[int] = []  # the versions the items made (or, replayed, saw)
    for index, item in enumerate(batch.items):
        status, replayed, body, version = apply_item(store, user, item)
        out.append(ItemOut(index=index, status=status, replayed=replayed, body=body))
        known += [] if version is None else [version]
    response.headers.update(version_headers(max(known) if known else int(store.data_version())))
    return BatchOut(
        items=out,
        created=sum(1 for o in out if o.status == 201 and not o.replayed),
        updated=sum(1 for o in out if o.status == 200 and not o.replayed),
        replayed=sum(1 for o in out if o.replayed),
        refused=sum(1 for o in out if o.status >= 300),
    )
