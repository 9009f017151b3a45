"""The problem list (问题清单): where problems arise, who handles them, how they end.

Half of the problems cluster around planted hotspots (Gaussian, one emerging in the
last third of the period), the rest fall on random buildings; most are reported on a
visit to their building. A problem is resolved on site, escalated to the community, or
left open; resolved and explained ones are closed at the joint meeting on the 9th of
the month (15:00), and most closed ones get feedback to the resident
(:mod:`~gridgeo.synth.lifecycle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from gridgeo.synth.arrays import group_offsets, pick_in_ranges
from gridgeo.synth.assignments import Responsibility
from gridgeo.synth.buildings import Buildings
from gridgeo.synth.calibration import Layout
from gridgeo.synth.households import Positions
from gridgeo.synth.lifecycle import ON_SITE, TO_COMMUNITY, Lifecycle, live_through
from gridgeo.synth.parameters import SECONDS_PER_DAY, Parameters
from gridgeo.synth.people import People
from gridgeo.synth.streets import Streets
from gridgeo.synth.visits import Visits, local_times
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["Hotspots", "Problems", "report_problems"]


@dataclass(frozen=True, eq=False)
class Hotspots:
    """The planted clusters; the last one is the emerging one.

    Attributes
    ----------
    centre_building, sigma_m, category
        Building at each centre, the Gaussian spread, and the dominant category.
    emerging_day
        Day of the period from which the emerging hotspot has problems.
    """

    centre_building: np.ndarray
    sigma_m: np.ndarray
    category: np.ndarray
    emerging_day: int


@dataclass(frozen=True, eq=False)
class Problems:
    """One row per problem, by time reported.

    Attributes
    ----------
    category, description
        Position of the category in ``Vocabulary.categories``, and of the description
        among that category's.
    building, household, visit, responsible
        Indices (``-1``: none) of the building, household, the visit it was reported
        on, and the responsible member.
    reported
        Time reported.
    deadline, no_deadline
        Deadline, in days of the period; whether it is left out.
    hotspot
        The hotspot it belongs to (``-1``: background).
    lifecycle
        What happened to it after.
    """

    category: np.ndarray
    description: np.ndarray
    building: np.ndarray
    household: np.ndarray
    visit: np.ndarray
    responsible: np.ndarray
    reported: np.ndarray
    deadline: np.ndarray
    no_deadline: np.ndarray
    hotspot: np.ndarray
    lifecycle: Lifecycle

    @property
    def count(self) -> int:
        """Number of problems."""
        return len(self.reported)


@dataclass(frozen=True, eq=False)
class _Reports:
    building: np.ndarray
    hotspot: np.ndarray
    visit: np.ndarray
    reported: np.ndarray
    household: np.ndarray


def report_problems(
    params: Parameters,
    layout: Layout,
    buildings: Buildings,
    household_positions: Positions,
    visits: Visits,
    people: People,
    responsibility: Responsibility,
    vocabulary: Vocabulary,
) -> tuple[Problems, Positions, Hotspots]:
    """The problems of the period, their points, and the hotspots they cluster around.

    Parameters
    ----------
    params
        ``problems``, ``hotspots``, ``hotspot_share``, ``problem_paths`` and the other
        problem shares, and the seed (stream ``problems``).
    layout, buildings, household_positions, visits, people, responsibility
        Where problems arise, on which visits, and who can handle them.
    vocabulary
        The categories and their descriptions.

    Returns
    -------
    tuple of (Problems, Positions, Hotspots)
        The problems and their points (lattice frame), sorted by time reported.
    """
    rng = params.rng("problems")
    hotspots = _hotspots(rng, params, layout.streets, buildings, vocabulary)
    reports = _reports(rng, params, buildings, hotspots, visits)
    count = len(reports.building)
    in_hotspot = reports.hotspot >= 0
    dominant = hotspots.category[np.maximum(reports.hotspot, 0)] if len(hotspots.category) else 0
    category = np.where(
        in_hotspot & (rng.random(count) < 0.7),
        dominant,
        rng.choice(len(vocabulary.categories), count, p=vocabulary.category_weights),
    )
    per_category = np.array([len(group) for group in vocabulary.descriptions])
    description = np.floor(rng.random(count) * per_category[category]).astype(np.int64)
    life = live_through(rng, params, reports.reported, vocabulary)
    responsible = _responsible(
        rng, params, layout.plan.community_count, buildings, people, responsibility, visits,
        reports, life,
    )  # fmt: skip
    deadline = reports.reported // SECONDS_PER_DAY + rng.choice(
        [7, 14, 30], count, p=[0.4, 0.4, 0.2]
    )
    no_deadline = rng.random(count) < params.no_deadline_share
    x, y = _points(rng, buildings, household_positions, reports)
    order = np.argsort(reports.reported, kind="stable")
    problems = Problems(
        category=category[order],
        description=description[order],
        building=reports.building[order],
        household=reports.household[order],
        visit=reports.visit[order],
        responsible=responsible[order],
        reported=reports.reported[order],
        deadline=deadline[order],
        no_deadline=no_deadline[order],
        hotspot=reports.hotspot[order],
        lifecycle=life.take(order),
    )
    return problems, Positions(x[order], y[order]), hotspots


def _hotspots(
    rng: np.random.Generator,
    params: Parameters,
    streets: Streets,
    buildings: Buildings,
    vocabulary: Vocabulary,
) -> Hotspots:
    """Centres on buildings in grids, spreads of 4–8 % of the district's side, categories."""
    in_grid = np.flatnonzero(buildings.grid >= 0)
    count = int(params.hotspots)
    if count:
        centres = rng.choice(in_grid, count, replace=False)
    else:
        centres = np.array([], np.int64)
    side = math.sqrt(float(streets.block_area.sum()))
    sigma = np.clip(side * rng.uniform(0.04, 0.08, count), 25.0, 2000.0)
    categories = len(vocabulary.categories)
    dominant = rng.permutation(np.tile(np.arange(categories), count // categories + 1))[:count]
    if count:  # the emerging one
        dominant[-1] = vocabulary.categories.index(vocabulary.emerging_category)
    return Hotspots(centres, sigma, dominant, round(int(params.weeks) * 7 * 2 / 3))


def _reports(
    rng: np.random.Generator,
    params: Parameters,
    buildings: Buildings,
    hotspots: Hotspots,
    visits: Visits,
) -> _Reports:
    """Building, hotspot, visit, time and household of each report."""
    count, spots = int(params.problems), len(hotspots.sigma_m)
    in_grid = np.flatnonzero(buildings.grid >= 0)
    weights = rng.uniform(0.75, 1.25, spots)
    background = 1 - params.hotspot_share if spots else 1.0
    shares = np.concatenate(
        [[background], params.hotspot_share * weights / max(weights.sum(), 1e-9)]
    )
    hotspot = rng.choice(spots + 1, count, p=shares / shares.sum()) - 1
    building = in_grid[rng.integers(0, len(in_grid), count)]
    clustered = np.flatnonzero(hotspot >= 0)
    if len(clustered):  # the building nearest to a Gaussian draw around the hotspot's centre
        spot = hotspot[clustered]
        centre = hotspots.centre_building[spot]
        x = buildings.centre_x[centre] + rng.normal(0, 1, len(clustered)) * hotspots.sigma_m[spot]
        y = buildings.centre_y[centre] + rng.normal(0, 1, len(clustered)) * hotspots.sigma_m[spot]
        tree = shapely.STRtree(
            shapely.points(buildings.centre_x[in_grid], buildings.centre_y[in_grid])
        )
        nearest = tree.query_nearest(shapely.points(x, y), all_matches=False)
        building[clustered[nearest[0]]] = in_grid[nearest[1]]
    emerging = hotspot == spots - 1 if spots else np.zeros(count, bool)
    earliest = np.where(emerging, hotspots.emerging_day * SECONDS_PER_DAY, 0)
    latest = np.full(count, params.period_seconds)
    # link to a visit of that building within the window
    shift = np.int64(1 << 26)
    visit_key = visits.building.astype(np.int64) * shift + visits.seconds
    visit_order = np.argsort(visit_key, kind="stable")
    visit_key = visit_key[visit_order]
    left = np.searchsorted(visit_key, building * shift + earliest)
    right = np.searchsorted(visit_key, building * shift + latest)
    del visit_key
    linked = (right > left) & (rng.random(count) < params.visit_link_share)
    pick = pick_in_ranges(rng, left, np.maximum(right - left, 1))
    pick = np.minimum(pick, max(len(visit_order) - 1, 0))
    visit = np.where(linked, visit_order[pick], -1) if len(visit_order) else np.full(count, -1)
    days = np.floor(rng.random(count) * (latest - earliest) / SECONDS_PER_DAY).astype(np.int64)
    unlinked_time = (earliest // SECONDS_PER_DAY + days) * SECONDS_PER_DAY
    unlinked_time += local_times(rng, count, False)
    on_visit = visits.seconds[np.maximum(visit, 0)] + rng.integers(60, 1800, count)
    reported = np.where(linked, on_visit, unlinked_time)
    household = np.where(
        linked & (rng.random(count) < 0.75), visits.household[np.maximum(visit, 0)], -1
    )
    household = np.where(linked, household, -1)
    return _Reports(building, hotspot, visit, reported, household)


def _responsible(
    rng: np.random.Generator,
    params: Parameters,
    community_count: int,
    buildings: Buildings,
    people: People,
    responsibility: Responsibility,
    visits: Visits,
    reports: _Reports,
    life: Lifecycle,
) -> np.ndarray:
    """The member who visited, the building's member, a cadre or the grid worker."""
    building = reports.building
    count = len(building)
    first_partner, first_cadre = people.first_partner, people.first_cadre
    visitor = np.where(reports.visit >= 0, visits.member[np.maximum(reports.visit, 0)], -1)
    own = responsibility.building_responsible[building]
    own_member = np.where(own >= 0, first_partner + own, -1)
    community = buildings.community[building]
    cadres = group_offsets(people.cadre_community, community_count)
    cadre = first_cadre + pick_in_ranges(rng, cadres[community], np.diff(cadres)[community])
    worker = people.grid_worker_member[buildings.grid[building]]
    responsible = np.select(
        [life.path == TO_COMMUNITY, visitor >= first_partner, own_member >= 0],
        [np.where(rng.random(count) < 0.7, cadre, worker), visitor, own_member],
        np.where(life.path == ON_SITE, worker, cadre),
    )
    no_one = rng.random(count) < params.no_responsible_share
    return np.where(no_one, -1, responsible)


def _points(
    rng: np.random.Generator,
    buildings: Buildings,
    household_positions: Positions,
    reports: _Reports,
) -> tuple[np.ndarray, np.ndarray]:
    """The household's point, or a point inside the building."""
    building, household = reports.building, reports.household
    count = len(building)
    has_household = household >= 0
    along = rng.uniform(-0.35, 0.35, count) * buildings.width[building]
    across = rng.uniform(-0.35, 0.35, count) * buildings.depth[building]
    axis_x, axis_y = buildings.axis_x[building], buildings.axis_y[building]
    near = np.maximum(household, 0)
    x = np.where(
        has_household,
        household_positions.x[near],
        buildings.centre_x[building] + along * axis_x - across * axis_y,
    )
    y = np.where(
        has_household,
        household_positions.y[near],
        buildings.centre_y[building] + along * axis_y + across * axis_x,
    )
    return x, y
