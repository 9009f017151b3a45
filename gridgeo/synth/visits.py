"""Visits over the period: leaders, cadres, grid workers and partner members.

Times are seconds since local midnight of the period's first day. Leaders visit their
communities one to three times (one leader never does); cadres visit at least weekly,
households of their community or unassigned buildings; grid workers make building
rounds in their grids; partner members are regular, irregular or never visit, and visit
their own households.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridgeo.synth.arrays import group_offsets, pick_in_ranges
from gridgeo.synth.assignments import MemberHouseholds, Responsibility
from gridgeo.synth.buildings import Buildings
from gridgeo.synth.households import Households, Positions
from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import SECONDS_PER_DAY, Parameters
from gridgeo.synth.people import People

__all__ = [
    "BY_CADRE",
    "BY_LEADER",
    "BY_PARTNER",
    "BY_WORKER",
    "VisitCompliance",
    "Visits",
    "generate_visits",
    "local_times",
]

#: ``Visits.kind``: who visited.
BY_CADRE, BY_WORKER, BY_LEADER, BY_PARTNER = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class Visits:
    """One row per visit, by time then member.

    Attributes
    ----------
    member, household, building
        Who visited, which household (``-1``: a building round) and which building.
    seconds
        When, in seconds since local midnight of the period's first day.
    kind
        :data:`BY_CADRE`, :data:`BY_WORKER`, :data:`BY_LEADER` or :data:`BY_PARTNER`.
    note_missing, gps_missing
        Whether the visit has no note, no GPS point.
    note_choice
        A number 0–99 that picks the note among those of its kind.
    """

    member: np.ndarray
    household: np.ndarray
    building: np.ndarray
    seconds: np.ndarray
    kind: np.ndarray
    note_missing: np.ndarray
    gps_missing: np.ndarray
    note_choice: np.ndarray

    @property
    def count(self) -> int:
        """Number of visits."""
        return len(self.seconds)


@dataclass(frozen=True, eq=False)
class VisitCompliance:
    """Planted and measured gaps in the visits (per partner member where an array)."""

    silent_leader: int  # -1: none
    never_visiting: np.ndarray
    missing_weeks: np.ndarray


#: Visits as ``(member, household, building, seconds, kind)`` columns.
_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class _Targets:
    """Where to find the buildings and households a visitor picks from."""

    grid_first_building: np.ndarray
    grid_buildings: np.ndarray
    community_buildings: np.ndarray  # offsets by community
    community_households: np.ndarray  # offsets by community
    unassigned: np.ndarray
    community_unassigned: np.ndarray  # offsets by community


def local_times(rng: np.random.Generator, count: int, evenings: bool) -> np.ndarray:
    """Seconds since local midnight: mornings, afternoons and, if ``evenings``, evenings."""
    part = rng.choice(3, count, p=[0.4, 0.35, 0.25] if evenings else [0.5, 0.5, 0.0])
    earliest = np.array([9.0, 14.0, 18.5])[part]
    latest = np.array([11.5, 17.0, 20.5])[part]
    return np.round((earliest + rng.random(count) * (latest - earliest)) * 3600).astype(np.int64)


def generate_visits(
    params: Parameters,
    plan: GridPlan,
    buildings: Buildings,
    households: Households,
    household_positions: Positions,
    people: People,
    responsibility: Responsibility,
    member_households: MemberHouseholds,
) -> tuple[Visits, Positions, VisitCompliance]:
    """Every visit of the period, its GPS point, and who missed weeks.

    Parameters
    ----------
    params
        ``weeks``, ``visits`` (the target), ``compliance``, ``irregular_week_share``,
        ``gps_missing_share`` and the seed (stream ``visits``).
    plan, buildings, households, household_positions, people, responsibility,
    member_households
        Who visits whom.

    Returns
    -------
    tuple of (Visits, Positions, VisitCompliance)
        The visits, their GPS points (lattice frame; meaningless where ``gps_missing``)
        and the compliance record.
    """
    rng = params.rng("visits")
    targets = _targets(plan, buildings, households, responsibility)
    silent_leader, leader_part = _leader_visits(rng, params, people, targets)
    parts = [
        leader_part,
        _cadre_visits(rng, params, people, households, targets),
        _worker_visits(rng, params, people, targets),
    ]
    del leader_part
    so_far = sum(len(part[0]) for part in parts)
    parts.append(
        _partner_visits(rng, params, people, households, responsibility, member_households, so_far)
    )
    columns = [np.concatenate([part[column] for part in parts]) for column in range(5)]
    parts.clear()
    order = np.lexsort((columns[0], columns[3]))
    member, household, building, seconds, kind = (
        column[order] if position == 3 else column[order].astype(np.int32)
        for position, column in enumerate(columns)
    )
    del columns, order
    count = len(seconds)
    note_missing = rng.random(count) < 0.3
    gps_missing = rng.random(count) < params.gps_missing_share
    # GPS: near the household point, or near the building
    has_household = household >= 0
    near = np.maximum(household, 0)
    x = np.where(has_household, household_positions.x[near], buildings.centre_x[building])
    y = np.where(has_household, household_positions.y[near], buildings.centre_y[building])
    spread = np.where(has_household, 6.0, 10.0)
    x = x + rng.normal(0, 1, count) * spread
    y = y + rng.normal(0, 1, count) * spread
    visits = Visits(
        member=member,
        household=household,
        building=building,
        seconds=seconds,
        kind=kind,
        note_missing=note_missing,
        gps_missing=gps_missing,
        note_choice=rng.integers(0, 100, count, dtype=np.int32),
    )
    compliance = _compliance(params, people, responsibility, visits, silent_leader)
    return visits, Positions(x, y), compliance


def _targets(
    plan: GridPlan, buildings: Buildings, households: Households, responsibility: Responsibility
) -> _Targets:
    in_grid = buildings.grid >= 0
    grid_first = np.zeros(plan.grid_count, np.int64)
    grids, first = np.unique(buildings.grid[in_grid], return_index=True)
    grid_first[grids] = np.flatnonzero(in_grid)[first]
    unassigned = responsibility.unassigned_buildings
    communities = plan.community_count
    return _Targets(
        grid_first_building=grid_first,
        grid_buildings=np.bincount(buildings.grid[in_grid], minlength=plan.grid_count),
        community_buildings=group_offsets(buildings.community, communities),
        community_households=group_offsets(buildings.community[households.building], communities),
        unassigned=unassigned,
        community_unassigned=group_offsets(buildings.community[unassigned], communities),
    )


def _part(
    member: np.ndarray,
    household: np.ndarray,
    building: np.ndarray,
    day: np.ndarray,
    time_of_day: np.ndarray,
    kind: int,
) -> _Part:
    """Visits as ``(member, household, building, seconds, kind)`` int64 columns."""
    member = np.asarray(member, np.int64)
    return (
        member,
        np.asarray(household, np.int64),
        np.asarray(building, np.int64),
        np.asarray(day, np.int64) * SECONDS_PER_DAY + time_of_day,
        np.full(len(member), kind, np.int64),
    )


def _weekly(per_week: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Visitor and week of each visit, from ``(visitors, weeks)`` visit counts."""
    visitors, weeks = per_week.shape
    visitor = np.repeat(np.repeat(np.arange(visitors), weeks), per_week.ravel())
    week = np.repeat(np.tile(np.arange(weeks), visitors), per_week.ravel())
    return visitor, week


