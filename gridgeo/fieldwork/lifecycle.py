"""A problem's lifecycle: open → resolved on the spot or escalated → closed with feedback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gridgeo.areas import geography
from gridgeo.errors import (
    Conflict,
    Issue,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationError,
)
from gridgeo.fieldwork.permissions import (
    actor_of,
    check_area,
    key_owner,
    require_writer,
    writer_of,
)
from gridgeo.fieldwork.places import where
from gridgeo.fieldwork.responsibility import member_responsibility
from gridgeo.fieldwork.rows import (
    as_utc,
    client_uuid,
    from_db_time,
    local_day,
    not_future,
    now,
    plain,
    read_feature,
)
from gridgeo.layers import get_layer
from gridgeo.principal import Principal
from gridgeo.store import Store
from gridgeo.store.audit import changes, record
from gridgeo.store.idempotency import WriteKind, WriteOutcome, write_once

__all__ = ["close_problem", "escalate_problem", "resolve_problem"]


def resolve_problem(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    version: int | None = None,
    uuid: str | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Mark an open problem as solved on the spot (``resolved_on_site``) at ``at``.

    With ``version``, the step applies only to that version of the problem
    (:class:`~gridgeo.errors.StaleVersion` otherwise); ``uuid`` is the client's id of
    the step (see :func:`gridgeo.store.idempotency.write_once`).
    """
    return _transition(
        store,
        code,
        "resolve",
        {"at": at, "version": version},
        uuid=uuid,
        principal=principal,
        idempotency_key=idempotency_key,
    )


