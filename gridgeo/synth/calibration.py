"""The first stage: a grid plan, and the block size and parcel mix that meet the targets.

The number of buildings and households follows from the block size and the mix of
parcel kinds; both are adjusted over a few trial fills until the counts are within 2 %
(buildings) and 4 % (households) of ``Parameters.buildings`` and ``.households``, and
the best trial is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.buildings import BlockFill, Buildings, fill_blocks
from gridgeo.synth.layout import GridPlan, plan_grids
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.streets import Streets, lay_streets
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["Layout", "lay_out", "place_buildings"]

#: Shares of garden houses, slabs and towers among the parcels that are not lane houses.
NON_LANE_SHARES = np.array([0.15, 0.65, 0.20])
#: What a parcel kind holds before any trial fill: buildings per m², households per building.
DENSITY_PRIOR = np.array([0.0, 0.0032, 0.0016, 0.0006, 0.0003])
HOUSEHOLDS_PRIOR = np.array([0.0, 3.6, 4.1, 36.0, 100.0])


@dataclass(frozen=True, eq=False)
class Layout:
    """Where the communities, grids and streets are."""

    plan: GridPlan
    streets: Streets


def lay_out(params: Parameters, vocabulary: Vocabulary) -> tuple[Layout, BlockFill]:
    """The grid plan and the streets whose trial fill came closest to the targets.

    Parameters
    ----------
    params
        The targets ``buildings`` and ``households`` among the rest.
    vocabulary
        The street names.

    Returns
    -------
    tuple of (Layout, BlockFill)
        The layout, and the buildings of its fill.
    """
    plan = plan_grids(params)
    buildings, households = params.buildings, params.households
    block_size = math.sqrt(buildings / plan.block_count / 0.0028)
    mix = _mix(params, 0.3)
    best: tuple[float, Streets, BlockFill] | None = None
    for _ in range(8 if buildings <= 200_000 else 4):
        block_size = float(np.clip(block_size, 90.0, 800.0))
        streets = lay_streets(params, plan, block_size, vocabulary)
        fill = fill_blocks(params, plan, streets, mix)
        got_buildings = fill.buildings.count
        got_households = int(fill.buildings.households.sum())
        error = abs(got_buildings / buildings - 1) + 0.5 * abs(got_households / households - 1)
        if best is None or error < best[0]:
            best = (error, streets, fill)
        if (
            abs(got_buildings / buildings - 1) <= 0.02
            and abs(got_households / households - 1) <= 0.04
        ):
            break
        density, per_building = _kind_statistics(fill)
        new_mix = _solve_mix(params, density, per_building, households / buildings)
        denser = float((new_mix * density).sum()) / max(float((mix * density).sum()), 1e-12)
        block_size *= math.sqrt(buildings / max(got_buildings * denser, 1.0))
        mix = new_mix
    assert best is not None
    _, streets, fill = best
    return Layout(plan, streets), fill


def place_buildings(fill: BlockFill) -> Buildings:
    """The buildings of the kept fill (placed while calibrating)."""
    return fill.buildings


def _mix(params: Parameters, non_lane_share: float) -> np.ndarray:
    """Shares of the five parcel kinds when ``non_lane_share`` of built parcels are not lanes."""
    open_share = params.open_parcel_share
    built = 1.0 - open_share
    return np.concatenate(
        [[open_share, built * (1 - non_lane_share)], built * non_lane_share * NON_LANE_SHARES]
    )


def _solve_mix(
    params: Parameters, density: np.ndarray, per_building: np.ndarray, ratio: float
) -> np.ndarray:
    """The mix whose buildings hold ``ratio`` households each, on average."""
    lane_households, lane_density = density[1] * per_building[1], density[1]
    other_households = float((NON_LANE_SHARES * density[2:] * per_building[2:]).sum())
    other_density = float((NON_LANE_SHARES * density[2:]).sum())
    denominator = (other_households - lane_households) - ratio * (other_density - lane_density)
    share = (ratio * lane_density - lane_households) / denominator if denominator > 0 else 0.0
    return _mix(params, float(np.clip(share, 0.01, 0.95)))


def _kind_statistics(fill: BlockFill) -> tuple[np.ndarray, np.ndarray]:
    """Buildings per m² and households per building of each parcel kind in a fill."""
    prior_area = 20_000.0
    buildings = fill.buildings
    area = np.bincount(fill.parcel_kind, weights=fill.parcel_area, minlength=5)
    count = np.bincount(buildings.kind, minlength=5).astype(float)
    households = np.bincount(buildings.kind, weights=buildings.households, minlength=5)
    density = (count + DENSITY_PRIOR * prior_area) / (area + prior_area)
    per_building = (households + HOUSEHOLDS_PRIOR * 5) / (count + 5)
    density[0] = 0.0
    return density, per_building
