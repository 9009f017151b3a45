"""Raster tiles, static map images and the coverage report (HTML, PDF).

Routes
------
``GET /tiles/{layer}/{z}/{x}/{y}.png``
    A 256 px PNG tile drawn with the maps' styling (:mod:`gridgeo.render`):
    ``basemap`` (the maps' offline basemap: communities, grids, buildings and the
    district outline), ``district``, ``communities``, ``grids``, ``buildings``,
    ``problems``, and from the check's results ``grid_coverage``, ``gaps``,
    ``overlaps``, ``unassigned_buildings``... ``?transparent=true|false`` (default:
    transparent except ``basemap``), ``?as_of=`` for result layers.
``GET /maps/static.png``
    A static map (legend, scale bar, north arrow) of ``?community=``, ``?grid=`` or
    ``?bbox=minx,miny,maxx,maxy`` (default: the district), ``?layers=a,b``,
    ``?lang=zh|en``, ``?width=``, ``?height=``.
``GET /reports/coverage`` and ``GET /reports/coverage.pdf``
    The coverage report (:mod:`gridgeo.report`), Chinese unless ``?lang=en``.

Caching works as for the vector tiles (``api/tiles.py``): every response's ETag is
made of its parameters and the store's data version, so a committed write makes new
tiles, maps and reports, never stale ones; ``If-None-Match`` answers 304 before any
drawing. Rendered tiles stay in a memory cache bounded in bytes, reports and maps
in a small LRU. A URL carrying ``?v=<data version>`` may be cached by browsers for
a day; otherwise they revalidate each time (``no-cache``).

Who may see them: the reports depend on :func:`api.auth.reader` (a Bearer header,
``?token=`` or the ``gridgeo_token`` cookie; a report opened with ``?token=`` sets
the cookie), the PNG tiles and static maps on :func:`api.auth.tile_reader` (the same,
or a ``?tile_key=``). A caller restricted to an area gets tiles, maps and reports drawn from
its area only: the store is read through :class:`AreaStore`, which keeps the rows of
the area (and never personal columns), and the check's results through
:meth:`gridgeo.access.Area.keep_findings`; the district's totals become the area's.
Another area's ``community`` or ``grid`` is a 403. The area is part of every cache
key and ETag, so nothing made for one area is served to another.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
import shapely
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api import analysis_cache
from api.auth import (
    REFUSALS,
    ReaderDep,
    TileReaderDep,
    check_place,
    remember_token,
    scope_key,
    tile_reader,
)
from api.state import get_store
from api.tiles import BytesCache, Day, area_results, byte_cache, etag_of, not_modified
from gridgeo import render
from gridgeo.access import Area
from gridgeo.errors import ValidationError
from gridgeo.store import Store

__all__ = ["ROUTE_DEPENDENCIES", "AreaStore", "png_tile", "router"]

#: Dependencies of the tile and static map routes here: a token or a tile key (or the
#: open demo mode), see api/auth.py. The reports take a token only (``ReaderDep``).
ROUTE_DEPENDENCIES: list[Any] = [Depends(tile_reader)]

router = APIRouter(tags=["maps and reports"], responses=REFUSALS)

#: Columns a layer's rows are placed in an area by (see ``Area.keep``).
_PLACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "visits": ("household", "building"),
    "problems": ("household", "building"),
    "meetings": ("grid",),
    "organisations": ("community",),
    "members": ("community",),
    "assignments": ("community", "grid", "building", "household"),
}


class AreaStore:
    """A read-only view of a store that holds only the rows of one area.

    ``read_layer`` keeps the rows :meth:`gridgeo.access.Area.keep` keeps and never
    returns personal columns; everything else is the store's own. The drawing code
    (:mod:`gridgeo.render`, :mod:`gridgeo.report`) reads through it unchanged.
    """

    def __init__(self, store: Store, area: Area) -> None:
        self._store = store
        self._area = area

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_layer(self, layer: str, *, columns: Any = None, **kwargs: Any) -> Any:
        kwargs["include_personal"] = False
        extra = _PLACE_COLUMNS.get(layer, ())
        wanted = None if columns is None else list(columns)
        read = None if wanted is None else list(dict.fromkeys([*wanted, *extra]))
        frame = self._store.read_layer(layer, columns=read, **kwargs)
        frame = self._area.keep(layer, frame)
        if wanted is not None:
            frame = frame.drop(columns=[c for c in extra if c not in wanted], errors="ignore")
        return frame


def _view(store: Store, area: Area | None) -> Any:
    """The store as a caller of ``area`` may read it."""
    return store if area is None else AreaStore(store, area)


def _area_summary(results: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """An area's results with the area's totals where the report has the district's.

    The totals add up the area's grids; the score is their scores weighted by buildings.
    """
    grids = results.get("summary_grids", pd.DataFrame())
    cols = ["buildings", "unassigned", "multi_assigned", "straddling", "gaps", "overlaps"]
    row: dict[str, Any] = {"area": "area"}
    for col in cols:
        row[col] = int(grids[col].sum()) if col in grids.columns and len(grids) else 0
    score = float("nan")
    if len(grids) and {"buildings", "coverage_score"} <= set(grids.columns):
        weights = grids["buildings"].astype(float)
        scores = grids["coverage_score"].astype(float)
        ok = scores.notna() & (weights > 0)
        if ok.any():
            score = round(float((scores[ok] * weights[ok]).sum() / weights[ok].sum()), 1)
    row["coverage_score"] = score
    return {**results, "summary_district": pd.DataFrame([row])}


#: Bytes of PNG tiles kept in memory per store.
PNG_CACHE_BYTES = 64 * 1024 * 1024
#: Static maps and reports kept per store.
DOCUMENTS_KEPT = 16
MAX_ZOOM = 22


def _headers(etag: str, version: int, v: int | None) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": (
            "private, max-age=86400" if v is not None and v == version else "private, no-cache"
        ),
        "X-Data-Version": str(version),
        "Vary": "Authorization, Cookie",
    }


def _cached_response(
    request: Request,
    store: Store,
    key: tuple[Any, ...],
    v: int | None,
    media_type: str,
    make: Callable[[], bytes],
    *,
    cache: BytesCache | None = None,
    kind: str = "documents",
    user_scoped: bool = False,
) -> Response:
    """Answer 304, a cached body or a freshly made one, keyed on the data version.

    ``key`` must hold the caller's area (:func:`api.auth.scope_key`). With
    ``user_scoped`` the caller's right is checked by ``make`` only, so a 304 is given
    only for a body in the cache (made for that key after the check).
    """
    version = analysis_cache.data_version(store)
    full_key = (*key, version, render.STYLE_VERSION)
    etag = etag_of(full_key)
    headers = _headers(etag, version, v)
    if not user_scoped and not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if cache is not None:
        data = cache.get(full_key)
        if data is None:
            data = make()
            cache.put(full_key, data)
    else:
        data = analysis_cache.memo(store, kind, full_key, make, size=DOCUMENTS_KEPT)
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


# -- PNG tiles ---------------------------------------------------------------------------


class _MemoryLayer:
    """A stored layer in memory with its spatial index (embedded store)."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        geoms = frame.geometry.values
        self.tree = shapely.STRtree(geoms)

    def window(self, bbox: tuple[float, float, float, float]) -> Any:
        hits = self.tree.query(shapely.box(*bbox), predicate="intersects")
        hits.sort()
        return self.frame.iloc[hits]


