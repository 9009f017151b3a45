"""New field records: visits, council meetings and problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gridgeo.areas import geography
from gridgeo.errors import Issue, PermissionDenied, ValidationError
from gridgeo.fieldwork.permissions import (
    actor_of,
    as_member,
    check_area,
    key_owner,
    require_writer,
    writer_of,
)
from gridgeo.fieldwork.places import place, place_of, point_of, require_known, where
from gridgeo.fieldwork.responsibility import member_responsibility
from gridgeo.fieldwork.rows import (
    CLOCK_SKEW,
    client_uuid,
    insert_row,
    local_day,
    new_code,
    not_future,
    now,
    plain,
    prepare_row,
    row_values,
)
from gridgeo.principal import Principal
from gridgeo.store import Store
from gridgeo.store.audit import record
from gridgeo.store.idempotency import WriteKind, WriteOutcome, write_once

__all__ = ["record_meeting", "record_visit", "report_problem"]


#: Where the checks of a write leave the community and grid it lies in, for the audit log.
_WHERE = "_where"


def _create(
    store: Store,
    layer: str,
    data: Mapping[str, Any],
    principal: Principal | None,
    idempotency_key: str | None,
    check: Any,
) -> WriteOutcome:
    """Insert a new row with :func:`write_once`, its uuid and its line in the audit log."""
    uuid = client_uuid(data.get("uuid"))
    data = {**data, "uuid": uuid} if uuid is not None else dict(data)

    def write(conn: sa.Connection, values: dict[str, Any]) -> tuple[WriteKind, dict[str, Any]]:
        community, grid = values.pop(_WHERE)
        feature = insert_row(conn, layer, {**values, "uuid": uuid})
        record(conn, actor_of(principal), layer=layer, code=feature["id"], action="created",
               new={**feature["properties"], "uuid": uuid}, community=community, grid=grid)  # fmt: skip
        return "created", feature

    return write_once(
        store,
        owner=key_owner(principal),
        key=idempotency_key,
        operation=f"POST /{layer}",
        layer=layer,
        payload=plain(data),
        check=lambda: check(store, data, principal),
        write=write,
        uuid=uuid,
        writer=writer_of(principal),
    )


def record_visit(
    store: Store,
    visit: Mapping[str, Any],
    *,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Record a member's visit to a household (or a building).

    Parameters
    ----------
    store
        Where to write.
    visit
        ``member``, ``household`` and/or ``building`` (codes), ``visited_at``
        (default now; without an offset it is local time), ``note``, ``geometry``
        (a shapely point) and optionally ``code`` (default: a new unique code).
    principal
        The caller: only grid workers and members write, as themselves, in their area.
    idempotency_key
        A key chosen by the client; a retry with the same key returns the first result.

    Returns
    -------
    WriteOutcome
        ``created`` (or, for a retry, ``replayed``) and the stored visit as a GeoJSON Feature.

    Raises
    ------
    ValidationError
        Bad values, unknown references, or a household outside the member's
        assignments on that day (the reason says which).
    PermissionDenied
        The principal may not record this visit.
    """
    return _create(store, "visits", visit, principal, idempotency_key, _checked_visit)


def _checked_visit(
    store: Store, visit: Mapping[str, Any], principal: Principal | None
) -> dict[str, Any]:
    row = dict(visit)
    if principal is not None:
        require_writer(principal, "record visits")
        row["member"] = as_member(principal, row.get("member"), "visits")
        check_area(store, principal, household=row.get("household"), building=row.get("building"))
    if not row.get("household") and not row.get("building"):
        raise ValidationError(Issue("a visit needs a household or a building", layer="visits"))
    if row.get("visited_at") is None:
        row["visited_at"] = now()
    row.setdefault("code", new_code("V"))
    frame = prepare_row(row, "visits")
    rec = frame.iloc[0]
    not_future(rec["visited_at"], "visited_at", "visits")
    # where things lie is read before a connection is held: its loading needs the pool
    geo = geography(store)
    with store.engine.connect() as conn:
        household, building = place(conn, rec.get("household"), rec.get("building"))
        require_known(conn, "members", rec["member"], "member")
        reason = member_responsibility(
            store,
            rec["member"],
            household=household,
            building=building,
            day=local_day(rec["visited_at"]),
            conn=conn,
            geo=geo,
        )
        if reason:
            raise ValidationError(
                Issue(reason, layer="visits", column="household" if household else "building")
            )
        values = row_values(frame, "visits")
        values["household"], values["building"] = household, building
        values["geometry"] = values["geometry"] or point_of(conn, household, building)
    values[_WHERE] = where(geo, household=household, building=building)
    return values


