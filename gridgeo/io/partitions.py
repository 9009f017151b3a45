"""Which partition of the exchange format each object goes to: the straddling rule.

:func:`partition_keys` gives every row of every layer the community it is written under
(:data:`RULE`); :func:`folder_name` turns a code into a Hive folder name and
:func:`code_of` back. The writer and reader of the format are :mod:`gridgeo.io.geoparquet`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "CRS",
    "FILE",
    "FORMAT",
    "MANIFEST",
    "NONE",
    "PARTITIONED",
    "PARTITION_KEY",
    "RULE",
    "VERSION",
    "code_of",
    "folder_name",
    "partition_keys",
]

FORMAT = "gridgeo-geoparquet"
VERSION = 1
MANIFEST = "gridgeo-parquet.json"
PARTITION_KEY = "part"
#: the partition of objects in no community
NONE = "__none__"
#: the layers written one folder per partition; the others are one file each
PARTITIONED = ("grids", "buildings", "households", "assignments", "visits", "meetings", "problems")
CRS = "EPSG:4326"
FILE = "part-0.parquet"
#: the straddling rule, as the manifest states it
RULE = (
    "A grid goes to its community; a building to the partition of the grid that the "
    "check's building-to-grid step assigns it (most of its area), or, in no grid, of the "
    "nearest grid; a household follows its building; a visit its household, else its "
    "building, else its location; a meeting its grid; an assignment the first of its grid, "
    "building, household, community; a problem the first of its building, household, "
    "visit, else its location; a location goes to the nearest grid (0 inside it); ties "
    "between grids go to the smaller community code; anything else goes to __none__."
)

_UNSAFE = re.compile(r'[/\\%=:*?"<>|\x00-\x1f\x7f]|^\.')


def folder_name(code: str) -> str:
    """The folder ``part=<code>`` of a partition, its unsafe characters percent-encoded.

    Examples
    --------
    >>> folder_name("C01"), folder_name("零陵/社区"), folder_name(".x")
    ('part=C01', 'part=零陵%2F社区', 'part=%2Ex')
    """
    return f"{PARTITION_KEY}=" + _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", code)


def code_of(folder: str) -> str:
    """The partition code a Hive folder name (``part=C%2F01``) stands for."""
    return urllib.parse.unquote(folder.split("=", 1)[1])


# -- the partition of every row -----------------------------------------------------


def _codes(frame: pd.DataFrame, column: str) -> pd.Series:
    """A code column as objects, None where empty."""
    if column not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), None)


def _first(*choices: pd.Series) -> pd.Series:
    """Row by row, the first choice that is not empty."""
    out = choices[0].copy()
    for choice in choices[1:]:
        out = out.where(out.notna(), choice)
    return out


def _lookup(refs: pd.Series, parts: Mapping[str, str]) -> pd.Series:
    """The partition of each referenced code (None: no reference, or an unknown code)."""
    found = refs.map(parts) if len(parts) else pd.Series(np.nan, index=refs.index)
    return found.astype(object).where(found.notna(), None)


def _grid_parts(grids: pd.DataFrame) -> pd.Series:
    """Partition by grid code: its community, or :data:`NONE`."""
    community = _codes(grids, "community")
    return pd.Series(
        community.fillna(NONE).to_numpy(), index=grids["code"].astype(str).to_numpy(), dtype=object
    )


def _nearest(geoms: gpd.GeoSeries, grids: gpd.GeoDataFrame, parts: pd.Series) -> pd.Series:
    """The partition of the grid nearest each geometry (0 inside it), metres in UTM.

    Among grids at the same distance (a point in an overlap, a building equally far from
    two grids) the smaller community code wins, a grid with a community before one
    without. Empty geometries, or no grids: None.
    """
    out = pd.Series([None] * len(geoms), index=geoms.index, dtype=object)
    has = ~(geoms.isna() | geoms.is_empty).to_numpy()
    usable = grids[~(grids.geometry.isna() | grids.geometry.is_empty)]
    if not has.any() or usable.empty:
        return out
    from gridgeo.analysis.coverage import metric_crs

    crs = metric_crs(usable)
    tree_geoms = usable.geometry.to_crs(crs).to_numpy()
    query = geoms[has].to_crs(crs).to_numpy()
    qi, ti = shapely.STRtree(tree_geoms).query_nearest(query, all_matches=True)
    grid_parts = parts.reindex(usable["code"].astype(str).to_numpy()).to_numpy()
    candidates = pd.DataFrame({"q": qi, "part": grid_parts[ti]})
    candidates["none"] = candidates["part"] == NONE
    best = candidates.sort_values(["q", "none", "part"]).drop_duplicates("q")
    values = np.full(int(has.sum()), None, dtype=object)
    values[best["q"].to_numpy()] = best["part"].to_numpy()
    out[has] = values
    return out


def _by_code(frame: pd.DataFrame, parts: pd.Series) -> dict[str, str]:
    return dict(zip(frame["code"].astype(str), parts, strict=True))


def partition_keys(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """The partition of every row of the partitioned layers, by :data:`RULE`.

    Parameters
    ----------
    frames
        Layer frames as ``Store.read_layer`` gives them (any may be missing).

    Returns
    -------
    dict
        Layer → partition (a community code or :data:`NONE`) on the frame's index, for
        each layer of :data:`PARTITIONED` in ``frames``.
    """
    from gridgeo.analysis.coverage import building_grid

    empty = gpd.GeoDataFrame({"code": pd.Series([], dtype=object)}, geometry=[], crs=CRS)
    grids = frames.get("grids", empty)
    grid_parts = _grid_parts(grids)
    keys: dict[str, pd.Series] = {}
    if "grids" in frames:
        keys["grids"] = pd.Series(grid_parts.to_numpy(), index=grids.index, dtype=object)

    def located(frame: pd.DataFrame) -> pd.Series:
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return _nearest(frame.geometry, grids, grid_parts)

    buildings = frames.get("buildings")
    building_parts: dict[str, str] = {}
    if buildings is not None:
        part = pd.Series([None] * len(buildings), index=buildings.index, dtype=object)
        if len(buildings) and len(grids):
            placed = building_grid(buildings, grids)  # the check's step `building_grid`
            part.loc[placed.index] = _lookup(_codes(placed, "grid_id"), grid_parts).to_numpy()
        outside = part.isna()
        if outside.any():
            part[outside] = located(buildings[outside])
        keys["buildings"] = part.fillna(NONE)
        building_parts = _by_code(buildings, keys["buildings"])
    household_parts: dict[str, str] = {}
    if "households" in frames:
        h = frames["households"]
        keys["households"] = _lookup(_codes(h, "building"), building_parts).fillna(NONE)
        household_parts = _by_code(h, keys["households"])
    visit_parts: dict[str, str] = {}
    if "visits" in frames:
        v = frames["visits"]
        part = _first(
            _lookup(_codes(v, "household"), household_parts),
            _lookup(_codes(v, "building"), building_parts),
        )
        keys["visits"] = _first(part, _located_where_empty(part, v, located)).fillna(NONE)
        visit_parts = _by_code(v, keys["visits"])
    grid_of = dict(grid_parts.items())
    if "meetings" in frames:
        keys["meetings"] = _lookup(_codes(frames["meetings"], "grid"), grid_of).fillna(NONE)
    if "assignments" in frames:
        a = frames["assignments"]
        keys["assignments"] = _first(
            _lookup(_codes(a, "grid"), grid_of),
            _lookup(_codes(a, "building"), building_parts),
            _lookup(_codes(a, "household"), household_parts),
            _codes(a, "community"),
        ).fillna(NONE)
    if "problems" in frames:
        p = frames["problems"]
        part = _first(
            _lookup(_codes(p, "building"), building_parts),
            _lookup(_codes(p, "household"), household_parts),
            _lookup(_codes(p, "visit"), visit_parts),
        )
        keys["problems"] = _first(part, _located_where_empty(part, p, located)).fillna(NONE)
    return keys


def _located_where_empty(part: pd.Series, frame: pd.DataFrame, located: Any) -> pd.Series:
    """The location's partition for the rows still without one."""
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    empty = part.isna()
    if empty.any():
        out[empty] = located(frame[empty])
    return out


# -- writing --------------------------------------------------------------------------