def _leader_visits(
    rng: np.random.Generator, params: Parameters, people: People, targets: _Targets
) -> tuple[int, _Part]:
    """One to three visits per linked community, to a building of it; one leader makes none."""
    links = people.leader_links
    silent = int(links[rng.integers(0, len(links)), 0]) if len(links) else -1
    visits = np.where(links[:, 0] == silent, 0, 1 + rng.binomial(2, 0.4, len(links)))
    member = np.repeat(links[:, 0], visits)
    community = np.repeat(links[:, 1], visits)
    offsets = targets.community_buildings
    building = pick_in_ranges(rng, offsets[community], np.diff(offsets)[community])
    day = rng.integers(0, int(params.weeks) * 7, len(member))
    day -= np.maximum(0, (day + params.start_day + 3) % 7 - 4)  # move weekends to Friday
    day = np.maximum(day, 0)
    time_of_day = local_times(rng, len(member), False)
    return silent, _part(member, np.full(len(member), -1), building, day, time_of_day, BY_LEADER)


def _cadre_visits(
    rng: np.random.Generator,
    params: Parameters,
    people: People,
    households: Households,
    targets: _Targets,
) -> _Part:
    """At least weekly: households of the community, or (30 %) its unassigned buildings."""
    cadre, week = _weekly(1 + rng.poisson(0.5, (people.cadre_count, int(params.weeks))))
    community = people.cadre_community[cadre]
    count = len(cadre)
    unassigned, unassigned_offsets = targets.unassigned, targets.community_unassigned
    households_at = targets.community_households
    to_unassigned = (rng.random(count) < 0.3) & (np.diff(unassigned_offsets)[community] > 0)
    household = pick_in_ranges(
        rng, households_at[community], np.maximum(np.diff(households_at)[community], 1)
    )
    building = households.building[np.minimum(household, households.count - 1)]
    if len(unassigned):
        pick = pick_in_ranges(
            rng,
            unassigned_offsets[community],
            np.maximum(np.diff(unassigned_offsets)[community], 1),
        )
        building = np.where(
            to_unassigned, unassigned[np.minimum(pick, len(unassigned) - 1)], building
        )
    household = np.where(to_unassigned, -1, household)
    day = week * 7 + rng.integers(0, 7, count)
    time_of_day = local_times(rng, count, True)
    return _part(people.first_cadre + cadre, household, building, day, time_of_day, BY_CADRE)


