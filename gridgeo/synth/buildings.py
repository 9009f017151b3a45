"""Buildings: rectangles in rows inside the blocks, set back from the streets.

A block is one parcel or two (west and east of a lane, 弄); each parcel has a kind and
its rows of buildings run west–east, stacked from the south street northwards.
Kinds: 0 open ground (parks, schools: no buildings), 1 lane houses (里弄), 2 garden
houses, 3 six-storey slabs (新村), 4 towers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gridgeo.synth.arrays import ranks_in_groups, rectangle_corners
from gridgeo.synth.layout import GridPlan
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.streets import Streets

__all__ = [
    "DEPTH_M",
    "GARDEN_HOUSES",
    "LANE_HOUSES",
    "OPEN_GROUND",
    "SLABS",
    "TOWERS",
    "GAP_M",
    "PLANTED_IN_GAP",
    "PLANTED_STRADDLER",
    "SPACING_M",
    "WIDTH_M",
    "BlockFill",
    "Buildings",
    "fill_blocks",
]

# (low, high) per kind:  open  lane  villa  slab  tower
#: Depth of a building (across its row), metres.
DEPTH_M = np.array([[12, 12], [10, 15], [10, 14], [10, 13], [16, 24]], float)
#: Space between two rows of buildings, metres.
SPACING_M = np.array([[10, 10], [3, 6], [8, 12], [16, 22], [25, 40]], float)
#: Width of a building (along its row), metres.
WIDTH_M = np.array([[20, 20], [10, 14], [12, 18], [30, 60], [20, 32]], float)
#: Gap between two buildings of a row, metres.
GAP_M = np.array([[10, 10], [1.5, 3], [6, 10], [6, 12], [15, 30]], float)
#: Value of ``Buildings.planted`` for the building placed in the gap between two grids.
PLANTED_IN_GAP = 2
#: ``Buildings.planted`` of the k-th straddling building is ``PLANTED_STRADDLER + k``.
PLANTED_STRADDLER = 10
#: Parcel and building kinds.
OPEN_GROUND, LANE_HOUSES, GARDEN_HOUSES, SLABS, TOWERS = range(5)
#: How far inside the setback line the outermost buildings stay, metres.
SAFETY_M = 1.5


@dataclass(frozen=True, eq=False)
class Buildings:
    """One row per building (lattice frame, metres).

    Attributes
    ----------
    centre_x, centre_y
        Centre of the rectangle.
    axis_x, axis_y
        Unit vector of its long side (along its row).
    width, depth
        Extent along and across its row.
    kind
        Parcel kind (see the module docstring).
    block, side, row, position
        Block number, half of the block it stands in (0 west, 1 east), row within its
        parcel (0 on the south street) and distance from the west end of the row.
    floors, units, doors, households
        Storeys, entrances (单元), doors per floor and unit, and their product.
    grid, community
        Grid (``-1``: in no grid) and community, once assigned.
    planted
        ``0``, :data:`PLANTED_IN_GAP`, or :data:`PLANTED_STRADDLER` + k.
    """

    centre_x: np.ndarray
    centre_y: np.ndarray
    axis_x: np.ndarray
    axis_y: np.ndarray
    width: np.ndarray
    depth: np.ndarray
    kind: np.ndarray
    block: np.ndarray
    side: np.ndarray
    row: np.ndarray
    position: np.ndarray
    floors: np.ndarray
    units: np.ndarray
    doors: np.ndarray
    households: np.ndarray
    grid: np.ndarray
    community: np.ndarray
    planted: np.ndarray

    @property
    def count(self) -> int:
        """Number of buildings."""
        return len(self.centre_x)

    def take(self, index: np.ndarray) -> Buildings:
        """The buildings at ``index`` (positions or a boolean mask), in that order."""
        return Buildings(
            **{field.name: getattr(self, field.name)[index] for field in dataclasses.fields(self)}
        )

    def appended(self, **values: float) -> Buildings:
        """These buildings and one more with the given value of every field."""
        columns = {}
        for field in dataclasses.fields(self):
            column = getattr(self, field.name)
            columns[field.name] = np.concatenate(
                [column, np.asarray([values[field.name]], dtype=column.dtype)]
            )
        return Buildings(**columns)

    def corners(self, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Corners ``(n, 4, 2)`` of the buildings at ``index``."""
        return rectangle_corners(
            self.centre_x[index],
            self.centre_y[index],
            self.axis_x[index],
            self.axis_y[index],
            self.width[index],
            self.depth[index],
        )


