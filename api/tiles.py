"""Mapbox Vector Tiles of the stored layers and of the findings, and their TileJSON.

Routes
------
``GET /tiles/{layer}/{z}/{x}/{y}.mvt``
    One tile (``application/vnd.mapbox-vector-tile``). Store layers (``communities``,
    ``grids``, ``buildings`` and ``basemap``, which holds the three) come from PostGIS's
    ``ST_AsMVT`` or, in the embedded store, from the layer's frame kept in memory.
    Finding layers (``grid_coverage``, ``gaps``, ``unassigned_buildings``,
    ``last_visits``...) come from the cached check results (``?as_of=``, and
    ``?community=`` / ``?grid=`` to keep one area).
``GET /tiles/{layer}.json``
    The tileset's TileJSON 3.0.0.

Every tile has an ETag made of its layer, coordinates, parameters and the store's
data version, so a write makes new tiles, never stale ones; ``If-None-Match``
answers 304 without touching the data. Tiles are kept in a memory cache bounded in
bytes. A tile URL carrying ``?v=<data version>`` (as the TileJSON and the map pages
write them) may be cached by the browser for a day; without it the browser
revalidates each time.

Who may read them: every route depends on :func:`api.auth.tile_reader` (a token as an
``Authorization: Bearer`` header, a ``?token=`` query parameter or the
``gridgeo_token`` cookie, or a ``?tile_key=`` as the map pages and the TileJSON write
into their tile URLs; see :mod:`api.auth`). A caller restricted to an area gets
tiles holding only the features of that area (the basemap's communities, grids and
buildings, and the findings that :meth:`gridgeo.access.Area.keep_findings` keeps;
hotspots are computed from the area's own problems), and asking for another area's
``community``/``grid`` is a 403. The area is part of every tile's cache key and
ETag (responses also say ``Vary: Authorization, Cookie``), so a tile made for one
area is never served to another. A cached tile costs no database round trip beyond
the data version: the token lookup is remembered for 30 s, and the area is expanded
to codes only when a tile is made.

The raster (``.png``) tiles are in :mod:`api.reports`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import AfterValidator, BeforeValidator
from starlette.concurrency import run_in_threadpool

from api import analysis_cache, database
from api.auth import REFUSALS, TileReaderDep, check_place, scope_key, tile_key_for, tile_reader
from api.state import get_store
from gridgeo.access import Area, Principal
from gridgeo.errors import ValidationError
from gridgeo.layers import LAYERS
from gridgeo.store import Store
from gridgeo.store.base import column_sql

__all__ = [
    "FINDING_TILESETS",
    "STORE_TILESETS",
    "TILESETS",
    "FindingTileset",
    "MemoryLayer",
    "Selection",
    "StoreTileset",
    "check_tile",
    "native_values",
    "render_tile",
    "router",
    "tile_response",
    "tile_url",
]

#: Dependencies of every route here: a token or tile key (or the open demo mode), see
#: api/auth.py.
ROUTE_DEPENDENCIES: list[Any] = [Depends(tile_reader)]

router = APIRouter(
    prefix="/tiles", tags=["tiles"], dependencies=ROUTE_DEPENDENCIES, responses=REFUSALS
)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
#: Tile buffer in tile units: features are clipped this far outside the tile, so
#: polygon outlines do not show along tile edges.
BUFFER = 64
MAX_ZOOM = 22
#: Bytes of encoded tiles kept in memory per store.
TILE_CACHE_BYTES = 128 * 1024 * 1024
_EARTH = 6378137.0
_HALF = math.pi * _EARTH


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
    cells: str = "h3:9"

    def key(self, source: str) -> tuple[Any, ...]:
        """The parameters that matter to a tileset of ``source``."""
        if source == "hotspots":
            return (self.category, self.start, self.end, self.cells)
        return (analysis_cache.resolve_as_of(self.as_of), self.community, self.grid)

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
                "as_of": analysis_cache.resolve_as_of(self.as_of),
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
            ("cell_id", "count", "gi_z", "gi_p", "gi_bin"),
            0,
            "problem counts per cell with their Getis-Ord Gi* hot/cold spot bin",
            "hotspots",
        ),
        FindingTileset(
            "hotspot_lisa",
            "lisa",
            ("cell_id", "count", "lisa_i", "lisa_p_sim", "lisa_cluster"),
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
            "hotspot_emerging",
            "emerging",
            ("cell_id", "count", "pattern", "spot", "label", "label_zh", "trend_z", "trend_p"),
            0,
            "emerging hot and cold spots (new, intensifying, persistent...)",
            "hotspots",
        ),
    ]
}

TILESETS: dict[str, StoreTileset | FindingTileset] = {**STORE_TILESETS, **FINDING_TILESETS}


# -- tile coordinates -------------------------------------------------------------------------


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse (400) a zoom or tile that does not exist."""
    if not 0 <= z <= MAX_ZOOM:
        raise HTTPException(400, f"zoom {z} is out of range: use 0 to {MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise HTTPException(
            400, f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {n - 1}"
        )


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds in EPSG:3857 (as ``ST_TileEnvelope``)."""
    size = 2 * _HALF / (1 << z)
    minx = -_HALF + x * size
    maxy = _HALF - y * size
    return minx, maxy - size, minx + size, maxy


def _to_mercator(coords: np.ndarray) -> np.ndarray:
    lon = np.radians(coords[:, 0])
    lat = np.radians(np.clip(coords[:, 1], -85.0511287798, 85.0511287798))
    return np.column_stack((_EARTH * lon, _EARTH * np.log(np.tan(np.pi / 4 + lat / 2))))


# -- in-memory layers (embedded store, findings) ---------------------------------------------


def native_values(values: pd.Series) -> list[Any]:
    """A column as MVT-encodable Python values (None for missing)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.strftime("%Y-%m-%d").astype(object)
        return out.where(values.notna(), None).tolist()
    if pd.api.types.is_bool_dtype(values):
        return [bool(v) for v in values.tolist()]
    if pd.api.types.is_numeric_dtype(values):
        floats = values.astype("float64")
        integral = bool(np.all(np.mod(floats.dropna(), 1) == 0))
        return [
            None if math.isnan(v) else (int(v) if integral else round(v, 3))
            for v in floats.tolist()
        ]

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, list | tuple | np.ndarray):
            return ", ".join(map(str, v))
        if isinstance(v, bool | int | float | str):
            return v
        return str(v)

    return [one(v) for v in values.tolist()]


class MemoryLayer:
    """A layer's geometries in Web Mercator with an R-tree, encoded to tiles on request.

    Parameters
    ----------
    frame
        A GeoDataFrame in EPSG:4326.
    columns
        The attribute columns to put in the tiles (missing ones are left out).
    """

    def __init__(self, frame: Any, columns: tuple[str, ...]) -> None:
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        geoms = np.asarray(frame.geometry.values, dtype=object)
        self.geoms = shapely.transform(geoms, _to_mercator)
        self.tree = shapely.STRtree(self.geoms)
        self.columns = [c for c in columns if c in frame.columns]
        self.values = [native_values(frame[c].reset_index(drop=True)) for c in self.columns]
        self.bounds = tuple(frame.total_bounds) if len(frame) else None

    def __len__(self) -> int:
        return len(self.geoms)

    def tile(
        self, name: str, z: int, x: int, y: int, columns: tuple[str, ...] | None = None
    ) -> bytes:
        """The tile's features as one MVT layer called ``name`` (b"" when none).

        ``columns`` keeps only some of the layer's attribute columns.
        """
        import mapbox_vector_tile

        attributes = [
            (col, values)
            for col, values in zip(self.columns, self.values, strict=True)
            if columns is None or col in columns
        ]
        minx, miny, maxx, maxy = _tile_bounds(z, x, y)
        scale = EXTENT / (maxx - minx)
        pad = BUFFER / scale
        clip = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        hits = self.tree.query(shapely.box(*clip), predicate="intersects")
        if not len(hits):
            return b""
        hits.sort()
        clipped = shapely.clip_by_rect(self.geoms[hits], *clip)
        local = shapely.transform(
            clipped,
            lambda c: np.column_stack(((c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale)),
        )
        features = []
        for i, geom in zip(hits.tolist(), local, strict=True):
            if geom.is_empty:
                continue
            props = {}
            for col, values in attributes:
                if values[i] is not None:
                    props[col] = values[i]
            features.append({"geometry": geom, "properties": props})
        if not features:
            return b""
        return bytes(
            mapbox_vector_tile.encode(
                [{"name": name, "features": features}],
                default_options={
                    "extents": EXTENT,
                    "y_coord_down": True,
                    "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
                },
            )
        )


def _store_memory_layer(store: Store, layer: str, area: Area | None = None) -> MemoryLayer:
    """A stored layer in memory (embedded store), with its tileset's columns.

    With ``area``, only its features (one layer per area, kept alongside the others).
    """
    version = analysis_cache.data_version(store)
    columns = STORE_TILESETS[layer].columns[0]

    def make() -> MemoryLayer:
        frame = store.read_layer(layer, columns=columns)
        return MemoryLayer(frame if area is None else area.keep(layer, frame), columns)

    return analysis_cache.memo(
        store, "memory-layers", (layer, version, area), make, size=4 * len(STORE_TILESETS)
    )


def area_hotspots(store: Store, area: Area | None, **params: Any) -> dict[str, pd.DataFrame]:
    """The hotspot layers of the problems in ``area`` over its grids (None: the district).

    An area's hot spots are computed from its own problems only: cells, counts and
    clusters of the whole district would tell what other areas hold.
    """
    if area is None:
        return analysis_cache.hotspot_results(store, **params)
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.settings import get_settings

    version = analysis_cache.data_version(store)

    def compute() -> dict[str, pd.DataFrame]:
        problems = area.keep("problems", store.read_layer("problems"))
        grids = store.read_layer("grids", columns=["name"])
        region = grids[grids["code"].isin(area.grids)]
        if not len(region):
            return {}
        return hotspot_layers(problems, area=region, timezone=get_settings().timezone, **params)

    key = (tuple(sorted(params.items())), version, area)
    return dict(analysis_cache.memo(store, "area-hotspots", key, compute))


def area_results(store: Store, area: Area | None, as_of: Any) -> dict[str, pd.DataFrame]:
    """The check's results (:func:`api.analysis_cache.check_results`) within ``area``.

    District totals (``summary_district``) are left out for an area.
    """
    results = analysis_cache.check_results(store, as_of=as_of)
    if area is None:
        return results
    version = analysis_cache.data_version(store)

    def compute() -> dict[str, pd.DataFrame]:
        return {
            name: area.keep_findings(name, frame)
            for name, frame in results.items()
            if name != "summary_district"
        }

    key = (analysis_cache.resolve_as_of(as_of), version, area)
    return dict(analysis_cache.memo(store, "area-results", key, compute))


def finding_frame(
    store: Store, ts: FindingTileset, selection: Selection, area: Area | None = None
) -> Any:
    """The rows of a finding tileset's result layer for a selection (shared: read-only).

    With ``area``, only the rows of that area.
    """
    if ts.source == "hotspots":
        layers = area_hotspots(store, area, **selection.hotspot_params())
        frame = layers.get(ts.result)
        return _empty_frame() if frame is None else frame
    results = analysis_cache.check_results(store, as_of=selection.as_of)
    frame = results.get(ts.result)
    if frame is None or "geometry" not in frame:
        return _empty_frame()
    frame = restrict(frame, results, community=selection.community, grid=selection.grid)
    if area is not None:
        frame = area.keep_findings(ts.result, frame)
    return frame


def finding_layer(
    store: Store, ts: FindingTileset, selection: Selection, area: Area | None = None
) -> MemoryLayer:
    """The finding tileset's layer for a selection (and area), cached per data version."""
    version = analysis_cache.data_version(store)
    return analysis_cache.memo(
        store,
        "finding-layers",
        (ts.name, version, selection.key(ts.source), area),
        lambda: MemoryLayer(finding_frame(store, ts, selection, area), ts.columns),
        size=4 * len(FINDING_TILESETS),  # every layer of a few pages at once
    )


def _empty_frame() -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def restrict(
    frame: Any, results: dict[str, pd.DataFrame], *, community: str | None, grid: str | None
) -> Any:
    """The rows of a result layer in a community or grid (all rows when neither is given).

    Grids are kept by their codes; other findings when they intersect the area.
    """
    area = analysis_cache.area_of(results, community=community, grid=grid)
    if area is None or not len(frame):
        return frame
    if "coverage_score" in frame.columns and "community" in frame.columns:
        keep = pd.Series(True, index=frame.index)
        if community is not None:
            keep &= frame["community"].astype(str) == community
        if grid is not None:
            keep &= frame["code"].astype(str) == grid
        return frame[keep]
    shapely.prepare(area)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    return frame[shapely.intersects(area, geoms)]


# -- PostGIS -------------------------------------------------------------------------------


def _postgis_sql(layer: str, columns: tuple[str, ...], only: bool = False) -> str:
    """One ST_AsMVT query for a stored layer; parameters z, x, y.

    With ``only``, also ``codes_<layer>``: the codes to keep.
    """
    spec = LAYERS[layer]
    cols, joins = column_sql([spec.field(name) for name in columns])
    # The envelope is transformed to 4326 once (a constant), so the && filter uses the
    # GiST index on the stored geometry; only the rows found are transformed to 3857.
    return (
        f"SELECT ST_AsMVT(q, '{layer}', {EXTENT}, 'geom') FROM ("
        f"SELECT {', '.join(cols)}, ST_AsMVTGeom(ST_Transform(t.geom, 3857), "
        f"ST_TileEnvelope(%(z)s, %(x)s, %(y)s), {EXTENT}, {BUFFER}, true) AS geom "
        f'FROM "{spec.table}" t {" ".join(joins)} '
        f"WHERE t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, "
        f"margin => {BUFFER / EXTENT}), 4326)"
        + (f" AND t.code = ANY(%(codes_{layer})s)" if only else "")
        + ") q"
    )


_SQL: dict[tuple[str, tuple[str, ...], bool], str] = {}
#: The codes of an area that each stored tileset layer keeps.
_AREA_SETS = {"communities": "visible_communities", "grids": "grids", "buildings": "buildings"}


def _postgis_statement(
    parts: list[tuple[str, tuple[str, ...]]], z: int, x: int, y: int, area: Area | None
) -> tuple[str, dict[str, Any]]:
    """One statement for the tile of one or more stored layers (MVT layers concatenate).

    With ``area``, only the features whose codes are in it.
    """
    selects, sqls = [], []
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    for layer, cols in parts:
        key = (layer, cols, area is not None)
        if key not in _SQL:
            _SQL[key] = _postgis_sql(*key)
        sqls.append(_SQL[key])
        selects.append(f"({_SQL[key]})")
        if area is not None:
            params[f"codes_{layer}"] = sorted(getattr(area, _AREA_SETS[layer]))
    sql = "SELECT " + " || ".join(selects) if len(selects) > 1 else sqls[0]
    return sql, params


async def _postgis_tile(
    store: Store,
    parts: list[tuple[str, tuple[str, ...]]],
    z: int,
    x: int,
    y: int,
    area: Area | None = None,
    known: int | None = None,
) -> tuple[int, bytes | None]:
    """The data version and the tile of stored layers, in one awaited statement.

    The store's change counter is read by the tile's own statement, so both come from
    one snapshot: the tile is exactly the data of that version, and a tile needs no
    round trip of its own to learn it. When the counter still equals ``known`` (the
    version of a tile kept from before), the tile is not made again: (version, None).
    """
    sql, params = _postgis_statement(parts, z, x, y, area)
    params["known"] = -1 if known is None else known
    row = await database.fetch_row(
        store,
        f"SELECT s.v, CASE WHEN s.v = %(known)s THEN NULL ELSE ({sql}) END "
        f"FROM ({analysis_cache.VERSION_SQL}) AS s(v)",
        params,
    )
    assert row is not None
    version, data = int(row[0]), row[1]
    if data is None and version != known:
        data = b""  # no feature in the tile
    return version, None if data is None else bytes(data)


# -- the tile cache ---------------------------------------------------------------------------


class BytesCache:
    """Encoded tiles or images, least recently used first out, bounded in bytes.

    An entry may carry a ``tag`` (the data version a tile was made at): :meth:`get`
    with a tag answers only an entry made with that tag, and :meth:`newest` tells which
    tag the kept entry has, so one key holds the newest tile rather than one per version.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, tag: Hashable = None) -> bytes | None:
        """The entry of ``key`` if it was made with ``tag``."""
        found = self.newest(key)
        return found[1] if found is not None and found[0] == tag else None

    def newest(self, key: Hashable) -> tuple[Hashable, bytes] | None:
        """The entry of ``key`` with its tag (None: nothing kept)."""
        with self.lock:
            entry = self.items.get(key)
            if entry is not None:
                self.items.move_to_end(key)
            return entry

    def put(self, key: Hashable, data: bytes, tag: Hashable = None) -> None:
        """Keep ``data`` for ``key``, in place of an entry with another tag."""
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.size -= len(old[1]) + 100
            self.items[key] = (tag, data)
            self.size += len(data) + 100
            while self.size > self.limit and self.items:
                _, (_, dropped) = self.items.popitem(last=False)
                self.size -= len(dropped) + 100


_byte_caches: weakref.WeakKeyDictionary[Store, dict[str, BytesCache]] = weakref.WeakKeyDictionary()
_byte_caches_lock = threading.Lock()


def byte_cache(store: Store, kind: str, limit: int) -> BytesCache:
    """The store's cache of one kind of encoded response (``"mvt"``, ``"png"``)."""
    with _byte_caches_lock:
        caches = _byte_caches.setdefault(store, {})
        cache = caches.get(kind)
        if cache is None:
            cache = caches[kind] = BytesCache(limit)
        return cache


def _store_parts(ts: StoreTileset | FindingTileset, z: int) -> list[tuple[str, tuple[str, ...]]]:
    """The stored layers of a tileset drawn at zoom ``z``, with their columns."""
    if not isinstance(ts, StoreTileset):
        return []
    return [
        (layer, cols)
        for layer, cols, minzoom in zip(ts.layers, ts.columns, ts.minzooms, strict=True)
        if z >= minzoom
    ]


async def render_tile(
    store: Store,
    name: str,
    z: int,
    x: int,
    y: int,
    selection: Selection | None = None,
    area: Area | None = None,
) -> bytes:
    """Encode one tile of a tileset (no cache; b"" for an empty tile).

    A coroutine: a stored layer's tile on PostGIS is one awaited ``ST_AsMVT`` query;
    tiles encoded from frames in memory (findings, the embedded store) are made in a
    worker thread.

    Parameters
    ----------
    store
        The store.
    name
        A key of :data:`TILESETS`.
    z, x, y
        The tile (XYZ scheme, as Leaflet and ``ST_TileEnvelope`` count them).
    selection
        For finding tilesets: the check's date and area, or the hotspot options.
    area
        Only the features of this area (a caller's, :func:`gridgeo.access.area_for`).

    Returns
    -------
    bytes
        The Mapbox Vector Tile.
    """
    ts = TILESETS[name]
    if isinstance(ts, FindingTileset):
        if z < ts.minzoom:
            return b""

        def encode() -> bytes:
            return finding_layer(store, ts, selection or Selection(), area).tile(name, z, x, y)

        return await run_in_threadpool(encode)
    parts = _store_parts(ts, z)
    if not parts:
        return b""
    if store.engine.dialect.name == "postgresql":
        _, data = await _postgis_tile(store, parts, z, x, y, area)
        return data or b""

    def in_memory() -> bytes:
        return b"".join(
            _store_memory_layer(store, layer, area).tile(layer, z, x, y, cols)
            for layer, cols in parts
        )

    return await run_in_threadpool(in_memory)


def etag_of(key: tuple[Any, ...]) -> str:
    """A strong ETag for a response keyed on ``key``."""
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header value names ``etag`` (or ``*``)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _tileset(layer: str) -> StoreTileset | FindingTileset:
    ts = TILESETS.get(layer)
    if ts is None:
        raise HTTPException(
            404, f"no tileset {layer!r}; the tilesets are: {', '.join(sorted(TILESETS))}"
        )
    return ts


async def _store(request: Request) -> Store:
    """:func:`api.state.get_store` as a coroutine: FastAPI then calls it without a thread."""
    return get_store(request)


StoreDep = Annotated[Store, Depends(get_store)]
AsyncStoreDep = Annotated[Store, Depends(_store)]


def _sane_day(value: dt.date | None) -> dt.date | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _iso_day(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("write the date as YYYY-MM-DD")


#: A date query parameter: YYYY-MM-DD within 1900–2200 (the analyses count days from it).
Day = Annotated[dt.date, BeforeValidator(_iso_day), AfterValidator(_sane_day)]
#: The cells a hotspot analysis may be asked for over HTTP: H3 resolutions and square
#: sizes (metres) that keep a district to a sensible number of cells.
H3_RESOLUTIONS = range(5, 12)
SQUARE_METRES = (50.0, 5000.0)


def check_cells(cells: str) -> str:
    """Refuse (422) hotspot cells that are unknown or too fine or coarse for a request."""
    kind, _, size = cells.strip().lower().partition(":")
    try:
        number = float(size) if size else None
    except ValueError:
        number = None
    if kind == "h3" and number is not None and number.is_integer():
        if int(number) in H3_RESOLUTIONS:
            return cells
    elif kind == "square" and number is not None and SQUARE_METRES[0] <= number <= SQUARE_METRES[1]:
        return cells
    raise ValidationError(
        f"cells={cells!r}: use h3:RES with RES {H3_RESOLUTIONS.start}–{H3_RESOLUTIONS.stop - 1} "
        f"(e.g. h3:9) or square:METRES with {SQUARE_METRES[0]:g}–{SQUARE_METRES[1]:g} m "
        "(e.g. square:250)"
    )


AsOf = Annotated[
    Day | None, Query(description="date of the check, for finding layers (default today)")
]
CommunityQ = Annotated[str | None, Query(description="keep the findings of this community")]
GridQ = Annotated[str | None, Query(description="keep the findings of this grid")]
CategoryQ = Annotated[str | None, Query(description="hotspots: problem category")]
FromQ = Annotated[Day | None, Query(alias="from", description="hotspots: first day")]
ToQ = Annotated[Day | None, Query(alias="to", description="hotspots: last day")]
CellsQ = Annotated[str, Query(description="hotspots: h3:RES or square:METRES")]
VersionQ = Annotated[
    int | None, Query(description="data version the URL was made for (lets browsers cache)")
]


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "the tile"},
        304: {"description": "not modified (If-None-Match)"},
        400: {"description": "no such tile"},
        404: {"description": "no such tileset"},
    },
)
async def tile(
    request: Request,
    store: AsyncStoreDep,
    user: TileReaderDep,
    layer: str,
    z: Annotated[int, Path(description="zoom")],
    x: Annotated[int, Path(description="column")],
    y: Annotated[int, Path(description="row (XYZ, from the north)")],
    as_of: AsOf = None,
    community: CommunityQ = None,
    grid: GridQ = None,
    category: CategoryQ = None,
    start: FromQ = None,
    end: ToQ = None,
    cells: CellsQ = "h3:9",
    v: VersionQ = None,
) -> Response:
    """One Mapbox Vector Tile of a tileset (see ``/tiles/{layer}.json``).

    A coroutine: a tile from the cache (or a 304), and a new tile of a stored layer on
    PostGIS, are answered in the event loop without taking a worker thread (the
    ``ST_AsMVT`` query is awaited, see :mod:`api.database`); tiles encoded from frames
    in memory, and the expansion of a restricted caller's area to codes, run in threads.
    """
    ts = _tileset(layer)
    check_tile(z, x, y)
    if isinstance(ts, FindingTileset) and ts.source == "hotspots":
        check_cells(cells)
    community, grid = community or None, grid or None  # empty: no selection
    selection = Selection(as_of, community, grid, category or None, start, end, cells)
    response, version = await tile_response(
        store,
        user,
        layer,
        z,
        x,
        y,
        selection,
        # read just before by api.fastpath, in front of the routes (None: not read)
        getattr(request.state, "data_version", None),
        v,
        request.headers.get("if-none-match"),
    )
    request.state.data_version = version  # the version the tile was made at
    return response


async def tile_response(
    store: Store,
    user: Principal,
    layer: str,
    z: int,
    x: int,
    y: int,
    selection: Selection,
    version: int | None = None,
    v: int | None = None,
    if_none_match: str | None = None,
) -> tuple[Response, int]:
    """The answer to a valid tile request (the route's, and :mod:`api.fastpath`'s).

    A kept tile answers when it was made at the current data version. A stored layer's
    tile on PostGIS learns the version from its own statement (see ``_postgis_tile``),
    so a new tile costs one round trip: its query.

    Parameters
    ----------
    store, user
        The store and the caller.
    layer, z, x, y
        A key of :data:`TILESETS` and a tile that exists.
    selection
        The finding tilesets' options.
    version
        The store's data version, if it was read just before (None: not read).
    v
        The data version the URL was made for (lets browsers cache the tile).
    if_none_match
        The request's ``If-None-Match`` header.

    Returns
    -------
    tuple[Response, int]
        The response (200 or 304) and the data version of its tile.

    Raises
    ------
    PermissionDenied
        ``selection`` names a community or grid outside the caller's area.
    """
    ts = TILESETS[layer]
    params: tuple[Any, ...] = ()
    if isinstance(ts, FindingTileset):
        params = selection.key(ts.source)
    # the caller's area is in the key: a tile made for one area is never given to another
    key = (layer, z, x, y, *params, scope_key(user))
    cache = byte_cache(store, "mvt", TILE_CACHE_BYTES)
    kept = cache.newest(key)
    data = kept[1] if kept is not None and version is not None and kept[0] == version else None
    if data is None:
        # made (and the caller's right to it checked) before any 304: an ETag alone
        # never answers for a tile the caller was not given
        area = None
        if not user.district_wide:  # the area's codes may have to be read: in a thread
            area = await run_in_threadpool(
                check_place, store, user, community=selection.community, grid=selection.grid
            )
        parts = _store_parts(ts, z)
        if parts and store.engine.dialect.name == "postgresql":
            known = None if kept is None else int(kept[0])  # type: ignore[call-overload]
            version, data = await _postgis_tile(store, parts, z, x, y, area, known)
            if data is None:  # the kept tile is still the data's
                assert kept is not None
                data = kept[1]
        else:
            if version is None:
                version = await analysis_cache.data_version_async(store)
            if kept is not None and kept[0] == version:
                data = kept[1]
            else:
                data = await render_tile(store, layer, z, x, y, selection, area)
        cache.put(key, data, version)
    assert version is not None
    etag = etag_of((layer, z, x, y, version, *params, scope_key(user)))
    headers = {
        "ETag": etag,
        "Cache-Control": (
            "private, max-age=86400" if v is not None and v == version else "private, no-cache"
        ),
        "Vary": "Authorization, Cookie",
    }
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers), version
    return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers), version


