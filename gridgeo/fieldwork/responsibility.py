"""Whether a member may act for a household or building on a day, by their assignments."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gridgeo.areas import Assignment, Geography, geography, member_assignments
from gridgeo.store import Store

__all__ = ["member_responsibility"]


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
    geo = geo if geo is not None else geography(store)  # before taking a connection
    if conn is None:
        with store.engine.connect() as c:
            rows = member_assignments(c, member, day=day)
    else:
        rows = member_assignments(conn, member, day=day)
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
    return _not_covered(member, household, building, grid, day, rows)


def _not_covered(
    member: str,
    household: str | None,
    building: str | None,
    grid: str | None,
    day: dt.date,
    rows: list[Assignment],
) -> str:
    """The reason a member's assignments on ``day`` do not cover the place."""
    target = f"household {household}" if household else f"building {building}"
    where = f"building {building}" + (f", grid {grid}" if grid else ", in no grid")
    households = sum(1 for r in rows if r.kind == "member_household")
    buildings = sum(1 for r in rows if r.kind == "member_building")
    grids = sorted({r.grid for r in rows if r.kind == "worker_grid"})
    theirs = f"{households} household(s) and {buildings} building(s)"
    if grids:
        theirs += f" and grid(s) {', '.join(grids)}"
    return (
        f"{target} ({where}) is outside member {member}'s assignments on {day.isoformat()}: "
        f"no member_household, member_building, worker_grid or community assignment of "
        f"theirs covers it (they are responsible for {theirs} that day); record the visit "
        "under the responsible member, or have the assignment recorded first"
    )
