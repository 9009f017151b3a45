"""Field writes: visits, council meetings, problems and each problem's lifecycle.

Every write is

- **validated** before anything is stored: the row goes through
  :func:`gridgeo.validate.prepare_layer` (types, choices, dates, lifecycle), its
  references must exist, a visit must lie within the member's assignments on its
  date, and a close needs feedback text;
- **idempotent**: with an idempotency key, the first result is stored under the key
  in the same transaction as the write, and a retry gets that result back instead of
  writing again; the key table's primary key makes concurrent duplicates wait for the
  first and then replay it;
- **committed before it is acknowledged**: the functions return only after the
  transaction has committed, and they count the change of the layer
  (:meth:`gridgeo.store.Store.bump_version`) in that same transaction.

When a :class:`gridgeo.access.Principal` is given, its role and area are checked too
(``PermissionDenied``), **before anything else**: every reference of the write (the
household, building, visit, responsible member, grid or problem it names) must lie in
the caller's area, and a code that exists elsewhere gets the same answer, word for word,
as a code that exists nowhere, so refusals tell nothing about other areas. Without a
principal (scripts, notebooks) only the data rules apply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa

from gridgeo.access import WRITER_ROLES, Area, Geography, Principal, area_for, geography
from gridgeo.errors import (
    Conflict,
    Issue,
    NotFound,
    PermissionDenied,
    ValidationError,
    database_reason,
)
from gridgeo.layers import LAYERS, get_layer
from gridgeo.schema import IdempotencyKey
from gridgeo.settings import get_settings
from gridgeo.store import Store

__all__ = [
    "WriteOutcome",
    "close_problem",
    "escalate_problem",
    "member_responsibility",
    "read_feature",
    "record_meeting",
    "record_visit",
    "report_problem",
    "resolve_problem",
]

#: How far in the future a field time may lie (the phone's clock may be ahead).
CLOCK_SKEW = dt.timedelta(minutes=10)

T = TypeVar("T")


@dataclass(frozen=True)
class WriteOutcome:
    """What a field write answered: HTTP-like status, body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


