"""Households: units × floors × doors per floor of every building, each with a point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridgeo.synth.arrays import ranks_in_groups
from gridgeo.synth.buildings import Buildings
from gridgeo.synth.parameters import Parameters

__all__ = ["Households", "Positions", "create_households"]

#: Shares of households of 1 to 6 people.
SIZE_SHARES = (0.15, 0.30, 0.30, 0.15, 0.07, 0.03)


@dataclass(frozen=True, eq=False)
class Positions:
    """Points in the lattice frame (metres), one per row of a stage's records."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True, eq=False)
class Households:
    """One row per household, building by building.

    Attributes
    ----------
    building
        The building of each household.
    unit, floor, room
        Unit (单元) from 1, floor from 1, and room number ``floor * 100 + door``.
    size, size_missing
        People in the household, and whether the size is left unknown.
    building_offsets
        ``building_count + 1`` offsets: the households of building ``k`` are rows
        ``building_offsets[k]`` to ``building_offsets[k + 1] - 1``.
    """

    building: np.ndarray
    unit: np.ndarray
    floor: np.ndarray
    room: np.ndarray
    size: np.ndarray
    size_missing: np.ndarray
    building_offsets: np.ndarray

    @property
    def count(self) -> int:
        """Number of households."""
        return len(self.building)


def create_households(params: Parameters, buildings: Buildings) -> tuple[Households, Positions]:
    """The households of every building and a point inside the building for each.

    Parameters
    ----------
    params
        The seed (stream ``households``).
    buildings
        Their ``units``, ``floors`` and ``doors`` give the households.

    Returns
    -------
    tuple of (Households, Positions)
        The households and their points: along the long axis by unit and door, across
        it by door, jittered by 0.4 m and kept 0.6 m inside the walls.
    """
    rng = params.rng("households")
    units, floors, doors = buildings.units, buildings.floors, buildings.doors
    per_building = units * floors * doors
    owner = np.repeat(np.arange(buildings.count), per_building)
    rank = ranks_in_groups(per_building)
    per_unit = (floors * doors)[owner]
    unit = rank // per_unit + 1
    in_unit = rank % per_unit
    floor = in_unit // doors[owner] + 1
    door = in_unit % doors[owner] + 1
    count = len(owner)
    width, depth = buildings.width[owner], buildings.depth[owner]
    unit_count, door_count = units[owner], doors[owner]
    unit_width = width / unit_count
    along = (
        -width / 2
        + (unit - 0.5) * unit_width
        + (door - (door_count + 1) / 2) * unit_width / (door_count + 1) * 0.8
    )
    across = np.where(door % 2 == 1, -0.22, 0.22) * depth
    along = along + rng.normal(0, 0.4, count)
    across = across + rng.normal(0, 0.4, count)
    along = np.clip(along, -width / 2 + 0.6, width / 2 - 0.6)
    across = np.clip(across, -depth / 2 + 0.6, depth / 2 - 0.6)
    axis_x, axis_y = buildings.axis_x[owner], buildings.axis_y[owner]
    x = buildings.centre_x[owner] + along * axis_x - across * axis_y
    y = buildings.centre_y[owner] + along * axis_y + across * axis_x
    size = rng.choice(np.arange(1, 7), count, p=list(SIZE_SHARES))
    households = Households(
        building=owner,
        unit=unit.astype(np.int32),
        floor=floor.astype(np.int32),
        room=(floor * 100 + door).astype(np.int32),
        size=size,
        size_missing=rng.random(count) < 0.02,
        building_offsets=np.concatenate([[0], np.cumsum(per_building)]),
    )
    return households, Positions(x, y)