# -- TileJSON ---------------------------------------------------------------------------------


def tile_url(
    base: str,
    layer: str,
    *,
    version: int,
    selection: Selection | None = None,
    tile_key: str | None = None,
) -> str:
    """The ``{z}/{x}/{y}`` URL template of a tileset, with its query parameters.

    ``tile_key``: carried as ``?tile_key=`` (:func:`api.auth.tile_key_for`), so the
    tiles load without the token in any URL and without cookies. A token is never
    written into a URL.
    """
    from urllib.parse import urlencode

    query: dict[str, Any] = {"v": version}
    ts = TILESETS[layer]
    if isinstance(ts, FindingTileset):
        query.update((selection or Selection()).query(ts.source))
    if tile_key:
        query["tile_key"] = tile_key
    return f"{base.rstrip('/')}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?{urlencode(query)}"


def _field_type(values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return "Boolean"
    if isinstance(sample, int | float):
        return "Number"
    return "String"


def _store_bounds(store: Store, layer: str, area: Area | None = None) -> tuple[float, ...] | None:
    import sqlalchemy as sa

    version = analysis_cache.data_version(store)

    def compute() -> tuple[float, ...] | None:
        if area is not None:
            frame = store.read_layer(layer, columns=[])
            frame = area.keep(layer, frame)
            return tuple(float(b) for b in frame.total_bounds) if len(frame) else None
        if store.engine.dialect.name == "postgresql":
            sql = (
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f'(SELECT ST_Extent(geom) AS e FROM "{LAYERS[layer].table}") s'
            )
            with store.engine.connect() as conn:
                row = conn.execute(sa.text(sql)).one()
            return None if row[0] is None else tuple(float(v) for v in row)
        return _store_memory_layer(store, layer).bounds

    return analysis_cache.memo(store, "bounds", (layer, version, area), compute, size=16)


_STORE_FIELD_TYPES = {"int": "Number", "text": "String", "date": "String", "datetime": "String"}


@router.get(
    "/{layer}.json",
    responses={404: {"description": "no such tileset, community or grid"}},
)
def tilejson(
    request: Request,
    store: StoreDep,
    user: TileReaderDep,
    layer: str,
    as_of: AsOf = None,
    community: CommunityQ = None,
    grid: GridQ = None,
    category: CategoryQ = None,
    start: FromQ = None,
    end: ToQ = None,
    cells: CellsQ = "h3:9",
) -> dict[str, Any]:
    """The TileJSON 3.0.0 of a tileset: tile URL, zooms, bounds and its vector layers."""
    ts = _tileset(layer)
    if isinstance(ts, FindingTileset) and ts.source == "hotspots":
        check_cells(cells)
    community, grid = community or None, grid or None  # empty: no selection
    selection = Selection(as_of, community, grid, category or None, start, end, cells)
    area = check_place(store, user, community=community, grid=grid)
    version = analysis_cache.data_version(store)
    vector_layers = []
    bounds: tuple[float, ...] | None = None
    if isinstance(ts, StoreTileset):
        for name, cols, minzoom in zip(ts.layers, ts.columns, ts.minzooms, strict=True):
            spec = LAYERS[name]
            fields = {c: _STORE_FIELD_TYPES[spec.field(c).kind] for c in cols}
            vector_layers.append(
                {"id": name, "fields": fields, "minzoom": minzoom, "maxzoom": MAX_ZOOM}
            )
            found = _store_bounds(store, name, area)
            if found is not None:
                bounds = found if bounds is None else _union(bounds, found)
    else:
        mem = finding_layer(store, ts, selection, area)
        fields = {c: _field_type(v) for c, v in zip(mem.columns, mem.values, strict=True)}
        vector_layers.append(
            {
                "id": ts.name,
                "description": ts.description,
                "fields": fields,
                "minzoom": ts.minzoom,
                "maxzoom": MAX_ZOOM,
            }
        )
        bounds = mem.bounds
    bounds = bounds or (-180.0, -85.0511, 180.0, 85.0511)
    center_zoom = max(ts.minzoom, _fit_zoom(bounds))
    return {
        "tilejson": "3.0.0",
        "name": ts.name,
        "description": ts.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [
            tile_url(
                str(request.base_url),
                layer,
                version=version,
                selection=selection,
                tile_key=tile_key_for(request, user),
            )
        ],
        "minzoom": ts.minzoom,
        "maxzoom": MAX_ZOOM,
        "bounds": [round(b, 6) for b in bounds],
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            center_zoom,
        ],
        "vector_layers": vector_layers,
        "attribution": "gridgeo",
    }


def _union(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _fit_zoom(bounds: tuple[float, ...]) -> int:
    """The largest zoom at which the bounds fit in about 3×2 tiles."""
    width = max(bounds[2] - bounds[0], 1e-9)
    return int(max(0, min(MAX_ZOOM, math.floor(math.log2(360 * 3 / width)))))