# -- public writes ----------------------------------------------------------------------


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
        Status 201 and the stored visit as a GeoJSON Feature.

    Raises
    ------
    ValidationError
        Bad values, unknown references, or a household outside the member's
        assignments on that day (the reason says which).
    PermissionDenied
        The principal may not record this visit.
    """
    payload = _plain(visit)

    def check() -> dict[str, Any]:
        row = dict(visit)
        if principal is not None:
            _require_writer(principal, "record visits")
            row["member"] = _as_member(principal, row.get("member"), "visits")
            _check_area(
                store, principal, household=row.get("household"), building=row.get("building")
            )
        if not row.get("household") and not row.get("building"):
            raise ValidationError(Issue("a visit needs a household or a building", layer="visits"))
        if row.get("visited_at") is None:
            row["visited_at"] = _now()
        row.setdefault("code", _new_code("V"))
        frame = _prepare(row, "visits")
        rec = frame.iloc[0]
        _not_future(rec["visited_at"], "visited_at", "visits")
        # where things lie is read before a connection is held: its loading needs the pool
        geo = geography(store)
        with store.engine.connect() as conn:
            household, building = _place(conn, rec.get("household"), rec.get("building"))
            _exists(conn, "members", rec["member"], "member")
            day = _local_day(rec["visited_at"])
            reason = member_responsibility(
                store,
                rec["member"],
                household=household,
                building=building,
                day=day,
                conn=conn,
                geo=geo,
            )
            if reason:
                raise ValidationError(
                    Issue(reason, layer="visits", column="household" if household else "building")
                )
            values = _values(frame, "visits")
            values["household"], values["building"] = household, building
            values["geometry"] = values["geometry"] or _point_of(conn, household, building)
        return values

    return _once(
        store,
        principal,
        idempotency_key,
        "POST /visits",
        payload,
        check,
        lambda conn, values: _insert(conn, "visits", values),
    )


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
    payload = _plain(meeting)

    def check() -> dict[str, Any]:
        row = dict(meeting)
        if principal is not None:
            if principal.role != "grid_worker":
                raise PermissionDenied(
                    f"role {principal.role} may not record council meetings; grid workers do"
                )
            _check_area(store, principal, grid=row.get("grid"))
        if row.get("held_on") is None:
            row["held_on"] = _local_day(pd.Timestamp(_now()))
        row.setdefault("code", _new_code("MT"))
        frame = _prepare(row, "meetings")
        rec = frame.iloc[0]
        if rec["held_on"].date() > _local_day(pd.Timestamp(_now() + CLOCK_SKEW)):
            raise ValidationError(
                Issue("held_on is in the future", layer="meetings", column="held_on")
            )
        with store.engine.connect() as conn:
            _exists(conn, "grids", rec["grid"], "grid")
        return _values(frame, "meetings")

    return _once(
        store,
        principal,
        idempotency_key,
        "POST /meetings",
        payload,
        check,
        lambda conn, values: _insert(conn, "meetings", values),
    )


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
    payload = _plain(problem)

    def check() -> dict[str, Any]:
        row = dict(problem)
        if principal is not None:
            _require_writer(principal, "report problems")
            if row.get("responsible") is None and principal.member:
                row["responsible"] = principal.member
            _check_area(
                store,
                principal,
                household=row.get("household"),
                building=row.get("building"),
                visit=row.get("visit"),
                responsible=row.get("responsible"),
            )
        if row.get("reported_at") is None:
            row["reported_at"] = _now()
        row.setdefault("code", _new_code("P"))
        row["status"] = "open"
        for col in ("resolved_at", "escalated_at", "closed_at", "feedback_at", "feedback"):
            row.pop(col, None)
        frame = _prepare(row, "problems")
        rec = frame.iloc[0]
        _not_future(rec["reported_at"], "reported_at", "problems")
        geo = geography(store)
        with store.engine.connect() as conn:
            household, building = rec.get("household"), rec.get("building")
            visit = rec.get("visit")
            if visit:
                found = _place_of(conn, "visits", visit)
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
            household, building = _place(conn, household, building)
            if rec.get("responsible"):
                _exists(conn, "members", rec["responsible"], "responsible")
            if principal is not None:
                if principal.role == "member" and principal.member:
                    reason = member_responsibility(
                        store,
                        principal.member,
                        household=household,
                        building=building,
                        day=_local_day(rec["reported_at"]),
                        conn=conn,
                        geo=geo,
                    )
                    if reason:
                        raise ValidationError(Issue(reason, layer="problems"))
            values = _values(frame, "problems")
            values["household"], values["building"] = household, building
            values["geometry"] = values["geometry"] or _point_of(conn, household, building)
        return values

    return _once(
        store,
        principal,
        idempotency_key,
        "POST /problems",
        payload,
        check,
        lambda conn, values: _insert(conn, "problems", values),
    )


def resolve_problem(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Mark an open problem as solved on the spot (``resolved_on_site``) at ``at``."""
    return _transition(
        store,
        code,
        "resolve",
        {"at": at},
        principal=principal,
        idempotency_key=idempotency_key,
    )


