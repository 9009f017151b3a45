"""What happens in the grids: visits, council meetings and residents' problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.schema.columns import (
    PROBLEM_STATUSES,
    Base,
    Geom,
    UTCDateTime,
    code_check,
    code_column,
    geom_index,
    uuid_column,
)

__all__ = ["Meeting", "Problem", "Visit"]


class Visit(Base):
    """A member's visit (入户走访) to a household or a building."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False, index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    visited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geom("POINT"), nullable=True)
    uuid: Mapped[str | None] = uuid_column()
    __table_args__ = (
        geom_index("visits"),
        code_check(),
        CheckConstraint("household_id IS NOT NULL OR building_id IS NOT NULL", name="has_target"),
    )


class Meeting(Base):
    """A grid council meeting (网格议事会)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), nullable=False, index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    attendance: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(Text)
    uuid: Mapped[str | None] = uuid_column()
    __table_args__ = (
        code_check(),
        CheckConstraint("attendance IS NULL OR attendance >= 0", name="attendance_not_negative"),
    )


class Problem(Base):
    """An entry of the problem list (问题清单) and its lifecycle.

    ``open`` → ``resolved_on_site`` | ``escalated`` → ``closed``; each step keeps its
    time, so a closed problem still tells how it was handled.
    """

    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = code_column()
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
    uuid: Mapped[str | None] = uuid_column()
    #: 1 when reported, one more with each step of its lifecycle (a step names the
    #: version it edits).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __table_args__ = (
        geom_index("problems"),
        code_check(),
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
