"""Planted geometry defects: a gap, an overlap and a sliver between grids, and straddlers.

Each of the three is an edit of one grid's boundary along a street edge it shares with
another grid: the gap pulls the boundary back into the grid (a strip no grid covers,
with a small building in it), the overlap pushes it into the neighbour, the sliver
pulls it back by less than a metre at the middle. A straddling building is a slab laid
across the lane of a block split between two grids. Then every building gets the grid
of its half block, and the buildings are sorted by community and grid.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely

from gridgeo.synth.arrays import rectangle_corners
from gridgeo.synth.buildings import (
    GARDEN_HOUSES,
    PLANTED_IN_GAP,
    PLANTED_STRADDLER,
    SLABS,
    Buildings,
)
from gridgeo.synth.calibration import Layout
from gridgeo.synth.layout import GridPlan, SplitBlock
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.streets import Streets

__all__ = ["DEFECT_KINDS", "GeometryDefects", "PlantedStrip", "RingEdit", "plant_geometry_defects"]

#: The grid-boundary defects, in the order they are planted.
DEFECT_KINDS = ("gap", "overlap", "sliver")


class SharedEdge(NamedTuple):
    """A street edge between two grids, from node ``start`` to ``end`` of the lattice."""

    start: tuple[int, int]
    end: tuple[int, int]
    inside_grid: int  # lies to the left of start → end
    outside_grid: int
    street_half_width: float
    blocks: tuple[int, int]
    north_south: bool


class RingEdit(NamedTuple):
    """Points that replace the middle of a grid's boundary edge starting at ``start``."""

    start: tuple[int, int]
    points: tuple[np.ndarray, ...]


@dataclass(frozen=True, eq=False)
class PlantedStrip:
    """One grid-boundary defect: its kind, the two grids, its size and its polygon."""

    kind: str
    grids: tuple[int, int]  # the edited grid first
    size_name: str  # "width_m" or "depth_m"
    size_m: float
    corners: np.ndarray  # lattice frame


@dataclass(frozen=True, eq=False)
class GeometryDefects:
    """What was planted, for the projection and the record of defects.

    Attributes
    ----------
    strips
        The gap, the overlap and the sliver, in that order.
    ring_edits
        The edit of each edited grid's boundary, by grid.
    gap_street, gap_street_position
        Name of the street the gap runs along, and where along it the building in the
        gap stands (lattice-frame coordinate along the street), for its address.
    straddler_grids
        ``(major, minor)`` grids of each straddling building, in planting order.
    """

    strips: tuple[PlantedStrip, ...]
    ring_edits: dict[int, RingEdit]
    gap_street: str
    gap_street_position: float
    straddler_grids: tuple[tuple[int, int], ...]


def plant_geometry_defects(
    params: Parameters, layout: Layout, buildings: Buildings
) -> tuple[Buildings, GeometryDefects]:
    """Plant the defects, give every building its grid and community, and sort them.

    Parameters
    ----------
    params
        ``gap_width_m``, ``overlap_depth_m``, ``sliver_width_m``, ``straddling``,
        ``straddle_share`` and the seed (stream ``defects``).
    layout
        The grids and streets.
    buildings
        As placed; buildings in the way of a defect are removed.

    Returns
    -------
    tuple of (Buildings, GeometryDefects)
        The buildings sorted by community, grid, row and position (the building in the
        gap last in its community), and what was planted.

    Raises
    ------
    ValueError
        The grids share too few street edges to plant the three defects.
    """
    rng = params.rng("defects")
    plan, streets = layout.plan, layout.streets
    straddling = plan.split_blocks[: params.straddling]
    split_grids = {grid for split in straddling for grid in (split.west_grid, split.east_grid)}
    chosen = _choose_edges(rng, _shared_edges(layout), split_grids)
    sizes = {
        "gap": params.gap_width_m,
        "overlap": params.overlap_depth_m,
        "sliver": params.sliver_width_m,
    }
    strips, edits = [], {}
    gap_address: tuple[str, float] | None = None
    for kind, edge in zip(DEFECT_KINDS, chosen, strict=True):
        size_m = float(sizes[kind])
        corners, inserted = _edit(streets.nodes, edge, kind, size_m)
        edits[edge.inside_grid] = RingEdit(edge.start, tuple(inserted))
        strip = PlantedStrip(
            kind=kind,
            grids=(edge.inside_grid, edge.outside_grid),
            size_name="depth_m" if kind == "overlap" else "width_m",
            size_m=size_m,
            corners=corners,
        )
        strips.append(strip)
        if kind != "sliver":  # clear the strip of buildings
            area = shapely.Polygon(corners).buffer(1.0)
            buildings = _drop_intersecting(buildings, area, edge.blocks)
        if kind == "gap":
            buildings, gap_address = _gap_building(buildings, layout, edge, strip)
    assert gap_address is not None
    buildings, straddler_grids = _plant_straddlers(rng, params, layout, buildings, straddling)
    planted = GeometryDefects(
        strips=tuple(strips),
        ring_edits=edits,
        gap_street=gap_address[0],
        gap_street_position=gap_address[1],
        straddler_grids=straddler_grids,
    )
    return _assign_and_sort(buildings, plan, streets), planted


