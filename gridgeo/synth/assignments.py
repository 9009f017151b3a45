"""Who is responsible for what: partner members and every assignment row.

Each grid's buildings are shared out, in order, to partner members of about
``member_households`` households each; a building with more than
``big_building_households`` households is shared out by household instead. Planted:
members with fewer than 10 households, buildings nobody is responsible for, buildings
with two members, and expired assignments of a previous member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridgeo.synth.arrays import group_offsets, ranks_in_groups
from gridgeo.synth.buildings import Buildings
from gridgeo.synth.households import Households
from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.people import Organisations, People

__all__ = ["AssignmentRows", "MemberHouseholds", "Responsibility", "assign"]

#: Partner members of the organisation planted without a grid.
MEMBERS_WITHOUT_GRID = 3


@dataclass(frozen=True, eq=False)
class AssignmentRows:
    """The rows of the ``assignments`` layer, by index (``-1``: no reference).

    ``valid_from`` and ``valid_to`` are days since 1970-01-01 (``valid_to`` ``-1``: open).
    """

    kind: np.ndarray
    member: np.ndarray
    organisation: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    building: np.ndarray
    household: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray


@dataclass(frozen=True, eq=False)
class MemberHouseholds:
    """The current households of each partner member.

    Partner ``k`` (member ``People.first_partner + k``) is responsible for rows
    ``offsets[k]`` to ``offsets[k + 1] - 1`` of ``households``.
    """

    households: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True, eq=False)
class Responsibility:
    """The partner members and what the assignments amount to.

    Attributes
    ----------
    partner_organisation, partner_grid
        Organisation and grid (``-1``: none) of each partner member.
    households_per_partner
        Current households of each partner member.
    building_responsible
        The first responsible partner member of each building (``-1``: none).
    building_assigned
        Whether a partner member is responsible for the building.
    unassigned_buildings
        The buildings planted with no responsible member, sorted.
    double_buildings, double_first, double_second
        The buildings planted with two members, and the two partner members.
    expired_rows
        Rows of the expired assignments.
    """

    partner_organisation: np.ndarray
    partner_grid: np.ndarray
    households_per_partner: np.ndarray
    building_responsible: np.ndarray
    building_assigned: np.ndarray
    unassigned_buildings: np.ndarray
    double_buildings: np.ndarray
    double_first: np.ndarray
    double_second: np.ndarray
    expired_rows: np.ndarray

    @property
    def partner_count(self) -> int:
        """Number of partner members."""
        return len(self.partner_grid)


@dataclass(frozen=True, eq=False)
class _Items:
    """Units of responsibility, grid by grid: a whole building, or one household of it."""

    building: np.ndarray
    household: np.ndarray  # the household of a household item, -1 for a building item
    is_household: np.ndarray
    grid: np.ndarray
    member: np.ndarray

    def take(self, index: np.ndarray) -> _Items:
        return _Items(
            self.building[index],
            self.household[index],
            self.is_household[index],
            self.grid[index],
            self.member[index],
        )


def assign(
    params: Parameters,
    plan: GridPlan,
    buildings: Buildings,
    households: Households,
    organisations: Organisations,
    people: People,
) -> tuple[Responsibility, MemberHouseholds, AssignmentRows]:
    """Share out the buildings to partner members and write every assignment row.

    Parameters
    ----------
    params
        ``member_households``, ``min_member_households``, ``big_building_households``,
        the planted shares and the seed (stream ``assign``).
    plan, buildings, households, organisations, people
        What is assigned, and to whom.

    Returns
    -------
    tuple of (Responsibility, MemberHouseholds, AssignmentRows)
        The partner members, their current households, and the rows.
    """
    rng = params.rng("assign")
    items, member_grid, big = _share_out(rng, params, plan, buildings, households)
    unassigned = _plant_unassigned(rng, params, buildings, big)
    left_out = np.zeros(buildings.count, bool)
    left_out[unassigned] = True
    items = items.take(~left_out[items.building])
    doubles = _Doubles.plant(rng, params, buildings, items, member_grid)
    partner_grid = np.concatenate([member_grid, np.full(MEMBERS_WITHOUT_GRID, -1)])
    partner_organisation = np.concatenate(
        [
            organisations.grid_organisation[member_grid],
            np.full(MEMBERS_WITHOUT_GRID, organisations.without_grid),
        ]
    )
    rows, expired_rows = _rows(
        rng, params, organisations, people, items, len(partner_grid), doubles
    )
    member_households, responsible = _current(
        buildings, households, items, len(partner_grid), doubles
    )
    responsibility = Responsibility(
        partner_organisation=partner_organisation,
        partner_grid=partner_grid,
        households_per_partner=np.diff(member_households.offsets),
        building_responsible=responsible,
        building_assigned=responsible >= 0,
        unassigned_buildings=np.sort(unassigned),
        double_buildings=doubles.building,
        double_first=doubles.member,
        double_second=doubles.second,
        expired_rows=expired_rows,
    )
    return responsibility, member_households, rows


def _share_out(
    rng: np.random.Generator,
    params: Parameters,
    plan: GridPlan,
    buildings: Buildings,
    households: Households,
) -> tuple[_Items, np.ndarray, np.ndarray]:
    """Items chunked into members, each member's grid, and the buildings shared by household."""
    per_building, grid = buildings.households, buildings.grid
    eligible = grid >= 0
    big = per_building > params.big_building_households
    if not big[eligible].any():  # no big building: share out the largest ones
        big = per_building >= per_building[eligible].max(initial=0)
    item_count = np.where(eligible, np.where(big, per_building, 1), 0)
    item_building = np.repeat(np.arange(buildings.count), item_count)
    is_household = big[item_building]
    household = np.where(
        is_household,
        households.building_offsets[item_building] + ranks_in_groups(item_count),
        -1,
    )
    weight = np.where(is_household, 1, per_building[item_building])
    item_grid = grid[item_building]
    member = _chunk(rng, params, plan.grid_count, item_grid, weight)
    member = _plant_small_members(rng, params, member, weight)
    member_grid = np.zeros(int(member.max(initial=-1)) + 1, np.int64)
    member_grid[member] = item_grid
    return _Items(item_building, household, is_household, item_grid, member), member_grid, big


