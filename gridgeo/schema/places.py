"""Where things are: communities, grids, buildings and households."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.schema.columns import Base, Geom, code_check, code_column, geom_index

__all__ = ["Building", "Community", "Grid", "Household"]


class Community(Base):
    """A community (社区): the unit a county-level leader is linked to."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    name: Mapped[str | None] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=True)
    __table_args__ = (geom_index("communities"), code_check())


class Grid(Base):
    """A community grid (网格); ``code`` is hierarchical (community code first)."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    name: Mapped[str | None] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (geom_index("grids"), code_check())


class Building(Base):
    """A building (楼栋) with its number of units and households."""

    __tablename__ = "buildings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    address: Mapped[str | None] = mapped_column(String(300))
    units: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(Geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        geom_index("buildings"),
        code_check(),
        CheckConstraint("units IS NULL OR units >= 0", name="units_not_negative"),
        CheckConstraint("households IS NULL OR households >= 0", name="households_not_negative"),
        CheckConstraint("floors IS NULL OR floors >= 0", name="floors_not_negative"),
    )


class Household(Base):
    """A household (户) in a building. ``name`` and ``phone`` are personal data."""

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), nullable=False, index=True)
    unit: Mapped[str | None] = mapped_column(String(50))
    floor: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    phone: Mapped[str | None] = mapped_column(String(50), info={"personal": True})
    geom: Mapped[Any] = mapped_column(Geom("POINT"), nullable=True)
    __table_args__ = (
        geom_index("households"),
        code_check(),
        CheckConstraint("size IS NULL OR size >= 0", name="size_not_negative"),
    )