def _shared_edges(layout: Layout) -> list[SharedEdge]:
    """Street edges shared by two different grids (the interior of ``inside_grid`` on the left)."""
    plan, streets = layout.plan, layout.streets
    half_block_grid, rows = plan.half_block_grid, plan.blocks_north
    edges = []
    for column in range(1, plan.blocks_east):  # north–south streets: west grid inside
        for row in range(rows):
            west = int(half_block_grid[2 * column - 1, row])
            east = int(half_block_grid[2 * column, row])
            if west != east:
                edges.append(
                    SharedEdge(
                        (2 * column, 2 * row),
                        (2 * column, 2 * row + 2),
                        west,
                        east,
                        streets.north_south_half_width[column],
                        ((column - 1) * rows + row, column * rows + row),
                        True,
                    )
                )
    for row in range(1, rows):  # east–west streets: south grid inside
        for column in range(plan.blocks_east):
            south = half_block_grid[2 * column : 2 * column + 2, row - 1]
            north = half_block_grid[2 * column : 2 * column + 2, row]
            inside, outside = int(south[0]), int(north[0])
            if inside != outside and south[1] == inside and north[1] == outside:
                edges.append(
                    SharedEdge(
                        (2 * column + 2, 2 * row),
                        (2 * column, 2 * row),
                        inside,
                        outside,
                        streets.east_west_half_width[row],
                        (column * rows + row - 1, column * rows + row),
                        False,
                    )
                )
    return edges


def _choose_edges(
    rng: np.random.Generator, edges: list[SharedEdge], split_grids: set[int]
) -> list[SharedEdge]:
    """Three edges on wide streets first, each edited grid once, sparing the split blocks."""
    order = rng.permutation(len(edges))
    half_width = np.array([edges[position].street_half_width for position in order])
    order = order[np.argsort(-np.round(half_width / 4), kind="stable")]
    chosen: list[SharedEdge] = []
    used: set[int] = set()
    for strict in (2, 1, 0):
        for position in order:
            edge = edges[position]
            inside, outside = edge.inside_grid, edge.outside_grid
            if len(chosen) == 3:
                break
            if any(edge is other or inside == other.inside_grid for other in chosen):
                continue
            if strict >= 1 and (inside in used or outside in used):
                continue
            if strict == 2 and (inside in split_grids or outside in split_grids):
                continue
            chosen.append(edge)
            used.update((inside, outside))
    if len(chosen) < 3:
        raise ValueError("too few shared grid edges to plant gap, sliver and overlap")
    return chosen