def _chunk(
    rng: np.random.Generator,
    params: Parameters,
    grid_count: int,
    item_grid: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """Member of each item: runs of about the grid's target, small first runs merged."""
    low, high = params.member_households
    target = rng.uniform(low, high, grid_count)
    cumulative = np.cumsum(weight)
    start = cumulative - weight
    first = np.searchsorted(item_grid, np.arange(grid_count))
    base = start[np.minimum(first, len(start) - 1)]
    chunk = np.floor((start - base[item_grid]) / target[item_grid]).astype(np.int64)
    key = item_grid * (chunk.max(initial=0) + 1) + chunk
    runs = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    run_total = np.add.reduceat(weight, runs) if len(runs) else np.array([], np.int64)
    run_grid = item_grid[runs]
    first_in_grid = np.concatenate([[True], run_grid[1:] != run_grid[:-1]])
    least = params.min_member_households
    run = np.arange(len(runs))
    keep = (run_total >= least) | first_in_grid
    target_run = np.maximum.accumulate(np.where(keep, run, 0))
    totals = np.bincount(target_run, weights=run_total, minlength=len(runs))
    # a small first run joins the next kept run of the same grid
    next_kept = np.minimum.accumulate(np.where(keep, run, len(runs))[::-1])[::-1]
    next_after = np.concatenate([next_kept[1:], [len(runs)]])
    joins = first_in_grid & (totals < least) & (next_after < len(runs))
    joins[joins] = run_grid[next_after[joins]] == run_grid[joins]
    redirect = run.copy()
    redirect[joins] = next_after[joins]
    run_member = np.unique(redirect[target_run], return_inverse=True)[1]
    return np.repeat(run_member, np.diff(np.concatenate([runs, [len(key)]])))


def _plant_small_members(
    rng: np.random.Generator, params: Parameters, member: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Split 3–9 households off the start of about 1 % of the members of 20 or more."""
    members = int(member.max(initial=-1)) + 1
    first = np.searchsorted(member, np.arange(members))
    cumulative = np.cumsum(weight)
    within = cumulative - (cumulative - weight)[first][member]  # inclusive, per member
    total = np.bincount(member, weights=weight, minlength=members)
    candidates = np.flatnonzero(total >= 20)
    count = min(len(candidates), max(1, round(params.under10_share * members)))
    planted = rng.choice(candidates, count, replace=False) if count else np.array([], np.int64)
    cut = np.zeros(members, np.int64)
    cut[planted] = rng.integers(3, 10, count)
    split_off = within <= cut[member]
    return np.unique(member * 2 + np.where(split_off, 0, 1), return_inverse=True)[1]


def _plant_unassigned(
    rng: np.random.Generator, params: Parameters, buildings: Buildings, big: np.ndarray
) -> np.ndarray:
    """About 2 % of the buildings in a grid, left with no responsible member."""
    eligible = buildings.grid >= 0
    pool = eligible & (buildings.planted == 0)
    if big[eligible].sum() < 20:  # keep the few shared-out buildings assigned
        pool &= ~big
    pool = np.flatnonzero(pool)
    wanted = max(1, round(params.unassigned_share * buildings.count))
    return rng.choice(pool, min(wanted, len(pool)), replace=False)


@dataclass(frozen=True, eq=False)
class _Doubles:
    """Small buildings also given to the neighbouring member of the same grid.

    Currently (the doubles) or before the period (the expired assignments).
    """

    building: np.ndarray
    member: np.ndarray
    second: np.ndarray
    expired_building: np.ndarray
    expired_second: np.ndarray

    @classmethod
    def plant(
        cls,
        rng: np.random.Generator,
        params: Parameters,
        buildings: Buildings,
        items: _Items,
        member_grid: np.ndarray,
    ) -> _Doubles:
        members = len(member_grid)
        small = np.flatnonzero(~items.is_household)
        small_building, small_member = items.building[small], items.member[small]
        neighbour = np.where(small_member > 0, small_member - 1, small_member + 1)
        same_grid = member_grid[np.minimum(neighbour, members - 1)] == member_grid[small_member]
        possible = (neighbour < members) & same_grid & (neighbour != small_member)
        candidates = np.flatnonzero(possible & (buildings.planted[small_building] == 0))
        doubles = min(len(candidates), max(1, round(params.double_share * buildings.count)))
        expired = min(
            len(candidates) - doubles, max(1, round(params.expired_share * buildings.count))
        )
        picked = rng.choice(candidates, doubles + expired, replace=False)
        double, gone = picked[:doubles], picked[doubles:]
        return cls(
            building=small_building[double],
            member=small_member[double],
            second=neighbour[double],
            expired_building=small_building[gone],
            expired_second=neighbour[gone],
        )


def _rows(
    rng: np.random.Generator,
    params: Parameters,
    organisations: Organisations,
    people: People,
    items: _Items,
    partner_count: int,
    doubles: _Doubles,
) -> tuple[AssignmentRows, np.ndarray]:
    """Every assignment row, kind by kind; and the rows of the expired ones."""
    start_day = params.start_day
    partner_since = start_day - rng.integers(0, 200, partner_count)
    first_partner = people.first_partner
    links, cadres = people.leader_links, people.cadre_count
    blocks = [
        _block("leader_community", len(links), member=links[:, 0], community=links[:, 1],
               since=start_day - rng.integers(200, 400, len(links))),
        _block("cadre_community", cadres, member=people.first_cadre + np.arange(cadres),
               community=people.cadre_community, since=start_day - rng.integers(300, 900, cadres)),
    ]  # fmt: skip
    grid_links = organisations.grid_links
    blocks.append(
        _block("organisation_grid", len(grid_links), organisation=grid_links[:, 1],
               grid=grid_links[:, 0], since=start_day - rng.integers(100, 400, len(grid_links)))
    )  # fmt: skip
    first, last = people.worker_first_grid, people.worker_last_grid
    worker = np.concatenate([np.arange(people.worker_count), np.flatnonzero(last != first)])
    worker_grid = np.concatenate([first, last[last != first]])
    order = np.argsort(worker, kind="stable")
    blocks.append(
        _block("worker_grid", len(worker), member=people.first_worker + worker[order],
               grid=worker_grid[order], since=start_day - rng.integers(100, 700, len(worker)))
    )  # fmt: skip
    whole, single = ~items.is_household, items.is_household
    blocks += [
        _block("member_building", int(whole.sum()), member=first_partner + items.member[whole],
               building=items.building[whole], since=partner_since[items.member[whole]]),
        _block("member_household", int(single.sum()), member=first_partner + items.member[single],
               household=items.household[single], since=partner_since[items.member[single]]),
        _block("member_building", len(doubles.building), member=first_partner + doubles.second,
               building=doubles.building, since=partner_since[doubles.second]),
    ]  # fmt: skip
    before = sum(len(block["kind"]) for block in blocks)
    expired = len(doubles.expired_building)
    blocks.append(
        _block("member_building", expired, member=first_partner + doubles.expired_second,
               building=doubles.expired_building,
               since=start_day - rng.integers(300, 700, expired),
               until=start_day - rng.integers(10, 200, expired))
    )  # fmt: skip
    columns = {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}
    return AssignmentRows(**columns), np.arange(before, before + expired)


def _block(kind: str, count: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """``count`` rows of one kind; ``since`` and ``until`` are days, the rest indices."""
    block = {"kind": np.full(count, kind)}
    for name in ("member", "organisation", "community", "grid", "building", "household"):
        block[name] = np.asarray(columns.get(name, np.full(count, -1)), np.int64)
    block["valid_from"] = np.asarray(columns["since"], np.int64)
    block["valid_to"] = np.asarray(columns.get("until", np.full(count, -1)), np.int64)
    return block


def _current(
    buildings: Buildings,
    households: Households,
    items: _Items,
    partner_count: int,
    doubles: _Doubles,
) -> tuple[MemberHouseholds, np.ndarray]:
    """Each partner member's current households, and each building's first responsible."""
    whole = np.flatnonzero(~items.is_household)
    pair_member = np.concatenate([items.member[whole], doubles.second])
    pair_building = np.concatenate([items.building[whole], doubles.building])
    count = buildings.households[pair_building]
    single = items.is_household
    member = np.concatenate([np.repeat(pair_member, count), items.member[single]])
    household = np.concatenate(
        [
            np.repeat(households.building_offsets[pair_building], count) + ranks_in_groups(count),
            items.household[single],
        ]
    )
    order = np.argsort(member, kind="stable")
    offsets = group_offsets(member[order], partner_count)
    responsible = np.full(buildings.count, -1, np.int64)
    responsible[households.building[household[::-1]]] = member[::-1]
    return MemberHouseholds(household[order], offsets), responsible
