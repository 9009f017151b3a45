"""What happens to a problem after it is reported: its path, status and times.

A problem is resolved on site, escalated to the community, or left open; resolved and
explained ones are closed at the joint meeting on the 9th of the month (15:00), and
most closed ones get feedback to the resident. Times are seconds since local midnight
of the period's first day, :data:`NEVER` where nothing happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.parameters import SECONDS_PER_DAY, Parameters
from gridgeo.synth.vocabulary import Vocabulary

__all__ = [
    "CLOSED",
    "ESCALATED",
    "LEFT_OPEN",
    "NEVER",
    "ON_SITE",
    "OPEN",
    "RESOLVED_ON_SITE",
    "STATUSES",
    "TO_COMMUNITY",
    "Lifecycle",
    "live_through",
]

#: The time of something that did not happen (far beyond any period).
NEVER = np.iinfo(np.int64).max // 4
#: ``Problems.status`` is a position in this tuple.
STATUSES = ("open", "resolved_on_site", "escalated", "closed")
OPEN, RESOLVED_ON_SITE, ESCALATED, CLOSED = range(len(STATUSES))
#: How a problem is handled (``Lifecycle.path``).
ON_SITE, TO_COMMUNITY, LEFT_OPEN = range(3)


@dataclass(frozen=True, eq=False)
class Lifecycle:
    """How each problem was handled and what happened when.

    Attributes
    ----------
    path
        :data:`ON_SITE`, :data:`TO_COMMUNITY` or :data:`LEFT_OPEN`.
    status
        Position in :data:`STATUSES`.
    resolved, escalated, closed, feedback
        Times (:data:`NEVER`: did not happen).
    feedback_text
        Position in ``Vocabulary.feedback`` followed by ``Vocabulary.explanations``.
    """

    path: np.ndarray
    status: np.ndarray
    resolved: np.ndarray
    escalated: np.ndarray
    closed: np.ndarray
    feedback: np.ndarray
    feedback_text: np.ndarray

    def take(self, index: np.ndarray) -> Lifecycle:
        """The problems at ``index``, in that order."""
        return Lifecycle(
            **{field.name: getattr(self, field.name)[index] for field in dataclasses.fields(self)}
        )


def _joint_meetings(params: Parameters) -> np.ndarray:
    """Times of the joint meetings on the 9th (15:00) in the period, then :data:`NEVER`."""
    start = params.start
    times = []
    day = start
    while (day - start).days < int(params.weeks) * 7:
        if day.day == 9:
            times.append((day - start).days * SECONDS_PER_DAY + 15 * 3600)
        day += dt.timedelta(days=1)
    return np.array([*times, NEVER], np.int64)


def _daytime(rng: np.random.Generator, seconds: np.ndarray) -> np.ndarray:
    """Times at night moved to the next morning (09:00–11:00 local)."""
    time_of_day, day = seconds % SECONDS_PER_DAY, seconds // SECONDS_PER_DAY
    morning = 9 * 3600 + rng.integers(0, 2 * 3600, len(seconds))
    return np.where(
        time_of_day < 9 * 3600,
        day * SECONDS_PER_DAY + morning,
        np.where(time_of_day > 19 * 3600, (day + 1) * SECONDS_PER_DAY + morning, seconds),
    )


def live_through(
    rng: np.random.Generator, params: Parameters, reported: np.ndarray, vocabulary: Vocabulary
) -> Lifecycle:
    """What happens to each problem after it is reported (draws from ``rng`` in turn).

    Resolved on site, escalated, or left open; closed at the next joint meeting.

    On site: mostly within hours. Escalated: handed to the community within days, most
    solved in weeks. Feedback within two days of closing.
    """
    meetings = _joint_meetings(params)

    def next_meeting(seconds: np.ndarray) -> np.ndarray:
        after = np.searchsorted(meetings, seconds, side="right")
        return meetings[np.minimum(after, len(meetings) - 1)]

    count, end = len(reported), params.period_seconds
    shares = np.asarray(params.problem_paths) / sum(params.problem_paths)
    path = rng.choice(3, count, p=shares)
    resolved = np.full(count, NEVER)
    escalated = np.full(count, NEVER)
    quick = rng.random(count) < 0.7
    delay = np.where(
        quick,
        rng.integers(600, 4 * 3600, count),
        rng.integers(4 * 3600, 3 * SECONDS_PER_DAY, count),
    )
    on_site = path == ON_SITE
    resolved = np.where(on_site, _daytime(rng, reported + delay), resolved)
    to_community = path == TO_COMMUNITY
    handed_over = reported + rng.integers(3600, 3 * SECONDS_PER_DAY, count)
    escalated = np.where(to_community, _daytime(rng, handed_over), escalated)
    solvable = rng.random(count) < 0.8
    took = np.exp(rng.normal(math.log(10 * SECONDS_PER_DAY), 0.6, count)).astype(np.int64)
    resolved = np.where(to_community & solvable, _daytime(rng, escalated + took), resolved)
    escalated = np.where(escalated >= end, NEVER, escalated)
    resolved = np.where((resolved >= end) | (to_community & (escalated == NEVER)), NEVER, resolved)
    closed = np.where(resolved < NEVER, next_meeting(resolved), NEVER)
    explain = to_community & ~solvable & (escalated < NEVER)
    explained = next_meeting(escalated + rng.integers(3, 20, count) * SECONDS_PER_DAY)
    closed = np.where(explain, explained, closed)
    closed = np.where(closed >= end, NEVER, closed)
    status = np.select(
        [closed < NEVER, resolved < NEVER, escalated < NEVER],
        [CLOSED, np.where(to_community, ESCALATED, RESOLVED_ON_SITE), ESCALATED],
        OPEN,
    )
    # feedback to the resident when closed (some planted without)
    feedback = np.minimum(
        _daytime(rng, closed + rng.integers(3600, 2 * SECONDS_PER_DAY, count)), end - 60
    )
    feedback = np.where(closed < NEVER, feedback, NEVER)
    no_feedback = (closed < NEVER) & (rng.random(count) < params.no_feedback_share)
    feedback = np.where(no_feedback, NEVER, feedback)
    told, explained_to = len(vocabulary.feedback), len(vocabulary.explanations)
    feedback_text = np.where(
        explain, rng.integers(0, explained_to, count) + told, rng.integers(0, told, count)
    )
    return Lifecycle(path, status, resolved, escalated, closed, feedback, feedback_text)
