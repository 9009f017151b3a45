"""The append-only audit log: who changed what, when, from which values to which.

:func:`record` adds one row on the connection of the change it records, so the row is
committed with the change or not at all; nothing in gridgeo updates or deletes a row
of the log. :func:`read_audit` reads it back in pages, oldest first, narrowed to an
area or a member.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gridgeo.schema import AuditEntry

__all__ = ["AUDIT_COLUMNS", "Actor", "AuditPage", "changes", "read_audit", "record"]

#: The columns of the log, in the order reads and exports give them.
AUDIT_COLUMNS = (
    "id", "at", "token_id", "role", "member", "layer", "code", "action",
    "community", "grid", "old", "new",
)  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """Who made a change: a token's id, role and member (all None for a script)."""

    token_id: int | None = None
    role: str | None = None
    member: str | None = None


def changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The values that differ between two versions of a row (all of ``new`` when created)."""
    if old is None:
        return None, dict(new)
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


def record(
    conn: sa.Connection,
    actor: Actor,
    *,
    layer: str,
    code: str | None,
    action: str,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    community: str | None = None,
    grid: str | None = None,
) -> None:
    """Add one row to the log, in the transaction of ``conn``."""
    conn.execute(
        sa.insert(AuditEntry.__table__).values(
            at=dt.datetime.now(dt.UTC),
            token_id=actor.token_id,
            role=actor.role,
            member=actor.member,
            layer=layer,
            code=code,
            action=action,
            community=community,
            grid=grid,
            old=None if old is None else json.dumps(old, ensure_ascii=False, default=str),
            new=None if new is None else json.dumps(new, ensure_ascii=False, default=str),
        )
    )


@dataclass(frozen=True)
class AuditPage:
    """A page of the log: its rows (``old``/``new`` decoded) and the id to go on after."""

    rows: list[dict[str, Any]]
    next_after: int | None


def read_audit(
    engine: sa.Engine,
    *,
    since: dt.datetime | None = None,
    layer: str | None = None,
    code: str | None = None,
    member: str | None = None,
    communities: Collection[str] | None = None,
    grids: Collection[str] | None = None,
    after: int = 0,
    limit: int | None = 100,
) -> AuditPage:
    """The rows of the log after row ``after``, oldest first.

    Parameters
    ----------
    since
        Only changes at or after this time.
    layer, code
        Only changes of this layer, or of this row.
    member
        Only changes made by this member.
    communities, grids
        Only changes that lie in these communities or grids (None: anywhere; both
        given: in either).
    after, limit
        Paging: rows with an id above ``after``, at most ``limit`` (None: all).
    """
    table = AuditEntry.__table__
    query = sa.select(*(table.c[c] for c in AUDIT_COLUMNS)).where(table.c.id > after)
    if since is not None:
        query = query.where(table.c.at >= since)
    for column, value in (("layer", layer), ("code", code), ("member", member)):
        if value is not None:
            query = query.where(table.c[column] == value)
    if communities is not None or grids is not None:
        query = query.where(
            sa.or_(
                table.c.community.in_(sorted(communities or ())),
                table.c.grid.in_(sorted(grids or ())),
            )
        )
    query = query.order_by(table.c.id)
    if limit is not None:
        query = query.limit(limit + 1)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(query)]
    more = limit is not None and len(found) > limit
    rows = found[:limit] if limit is not None else found
    for row in rows:
        row["at"] = row["at"].astimezone(dt.UTC).isoformat()
        for column in ("old", "new"):
            row[column] = None if row[column] is None else json.loads(row[column])
    return AuditPage(rows, rows[-1]["id"] if more and rows else None)
