"""The data model: SQLAlchemy 2 mapped classes shared by both stores.

The same classes (and the same Alembic migrations) create a PostGIS database, with
native ``geometry(<type>, 4326)`` columns and GiST indexes, and the embedded SQLite
file, where a geometry is a WKB blob and the spatial work is done by shapely. Natural
keys (``code``) are unique everywhere; foreign keys and CHECK constraints hold the
rules a database can hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "API_ROLES",
    "ASSIGNMENT_KINDS",
    "MEMBER_ROLES",
    "ORGANISATION_KINDS",
    "PROBLEM_STATUSES",
    "SRID",
    "ApiToken",
    "Assignment",
    "AuditEntry",
    "Base",
    "Building",
    "Community",
    "DataVersion",
    "Geom",
    "Grid",
    "Household",
    "IdempotencyKey",
    "Meeting",
    "Member",
    "Organisation",
    "Problem",
    "UTCDateTime",
    "Visit",
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
_ASSIGNMENT_REFS = (
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


def _code() -> Mapped[str]:
    return mapped_column(String(100), unique=True, nullable=False)


def _geom_index(table: str) -> Index:
    return Index(f"ix_{table}_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql")


def _uuid() -> Mapped[str | None]:
    """The write's client-generated UUID (canonical text), unique in the store."""
    return mapped_column(String(36), index=True, unique=True)


def _code_check() -> CheckConstraint:
    return CheckConstraint("length(code) > 0", name="code_not_empty")


class Community(Base):
    """A community (社区): the unit a county-level leader is linked to."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    name: Mapped[str | None] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=True)
    __table_args__ = (_geom_index("communities"), _code_check())


class Grid(Base):
    """A community grid (网格); ``code`` is hierarchical (community code first)."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    name: Mapped[str | None] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (_geom_index("grids"), _code_check())


class Building(Base):
    """A building (楼栋) with its number of units and households."""

    __tablename__ = "buildings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    address: Mapped[str | None] = mapped_column(String(300))
    units: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        _geom_index("buildings"),
        _code_check(),
        CheckConstraint("units IS NULL OR units >= 0", name="units_not_negative"),
        CheckConstraint("households IS NULL OR households >= 0", name="households_not_negative"),
        CheckConstraint("floors IS NULL OR floors >= 0", name="floors_not_negative"),
    )


class Household(Base):
    """A household (户) in a building. ``name`` and ``phone`` are personal data."""

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), nullable=False, index=True)
    unit: Mapped[str | None] = mapped_column(String(50))
    floor: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    phone: Mapped[str | None] = mapped_column(String(50), info={"personal": True})
    geom: Mapped[Any] = mapped_column(Geom("POINT"), nullable=True)
    __table_args__ = (
        _geom_index("households"),
        _code_check(),
        CheckConstraint("size IS NULL OR size >= 0", name="size_not_negative"),
    )


class Organisation(Base):
    """A party organisation (党组织): of a partner unit or of the community itself."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="partner_unit")
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    __table_args__ = (
        _code_check(),
        CheckConstraint(f"kind IN {ORGANISATION_KINDS!r}", name="kind_known"),
    )


class Member(Base):
    """A party member, cadre, grid worker or county-level leader."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50), info={"personal": True})
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="member")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    __table_args__ = (
        _code_check(),
        CheckConstraint(f"role IN {MEMBER_ROLES!r}", name="role_known"),
    )


def _assignment_shape() -> str:
    clauses = []
    for kind, (subject, target) in ASSIGNMENT_KINDS.items():
        parts = [f"kind = '{kind}'"]
        for col in _ASSIGNMENT_REFS:
            parts.append(f"{col} IS {'NOT ' if col in (subject, target) else ''}NULL")
        clauses.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(clauses)


class Assignment(Base):
    """Who is responsible for what, from ``valid_from`` to ``valid_to`` (inclusive).

    ``kind`` says which pair of columns is filled: leader → community, cadre →
    community (the fallback), organisation → grid, grid worker → grid, member →
    building, member → household.
    """

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        _code_check(),
        CheckConstraint(f"kind IN {tuple(ASSIGNMENT_KINDS)!r}", name="kind_known"),
        CheckConstraint(_assignment_shape(), name="kind_matches_columns"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )


