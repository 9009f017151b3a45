"""Party organisations, county-level leaders, community cadres and grid workers.

Members are numbered in one sequence: leaders, then cadres, then grid workers, then
the partner members (added by :mod:`gridgeo.synth.assignments`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import Parameters

__all__ = ["Organisations", "People", "organise"]


@dataclass(frozen=True, eq=False)
class Organisations:
    """Each community's own organisation and the partner units' organisations.

    Attributes
    ----------
    kind
        ``"community"`` or ``"partner_unit"`` per organisation.
    community
        The community of each organisation.
    community_organisation
        The community organisation of each community.
    grid_organisation
        The partner organisation of each grid (each covers one to three adjacent grids).
    grid_links
        ``(n, 2)`` rows ``[grid, organisation]``: every grid's partner organisation, and
        a second organisation for the grid with two.
    without_grid
        The partner organisation planted with no grid.
    grid_with_two, second_organisation
        The grid planted with two organisations, and the second one.
    """

    kind: np.ndarray
    community: np.ndarray
    community_organisation: np.ndarray
    grid_organisation: np.ndarray
    grid_links: np.ndarray
    without_grid: int
    grid_with_two: int
    second_organisation: int

    @property
    def count(self) -> int:
        """Number of organisations."""
        return len(self.kind)


@dataclass(frozen=True, eq=False)
class People:
    """Leaders, cadres and grid workers, and where each kind of member is numbered.

    Attributes
    ----------
    leader_count
        Number of county-level leaders.
    leader_links
        ``(n, 2)`` rows ``[leader, community]``: each leader is linked to one or two
        communities.
    community_without_leader
        The community planted with no linked leader.
    cadre_community
        The community of each cadre (three to eight per community).
    worker_first_grid, worker_last_grid
        The grid, or the two adjacent grids, of each grid worker.
    grid_worker
        The grid worker of each grid.
    """

    leader_count: int
    leader_links: np.ndarray
    community_without_leader: int
    cadre_community: np.ndarray
    worker_first_grid: np.ndarray
    worker_last_grid: np.ndarray
    grid_worker: np.ndarray

    @property
    def cadre_count(self) -> int:
        """Number of cadres."""
        return len(self.cadre_community)

    @property
    def worker_count(self) -> int:
        """Number of grid workers."""
        return len(self.worker_first_grid)

    @property
    def first_cadre(self) -> int:
        """Member number of the first cadre."""
        return self.leader_count

    @property
    def first_worker(self) -> int:
        """Member number of the first grid worker."""
        return self.leader_count + self.cadre_count

    @property
    def first_partner(self) -> int:
        """Member number of the first partner member."""
        return self.first_worker + self.worker_count

    @property
    def grid_worker_member(self) -> np.ndarray:
        """Member number of each grid's worker."""
        return self.first_worker + self.grid_worker


def organise(params: Parameters, plan: GridPlan) -> tuple[Organisations, People]:
    """Organisations for the grids, and the people who lead and serve the communities.

    Parameters
    ----------
    params
        The seed (stream ``people``).
    plan
        The communities and their grids.

    Returns
    -------
    tuple of (Organisations, People)
        With the planted organisation without grid, grid with two organisations and
        community without leader.
    """
    rng = params.rng("people")
    return _organisations(rng, plan), _people(rng, plan)


def _organisations(rng: np.random.Generator, plan: GridPlan) -> Organisations:
    grid_community = plan.grid_community
    kinds, communities = [], []
    grid_organisation = np.empty(plan.grid_count, np.int64)
    for community in range(plan.community_count):
        kinds.append("community")
        communities.append(community)
        grids = np.flatnonzero(grid_community == community)
        first = 0
        while first < len(grids):
            size = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
            grid_organisation[grids[first : first + size]] = len(kinds)
            kinds.append("partner_unit")
            communities.append(community)
            first += size
    # planted: a partner unit with no grid, and a grid with two organisations
    without_grid = len(kinds)
    kinds.append("partner_unit")
    communities.append(int(rng.integers(0, plan.community_count)))
    links = [(grid, int(grid_organisation[grid])) for grid in range(plan.grid_count)]
    pairs = np.unique(np.stack([grid_community, grid_organisation]), axis=1)
    several = np.bincount(pairs[0], minlength=plan.community_count) >= 2
    choices = np.flatnonzero(several[grid_community])
    grid_with_two = int(rng.choice(choices)) if len(choices) else 0
    own = int(grid_organisation[grid_with_two])
    same_community = grid_community == grid_community[grid_with_two]
    others = sorted(set(grid_organisation[same_community].tolist()) - {own})
    if not others:  # the whole community is one organisation: borrow another one
        others = sorted(set(grid_organisation.tolist()) - {own})
    second = int(rng.choice(others))
    links.append((grid_with_two, second))
    kind = np.array(kinds)
    return Organisations(
        kind=kind,
        community=np.array(communities, np.int64),
        community_organisation=np.flatnonzero(kind == "community"),
        grid_organisation=grid_organisation,
        grid_links=np.array(links, np.int64),
        without_grid=without_grid,
        grid_with_two=grid_with_two,
        second_organisation=second,
    )


def _people(rng: np.random.Generator, plan: GridPlan) -> People:
    communities = plan.community_count
    # leaders: county-level, each linked to one or two communities
    leader_count = max(1, math.ceil(communities * 0.6))
    leader_of = rng.permutation(communities) % leader_count
    # planted: one community without a linked leader (prefer a leader with two)
    links_per_leader = np.bincount(leader_of, minlength=leader_count)
    candidates = np.flatnonzero(links_per_leader[leader_of] > 1)
    if len(candidates):
        without_leader = int(rng.choice(candidates))
    else:
        without_leader = int(rng.integers(0, communities))
    leader_links = np.array(
        [(leader_of[linked], linked) for linked in range(communities) if linked != without_leader],
        np.int64,
    ).reshape(-1, 2)
    # cadres (3–8 per community) and grid workers (one per one or two grids)
    cadres = 3 + np.minimum(rng.poisson(2.0, communities), 5)
    worker_grids: list[list[int]] = []
    for community in range(communities):
        grids = np.flatnonzero(plan.grid_community == community)
        first = 0
        while first < len(grids):
            size = 2 if (rng.random() < 0.2 and first + 1 < len(grids)) else 1
            worker_grids.append(grids[first : first + size].tolist())
            first += size
    first_grid = np.array([grids[0] for grids in worker_grids], np.int64)
    last_grid = np.array([grids[-1] for grids in worker_grids], np.int64)
    grid_worker = np.empty(plan.grid_count, np.int64)
    grid_worker[first_grid] = np.arange(len(first_grid))
    grid_worker[last_grid] = np.arange(len(last_grid))
    return People(
        leader_count=leader_count,
        leader_links=leader_links,
        community_without_leader=without_leader,
        cadre_community=np.repeat(np.arange(communities), cadres),
        worker_first_grid=first_grid,
        worker_last_grid=last_grid,
        grid_worker=grid_worker,
    )