def _tile_frames(
    store: Store,
    layer: str,
    z: int,
    x: int,
    y: int,
    as_of: dt.date | None,
    area: Area | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames a PNG tile is drawn from: near the tile, or the check's results."""
    frames: dict[str, pd.DataFrame] = {}
    bbox = render.tile_bbox(z, x, y)
    postgis = store.engine.dialect.name == "postgresql"
    version = analysis_cache.data_version(store)
    view = _view(store, area)
    for name, columns in render.tile_read_plan(layer, z):
        if postgis:
            frames[name] = view.read_layer(name, bbox=bbox, columns=columns)
        else:
            mem = analysis_cache.memo(
                store,
                f"png-layer-{name}",
                (tuple(columns), version, area),
                lambda name=name, columns=columns: _MemoryLayer(
                    view.read_layer(name, columns=columns)
                ),
            )
            frames[name] = mem.window(bbox)
    if layer in render.RESULT_TILE_LAYERS:
        results = area_results(store, area, as_of)
        source = render.RESULT_TILE_LAYERS[layer]
        if source in results:
            frames[source] = results[source]
    return frames


def png_tile(
    store: Store,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    transparent: bool | None = None,
    as_of: dt.date | None = None,
    area: Area | None = None,
) -> bytes:
    """Draw one PNG tile from the app's store (no HTTP cache; see the route).

    ``area``: only what lies in it (a caller's area).
    """
    frames = _tile_frames(store, layer, z, x, y, as_of, area)
    return render.draw_tile(frames, layer, z, x, y, transparent=transparent)


StoreDep = Annotated[Store, Depends(get_store)]
VersionQ = Annotated[
    int | None, Query(description="data version the URL was made for (lets browsers cache)")
]
AsOfQ = Annotated[
    Day | None, Query(description="date of the check, for result layers (default today)")
]
LangQ = Annotated[str, Query(pattern="^(zh|en)$", description="zh (default) or en")]


def _tile_layer(layer: str) -> None:
    if layer not in render.TILE_LAYERS and layer not in render.RESULT_TILE_LAYERS:
        known = sorted([*render.TILE_LAYERS, *render.RESULT_TILE_LAYERS])
        raise HTTPException(
            404, f"no raster tile layer {layer!r}; the layers are: {', '.join(known)}"
        )


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise HTTPException(400, f"zoom {z} is out of range: use 0 to {MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise HTTPException(
            400, f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {n - 1}"
        )


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.png",
    dependencies=ROUTE_DEPENDENCIES,
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the tile, 256×256 RGBA"},
        304: {"description": "not modified (If-None-Match)"},
        400: {"description": "no such tile"},
        404: {"description": "no such layer"},
    },
)
def tile_png(
    request: Request,
    store: StoreDep,
    user: TileReaderDep,
    layer: str,
    z: Annotated[int, Path(description="zoom")],
    x: Annotated[int, Path(description="column")],
    y: Annotated[int, Path(description="row (XYZ, from the north)")],
    transparent: Annotated[
        bool | None, Query(description="transparent background (default: all but basemap)")
    ] = None,
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """One raster tile, drawn with the maps' styling (for documents and other map clients)."""
    _tile_layer(layer)
    _check_tile(z, x, y)
    day = (
        analysis_cache.resolve_as_of(as_of).isoformat()
        if layer in render.RESULT_TILE_LAYERS
        else None
    )
    key = ("png", layer, z, x, y, transparent, day, scope_key(user))

    def make() -> bytes:
        area = check_place(store, user)
        return png_tile(store, layer, z, x, y, transparent=transparent, as_of=as_of, area=area)

    return _cached_response(
        request,
        store,
        key,
        v,
        "image/png",
        make,
        cache=byte_cache(store, "png", PNG_CACHE_BYTES),
        user_scoped=True,
    )


# -- static maps ---------------------------------------------------------------------------


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationError(f"bbox={text!r}: write it as minx,miny,maxx,maxy (lon/lat)")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -85 <= miny < maxy <= 85):
        raise ValidationError(
            f"bbox={text!r}: longitudes must lie in -180..180 and latitudes in -85..85, "
            "with min < max"
        )
    return values  # type: ignore[return-value]


