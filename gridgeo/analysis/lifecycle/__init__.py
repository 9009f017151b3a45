"""The problem list over time (问题清单): rules R10 and R11, per grid, community and district.

A problem moves from ``open`` to ``resolved_on_site`` or ``escalated``, then to
``closed`` (销号); each step keeps its time. Every function here works from those
times, not from the ``status`` column, so the state of the list can be replayed at any
``as_of`` date.

Local time
    Times (``reported_at``, ``resolved_at``, ``escalated_at``, ``closed_at``,
    ``feedback_at``) are timezone-aware UTC, as stores return them (naive times are
    taken as local already). They are converted to the district's time zone
    (``timezone=``, an IANA name; default :data:`gridgeo.localtime.DEFAULT_TIMEZONE`,
    Asia/Shanghai: pass the ``GRIDGEO_TIMEZONE`` setting for the configured one)
    before they are given a day or a month: a problem reported at
    2026-03-08 15:30 UTC was reported on 2026-03-08 at 23:30 in Shanghai, and one
    reported at 2026-03-08 16:30 UTC on 2026-03-09 at 00:30. ``deadline`` and
    ``as_of`` are local dates.

As of a date
    ``as_of`` is a local date and the state is the one at the **end** of that day:
    problems reported after it are left out, and a step counts when it happened by
    24:00 local time on ``as_of``.

The review meeting (R11)
    The joint meeting is held on day ``policy.joint_meeting_day`` (the 9th) of every
    month. The meeting that reviews a problem is the first one held on a local date
    **strictly after** the local date it was reported: a problem reported on 3 or
    8 March (even at 23:30) is reviewed on 9 March; one reported on 9 March itself,
    at any hour, is reviewed on 9 April, since the day's list is drawn up before the
    meeting and a problem raised that day cannot have been worked on yet. A problem
    **missed its meeting** when it was neither resolved nor closed by the end of the
    meeting day, and that day is before ``as_of``; it is **overdue** when it is,
    moreover, still unresolved at ``as_of`` (so from 10 March on for one reported on
    3 March).

Deadline (R10)
    A problem **missed its deadline** when it was not resolved or closed by the end of
    its ``deadline`` day, and that day is before ``as_of``. A problem still unresolved
    past its deadline is overdue too, even before its review meeting.

Resolved
    A problem is resolved (settled) at the earliest of ``resolved_at`` and
    ``closed_at`` (an escalated problem that cannot be solved is closed with an
    explanation); escalation alone does not resolve it.

Modules
-------
states
    :func:`problem_lifecycle`: where each problem stands.
areas
    :func:`problem_areas`: the grid and community of each problem.
findings
    The problems behind the counts: overdue (R10, R11), without feedback (R11),
    unowned (R10) and repeats.
tables
    :func:`lifecycle_table` and :func:`lifecycle_results` (what ``gridgeo lifecycle``
    writes).
"""

from gridgeo.analysis.lifecycle.areas import problem_areas
from gridgeo.analysis.lifecycle.findings import (
    lifecycle_findings,
    overdue_problems,
    problems_without_feedback,
    repeat_problems,
    unowned_problems,
)
from gridgeo.analysis.lifecycle.states import problem_lifecycle
from gridgeo.analysis.lifecycle.tables import LEVELS, lifecycle_results, lifecycle_table

__all__ = [
    "LEVELS",
    "lifecycle_findings",
    "lifecycle_results",
    "lifecycle_table",
    "overdue_problems",
    "problem_areas",
    "problem_lifecycle",
    "problems_without_feedback",
    "repeat_problems",
    "unowned_problems",
]