def _edge_frame(
    nodes: np.ndarray, edge: SharedEdge
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Start node, vector to the end node, its length, and the unit normal into the grid."""
    start = nodes[edge.start]
    along = nodes[edge.end] - start
    length = float(np.hypot(*along))
    return start, along, length, np.array([-along[1], along[0]]) / length


def _edit(
    nodes: np.ndarray, edge: SharedEdge, kind: str, size_m: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The defect's polygon, and the points that replace the middle 70 % of the edge."""
    start, along, _, inward = _edge_frame(nodes, edge)
    first, last = start + 0.15 * along, start + 0.85 * along
    if kind == "sliver":
        apex = (start + nodes[edge.end]) / 2 + size_m * inward
        return np.array([first, last, apex]), [first, apex, last]
    if kind == "gap":
        near, far = first + size_m * inward, last + size_m * inward
    else:
        near, far = first - size_m * inward, last - size_m * inward
    return np.array([first, last, far, near]), [first, near, far, last]


def _gap_building(
    buildings: Buildings, layout: Layout, edge: SharedEdge, gap: PlantedStrip
) -> tuple[Buildings, tuple[str, float]]:
    """A small building (门卫室) in the middle of the gap, in no grid, and its address.

    The address is the street along the gap and the building's coordinate along it.
    """
    streets = layout.streets
    _, along, length, inward = _edge_frame(streets.nodes, edge)
    first, last = gap.corners[0], gap.corners[1]
    centre = (first + last) / 2 + (gap.size_m / 2) * inward
    buildings = buildings.appended(
        centre_x=centre[0], centre_y=centre[1], axis_x=along[0] / length,
        axis_y=along[1] / length, width=10.0, depth=min(4.0, 0.5 * gap.size_m), kind=GARDEN_HOUSES,
        block=edge.blocks[0], side=1, row=0, position=0.0, floors=1, units=1, doors=1,
        households=1, grid=-1, community=-1, planted=PLANTED_IN_GAP,
    )  # fmt: skip
    if edge.north_south:
        return buildings, (streets.north_south_names[edge.start[0] // 2], float(centre[1]))
    return buildings, (streets.east_west_names[edge.start[1] // 2], float(centre[0]))


def _plant_straddlers(
    rng: np.random.Generator,
    params: Parameters,
    layout: Layout,
    buildings: Buildings,
    split_blocks: tuple[SplitBlock, ...],
) -> tuple[Buildings, tuple[tuple[int, int], ...]]:
    """A slab across the lane of each split block, ``straddle_share`` of it in the west grid."""
    streets, rows = layout.streets, layout.plan.blocks_north
    share = float(params.straddle_share)
    grids: list[tuple[int, int]] = []
    for split in split_blocks:
        block = split.column * rows + split.row
        west = streets.south_west[block] + 0.5 * (
            streets.north_west[block] - streets.south_west[block]
        )
        east = streets.south_east[block] + 0.5 * (
            streets.north_east[block] - streets.south_east[block]
        )
        length = float(np.hypot(*(east - west)))
        axis = (east - west) / length
        width = float(rng.uniform(26.0, 34.0))
        centre = west + (0.5 * length - (share - 0.5) * width) * axis
        corners = rectangle_corners(
            *centre[:, None], *axis[:, None], np.array([width]), np.array([12.0])
        )
        buildings = _drop_intersecting(buildings, shapely.Polygon(corners[0]).buffer(4.0), (block,))
        buildings = buildings.appended(
            centre_x=centre[0], centre_y=centre[1], axis_x=axis[0], axis_y=axis[1],
            width=width, depth=12.0, kind=SLABS, block=block, side=0, row=1,
            position=0.5 * length, floors=6, units=2, doors=2, households=24,
            grid=split.west_grid, community=-1, planted=PLANTED_STRADDLER + len(grids),
        )  # fmt: skip
        grids.append((split.west_grid, split.east_grid))
    return buildings, tuple(grids)


def _drop_intersecting(
    buildings: Buildings, area: shapely.Geometry, blocks: tuple[int, ...]
) -> Buildings:
    """The buildings without those of ``blocks`` that intersect ``area``."""
    candidates = np.flatnonzero(np.isin(buildings.block, blocks))
    if len(candidates) == 0:
        return buildings
    hit = candidates[shapely.intersects(shapely.polygons(buildings.corners(candidates)), area)]
    if len(hit) == 0:
        return buildings
    keep = np.ones(buildings.count, bool)
    keep[hit] = False
    return buildings.take(keep)


def _assign_and_sort(buildings: Buildings, plan: GridPlan, streets: Streets) -> Buildings:
    """Each unplanted building in the grid of its half block; sorted by community and grid."""
    column = streets.block_column[buildings.block]
    row = streets.block_row[buildings.block]
    normal = buildings.planted == 0
    grid = np.where(normal, plan.half_block_grid[2 * column + buildings.side, row], buildings.grid)
    community = plan.block_community[column, row]
    grid_key = np.where(grid < 0, plan.grid_count, grid)
    order = np.lexsort(
        (buildings.position, buildings.row, buildings.side, column, -row, grid_key, community)
    )
    return dataclasses.replace(buildings, grid=grid, community=community).take(order)
