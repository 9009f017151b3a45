"""Visits and meetings over time: rules R8, R9 and R12, visit recency and shares.

R8: members visit weekly; R9: grids hold a council meeting monthly; R12: linked
leaders visit their community quarterly.

Times: ``visits.visited_at`` is timezone-aware (UTC); it is converted to the
district's local time (``timezone=``, an IANA name; default
:data:`gridgeo.localtime.DEFAULT_TIMEZONE`, Asia/Shanghai: pass the
``GRIDGEO_TIMEZONE`` setting for the configured one) before it is given a day, week,
month or quarter. ``meetings.held_on`` and ``start``/``end`` are local dates.

Periods: a calendar unit (ISO week Monday–Sunday, month, quarter) is checked when it
overlaps ``[start, end)``; a visit or meeting anywhere in that unit counts for it.
For a member or leader, a unit is checked only when the part of it inside
``[start, end)`` lies wholly within one of their assignments' validity.

Modules
-------
compliance
    The periods missed: :func:`member_visit_weeks` (R8), :func:`meeting_months` (R9),
    :func:`leader_quarters` (R12).
shares
    :func:`last_visits`, :func:`visit_share` and :func:`weekly_visit_share`.
"""

from gridgeo.analysis.visits.compliance import leader_quarters, meeting_months, member_visit_weeks
from gridgeo.analysis.visits.shares import (
    HouseholdBuildings,
    household_buildings,
    last_visits,
    visit_share,
    weekly_visit_share,
)

__all__ = [
    "HouseholdBuildings",
    "household_buildings",
    "last_visits",
    "leader_quarters",
    "meeting_months",
    "member_visit_weeks",
    "visit_share",
    "weekly_visit_share",
]