def record_meeting(
    store: Store,
    meeting: Mapping[str, Any],
    *,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Record a grid council meeting (``grid``, ``held_on``, ``attendance``, ``topic``).

    Only grid workers record meetings, and only for the grids of their area.
    """
    return _create(store, "meetings", meeting, principal, idempotency_key, _checked_meeting)


def _checked_meeting(
    store: Store, meeting: Mapping[str, Any], principal: Principal | None
) -> dict[str, Any]:
    row = dict(meeting)
    if principal is not None:
        if principal.role != "grid_worker":
            raise PermissionDenied(
                f"role {principal.role} may not record council meetings; grid workers do"
            )
        check_area(store, principal, grid=row.get("grid"))
    if row.get("held_on") is None:
        row["held_on"] = local_day(pd.Timestamp(now()))
    row.setdefault("code", new_code("MT"))
    frame = prepare_row(row, "meetings")
    rec = frame.iloc[0]
    if rec["held_on"].date() > local_day(pd.Timestamp(now() + CLOCK_SKEW)):
        raise ValidationError(Issue("held_on is in the future", layer="meetings", column="held_on"))
    with store.engine.connect() as conn:
        require_known(conn, "grids", rec["grid"], "grid")
    values = row_values(frame, "meetings")
    values[_WHERE] = where(geography(store), grid=values["grid"])
    return values


def report_problem(
    store: Store,
    problem: Mapping[str, Any],
    *,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Put a problem on the list (``category``, ``household``/``building``/``visit``...).

    The problem starts ``open``; its responsible member defaults to the member who
    reports it. A member reports problems of their own households only.
    """
    return _create(store, "problems", problem, principal, idempotency_key, _checked_problem)


def _checked_problem(
    store: Store, problem: Mapping[str, Any], principal: Principal | None
) -> dict[str, Any]:
    row = dict(problem)
    if principal is not None:
        require_writer(principal, "report problems")
        if row.get("responsible") is None and principal.member:
            row["responsible"] = principal.member
        check_area(
            store,
            principal,
            household=row.get("household"),
            building=row.get("building"),
            visit=row.get("visit"),
            responsible=row.get("responsible"),
        )
    if row.get("reported_at") is None:
        row["reported_at"] = now()
    row.setdefault("code", new_code("P"))
    row["status"] = "open"
    for col in ("resolved_at", "escalated_at", "closed_at", "feedback_at", "feedback"):
        row.pop(col, None)
    frame = prepare_row(row, "problems")
    rec = frame.iloc[0]
    not_future(rec["reported_at"], "reported_at", "problems")
    geo = geography(store)
    with store.engine.connect() as conn:
        household, building = place(conn, *_problem_place(conn, rec))
        if rec.get("responsible"):
            require_known(conn, "members", rec["responsible"], "responsible")
        if principal is not None and principal.role == "member" and principal.member:
            reason = member_responsibility(
                store,
                principal.member,
                household=household,
                building=building,
                day=local_day(rec["reported_at"]),
                conn=conn,
                geo=geo,
            )
            if reason:
                raise ValidationError(Issue(reason, layer="problems"))
        values = row_values(frame, "problems")
        values["household"], values["building"] = household, building
        values["geometry"] = values["geometry"] or point_of(conn, household, building)
    values[_WHERE] = where(geo, household=household, building=building)
    return values


def _problem_place(conn: sa.Connection, rec: pd.Series) -> tuple[str | None, str | None]:
    """The household and building a new problem names, or those of the visit it names."""
    household, building = rec.get("household"), rec.get("building")
    visit = rec.get("visit")
    if visit:
        found = place_of(conn, "visits", visit)
        if found is None:
            raise ValidationError(
                Issue(f"unknown visit {visit!r}", layer="problems", column="visit")
            )
        for column, given, theirs in (
            ("household", household, found[0]),
            ("building", building, found[1]),
        ):
            if given and theirs and given != theirs:
                raise ValidationError(
                    Issue(
                        f"visit {visit} was to {column} {theirs}, not {given}",
                        layer="problems",
                        column=column,
                        hint=f"leave {column} out, or correct it",
                    )
                )
        household = household or found[0]
        building = building or found[1]
    if not household and not building:
        raise ValidationError(
            Issue("a problem needs a household, a building or a visit", layer="problems")
        )
    return household, building