def _worker_visits(
    rng: np.random.Generator, params: Parameters, people: People, targets: _Targets
) -> _Part:
    """One to several building rounds a week, on weekdays, in the worker's grids."""
    worker, week = _weekly(1 + rng.poisson(1.5, (people.worker_count, int(params.weeks))))
    count = len(worker)
    grid = np.where(
        rng.random(count) < 0.5, people.worker_first_grid[worker], people.worker_last_grid[worker]
    )
    building = pick_in_ranges(
        rng, targets.grid_first_building[grid], np.maximum(targets.grid_buildings[grid], 1)
    )
    day = week * 7 + rng.integers(0, 5, count)
    time_of_day = local_times(rng, count, False)
    return _part(
        people.first_worker + worker, np.full(count, -1), building, day, time_of_day, BY_WORKER
    )


def _partner_visits(
    rng: np.random.Generator,
    params: Parameters,
    people: People,
    households: Households,
    responsibility: Responsibility,
    member_households: MemberHouseholds,
    so_far: int,
) -> _Part:
    """Regular, irregular or never: the visits left to reach the target, to own households."""
    weeks = int(params.weeks)
    partners = responsibility.partner_count
    per_partner = responsibility.households_per_partner
    has_households = per_partner > 0
    shares = np.asarray(params.compliance) / sum(params.compliance)
    compliance = rng.choice(3, partners, p=shares)
    with_households = np.flatnonzero(has_households)
    if len(with_households) >= 2:  # at least one member who never visits and one who skips
        never, skipper = rng.choice(with_households, 2, replace=False)
        compliance[never], compliance[skipper] = 2, 1
    week_share = np.array([1.0, params.irregular_week_share, 0.0])[compliance] * has_households
    wanted = max(params.visits - so_far, 0)
    active_weeks = week_share.sum() * weeks
    extra_per_week = max(wanted / max(active_weeks, 1.0) - 1.0, 0.0)
    active = rng.random((partners, weeks)) < week_share[:, None]
    per_week = np.where(active, 1 + rng.poisson(extra_per_week, (partners, weeks)), 0)
    partner, week = _weekly(per_week)
    count = len(partner)
    own = member_households.households
    pick = pick_in_ranges(
        rng, member_households.offsets[partner], np.maximum(per_partner[partner], 1)
    )
    household = own[np.minimum(pick, len(own) - 1)] if len(own) else np.zeros(count, np.int64)
    building = households.building[household] if count else np.zeros(0, np.int64)
    building_only = rng.random(count) < 0.1
    household = np.where(building_only, -1, household)
    day = week * 7 + rng.choice(7, count, p=[0.1, 0.1, 0.1, 0.1, 0.12, 0.28, 0.2])
    time_of_day = local_times(rng, count, True)
    return _part(people.first_partner + partner, household, building, day, time_of_day, BY_PARTNER)


def _compliance(
    params: Parameters,
    people: People,
    responsibility: Responsibility,
    visits: Visits,
    silent_leader: int,
) -> VisitCompliance:
    """Partner members who never visited, and those with households who missed a week."""
    weeks = int(params.weeks)
    partner = visits.member - people.first_partner
    is_partner = partner >= 0
    week = visits.seconds // (7 * SECONDS_PER_DAY)
    seen = np.zeros((responsibility.partner_count, weeks), bool)
    seen[partner[is_partner], week[is_partner]] = True
    has_households = responsibility.households_per_partner > 0
    return VisitCompliance(
        silent_leader=silent_leader,
        never_visiting=~seen.any(axis=1),
        missing_weeks=has_households & ~seen.all(axis=1),
    )
