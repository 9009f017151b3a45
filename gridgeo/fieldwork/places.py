"""Where a field write lies: its household and building, checked against each other."""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa

from gridgeo.areas import Geography
from gridgeo.errors import Issue, ValidationError
from gridgeo.layers import LAYERS

__all__ = ["place", "place_of", "point_of", "require_known", "where"]


def require_known(conn: sa.Connection, layer: str, code: str, column: str) -> None:
    """Refuse a reference to a row of ``layer`` that does not exist."""
    table = LAYERS[layer].model.__table__
    if conn.execute(sa.select(table.c.id).where(table.c.code == code)).first() is None:
        raise ValidationError(Issue(f"unknown {column} {code!r}", column=column))


def place(
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
        require_known(conn, "buildings", building, "building")
    return None, building


def point_of(
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


def place_of(conn: sa.Connection, layer: str, code: Any) -> tuple[str | None, str | None] | None:
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


def where(
    geo: Geography,
    *,
    household: str | None = None,
    building: str | None = None,
    grid: str | None = None,
) -> tuple[str | None, str | None]:
    """The community and grid a write lies in (as the audit log keeps them for reading by area)."""
    if building is None and household is not None:
        building = geo.building_of_household.get(household)
    if grid is None and building is not None:
        grid = geo.grid_of_building.get(building)
    return (geo.grid_of_code.get(grid) if grid is not None else None), grid