@dataclass(frozen=True, eq=False)
class BlockFill:
    """Buildings placed in the blocks, and the parcels they were placed on."""

    buildings: Buildings
    parcel_kind: np.ndarray
    parcel_area: np.ndarray


@dataclass(frozen=True, eq=False)
class _Parcels:
    block: np.ndarray
    side: np.ndarray  # -1 the whole block, 0 west of the lane, 1 east of it
    kind: np.ndarray
    depth: np.ndarray
    area: np.ndarray
    pitch: np.ndarray  # row depth plus spacing
    rows: np.ndarray
    first_row_at: np.ndarray  # distance of the first row from the south street centre
    west_margin: np.ndarray
    east_margin: np.ndarray
    short_side: np.ndarray  # the shorter of the block's west and east sides


def fill_blocks(params: Parameters, plan: GridPlan, streets: Streets, mix: np.ndarray) -> BlockFill:
    """Rows of buildings in every block (each call starts the ``fill`` stream).

    Parameters
    ----------
    params
        ``parcel_split_share`` and the seed.
    plan
        Its split blocks are always divided by a lane.
    streets
        The blocks, street widths, setbacks and lanes.
    mix
        Share of each parcel kind.

    Returns
    -------
    BlockFill
        Buildings in no grid yet (``grid`` and ``community`` ``-1``).
    """
    rng = params.rng("fill")
    parcels = _parcels(rng, params, plan, streets, mix)
    # rows: from the west side of the block to the east side, at the row's distance north
    row_parcel = np.repeat(np.arange(len(parcels.block)), parcels.rows)
    row_rank = ranks_in_groups(parcels.rows)
    along_side = (
        parcels.first_row_at[row_parcel]
        + row_rank * parcels.pitch[row_parcel]
        + parcels.depth[row_parcel] / 2
    ) / parcels.short_side[row_parcel]
    row_block = parcels.block[row_parcel]
    row_start = streets.south_west[row_block] + along_side[:, None] * (
        streets.north_west[row_block] - streets.south_west[row_block]
    )
    row_end = streets.south_east[row_block] + along_side[:, None] * (
        streets.north_east[row_block] - streets.south_east[row_block]
    )
    row_length = np.linalg.norm(row_end - row_start, axis=1)
    row_axis = (row_end - row_start) / row_length[:, None]
    lane_half = streets.block_lane_width[row_block] / 2
    row_side = parcels.side[row_parcel]
    begin = np.where(row_side == 1, 0.5 * row_length + lane_half, parcels.west_margin[row_parcel])
    finish = np.where(
        row_side == 0, 0.5 * row_length - lane_half, row_length - parcels.east_margin[row_parcel]
    )
    row_kind = parcels.kind[row_parcel]
    row_of, width, position = _along_rows(rng, row_kind, begin, finish - begin)
    centre = row_start[row_of] + position[:, None] * row_axis[row_of]
    kind = row_kind[row_of]
    floors, units, doors = _storeys(params, kind, width)
    count = len(kind)
    buildings = Buildings(
        centre_x=centre[:, 0],
        centre_y=centre[:, 1],
        axis_x=row_axis[row_of, 0],
        axis_y=row_axis[row_of, 1],
        width=width,
        depth=parcels.depth[row_parcel][row_of],
        kind=kind,
        block=row_block[row_of],
        side=(position >= 0.5 * row_length[row_of]).astype(np.int64),
        row=row_rank[row_of],
        position=position,
        floors=floors,
        units=units,
        doors=doors,
        households=floors * units * doors,
        grid=np.full(count, -1, np.int64),
        community=np.full(count, -1, np.int64),
        planted=np.zeros(count, np.int64),
    )
    return BlockFill(buildings, parcels.kind, parcels.area)


