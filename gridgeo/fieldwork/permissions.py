"""Who may write what where: the caller's role, member and area, checked before anything else.

Every reference of a write (the household, building, visit, responsible member, grid
or problem it names) must lie in the caller's area, and a code that exists elsewhere
gets the same answer, word for word, as a code that exists nowhere, so refusals tell
nothing about other areas.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gridgeo.areas import Area, area_for, member_assignments
from gridgeo.errors import PermissionDenied
from gridgeo.fieldwork.places import place_of
from gridgeo.principal import WRITER_ROLES, Principal
from gridgeo.store import Store
from gridgeo.store.audit import Actor

__all__ = [
    "REFERENCES",
    "actor_of",
    "as_member",
    "check_area",
    "key_owner",
    "require_writer",
    "writer_of",
]

#: The layer of each reference a write can name, for :func:`check_area`.
REFERENCES = {
    "household": "households",
    "building": "buildings",
    "grid": "grids",
    "visit": "visits",
    "problem": "problems",
    "responsible": "members",
}


def require_writer(principal: Principal, what: str) -> None:
    """Refuse a role that does not record field work, or a token without a member."""
    if principal.role not in WRITER_ROLES:
        raise PermissionDenied(
            f"role {principal.role} may not {what}; only grid workers and members write field work"
        )
    if not principal.member:
        raise PermissionDenied(f"this {principal.role} token names no member to write as")


def as_member(principal: Principal, member: str | None, what: str) -> str:
    """The member a write is recorded as: the caller's own (another one is refused)."""
    assert principal.member is not None
    if member is not None and member != principal.member:
        raise PermissionDenied(
            f"a token of member {principal.member} records only their own {what}, "
            f"not member {member}'s"
        )
    return principal.member


def _outside(kind: str, code: str | None, principal: Principal) -> str:
    return f"{kind} {code!r} is not in your area ({principal.describe()})"


def check_area(store: Store, principal: Principal, **references: Any) -> Area | None:
    """Refuse a write naming anything outside the caller's area; return the area.

    Called before any other check of the write. Every reference given (``household``,
    ``building``, ``grid``, ``visit``, ``problem``, ``responsible``) must lie in the
    area; one that lies elsewhere and one that does not exist get the same
    ``PermissionDenied``, word for word. A visit or problem lies in the area when its
    household or building does; a member when the area holds it (its community), it
    is the caller's own member, or one of its assignments is to a community, grid,
    building or household of the area (what ``/layers/members`` and
    ``/layers/assignments`` show the caller). Whole-district callers pass.
    """
    area = area_for(store, principal)
    if area is None:
        return None
    given = {kind: code for kind, code in references.items() if code is not None and code != ""}
    for kind, code in given.items():
        layer = REFERENCES[kind]
        if layer in ("households", "buildings", "grids") and not area.holds(layer, code):
            raise PermissionDenied(_outside(kind, code, principal))
    looked_up = {k: v for k, v in given.items() if REFERENCES[k] in ("visits", "problems")}
    member = given.get("responsible")
    if not looked_up and (member is None or _plainly_in_area(area, principal, member)):
        return area
    with store.engine.connect() as conn:
        for kind, code in looked_up.items():
            found = place_of(conn, REFERENCES[kind], code)
            if found is None or not (
                area.holds("households", found[0]) or area.holds("buildings", found[1])
            ):
                raise PermissionDenied(_outside(kind, code, principal))
        if member is not None and not _member_in_area(conn, area, principal, member):
            raise PermissionDenied(_outside("responsible member", member, principal))
    return area


def _plainly_in_area(area: Area, principal: Principal, member: Any) -> bool:
    return member == principal.member or area.holds("members", member)


def _member_in_area(conn: sa.Connection, area: Area, principal: Principal, member: Any) -> bool:
    """Whether a member lies in the area (see :func:`check_area`)."""
    if _plainly_in_area(area, principal, member):
        return True
    if not isinstance(member, str):
        return False
    return any(
        (a.community is not None and a.community in area.visible_communities)
        or area.holds("grids", a.grid)
        or area.holds("buildings", a.building)
        or area.holds("households", a.household)
        for a in member_assignments(conn, member)
    )


def key_owner(principal: Principal | None) -> str:
    """Whose idempotency keys a write's are: the token's, or the library's (no principal)."""
    return principal.owner if principal is not None else "library"


def writer_of(principal: Principal | None) -> str:
    """Who a write is by, as a write's uuid remembers it: the member, or the library."""
    if principal is None:
        return "library"
    return f"member:{principal.member}" if principal.member else principal.owner


def actor_of(principal: Principal | None) -> Actor:
    """Who a write is by, as the audit log records it."""
    if principal is None:
        return Actor()
    return Actor(token_id=principal.token_id, role=principal.role, member=principal.member)
