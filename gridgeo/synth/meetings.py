"""Grid council meetings (网格议事会): one a month per grid, a few months missed."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["Meetings", "hold_meetings", "months_of"]


@dataclass(frozen=True, eq=False)
class Meetings:
    """One row per meeting, by day then grid.

    Attributes
    ----------
    grid, day, attendance, topic
        The grid, the day (days since 1970-01-01), how many attended, and the topic's
        position in ``Vocabulary.meeting_topics``.
    missing
        ``(grid, "YYYY-MM")`` of each month of the period in which the grid held none.
    """

    grid: np.ndarray
    day: np.ndarray
    attendance: np.ndarray
    topic: np.ndarray
    missing: tuple[tuple[int, str], ...]


def months_of(start: dt.date, end: dt.date) -> list[tuple[str, int, int]]:
    """The calendar months in ``[start, end)``: ``"YYYY-MM"``, first and last day in it.

    Days are counted from ``start``.

    Examples
    --------
    >>> months_of(dt.date(2025, 3, 20), dt.date(2025, 4, 10))
    [('2025-03', 0, 11), ('2025-04', 12, 20)]
    """
    months = []
    year, month = start.year, start.month
    while dt.date(year, month, 1) < end:
        first = max(dt.date(year, month, 1), start)
        last_of_month = dt.date(year, month, calendar.monthrange(year, month)[1])
        last = min(last_of_month, end - dt.timedelta(days=1))
        months.append((f"{year:04d}-{month:02d}", (first - start).days, (last - start).days))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def hold_meetings(params: Parameters, plan: GridPlan, vocabulary: Vocabulary) -> Meetings:
    """Each grid's meetings: usually one a month, sometimes two, about 4 % of months none.

    Parameters
    ----------
    params
        ``missing_meeting_share``, the period and the seed (stream ``meetings``).
    plan
        The grids.
    vocabulary
        The topics.

    Returns
    -------
    Meetings
        The meetings and the months missed.
    """
    rng = params.rng("meetings")
    months = months_of(params.start, params.end)
    grids, month_count = plan.grid_count, len(months)
    first = np.array([month[1] for month in months])
    last = np.array([month[2] for month in months])
    grid = np.repeat(np.arange(grids), month_count)
    month = np.tile(np.arange(month_count), grids)
    wanted_missing = max(1, round(params.missing_meeting_share * grids * month_count))
    missing = rng.choice(
        grids * month_count, min(wanted_missing, grids * month_count), replace=False
    )
    held = np.ones(grids * month_count, np.int64)
    held[missing] = 0
    held[(rng.random(grids * month_count) < 0.05) & (held > 0)] = 2
    grid = np.repeat(grid, held)
    month = np.repeat(month, held)
    offset = np.floor(rng.random(len(grid)) * (last[month] - first[month] + 1)).astype(np.int64)
    day = first[month] + offset
    order = np.lexsort((grid, day))
    count = len(grid)
    return Meetings(
        grid=grid[order],
        day=params.start_day + day[order],
        attendance=5 + rng.poisson(7, count),
        topic=rng.integers(0, len(vocabulary.meeting_topics), count),
        missing=tuple(
            (int(slot // month_count), months[slot % month_count][0]) for slot in np.sort(missing)
        ),
    )