def escalate_problem(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    deadline: dt.date | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Escalate an open problem to the community party committee at ``at``."""
    return _transition(
        store,
        code,
        "escalate",
        {"at": at, "deadline": deadline},
        principal=principal,
        idempotency_key=idempotency_key,
    )


def close_problem(
    store: Store,
    code: str,
    *,
    feedback: str | None,
    at: dt.datetime | None = None,
    principal: Principal | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """Close a resolved or escalated problem with the feedback given to the resident.

    Raises
    ------
    ValidationError
        No feedback text.
    Conflict
        The problem is still open or already closed.
    """
    return _transition(
        store,
        code,
        "close",
        {"at": at, "feedback": feedback},
        principal=principal,
        idempotency_key=idempotency_key,
    )


# -- responsibility ------------------------------------------------------------------------


def member_responsibility(
    store: Store,
    member: str,
    *,
    household: str | None,
    building: str | None,
    day: dt.date,
    conn: sa.Connection | None = None,
    geo: Geography | None = None,
) -> str | None:
    """Why ``member`` may not act for a household or building on ``day`` (None: they may).

    A member acts for a household when, on that day, they hold a ``member_household``
    assignment for it, a ``member_building`` one for its building, a ``worker_grid``
    one for the grid holding the building, or a ``cadre_community`` /
    ``leader_community`` one for that grid's community. For a building alone, an
    assignment to any of its households counts too.
    """
    sql = sa.text(
        "SELECT a.kind, c.code, g.code, b.code, h.code FROM assignments a "
        "JOIN members m ON m.id = a.member_id "
        "LEFT JOIN communities c ON c.id = a.community_id "
        "LEFT JOIN grids g ON g.id = a.grid_id "
        "LEFT JOIN buildings b ON b.id = a.building_id "
        "LEFT JOIN households h ON h.id = a.household_id "
        "WHERE m.code = :member AND a.valid_from <= :day "
        "AND (a.valid_to IS NULL OR a.valid_to >= :day)"
    )
    params = {"member": member, "day": day}
    geo = geo if geo is not None else geography(store)  # before taking a connection
    if conn is None:
        with store.engine.connect() as c:
            rows = c.execute(sql, params).all()
    else:
        rows = conn.execute(sql, params).all()
    grid = geo.grid_of_building.get(building) if building else None
    community = geo.grid_of_code.get(grid) if grid else None
    for kind, a_comm, a_grid, a_building, a_household in rows:
        if kind == "member_household" and a_household is not None:
            if a_household == household:
                return None
            if household is None and geo.building_of_household.get(a_household) == building:
                return None
        if kind == "member_building" and a_building is not None and a_building == building:
            return None
        if kind == "worker_grid" and grid is not None and a_grid == grid:
            return None
        if kind in ("cadre_community", "leader_community") and community is not None:
            if a_comm == community:
                return None
    target = f"household {household}" if household else f"building {building}"
    where = f"building {building}" + (f", grid {grid}" if grid else ", in no grid")
    households = sum(1 for r in rows if r[0] == "member_household")
    buildings = sum(1 for r in rows if r[0] == "member_building")
    grids = sorted({r[2] for r in rows if r[0] == "worker_grid"})
    theirs = f"{households} household(s) and {buildings} building(s)"
    if grids:
        theirs += f" and grid(s) {', '.join(grids)}"
    return (
        f"{target} ({where}) is outside member {member}'s assignments on {day.isoformat()}: "
        f"no member_household, member_building, worker_grid or community assignment of "
        f"theirs covers it (they are responsible for {theirs} that day); record the visit "
        "under the responsible member, or have the assignment recorded first"
    )


# -- problem lifecycle -----------------------------------------------------------------------

_FROM = {
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
    principal: Principal | None,
    idempotency_key: str | None,
) -> WriteOutcome:
    allowed, status, time_column, verb = _FROM[action]
    payload = _plain({"code": code, **params})

    def check() -> dict[str, Any]:
        if principal is not None:
            _require_writer(principal, "move problems through their lifecycle")
            _check_area(store, principal, problem=code)
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
        at = _now() if at is None else _aware(at)
        _not_future(pd.Timestamp(at), "at", "problems")
        values["at"] = at
        if params.get("deadline") is not None:
            values["deadline"] = params["deadline"]
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
                    day=_local_day(pd.Timestamp(at)),
                    conn=conn,
                    geo=geo,
                ):
                    raise PermissionDenied(
                        f"problem {code} is not one of member {principal.member}'s: they are "
                        "neither its responsible member nor responsible for its household"
                    )
        reported = _aware(_from_db_time(found[0]))
        if at < reported:
            raise ValidationError(
                Issue(
                    f"the time {at.isoformat()} is before the problem was reported "
                    f"({reported.isoformat()})",
                    layer="problems",
                    column=time_column,
                )
            )
        return values

    def write(conn: sa.Connection, values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = get_layer("problems").model.__table__
        sets: dict[str, Any] = {"status": status, time_column: values["at"]}
        if action == "close":
            sets["feedback"] = values["feedback"]
            sets["feedback_at"] = values["at"]
        if "deadline" in values:
            sets["deadline"] = values["deadline"]
        done = conn.execute(
            sa.update(table).where(table.c.code == code, table.c.status.in_(allowed)).values(**sets)
        ).rowcount
        if not done:
            now = conn.execute(
                sa.select(table.c.status).where(table.c.code == code)
            ).scalar_one_or_none()
            if now is None:
                raise NotFound(f"no problem with code {code!r}")
            raise Conflict(
                f"problem {code} is {now}: only a problem that is "
                f"{' or '.join(allowed)} can be {verb}"
            )
        body = read_feature(conn, "problems", code)
        assert body is not None
        return 200, body

    return _once(
        store,
        principal,
        idempotency_key,
        f"POST /problems/{code}/{action}",
        payload,
        check,
        write,
    )


# -- idempotent transaction -------------------------------------------------------------------


def _digest(endpoint: str, payload: Any) -> str:
    text = json.dumps({"endpoint": endpoint, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _once(
    store: Store,
    principal: Principal | None,
    key: str | None,
    endpoint: str,
    payload: Any,
    check: Callable[[], T],
    write: Callable[[sa.Connection, T], tuple[int, dict[str, Any]]],
) -> WriteOutcome:
    """Validate, then write in one transaction with the key; replay a key seen before."""
    owner = principal.owner if principal is not None else "library"
    digest = _digest(endpoint, payload)
    table = IdempotencyKey.__table__
    if key is not None:
        with store.engine.connect() as conn:
            stored = _stored(conn, owner, key)
        if stored is not None:
            return _replay(stored, digest, key)
    prepared = check()
    layer = "visits" if "/visits" in endpoint else "meetings" if "/meetings" in endpoint else None
    layer = layer or "problems"
    try:
        with store.engine.begin() as conn:
            if key is not None:
                insert = _insert_ignore(conn)(table).values(
                    owner=owner,
                    key=key,
                    request_hash=digest,
                    endpoint=endpoint[:200],
                    created_at=dt.datetime.now(dt.UTC),
                )
                insert = insert.on_conflict_do_nothing(index_elements=["owner", "key"])
                claimed = conn.execute(insert.returning(table.c.key)).first()
                if claimed is None:  # a concurrent duplicate committed first
                    stored = _stored(conn, owner, key)
                    assert stored is not None
                    return _replay(stored, digest, key)
            store.bump_version(conn, [layer])
            status, body = write(conn, prepared)
            text = json.dumps(body, ensure_ascii=False)
            body = json.loads(text)  # the same JSON a replay returns
            if key is not None:
                conn.execute(
                    sa.update(table)
                    .where(table.c.owner == owner, table.c.key == key)
                    .values(status_code=status, response=text)
                )
    except (sa.exc.IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError) as exc:
        reason = database_reason(exc)
        if "unique" in reason.lower() or "duplicate" in reason.lower():
            raise Conflict(
                f"{endpoint}: a row with this code exists already ({reason}); leave 'code' "
                "out to get a new one, or send the first request's Idempotency-Key to retry it"
            ) from exc
        raise ValidationError(
            Issue(f"the database refused the write: {reason}", hint="nothing was written")
        ) from exc
    except sa.exc.DataError as exc:
        reason = database_reason(exc)
        raise ValidationError(
            Issue(f"the database refused a value: {reason}", hint="nothing was written")
        ) from exc
    return WriteOutcome(status, body)


def _insert_ignore(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _stored(conn: sa.Connection, owner: str, key: str) -> sa.Row[Any] | None:
    table = IdempotencyKey.__table__
    return conn.execute(
        sa.select(
            table.c.request_hash, table.c.endpoint, table.c.status_code, table.c.response
        ).where(table.c.owner == owner, table.c.key == key)
    ).first()


def _replay(stored: sa.Row[Any], digest: str, key: str) -> WriteOutcome:
    if stored.request_hash != digest:
        raise ValidationError(
            Issue(
                f"Idempotency-Key {key!r} was used before for a different request "
                f"({stored.endpoint} with other data); a retry must repeat the first request "
                "exactly, and a new write needs a new key",
                column="Idempotency-Key",
            )
        )
    return WriteOutcome(int(stored.status_code), json.loads(stored.response), replayed=True)


# -- rows ------------------------------------------------------------------------------------


def _insert(conn: sa.Connection, layer: str, values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    spec = get_layer(layer)
    table = spec.model.__table__
    row: dict[str, Any] = {}
    for f in spec.fields:
        value = values.get(f.name)
        if f.ref:
            if value is None:
                row[f.db_column] = None
                continue
            ref = LAYERS[f.ref].model.__table__
            found = conn.execute(sa.select(ref.c.id).where(ref.c.code == value)).scalar()
            if found is None:
                raise ValidationError(
                    Issue(f"unknown {f.name} {value!r}", layer=layer, column=f.name)
                )
            row[f.db_column] = found
        else:
            row[f.db_column] = value
    if spec.geometry:
        row["geom"] = values.get("geometry")
    conn.execute(sa.insert(table).values(**row))
    body = read_feature(conn, layer, values["code"])
    assert body is not None
    return 201, body


def read_feature(conn: sa.Connection, layer: str, code: str) -> dict[str, Any] | None:
    """One stored row as a GeoJSON Feature (references as codes, no personal data)."""
    spec = get_layer(layer)
    table = spec.model.__table__
    cols: list[Any] = []
    joined: Any = table
    for i, f in enumerate(spec.fields):
        if f.personal:
            continue
        if f.ref:
            ref = LAYERS[f.ref].model.__table__.alias(f"r{i}")
            joined = joined.outerjoin(ref, ref.c.id == table.c[f.db_column])
            cols.append(ref.c.code.label(f.name))
        else:
            cols.append(table.c[f.db_column].label(f.name))
    if spec.geometry:
        cols.append(table.c.geom.label("geometry"))
    row = conn.execute(sa.select(*cols).select_from(joined).where(table.c.code == code)).first()
    if row is None:
        return None
    props = {k: _json_value(v) for k, v in row._mapping.items() if k != "geometry"}
    geom = row._mapping.get("geometry") if spec.geometry else None
    return {
        "type": "Feature",
        "id": code,
        "geometry": None if geom is None else shapely.geometry.mapping(geom),
        "properties": props,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _aware(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# -- helpers ---------------------------------------------------------------------------------


def _plain(data: Mapping[str, Any]) -> Any:
    """A JSON-able copy of a request, for its digest."""
    out = {}
    for k, v in data.items():
        if isinstance(v, shapely.Geometry):
            v = shapely.to_wkt(v, rounding_precision=9)
        elif isinstance(v, dt.date | dt.datetime):
            v = v.isoformat()
        out[k] = v
    return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return value.astimezone(dt.UTC)


def _from_db_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite keeps UTC without an offset
        value = value.replace(tzinfo=dt.UTC)
    return value


def _new_code(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20].upper()}"


def _local_day(ts: pd.Timestamp) -> dt.date:
    return pd.Timestamp(ts).tz_convert(get_settings().timezone).date()


def _prepare(row: dict[str, Any], layer: str) -> pd.DataFrame:
    from gridgeo.validate import prepare_layer

    spec = get_layer(layer)
    data = {k: [v] for k, v in row.items() if k in spec.field_names}
    geom = row.get("geometry")
    if spec.geometry:
        frame: pd.DataFrame = gpd.GeoDataFrame(data, geometry=[geom], crs=4326)
    else:
        frame = pd.DataFrame(data)
    prepared = prepare_layer(frame, layer, source=f"new {layer[:-1]}")
    return prepared.frame.reset_index(drop=True)


def _values(frame: pd.DataFrame, layer: str) -> dict[str, Any]:
    """The prepared row as Python values the ORM types take."""
    spec = get_layer(layer)
    rec = frame.iloc[0]
    out: dict[str, Any] = {}
    for f in spec.fields:
        v = rec.get(f.name)
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[f.name] = None
        elif f.kind == "int":
            out[f.name] = int(v)
        elif f.kind == "date":
            out[f.name] = pd.Timestamp(v).date()
        elif f.kind == "datetime":
            out[f.name] = pd.Timestamp(v).to_pydatetime()
        else:
            out[f.name] = v
    if spec.geometry:
        g = rec.get("geometry")
        out["geometry"] = g if isinstance(g, shapely.Geometry) and not g.is_empty else None
    return out


def _not_future(ts: pd.Timestamp, column: str, layer: str) -> None:
    if pd.Timestamp(ts) > pd.Timestamp(_now() + CLOCK_SKEW):
        raise ValidationError(
            Issue(
                f"{column} {pd.Timestamp(ts).isoformat()} is in the future",
                layer=layer,
                column=column,
                hint="check the device's clock",
            )
        )


def _exists(conn: sa.Connection, layer: str, code: str, column: str) -> None:
    table = LAYERS[layer].model.__table__
    if conn.execute(sa.select(table.c.id).where(table.c.code == code)).first() is None:
        raise ValidationError(Issue(f"unknown {column} {code!r}", column=column))


def _place(
    conn: sa.Connection, household: str | None, building: str | None
) -> tuple[str | None, str | None]:
    """The household and its building, checked against each other."""
    household = household or None
    building = building or None
    if household is not None:
        found = conn.execute(
            sa.text(
                "SELECT b.code FROM households h JOIN buildings b ON b.id = h.building_id "
                "WHERE h.code = :code"
            ),
            {"code": household},
        ).first()
        if found is None:
            raise ValidationError(Issue(f"unknown household {household!r}", column="household"))
        if building is not None and building != found[0]:
            raise ValidationError(
                Issue(
                    f"household {household} is in building {found[0]}, not {building}",
                    column="building",
                    hint="leave building out, or correct it",
                )
            )
        return household, found[0]
    if building is not None:
        _exists(conn, "buildings", building, "building")
    return None, building


def _point_of(
    conn: sa.Connection, household: str | None, building: str | None
) -> shapely.Geometry | None:
    """The household's point, else a point inside the building (no point was sent)."""
    if household is not None:
        table = LAYERS["households"].model.__table__
        geom = conn.execute(sa.select(table.c.geom).where(table.c.code == household)).scalar()
        if geom is not None:
            return geom
    if building is not None:
        table = LAYERS["buildings"].model.__table__
        geom = conn.execute(sa.select(table.c.geom).where(table.c.code == building)).scalar()
        if geom is not None:
            return shapely.point_on_surface(geom)
    return None


def _require_writer(principal: Principal, what: str) -> None:
    if principal.role not in WRITER_ROLES:
        raise PermissionDenied(
            f"role {principal.role} may not {what}; only grid workers and members write field work"
        )
    if not principal.member:
        raise PermissionDenied(f"this {principal.role} token names no member to write as")


def _as_member(principal: Principal, member: str | None, what: str) -> str:
    assert principal.member is not None
    if member is not None and member != principal.member:
        raise PermissionDenied(
            f"a token of member {principal.member} records only their own {what}, "
            f"not member {member}'s"
        )
    return principal.member


def _outside(kind: str, code: str | None, principal: Principal | None) -> str:
    assert principal is not None
    return f"{kind} {code!r} is not in your area ({principal.describe()})"


#: The layer of each reference a write can name, for :func:`_check_area`.
_REFERENCES = {
    "household": "households",
    "building": "buildings",
    "grid": "grids",
    "visit": "visits",
    "problem": "problems",
    "responsible": "members",
}


def _check_area(store: Store, principal: Principal, **references: Any) -> Area | None:
    """Refuse a write naming anything outside the caller's area; return the area.

    Called before any other check of the write. Every reference given (``household``,
    ``building``, ``grid``, ``visit``, ``problem``, ``responsible``) must lie in the
    area; one that lies elsewhere and one that does not exist get the same
    ``PermissionDenied``, word for word (:func:`_outside`). A visit or problem lies in
    the area when its household or building does; a member when the area holds it
    (its community), it is the caller's own member, or one of its assignments is to
    a community, grid, building or household of the area (what ``/layers/members`` and
    ``/layers/assignments`` show the caller). Whole-district callers pass.
    """
    area = area_for(store, principal)
    if area is None:
        return None
    given = {kind: code for kind, code in references.items() if code is not None and code != ""}
    for kind, code in given.items():
        layer = _REFERENCES[kind]
        if layer in ("households", "buildings", "grids") and not area.holds(layer, code):
            raise PermissionDenied(_outside(kind, code, principal))
    looked_up = {k: v for k, v in given.items() if _REFERENCES[k] in ("visits", "problems")}
    member = given.get("responsible")
    if not looked_up and (member is None or _plainly_in_area(area, principal, member)):
        return area
    with store.engine.connect() as conn:
        for kind, code in looked_up.items():
            place = _place_of(conn, _REFERENCES[kind], code)
            if place is None or not (
                area.holds("households", place[0]) or area.holds("buildings", place[1])
            ):
                raise PermissionDenied(_outside(kind, code, principal))
        if member is not None and not _member_in_area(conn, area, principal, member):
            raise PermissionDenied(_outside("responsible member", member, principal))
    return area


def _plainly_in_area(area: Area, principal: Principal, member: Any) -> bool:
    return member == principal.member or area.holds("members", member)


def _member_in_area(conn: sa.Connection, area: Area, principal: Principal, member: Any) -> bool:
    """Whether a member lies in the area (see :func:`_check_area`)."""
    if _plainly_in_area(area, principal, member):
        return True
    if not isinstance(member, str):
        return False
    rows = conn.execute(
        sa.text(
            "SELECT c.code, g.code, b.code, h.code FROM assignments a "
            "JOIN members m ON m.id = a.member_id "
            "LEFT JOIN communities c ON c.id = a.community_id "
            "LEFT JOIN grids g ON g.id = a.grid_id "
            "LEFT JOIN buildings b ON b.id = a.building_id "
            "LEFT JOIN households h ON h.id = a.household_id "
            "WHERE m.code = :member"
        ),
        {"member": member},
    ).all()
    return any(
        (c is not None and c in area.visible_communities)
        or area.holds("grids", g)
        or area.holds("buildings", b)
        or area.holds("households", h)
        for c, g, b, h in rows
    )


def _place_of(conn: sa.Connection, layer: str, code: Any) -> tuple[str | None, str | None] | None:
    """The household and building codes a visit or problem refers to (None: no such row)."""
    if not isinstance(code, str):
        return None
    table = LAYERS[layer].table
    found = conn.execute(
        sa.text(
            f'SELECT h.code, b.code FROM "{table}" x '
            "LEFT JOIN households h ON h.id = x.household_id "
            "LEFT JOIN buildings b ON b.id = x.building_id WHERE x.code = :code"
        ),
        {"code": code},
    ).first()
    return None if found is None else (found[0], found[1])