def _layers(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _needs_results(layers: list[str] | None) -> bool:
    return any(
        name in ("coverage", "grid_coverage") or name in render.RESULT_TILE_LAYERS
        for name in layers or []
    )


@router.get(
    "/maps/static.png",
    dependencies=ROUTE_DEPENDENCIES,
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the map"},
        304: {"description": "not modified (If-None-Match)"},
        404: {"description": "no such community or grid"},
        422: {"description": "bad parameters"},
    },
)
def static_map(
    request: Request,
    store: StoreDep,
    user: TileReaderDep,
    community: Annotated[str | None, Query(description="a community's code")] = None,
    grid: Annotated[str | None, Query(description="a grid's code")] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in lon/lat")] = None,
    layers: Annotated[
        str | None,
        Query(
            description="comma-separated: communities, grids, buildings, problems, "
            "grid_coverage, gaps, overlaps, unassigned_buildings, multi_assigned_buildings, "
            "straddling_buildings, buildings_outside (default communities,grids,buildings)"
        ),
    ] = None,
    lang: LangQ = "zh",
    width: Annotated[int, Query(ge=200, le=4000)] = 1000,
    height: Annotated[int, Query(ge=200, le=4000)] = 700,
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """A static PNG map of a community, a grid or a bbox, with legend and scale bar."""
    community, grid = community or None, grid or None  # empty: no selection
    area = _bbox(bbox)
    names = _layers(layers)
    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user, community=community, grid=grid)
    key = (
        "static",
        community,
        grid,
        area,
        tuple(names or ()),
        lang,
        width,
        height,
        day,
        scope_key(user),
    )

    def make() -> bytes:
        results = area_results(store, mine, day) if _needs_results(names) else None
        return render.static_map(
            _view(store, mine),  # type: ignore[arg-type]
            community=community,
            grid=grid,
            bbox=area,
            layers=names,
            results=results,
            lang=lang,
            width=width,
            height=height,
        )

    return _cached_response(request, store, key, v, "image/png", make, kind="static-maps")


