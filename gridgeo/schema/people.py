"""Who is responsible: party organisations, members and their assignments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.schema.columns import (
    ASSIGNMENT_KINDS,
    ASSIGNMENT_REFS,
    MEMBER_ROLES,
    ORGANISATION_KINDS,
    Base,
    code_check,
    code_column,
)

__all__ = ["Assignment", "Member", "Organisation"]


class Organisation(Base):
    """A party organisation (党组织): of a partner unit or of the community itself."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="partner_unit")
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    __table_args__ = (
        code_check(),
        CheckConstraint(f"kind IN {ORGANISATION_KINDS!r}", name="kind_known"),
    )


class Member(Base):
    """A party member, cadre, grid worker or county-level leader."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50), info={"personal": True})
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="member")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    __table_args__ = (
        code_check(),
        CheckConstraint(f"role IN {MEMBER_ROLES!r}", name="role_known"),
    )


def _assignment_shape() -> str:
    clauses = []
    for kind, (subject, target) in ASSIGNMENT_KINDS.items():
        parts = [f"kind = '{kind}'"]
        for col in ASSIGNMENT_REFS:
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
    code: Mapped[str] = code_column()
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
        code_check(),
        CheckConstraint(f"kind IN {tuple(ASSIGNMENT_KINDS)!r}", name="kind_known"),
        CheckConstraint(_assignment_shape(), name="kind_matches_columns"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )
