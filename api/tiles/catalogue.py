"""The catalogue of vector tilesets: the stored layers and the findings a map can show.

:data:`STORE_TILESETS` are tiles of the stored layers (``communities``, ``grids``,
``buildings`` and ``basemap``, which holds the three); :data:`FINDING_TILESETS` are
tiles of the result layers of ``gridgeo check`` and of the hotspot analysis. A
:class:`Selection` says which results a finding tile is made for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from api.analysis_cache import resolve_as_of

__all__ = [
    "BUILDING_MINZOOM",
    "FINDING_TILESETS",
    "STORE_TILESETS",
    "TILESETS",
    "FindingTileset",
    "Selection",
    "StoreTileset",
    "Tileset",
    "store_parts",
    "tileset",
]


@dataclass(frozen=True)
class StoreTileset:
    """A tileset of one stored layer (or of several, for ``basemap``)."""

    name: str
    layers: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]
    minzooms: tuple[int, ...]
    description: str

    @property
    def minzoom(self) -> int:
        return min(self.minzooms)


@dataclass(frozen=True)
class FindingTileset:
    """A tileset of one result layer of ``gridgeo check`` (or of the hotspot analysis)."""

    name: str
    result: str
    columns: tuple[str, ...]
    minzoom: int
    description: str
    #: ``check`` (:func:`api.analysis_cache.check_results`) or ``hotspots``
    #: (:func:`api.analysis_cache.hotspot_results`)
    source: str = "check"


@dataclass(frozen=True)
class Selection:
    """What a finding tile is made for: the check's date and area, or the hotspot options.

    Parameters
    ----------
    as_of
        The check's date (None: today).
    community, grid
        Keep the findings of one community or grid.
    category, start, end, cells
        The hotspot analysis: problem category, period and cells (``h3:9``...).
    """

    as_of: dt.date | None = None
    community: str | None = None
    grid: str | None = None
    category: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cells: str = "auto"

    def key(self, source: str) -> tuple[Any, ...]:
        """The parameters that matter to a tileset of ``source``."""
        if source == "hotspots":
            return (self.category, self.start, self.end, self.cells)
        return (resolve_as_of(self.as_of), self.community, self.grid)

    def query(self, source: str) -> dict[str, str]:
        """The query parameters of a tile URL of ``source``."""
        if source == "hotspots":
            values = {
                "category": self.category,
                "from": self.start,
                "to": self.end,
                "cells": self.cells,
            }
        else:
            values = {
                "as_of": resolve_as_of(self.as_of),
                "community": self.community,
                "grid": self.grid,
            }
        return {k: str(v) for k, v in values.items() if v is not None}

    def hotspot_params(self) -> dict[str, Any]:
        """Keyword arguments of ``hotspot_layers``."""
        return {
            "cells": self.cells,
            "category": self.category,
            "start": self.start,
            "end": self.end,
        }


_COMMUNITY = ("code", "name", "district")
_GRID = ("code", "name", "community")
_BUILDING = ("code", "address", "units", "households", "floors")
#: the names of a hotspot cell's grid and community (api.tiles.hotspot_places)
_PLACES = ("grid_name", "community_name")
_FINDING = ("rule", "severity", "code", "explanation_zh", "explanation_en")
#: Building-sized layers start at this zoom: below it a tile of a city holds hundreds
#: of thousands of buildings, too many to be useful or quick.
BUILDING_MINZOOM = 13

STORE_TILESETS: dict[str, StoreTileset] = {
    ts.name: ts
    for ts in [
        StoreTileset("communities", ("communities",), (_COMMUNITY,), (0,), "communities (社区)"),
        StoreTileset("grids", ("grids",), (_GRID,), (0,), "grids (网格)"),
        StoreTileset(
            "buildings", ("buildings",), (_BUILDING,), (BUILDING_MINZOOM,), "buildings (楼栋)"
        ),
        StoreTileset(
            "basemap",
            ("communities", "grids", "buildings"),
            (("code", "name"), ("code", "community"), ("code",)),
            (0, 0, BUILDING_MINZOOM),
            "the service's own basemap: communities, grids and buildings",
        ),
    ]
}

FINDING_TILESETS: dict[str, FindingTileset] = {
    ts.name: ts
    for ts in [
        FindingTileset(
            "grid_coverage",
            "summary_grids",
            (
                "code",
                "community",
                "buildings",
                "unassigned",
                "multi_assigned",
                "straddling",
                "gaps",
                "overlaps",
                "coverage_score",
            ),
            0,
            "grids with their coverage score (% of buildings in one grid with one member)",
        ),
        FindingTileset(
            "gaps", "gaps", (*_FINDING, "kind", "area_m2", "width_m"), 0, "gaps between grids (R1)"
        ),
        FindingTileset(
            "overlaps", "overlaps", (*_FINDING, "grid_a", "grid_b", "area_m2"), 0, "overlaps (R2)"
        ),
        FindingTileset(
            "straddling_buildings",
            "straddling_buildings",
            (*_FINDING, "building_id", "grid_ids"),
            10,
            "buildings in more than one grid (R2)",
        ),
        FindingTileset(
            "buildings_outside",
            "buildings_outside",
            (*_FINDING, "building_id"),
            10,
            "buildings outside every grid (R1)",
        ),
        FindingTileset(
            "unassigned_buildings",
            "unassigned_buildings",
            (*_FINDING, "building_id", "community", "households", "households_assigned"),
            10,
            "buildings without a responsible member (R6)",
        ),
        FindingTileset(
            "multi_assigned_buildings",
            "multi_assigned_buildings",
            (*_FINDING, "building_id", "n_members"),
            10,
            "buildings with several responsible members (R7)",
        ),
        FindingTileset(
            "last_visits",
            "last_visits",
            ("building_id", "last_visit", "days_since", "never_visited"),
            BUILDING_MINZOOM,
            "days since each building was last visited",
        ),
        FindingTileset(
            "hotspot_cells",
            "cells",
            ("cell_id", "count", "gi_z", "gi_p", "gi_bin", *_PLACES),
            0,
            "problem counts per cell with their Getis-Ord Gi* hot/cold spot bin",
            "hotspots",
        ),
        FindingTileset(
            "hotspot_lisa",
            "lisa",
            ("cell_id", "count", "lisa_i", "lisa_p_sim", "lisa_cluster", *_PLACES),
            0,
            "Local Moran's I clusters (HH, LL, LH, HL)",
            "hotspots",
        ),
        FindingTileset(
            "hotspot_density",
            "density",
            ("level", "density_from", "density_to"),
            0,
            "kernel density of problems, as contour bands",
            "hotspots",
        ),
        FindingTileset(
            "hotspot_problems",
            "problems",
            ("code", "category", "reported_on", "status", "grid_name"),
            BUILDING_MINZOOM,
            "the problems the hotspot cells count, as points",
            "hotspots",
        ),
        FindingTileset(
            "hotspot_emerging",
            "emerging",
            (
                "cell_id",
                "count",
                "pattern",
                "spot",
                "label",
                "label_zh",
                "trend_z",
                "trend_p",
                *_PLACES,
            ),
            0,
            "emerging hot and cold spots (new, intensifying, persistent...)",
            "hotspots",
        ),
    ]
}

TILESETS: dict[str, StoreTileset | FindingTileset] = {**STORE_TILESETS, **FINDING_TILESETS}


Tileset = StoreTileset | FindingTileset


def tileset(layer: str) -> Tileset:
    """The tileset called ``layer`` (else a 404 naming the tilesets)."""
    ts = TILESETS.get(layer)
    if ts is None:
        raise HTTPException(
            404, f"no tileset {layer!r}; the tilesets are: {', '.join(sorted(TILESETS))}"
        )
    return ts


def store_parts(ts: Tileset, z: int) -> list[tuple[str, tuple[str, ...]]]:
    """The stored layers of a tileset drawn at zoom ``z``, with their columns."""
    if not isinstance(ts, StoreTileset):
        return []
    return [
        (layer, cols)
        for layer, cols, minzoom in zip(ts.layers, ts.columns, ts.minzooms, strict=True)
        if z >= minzoom
    ]