def escalate_problem(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    deadline: dt.date | None = None,
    version: int | None = None,
    uuid: str | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Escalate an open problem to the community party committee at ``at``."""
    return _transition(
        store,
        code,
        "escalate",
        {"at": at, "deadline": deadline, "version": version},
        uuid=uuid,
        principal=principal,
        idempotency_key=idempotency_key,
    )


def close_problem(
    store: Store,
    code: str,
    *,
    feedback: str | None,
    at: dt.datetime | None = None,
    version: int | None = None,
    uuid: str | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Close a resolved or escalated problem with the feedback given to the resident.

    Raises
    ------
    ValidationError
        No feedback text.
    Conflict
        The problem is still open or already closed; a ``StaleVersion`` when
        ``version`` is not the problem's current one.
    """
    return _transition(
        store,
        code,
        "close",
        {"at": at, "feedback": feedback, "version": version},
        uuid=uuid,
        principal=principal,
        idempotency_key=idempotency_key,
    )


#: Each step: the statuses it starts from, the status it makes, its time column, its verb.
_STEPS = {
    "resolve": (("open",), "resolved_on_site", "resolved_at", "resolved on the spot"),
    "escalate": (("open",), "escalated", "escalated_at", "escalated"),
    "close": (("resolved_on_site", "escalated"), "closed", "closed_at", "closed"),
}


def _transition(
    store: Store,
    code: str,
    action: str,
    params: dict[str, Any],
    *,
    uuid: str | None,
    principal: Principal | None,
    idempotency_key: str | None,
) -> WriteOutcome:
    def write(conn: sa.Connection, values: dict[str, Any]) -> tuple[WriteKind, dict[str, Any]]:
        before = read_feature(conn, "problems", code)
        feature = _move(conn, code, action, values)
        old, new = changes(_audited(before), _audited(feature) or {})
        community, grid = values["where"]
        record(conn, actor_of(principal), layer="problems", code=code, action=action,
               old=old, new=new, community=community, grid=grid)  # fmt: skip
        return "updated", feature

    uuid = client_uuid(uuid)
    # the request as keys stored before versions and uuids digested it, plus those two
    payload = {"code": code, **{k: v for k, v in params.items() if k != "version"}}
    if params.get("version") is not None:
        payload["version"] = params["version"]
    if uuid is not None:
        payload["uuid"] = uuid
    return write_once(
        store,
        owner=key_owner(principal),
        key=idempotency_key,
        operation=f"POST /problems/{code}/{action}",
        layer="problems",
        payload=plain(payload),
        check=lambda: _checked_step(store, code, action, params, principal),
        write=write,
        uuid=uuid,
        writer=writer_of(principal),
    )


def _audited(feature: dict[str, Any] | None) -> dict[str, Any] | None:
    """A problem's values as the audit log compares them: its properties and version."""
    if feature is None:
        return None
    return {**feature["properties"], "version": feature.get("version")}


def _checked_step(
    store: Store, code: str, action: str, params: dict[str, Any], principal: Principal | None
) -> dict[str, Any]:
    """The values of a lifecycle step, after every check that needs no transaction."""
    if principal is not None:
        require_writer(principal, "move problems through their lifecycle")
        check_area(store, principal, problem=code)
    values: dict[str, Any] = {}
    if action == "close":
        feedback = (params.get("feedback") or "").strip()
        if not feedback:
            raise ValidationError(
                Issue(
                    f"closing problem {code} needs feedback text: what the resident "
                    "was told (销号 needs feedback to the resident)",
                    layer="problems",
                    column="feedback",
                    hint="send the feedback in the request's 'feedback' field",
                )
            )
        values["feedback"] = feedback
    at = params.get("at")
    at = now() if at is None else as_utc(at)
    not_future(pd.Timestamp(at), "at", "problems")
    values["at"] = at
    if params.get("deadline") is not None:
        values["deadline"] = params["deadline"]
    if params.get("version") is not None:
        values["version"] = int(params["version"])
    reported, values["where"] = _reported_at(store, code, at, principal)
    if at < reported:
        raise ValidationError(
            Issue(
                f"the time {at.isoformat()} is before the problem was reported "
                f"({reported.isoformat()})",
                layer="problems",
                column=_STEPS[action][2],
            )
        )
    return values


def _reported_at(
    store: Store, code: str, at: dt.datetime, principal: Principal | None
) -> tuple[dt.datetime, tuple[str | None, str | None]]:
    """When the problem was reported and where it lies, after refusing a member it is not one of."""
    geo = geography(store)
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT p.reported_at, h.code, b.code, m.code FROM problems p "
                "LEFT JOIN households h ON h.id = p.household_id "
                "LEFT JOIN buildings b ON b.id = p.building_id "
                "LEFT JOIN members m ON m.id = p.responsible_member_id "
                "WHERE p.code = :code"
            ),
            {"code": code},
        ).first()
        if found is None:
            raise NotFound(f"no problem with code {code!r}")
        household, building, responsible = found[1], found[2], found[3]
        if building is None and household is not None:
            building = geo.building_of_household.get(household)
        if principal is not None and principal.role == "member" and principal.member:
            if responsible != principal.member and member_responsibility(
                store,
                principal.member,
                household=household,
                building=building,
                day=local_day(pd.Timestamp(at)),
                conn=conn,
                geo=geo,
            ):
                raise PermissionDenied(
                    f"problem {code} is not one of member {principal.member}'s: they are "
                    "neither its responsible member nor responsible for its household"
                )
    return as_utc(from_db_time(found[0])), where(geo, household=household, building=building)


def _move(conn: sa.Connection, code: str, action: str, values: dict[str, Any]) -> dict[str, Any]:
    """Make the step in the transaction; return the problem as stored."""
    allowed, status, time_column, verb = _STEPS[action]
    table = get_layer("problems").model.__table__
    sets: dict[str, Any] = {"status": status, time_column: values["at"]}
    if action == "close":
        sets["feedback"] = values["feedback"]
        sets["feedback_at"] = values["at"]
    if "deadline" in values:
        sets["deadline"] = values["deadline"]
    sets["version"] = table.c.version + 1
    match = [table.c.code == code, table.c.status.in_(allowed)]
    if "version" in values:
        match.append(table.c.version == values["version"])
    done = conn.execute(sa.update(table).where(*match).values(**sets)).rowcount
    if not done:
        found = conn.execute(
            sa.select(table.c.status, table.c.version).where(table.c.code == code)
        ).first()
        if found is None:
            raise NotFound(f"no problem with code {code!r}")
        current, version = found
        if "version" in values and version != values["version"]:
            raise StaleVersion(
                f"problem {code} is at version {version}, not {values['version']}: it has "
                f"changed since that version was read (it is {current} now); read it "
                "again and send its current version",
                current=int(version),
            )
        raise Conflict(
            f"problem {code} is {current}: only a problem that is "
            f"{' or '.join(allowed)} can be {verb}"
        )
    feature = read_feature(conn, "problems", code)
    assert feature is not None
    return feature
