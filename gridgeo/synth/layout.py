"""Communities and grids on a lattice of street blocks.

Block ``(column, row)`` is the ``column``-th block from the west and the ``row``-th
from the south; its number is ``column * blocks_north + row``. A community is a
rectangle of blocks; a grid is one block, two or four adjacent blocks of one community,
or half a block (a block split along its internal lane, 弄).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gridgeo.synth.arrays import split_evenly
from gridgeo.synth.parameters import Parameters

__all__ = ["BlockRange", "GridPlan", "SplitBlock", "plan_grids"]

#: Width and height, in blocks, of the grid shapes ``Parameters.grid_shapes`` weighs.
GRID_SHAPES = ((1, 1), (2, 1), (1, 2), (2, 2))


class BlockRange(NamedTuple):
    """A rectangle of blocks: first column and row, width and height in blocks."""

    column: int
    row: int
    width: int
    height: int


class SplitBlock(NamedTuple):
    """A block split between two grids along its lane: its column, row and the two grids."""

    column: int
    row: int
    west_grid: int
    east_grid: int


@dataclass(frozen=True, eq=False)
class GridPlan:
    """Which blocks belong to which community and grid.

    Attributes
    ----------
    blocks_east, blocks_north
        Size of the block lattice.
    block_community
        ``(blocks_east, blocks_north)``: community of each block.
    communities
        The block rectangle of each community, numbered from the north-west in reading
        order.
    grid_community, grid_column, grid_row, grid_width, grid_height
        Each grid's community, first block and extent in blocks, grids numbered by
        community, then from the north, then from the west.
    grid_half
        ``-1`` for grids of whole blocks; ``0`` or ``1`` for the west or east half of a
        split block.
    half_block_grid
        ``(2 * blocks_east, blocks_north)``: grid of the west and east half of each block.
    split_blocks
        The blocks split between two grids, in random order (the first ones get the
        straddling buildings).
    """

    blocks_east: int
    blocks_north: int
    block_community: np.ndarray
    communities: tuple[BlockRange, ...]
    grid_community: np.ndarray
    grid_column: np.ndarray
    grid_row: np.ndarray
    grid_width: np.ndarray
    grid_height: np.ndarray
    grid_half: np.ndarray
    half_block_grid: np.ndarray
    split_blocks: tuple[SplitBlock, ...]

    @property
    def block_count(self) -> int:
        """Number of blocks."""
        return self.blocks_east * self.blocks_north

    @property
    def grid_count(self) -> int:
        """Number of grids."""
        return len(self.grid_community)

    @property
    def community_count(self) -> int:
        """Number of communities."""
        return len(self.communities)


def plan_grids(params: Parameters) -> GridPlan:
    """The plan on the lattice size whose number of grids comes closest to the target.

    Parameters
    ----------
    params
        ``grids`` and ``communities`` are the targets; ``grid_shapes``,
        ``split_block_share`` and ``straddling`` shape the grids.

    Returns
    -------
    GridPlan
        The best of up to 13 lattice sizes tried (each plan draws the ``layout`` stream
        from its start).
    """
    target = params.grids
    tolerance = max(0.01 * target, 0.5)
    blocks = max(target * 1.75, 2.0 * params.communities, 9.0)
    rows = max(3, round(math.sqrt(blocks / 1.15)))
    best = _plan(params, max(3, round(blocks / rows)), rows)
    # blocks per grid measured: try lattices of about the right number of blocks
    blocks = best.block_count * target / best.grid_count
    rows_guess = math.sqrt(blocks / 1.15)
    candidates = set()
    for rows in range(max(3, int(rows_guess) - 2), int(rows_guess) + 4):
        for columns in (math.floor(blocks / rows), math.ceil(blocks / rows)):
            if (
                columns >= 3
                and 0.7 <= columns / rows <= 1.7
                and columns * rows >= params.communities
            ):
                candidates.add((abs(columns * rows - blocks), columns, rows))
    for _, columns, rows in sorted(candidates)[:12]:
        if abs(best.grid_count - target) <= tolerance:
            break
        if (columns, rows) == (best.blocks_east, best.blocks_north):
            continue
        plan = _plan(params, columns, rows)
        if abs(plan.grid_count - target) < abs(best.grid_count - target):
            best = plan
    return best


def _plan(params: Parameters, columns: int, rows: int) -> GridPlan:
    rng = params.rng("layout")
    block_community, communities = _communities(rng, params.communities, columns, rows)
    grids, block_grid = _grids(rng, params, block_community)
    singles = _break_up(rng, params, grids, block_grid)
    split_count = min(
        len(singles), max(params.straddling, round(params.split_block_share * columns * rows))
    )
    if split_count < params.straddling:
        raise ValueError("too few blocks to plant straddling buildings")
    split = set(rng.choice(singles, split_count, replace=False).tolist()) if split_count else set()
    final: list[list[int]] = []
    for number, grid in enumerate(grids):
        if number in split:
            final.append([*grid[:5], 0])
            final.append([*grid[:5], 1])
        else:
            final.append(grid)
    final.sort(key=_reading_order)
    table = np.array(final, np.int64)
    half_block_grid = np.empty((2 * columns, rows), np.int64)
    for number, (_, column, row, width, height, half) in enumerate(final):
        if half < 0:
            half_block_grid[2 * column : 2 * (column + width), row : row + height] = number
        else:
            half_block_grid[2 * column + half, row] = number
    split_blocks = [
        SplitBlock(int(table[west, 1]), int(table[west, 2]), west, west + 1)
        for west in np.flatnonzero(table[:, 5] == 0).tolist()
    ]
    order = rng.permutation(len(split_blocks))
    return GridPlan(
        blocks_east=columns,
        blocks_north=rows,
        block_community=block_community,
        communities=tuple(communities),
        grid_community=table[:, 0],
        grid_column=table[:, 1],
        grid_row=table[:, 2],
        grid_width=table[:, 3],
        grid_height=table[:, 4],
        grid_half=table[:, 5],
        half_block_grid=half_block_grid,
        split_blocks=tuple(split_blocks[position] for position in order),
    )


def _reading_order(grid: list[int]) -> tuple[int, ...]:
    """By community, then from the north, then from the west (a west half first)."""
    community, column, row, _, height, half = grid
    return community, -(row + height), column, half


def _communities(
    rng: np.random.Generator, count: int, columns: int, rows: int
) -> tuple[np.ndarray, list[BlockRange]]:
    """Bands of community rectangles, numbered from the north-west in reading order."""
    if count > columns * rows:
        raise ValueError(f"{count} communities do not fit in {columns * rows} blocks")
    bands = int(np.clip(round(math.sqrt(count * rows / columns)), 1, min(count, rows)))
    while math.ceil(count / bands) > columns:
        bands += 1
    per_band = np.full(bands, count // bands)
    per_band[rng.permutation(bands)[: count % bands]] += 1
    heights = split_evenly(rows, bands, rng)
    block_community = np.empty((columns, rows), np.int64)
    rects: list[BlockRange] = []
    south = 0
    for band in range(bands):
        west = 0
        for width in split_evenly(columns, int(per_band[band]), rng):
            block_community[west : west + width, south : south + heights[band]] = len(rects)
            rects.append(BlockRange(west, int(south), int(width), int(heights[band])))
            west += width
        south += heights[band]
    order = sorted(
        range(len(rects)),
        key=lambda number: (-(rects[number].row + rects[number].height), rects[number].column),
    )
    renumber = np.empty(len(rects), np.int64)
    renumber[order] = np.arange(len(rects))
    return renumber[block_community], [rects[number] for number in order]


def _grids(
    rng: np.random.Generator, params: Parameters, block_community: np.ndarray
) -> tuple[list[list[int]], np.ndarray]:
    """Grids of 1×1, 2×1, 1×2 or 2×2 blocks inside communities, filled from the south-west.

    Each grid is ``[community, column, row, width, height, -1]``; also returns the grid
    of each block.
    """
    columns, rows = block_community.shape
    weights = np.asarray(params.grid_shapes) / sum(params.grid_shapes)
    shape_of = rng.choice(4, size=columns * rows, p=weights)
    block_grid = np.full((columns, rows), -1, np.int64)
    grids: list[list[int]] = []
    for row in range(rows):
        for column in range(columns):
            if block_grid[column, row] >= 0:
                continue
            width, height = GRID_SHAPES[shape_of[column * rows + row]]
            community = block_community[column, row]
            while True:
                fits = column + width <= columns and row + height <= rows
                if fits:
                    blocks = (slice(column, column + width), slice(row, row + height))
                    fits = bool(
                        (block_grid[blocks] < 0).all()
                        and (block_community[blocks] == community).all()
                    )
                if fits:
                    break
                if width >= height and width > 1:
                    width -= 1
                else:
                    height -= 1
            block_grid[column : column + width, row : row + height] = len(grids)
            grids.append([int(community), column, row, width, height, -1])
    return grids, block_grid


def _break_up(
    rng: np.random.Generator, params: Parameters, grids: list[list[int]], block_grid: np.ndarray
) -> list[int]:
    """Break grids of several blocks into single blocks until enough can be split.

    Changes ``grids`` and ``block_grid`` in place; returns the single-block grids.
    """
    singles = [number for number, grid in enumerate(grids) if grid[3] == grid[4] == 1]
    multi = [number for number, grid in enumerate(grids) if grid[3] * grid[4] > 1]
    rng.shuffle(multi)
    while len(singles) < params.straddling and multi:
        community, column, row, width, height, _ = grids[multi.pop()]
        for east, north in itertools.product(range(width), range(height)):
            if east or north:
                block_grid[column + east, row + north] = len(grids)
                grids.append([community, column + east, row + north, 1, 1, -1])
                singles.append(len(grids) - 1)
        grids[block_grid[column, row]][3:5] = [1, 1]
        singles.append(int(block_grid[column, row]))
    return singles
