"""Route of the static maps: ``/maps/static.png``.

Routes
------
``GET /maps/static.png``
    A static map (legend, scale bar, north arrow; :func:`gridgeo.render.static_map`) of
    ``?community=``, ``?grid=`` or ``?bbox=minx,miny,maxx,maxy`` (default: the
    district), ``?layers=a,b``, ``?lang=zh|en``, ``?width=``, ``?height=``.

Caching as :mod:`api.tiles.caching` says (``GRIDGEO_DOCUMENTS_KEPT`` maps kept). Who may
see them: a token or a tile key (:func:`api.auth.tile_reader`); a caller restricted to
an area gets maps drawn from its area only, and another area's ``community`` or
``grid`` is a 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api import analysis_cache
from api.auth import REFUSALS, TileReaderDep, check_place, scope_key
from api.dependencies import LangQ, StoreDep, VersionQ, parse_bbox
from api.tiles.areas import area_results, view_of
from api.tiles.caching import cached_response
from api.tiles.png_tiles import ROUTE_DEPENDENCIES, AsOfQ
from gridgeo import render

__all__ = ["router", "static_map"]

router = APIRouter(tags=["maps and reports"], responses=REFUSALS)


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
    area = parse_bbox(bbox)
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
            view_of(store, mine),  # type: ignore[arg-type]
            community=community,
            grid=grid,
            bbox=area,
            layers=names,
            results=results,
            lang=lang,
            width=width,
            height=height,
        )

    return cached_response(request, store, key, v, "image/png", make, kind="static-maps")
