"""Which community's partition each generated row of a province goes to.

The province writer (:mod:`gridgeo.synth.province`) asks these for every row of a
city's partitioned layers as the generator hands them over, so each row is written
where :data:`gridgeo.io.partitions.RULE` puts it without reading the city back: a grid
goes to its community, a building to its grid's (the check's building→grid), and the
other layers follow what they reference (:data:`FOLLOWS`).
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from gridgeo.errors import ValidationError
from gridgeo.synth.parameters import METRIC_CRS

__all__ = ["FOLLOWS", "building_parts", "following", "grid_parts", "positions"]

#: What a row of each partitioned layer follows, first match wins: (column, layer). A
#: visit or a problem that references none of them goes where its point is: to the
#: partition of the nearest grid (metres in UTM 51N; 0 inside a grid).
FOLLOWS: dict[str, tuple[tuple[str, str], ...]] = {
    "households": (("building", "buildings"),),
    "assignments": (
        ("grid", "grids"),
        ("building", "buildings"),
        ("household", "households"),
        ("community", "communities"),
    ),
    "visits": (("household", "households"), ("building", "buildings")),
    "meetings": (("grid", "grids"),),
    "problems": (("building", "buildings"), ("household", "households"), ("visit", "visits")),
}


def grid_parts(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, codes: pa.Array
) -> np.ndarray:
    """Partition of each grid: its community, else the community nearest its inside point."""
    found, parts = positions(pa.array(grids["community"], type=pa.string()), codes)
    lost = np.flatnonzero(~found)
    if len(lost):
        inside = shapely.point_on_surface(np.asarray(grids.geometry.array)[lost])
        parts[lost] = shapely.STRtree(np.asarray(communities.geometry.array)).nearest(inside)
    return parts


def building_parts(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, grid_parts: np.ndarray
) -> np.ndarray:
    """Partition of each building: its grid's (the check's building→grid), else the nearest grid's."""
    from gridgeo.analysis.coverage.buildings import building_grid

    assigned = building_grid(buildings[["code", "geometry"]], grids[["code", "geometry"]])
    grid_of = np.full(len(buildings), -1, dtype=np.int64)
    position = buildings.index.get_indexer(assigned.index)
    grid_of[position] = pd.Index(grids["code"]).get_indexer(assigned["grid_id"])
    lost = np.flatnonzero(grid_of < 0)
    if len(lost):  # nearest in metres (UTM 51N), not in degrees
        tree = shapely.STRtree(np.asarray(grids.geometry.to_crs(METRIC_CRS).array))
        grid_of[lost] = tree.nearest(
            np.asarray(buildings.geometry.iloc[lost].to_crs(METRIC_CRS).array)
        )
    return grid_parts[grid_of]


def following(
    name: str,
    frame: pd.DataFrame,
    codes: dict[str, pa.Array],
    parts: dict[str, np.ndarray],
    located: Callable[[gpd.GeoSeries], np.ndarray],
) -> np.ndarray:
    """Partition of each row of ``name``: the first object it references, else its point's."""
    result = np.full(len(frame), -1, dtype=np.int64)
    for column, target in FOLLOWS[name]:
        todo = np.flatnonzero(result < 0)
        if not len(todo):
            break
        values = pa.array(frame[column].iloc[todo], type=pa.string())
        found, at = positions(values, codes[target])
        result[todo[found]] = at[found] if target == "communities" else parts[target][at[found]]
    lost = np.flatnonzero(result < 0)
    if len(lost) and isinstance(frame, gpd.GeoDataFrame):
        result[lost] = located(frame.geometry.iloc[lost])
        lost = np.flatnonzero(result < 0)
    if len(lost):
        raise ValidationError(
            f"{name}: {len(lost):,} rows reference nothing a partition follows "
            f"(first: {frame['code'].iloc[lost[0]]!r})"
        )
    return result


def positions(values: pa.Array, codes: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Which values are among ``codes``, and where (0 where not)."""
    at = pc.index_in(values, value_set=codes)
    found = pc.is_valid(at).to_numpy(zero_copy_only=False)
    return found, pc.fill_null(at, 0).to_numpy(zero_copy_only=False).astype(np.int64)