def _parcels(
    rng: np.random.Generator,
    params: Parameters,
    plan: GridPlan,
    streets: Streets,
    mix: np.ndarray,
) -> _Parcels:
    blocks = plan.block_count
    forced = np.zeros(blocks, bool)
    for split in plan.split_blocks:
        forced[split.column * plan.blocks_north + split.row] = True
    divided = forced | (rng.random(blocks) < params.parcel_split_share)
    kind_draw = rng.random((blocks, 2))
    depth_draw = rng.random((blocks, 2))
    spacing_draw = rng.random((blocks, 2))
    offset_draw = rng.random((blocks, 2))
    block = np.concatenate(
        [np.flatnonzero(~divided), np.flatnonzero(divided), np.flatnonzero(divided)]
    )
    side = np.concatenate(
        [np.full((~divided).sum(), -1), np.zeros(divided.sum(), int), np.ones(divided.sum(), int)]
    )
    half = np.maximum(side, 0)
    kind = np.searchsorted(np.cumsum(mix), kind_draw[block, half] * mix.sum(), side="right")
    kind = np.minimum(kind, TOWERS)
    depth = DEPTH_M[kind, 0] + depth_draw[block, half] * (DEPTH_M[kind, 1] - DEPTH_M[kind, 0])
    spacing = SPACING_M[kind, 0] + spacing_draw[block, half] * (
        SPACING_M[kind, 1] - SPACING_M[kind, 0]
    )
    share_from = np.where(side == 1, 0.5, 0.0)
    share_to = np.where(side == 0, 0.5, 1.0)
    area = streets.block_area[block] * (share_to - share_from)

    column, row = streets.block_column[block], streets.block_row[block]
    setback = streets.block_setback[block]
    south = streets.east_west_half_width[row] + setback + SAFETY_M
    north = streets.east_west_half_width[row + 1] + setback + SAFETY_M
    west = streets.north_south_half_width[column] + setback + SAFETY_M
    east = streets.north_south_half_width[column + 1] + setback + SAFETY_M
    west_side = np.linalg.norm(streets.north_west[block] - streets.south_west[block], axis=1)
    east_side = np.linalg.norm(streets.north_east[block] - streets.south_east[block], axis=1)
    short_side = np.minimum(west_side, east_side)
    usable = short_side - south - north
    pitch = depth + spacing
    rows = np.floor((usable + spacing) / pitch).astype(np.int64)
    rows = np.where(kind == OPEN_GROUND, 0, np.maximum(rows, 0))
    leftover = usable - (rows * pitch - spacing)
    offset = leftover * (0.2 + 0.6 * offset_draw[block, half])
    return _Parcels(
        block=block,
        side=side,
        kind=kind,
        depth=depth,
        area=area,
        pitch=pitch,
        rows=rows,
        first_row_at=south + offset,
        west_margin=west,
        east_margin=east,
        short_side=short_side,
    )


def _along_rows(
    rng: np.random.Generator, kind: np.ndarray, begin: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Buildings side by side along each row: their row, width and position in the row."""
    min_pitch = WIDTH_M[kind, 0] + GAP_M[kind, 0]
    most = int(np.ceil((np.maximum(length, 0) / min_pitch).max(initial=0))) + 1
    rows = len(kind)
    width_low, width_high = WIDTH_M[kind, 0][:, None], WIDTH_M[kind, 1][:, None]
    gap_low, gap_high = GAP_M[kind, 0][:, None], GAP_M[kind, 1][:, None]
    widths = width_low + rng.random((rows, most)) * (width_high - width_low)
    gaps = gap_low + rng.random((rows, most)) * (gap_high - gap_low)
    step = widths + gaps
    left = np.cumsum(step, axis=1) - step
    right = left + widths
    fits = right <= length[:, None]
    count = fits.sum(axis=1)
    last = np.where(count > 0, right[np.arange(rows), np.maximum(count - 1, 0)], 0.0)
    shift = (length - last) * rng.random(rows)
    row_of, slot = np.nonzero(fits)
    width = widths[row_of, slot]
    position = begin[row_of] + shift[row_of] + left[row_of, slot] + width / 2
    return row_of, width, position


def _storeys(
    params: Parameters, kind: np.ndarray, width: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floors, units and doors per floor by kind (draws the ``attrs`` stream)."""
    rng = params.rng("attrs")
    count = len(kind)
    floor_draw, unit_draw, door_draw = rng.random(count), rng.random(count), rng.random(count)
    floors = np.select(
        [kind == LANE_HOUSES, kind == GARDEN_HOUSES, kind == SLABS],
        [
            np.where(floor_draw < 0.35, 2, np.where(floor_draw < 0.95, 3, 4)),
            np.where(floor_draw < 0.3, 2, np.where(floor_draw < 0.8, 3, 4)),
            np.where(floor_draw < 0.15, 5, np.where(floor_draw < 0.85, 6, 7)),
        ],
        11 + np.floor(floor_draw * 23),
    ).astype(np.int64)
    units = np.select(
        [kind == SLABS, kind == TOWERS],
        [np.clip(np.round(width / 14), 2, 4), np.where(unit_draw < 0.6, 1, 2)],
        1,
    ).astype(np.int64)
    doors = np.select(
        [kind == LANE_HOUSES, kind == GARDEN_HOUSES, kind == SLABS],
        [np.where(door_draw < 0.7, 1, 2), np.where(door_draw < 0.6, 1, 2), np.full(count, 2)],
        np.where(door_draw < 0.35, 2, 4),
    ).astype(np.int64)
    return floors, units, doors
