"""The frames of the places: communities, grids, buildings and households."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridgeo.synth.arrays import ranks_in_groups
from gridgeo.synth.buildings import PLANTED_IN_GAP, Buildings
from gridgeo.synth.calibration import Layout
from gridgeo.synth.columns import (
    concat_text,
    decimal_text,
    int_column,
    sequential_codes,
    take_words,
)
from gridgeo.synth.defects import GeometryDefects
from gridgeo.synth.frames import layer_frame
from gridgeo.synth.households import Households
from gridgeo.synth.names import person_names, phone_numbers, unique_combinations
from gridgeo.synth.parameters import Parameters
from gridgeo.synth.projection import Geometries
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["building_frame", "community_frame", "grid_frame", "household_frame"]

#: House numbers step by 2 every this many metres along a street.
HOUSE_NUMBER_SPACING_M = 8


def community_frame(
    rng: np.random.Generator,
    params: Parameters,
    layout: Layout,
    vocabulary: Vocabulary,
    geometries: Geometries,
) -> tuple[gpd.GeoDataFrame, pa.Array, pa.Array]:
    """Communities (``C01``, 华阳新村社区); returns the frame, the codes and the names."""
    count = layout.plan.community_count
    codes = concat_text("C", decimal_text(np.arange(1, count + 1), max(2, len(str(count)))))
    word, variant = unique_combinations(
        rng, (len(vocabulary.community_words), len(vocabulary.community_variants)), count
    )
    names = concat_text(
        take_words(vocabulary.community_words, word),
        take_words(vocabulary.community_variants, variant),
        "社区",
    )
    columns = {"code": codes, "name": names, "district": pa.array([params.district] * count)}
    return layer_frame("communities", columns, geometries.communities), codes, names


def grid_frame(
    layout: Layout, community_codes: pa.Array, geometries: Geometries
) -> tuple[gpd.GeoDataFrame, pa.Array]:
    """Grids (``C01-G001``, 第1网格), numbered within their community."""
    plan = layout.plan
    grid_community = plan.grid_community
    within = ranks_in_groups(np.bincount(grid_community, minlength=plan.community_count))
    community = community_codes.take(pa.array(grid_community))
    codes = concat_text(community, "-G", decimal_text(within + 1, 3))
    names = concat_text("第", decimal_text(within + 1), "网格")
    columns = {"code": codes, "name": names, "community": community}
    return layer_frame("grids", columns, geometries.grids), codes


def building_frame(
    layout: Layout, buildings: Buildings, planted: GeometryDefects, geometries: Geometries
) -> tuple[gpd.GeoDataFrame, pa.Array]:
    """Buildings (``B000001``) with an address on the street south of their block.

    The front row is numbered along the street (南京西路17号), inner rows by lane and
    number (南京西路21弄3号), the building in the gap beside the street it lies on.
    """
    streets = layout.streets
    count = buildings.count
    codes = sequential_codes("B", count, 6)
    column = streets.block_column[buildings.block]
    row = streets.block_row[buildings.block]
    x_min = streets.nodes[..., 0].min() - 10
    y_min = streets.nodes[..., 1].min() - 10
    front = (buildings.row == 0) & (buildings.planted == 0)
    spacing = HOUSE_NUMBER_SPACING_M
    house = 1 + 2 * np.floor((buildings.centre_x - x_min) / spacing).astype(np.int64)
    corner_x = streets.crossings[column, row][:, 0]
    lane = 1 + 2 * np.floor((corner_x - x_min) / spacing).astype(np.int64)
    inner_rank = np.zeros(count, np.int64)  # inner buildings numbered 1.. in their block
    inner = np.flatnonzero(~front)
    if len(inner):
        block = buildings.block[inner]
        order = np.argsort(block, kind="stable")
        inner_rank[inner[order]] = (
            ranks_in_groups(np.unique(block[order], return_counts=True)[1]) + 1
        )
    street = pa.array(list(streets.east_west_names)).take(pa.array(row))
    on_street = concat_text(street, decimal_text(house), "号")
    in_lane = concat_text(street, decimal_text(lane), "弄", decimal_text(inner_rank), "号")
    address = pc.if_else(pa.array(front), on_street, in_lane)
    gap = np.flatnonzero(buildings.planted == PLANTED_IN_GAP)
    if len(gap):  # the building in the gap stands beside the street along the gap
        number = 2 * (1 + int((planted.gap_street_position - min(x_min, y_min)) // spacing))
        address = pc.if_else(
            pa.array(np.arange(count) == gap[0]),
            pa.scalar(f"{planted.gap_street}{number}号旁", pa.large_string()),
            address,
        )
    columns = {
        "code": codes,
        "address": address,
        "units": int_column(buildings.units),
        "households": int_column(buildings.households),
        "floors": int_column(buildings.floors),
    }
    return layer_frame("buildings", columns, geometries.buildings), codes


def household_frame(
    rng: np.random.Generator,
    households: Households,
    building_codes: pa.Array,
    vocabulary: Vocabulary,
    geometries: Geometries,
) -> tuple[gpd.GeoDataFrame, pa.Array]:
    """Households (``B000001-1-0101``: building, unit, room), some without name or phone."""
    count = households.count
    building = building_codes.take(pa.array(households.building))
    room = decimal_text(households.room, 4)
    codes = concat_text(building, "-", decimal_text(households.unit), "-", room)
    name_missing = rng.random(count) < 0.03
    phone_missing = rng.random(count) < 0.1
    nothing = pa.scalar(None, pa.large_string())
    names = pc.if_else(pa.array(name_missing), nothing, person_names(rng, count, vocabulary))
    phones = pc.if_else(pa.array(phone_missing), nothing, phone_numbers(rng, count, vocabulary))
    columns = {
        "code": codes,
        "building": building,
        "unit": decimal_text(households.unit),
        "floor": int_column(households.floor),
        "room": room,
        "size": int_column(households.size, households.size_missing),
        "name": names,
        "phone": phones,
    }
    return layer_frame("households", columns, geometries.households), codes
