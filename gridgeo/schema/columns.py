"""The building blocks of the data model: constants, column types, the declarative base.

Geometries are PostGIS ``geometry(<type>, 4326)`` or WKB blobs on SQLite (:class:`Geom`);
times are UTC on both (:class:`UTCDateTime`); every table has a unique ``code``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, DateTime, Index, LargeBinary, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "ASSIGNMENT_KINDS",
    "ASSIGNMENT_REFS",
    "MEMBER_ROLES",
    "NAMING",
    "ORGANISATION_KINDS",
    "PROBLEM_STATUSES",
    "SRID",
    "Base",
    "Geom",
    "UTCDateTime",
    "code_check",
    "code_column",
    "geom_index",
    "uuid_column",
]

#: SRID of every stored geometry: WGS 84 longitude/latitude.
SRID = 4326

MEMBER_ROLES = ("leader", "member", "cadre", "grid_worker")
ORGANISATION_KINDS = ("partner_unit", "community")
PROBLEM_STATUSES = ("open", "resolved_on_site", "escalated", "closed")
#: assignment kind -> (subject column, target column)
ASSIGNMENT_KINDS: dict[str, tuple[str, str]] = {
    "leader_community": ("member_id", "community_id"),
    "cadre_community": ("member_id", "community_id"),
    "organisation_grid": ("organisation_id", "grid_id"),
    "worker_grid": ("member_id", "grid_id"),
    "member_building": ("member_id", "building_id"),
    "member_household": ("member_id", "household_id"),
}
ASSIGNMENT_REFS = (
    "member_id",
    "organisation_id",
    "community_id",
    "grid_id",
    "building_id",
    "household_id",
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Geom(TypeDecorator[Any]):
    """A geometry column: PostGIS ``geometry(type, 4326)`` or a WKB blob elsewhere.

    Values are shapely geometries on both sides. GeoAlchemy2 inspects this type with
    ``dialect=None`` when it sets up its DDL hooks; answering with a plain binary type
    there keeps it from calling SpatiaLite functions on SQLite.
    """

    impl = LargeBinary
    cache_ok = True
    #: read by GeoAlchemy2; the GiST index is declared explicitly on each table.
    spatial_index = False

    def __init__(self, geometry_type: str) -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.geometry_type!r})"

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        if dialect is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(
                Geometry(self.geometry_type, srid=SRID, spatial_index=False)
            )
        if dialect is None:
            return LargeBinary()
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, shapely.Geometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, SRID), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        data = getattr(value, "data", value)  # geoalchemy2 WKBElement
        if isinstance(data, memoryview):
            data = data.tobytes()
        return shapely.from_wkb(data)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, stored in UTC and returned timezone-aware (UTC).

    PostgreSQL keeps it as ``timestamptz``; SQLite as an ISO text in UTC, so both
    stores compare and sort times the same way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: attach a time zone first")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints."""

    metadata = MetaData(naming_convention=NAMING)


def code_column() -> Mapped[str]:
    """The natural key of a row: unique, never empty (see :func:`code_check`)."""
    return mapped_column(String(100), unique=True, nullable=False)


def geom_index(table: str) -> Index:
    """The GiST index of a table's geometry, on PostGIS only."""
    return Index(f"ix_{table}_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql")


def uuid_column() -> Mapped[str | None]:
    """The write's client-generated UUID (canonical text), unique in the store."""
    return mapped_column(String(36), index=True, unique=True)


def code_check() -> CheckConstraint:
    """The CHECK that keeps ``code`` from being empty."""
    return CheckConstraint("length(code) > 0", name="code_not_empty")
