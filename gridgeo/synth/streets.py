"""The street lattice: where the streets run, how wide they are, what they are called.

Coordinates are metres in the *lattice frame*: origin at the district's centre, not yet
rotated (:mod:`gridgeo.synth.projection` rotates them into UTM and then EPSG:4326).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["Streets", "lay_streets"]

#: Half-width range (metres) of branch roads, secondary roads and main roads.
HALF_WIDTH_LOW = np.array([4.5, 8.0, 14.0])
HALF_WIDTH_HIGH = np.array([6.5, 12.0, 20.0])


@dataclass(frozen=True, eq=False)
class Streets:
    """A jittered lattice of streets around the blocks of a :class:`~.layout.GridPlan`.

    Attributes
    ----------
    block_size_m
        The mean block side the lattice was drawn for.
    north_south_half_width, east_west_half_width
        Half-widths of the north–south streets (west to east) and of the east–west
        streets (south to north), metres.
    north_south_names, east_west_names
        Their names.
    block_setback, block_lane_width
        Per block: how far buildings stand back from the street, and the width of the
        lane (弄) through a block divided in two parcels.
    rotation
        Angle (radians) the lattice is turned by in the map.
    crossings
        ``(blocks_east + 1, blocks_north + 1, 2)``: where the streets cross.
    nodes
        ``(2 * blocks_east + 1, 2 * blocks_north + 1, 2)``: the crossings, the midpoints
        of the streets between them and the centres of the blocks; grid and community
        boundaries run through them.
    block_column, block_row
        Column and row of each block, by block number.
    south_west, south_east, north_west, north_east
        ``(block_count, 2)``: the corners of each block.
    block_area
        Area of each block between the street centre lines, m².
    """

    block_size_m: float
    north_south_half_width: np.ndarray
    east_west_half_width: np.ndarray
    north_south_names: tuple[str, ...]
    east_west_names: tuple[str, ...]
    block_setback: np.ndarray
    block_lane_width: np.ndarray
    rotation: float
    crossings: np.ndarray
    nodes: np.ndarray
    block_column: np.ndarray
    block_row: np.ndarray
    south_west: np.ndarray
    south_east: np.ndarray
    north_west: np.ndarray
    north_east: np.ndarray
    block_area: np.ndarray


def lay_streets(
    params: Parameters, plan: GridPlan, block_size_m: float, vocabulary: Vocabulary
) -> Streets:
    """Streets for blocks of about ``block_size_m`` (each call starts the ``lattice`` stream).

    Parameters
    ----------
    params
        ``rotation_deg`` (drawn within ±12° when ``None``) and the seed.
    plan
        The size of the block lattice.
    block_size_m
        Mean side of a block, metres.
    vocabulary
        The street names.

    Returns
    -------
    Streets
        The lattice.
    """
    rng = params.rng("lattice")
    columns, rows = plan.blocks_east, plan.blocks_north
    column_widths = rng.uniform(0.75, 1.35, columns)
    row_heights = rng.uniform(0.7, 1.3, rows)
    jitter = rng.normal(0.0, 0.03, (columns + 1, rows + 1, 2)).clip(-0.06, 0.06)
    north_south_half_width = _half_widths(rng, columns + 1)
    east_west_half_width = _half_widths(rng, rows + 1)
    setback = rng.uniform(3.0, 8.0, columns * rows)
    lane_width = rng.uniform(6.0, 10.0, columns * rows)
    drawn_degrees = rng.uniform(-12.0, 12.0)
    degrees = drawn_degrees if params.rotation_deg is None else params.rotation_deg
    names = [
        base + suffix for suffix in vocabulary.street_suffixes for base in vocabulary.street_bases
    ]
    picked = rng.permutation(len(names))[: columns + rows + 2] % len(names)

    street_x = np.concatenate([[0.0], np.cumsum(column_widths * block_size_m)])
    street_y = np.concatenate([[0.0], np.cumsum(row_heights * block_size_m)])
    street_x -= street_x[-1] / 2
    street_y -= street_y[-1] / 2
    crossings = (
        np.stack(np.meshgrid(street_x, street_y, indexing="ij"), axis=-1) + jitter * block_size_m
    )
    nodes = np.empty((2 * columns + 1, 2 * rows + 1, 2))
    nodes[::2, ::2] = crossings
    nodes[1::2, ::2] = (crossings[:-1] + crossings[1:]) / 2
    nodes[::2, 1::2] = (crossings[:, :-1] + crossings[:, 1:]) / 2
    nodes[1::2, 1::2] = (
        crossings[:-1, :-1] + crossings[1:, :-1] + crossings[:-1, 1:] + crossings[1:, 1:]
    ) / 4
    column_of, row_of = np.meshgrid(np.arange(columns), np.arange(rows), indexing="ij")
    block_column, block_row = column_of.ravel(), row_of.ravel()
    south_west = crossings[block_column, block_row]
    south_east = crossings[block_column + 1, block_row]
    north_west = crossings[block_column, block_row + 1]
    north_east = crossings[block_column + 1, block_row + 1]
    diagonal = north_east - south_west
    other_diagonal = north_west - south_east
    area = 0.5 * np.abs(
        diagonal[:, 0] * other_diagonal[:, 1] - diagonal[:, 1] * other_diagonal[:, 0]
    )
    return Streets(
        block_size_m=block_size_m,
        north_south_half_width=north_south_half_width,
        east_west_half_width=east_west_half_width,
        north_south_names=tuple(names[position] for position in picked[: columns + 1]),
        east_west_names=tuple(
            names[position] for position in picked[columns + 1 : columns + rows + 2]
        ),
        block_setback=setback,
        block_lane_width=lane_width,
        rotation=math.radians(degrees),
        crossings=crossings,
        nodes=nodes,
        block_column=block_column,
        block_row=block_row,
        south_west=south_west,
        south_east=south_east,
        north_west=north_west,
        north_east=north_east,
        block_area=area,
    )


def _half_widths(rng: np.random.Generator, count: int) -> np.ndarray:
    """Half-widths of ``count`` parallel streets: main roads every 4–6, the outer two main."""
    street_class = np.where(rng.random(count) < 0.5, 1, 0)
    main = int(rng.integers(0, 4))
    while main < count:
        street_class[main] = 2
        main += int(rng.integers(4, 7))
    street_class[0] = street_class[-1] = 2
    if count >= 3 and not (street_class[1:-1] == 2).any():
        street_class[count // 2] = 2
    low = HALF_WIDTH_LOW[street_class]
    high = HALF_WIDTH_HIGH[street_class]
    return low + rng.random(count) * (high - low)