class Visit(Base):
    """A member's visit (入户走访) to a household or a building."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False, index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    visited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geom("POINT"), nullable=True)
    uuid: Mapped[str | None] = _uuid()
    __table_args__ = (
        _geom_index("visits"),
        _code_check(),
        CheckConstraint("household_id IS NOT NULL OR building_id IS NOT NULL", name="has_target"),
    )


class Meeting(Base):
    """A grid council meeting (网格议事会)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), nullable=False, index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    attendance: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(Text)
    uuid: Mapped[str | None] = _uuid()
    __table_args__ = (
        _code_check(),
        CheckConstraint("attendance IS NULL OR attendance >= 0", name="attendance_not_negative"),
    )


class Problem(Base):
    """An entry of the problem list (问题清单) and its lifecycle.

    ``open`` → ``resolved_on_site`` | ``escalated`` → ``closed``; each step keeps its
    time, so a closed problem still tells how it was handled.
    """

    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = _code()
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    responsible_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    feedback_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    feedback: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geom("POINT"), nullable=True)
    uuid: Mapped[str | None] = _uuid()
    #: 1 when reported, one more with each step of its lifecycle (a step names the
    #: version it edits).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __table_args__ = (
        _geom_index("problems"),
        _code_check(),
        CheckConstraint(f"status IN {PROBLEM_STATUSES!r}", name="status_known"),
        CheckConstraint(
            "status <> 'resolved_on_site' OR resolved_at IS NOT NULL", name="resolved_has_time"
        ),
        CheckConstraint(
            "status <> 'escalated' OR escalated_at IS NOT NULL", name="escalated_has_time"
        ),
        CheckConstraint(
            "status <> 'closed' OR (closed_at IS NOT NULL"
            " AND (resolved_at IS NOT NULL OR escalated_at IS NOT NULL))",
            name="closed_has_times",
        ),
        CheckConstraint(
            "closed_at IS NULL OR closed_at >= reported_at", name="closed_after_report"
        ),
        CheckConstraint(
            "feedback_at IS NULL OR feedback_at >= reported_at", name="feedback_after_report"
        ),
    )


class DataVersion(Base):
    """How often each layer has changed: one counter per layer.

    Every write that inserts or updates rows of a layer adds one to its counter in
    the same transaction, so a cache keyed on the counter (tiles, maps, findings)
    never serves what a committed write has made stale.
    """

    __tablename__ = "data_versions"
    layer: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


#: Roles of API tokens: who may read which area and write what (see ``api.auth``).
API_ROLES = ("leader", "planner", "analyst", "grid_worker", "member")


class ApiToken(Base):
    """An API token: only its SHA-256 is kept, with the role and area it grants.

    ``communities`` and ``grids`` are comma-separated codes (empty: the whole
    district); ``member`` is the member code the token writes as (grid workers and
    members).
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    member: Mapped[str | None] = mapped_column(String(100))
    communities: Mapped[str | None] = mapped_column(Text)
    grids: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (CheckConstraint(f"role IN {API_ROLES!r}", name="role_known"),)


class IdempotencyKey(Base):
    """The first result of a field write, kept under the client's ``Idempotency-Key``.

    It is stored in the same transaction as the write, so a key exists exactly when
    its write was committed; a retry with the same key gets this response back.
    """

    __tablename__ = "idempotency_keys"
    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(200), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class AuditEntry(Base):
    """One row of the append-only audit log: who changed what, when, from what to what.

    Written in the transaction of the change it records (a field write, a step of a
    problem's lifecycle, an import), so it exists exactly when the change was
    committed. ``token_id``, ``role`` and ``member`` say who (empty for scripts);
    ``layer``, ``code`` and ``action`` what; ``old`` and ``new`` hold the changed
    values as JSON text. ``community`` and ``grid`` say where, for reading the log by
    area.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    token_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20))
    member: Mapped[str | None] = mapped_column(String(100), index=True)
    layer: Mapped[str] = mapped_column(String(50), nullable=False)
    code: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    community: Mapped[str | None] = mapped_column(String(100))
    grid: Mapped[str | None] = mapped_column(String(100))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