# -- the coverage report -------------------------------------------------------------------


def _report_html(store: Store, lang: str, day: dt.date, area: Area | None = None) -> bytes:
    from gridgeo.report import coverage_report

    version = analysis_cache.data_version(store)

    def make() -> bytes:
        results = area_results(store, area, day)
        if area is not None:
            results = _area_summary(results)
        view = _view(store, area)
        return coverage_report(
            view,  # type: ignore[arg-type]
            results=results,
            as_of=day,
            lang=lang,
        ).encode("utf-8")

    return analysis_cache.memo(
        store, "report-html", ("html", lang, day, version, area), make, size=DOCUMENTS_KEPT
    )


@router.get("/reports/coverage", response_class=HTMLResponse)
def coverage_report(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    lang: LangQ = "zh",
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """The coverage report as one self-contained HTML page (maps inlined).

    A caller restricted to an area gets the report of that area.
    """
    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user)
    response = _cached_response(
        request,
        store,
        ("report", lang, day, scope_key(user)),
        v,
        "text/html; charset=utf-8",
        lambda: _report_html(store, lang, day, mine),
        kind="reports",
    )
    return remember_token(request, response)


@router.get(
    "/reports/coverage.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the report, A4"},
        304: {"description": "not modified (If-None-Match)"},
        500: {"description": "Chromium is not installed (ConfigError)"},
    },
)
def coverage_report_pdf(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    lang: LangQ = "zh",
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """The coverage report as an A4 PDF (printed by headless Chromium)."""
    from gridgeo.report import report_pdf

    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user)

    def make() -> bytes:
        return report_pdf(_report_html(store, lang, day, mine).decode("utf-8"))

    response = _cached_response(
        request,
        store,
        ("report.pdf", lang, day, scope_key(user)),
        v,
        "application/pdf",
        make,
        kind="reports",
    )
    name = f"coverage-report-{day.isoformat()}{'' if lang == 'zh' else '-' + lang}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
