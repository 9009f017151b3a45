"""The coverage map, ``/maps/coverage``: grids by coverage score, gaps, overlaps, building findings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import analysis_cache, tiles
from api.auth import REFUSALS, ReaderDep, check_place, tile_key_for
from api.maps.cache import PageStoreDep, cached_page_response
from api.maps.labels import grid_zoom, label_points, layer_names
from api.maps.layers import coverage_layers, coverage_legend
from api.maps.page import MapPage
from api.maps.responses import ROUTE_DEPENDENCIES, page_query
from api.maps.text import TEXT, Lang, LangQ, other_lang
from gridgeo.access import Area, Principal
from gridgeo.check.output import with_names
from gridgeo.store import Store

__all__ = ["community_names", "coverage", "coverage_page", "router"]

router = APIRouter()


def coverage_page(
    request: Request,
    store: Store,
    *,
    community: str | None = None,
    grid: str | None = None,
    as_of: dt.date | None = None,
    lang: Lang = "zh",
    user: Principal | None = None,
) -> str:
    """The coverage map's HTML.

    Parameters
    ----------
    request
        The request (for the service's own URLs).
    store
        The store to check.
    community, grid
        Keep one community or one grid (codes).
    as_of
        The check's date (default today).
    lang
        ``zh`` (default) or ``en``.
    user
        The caller: a caller restricted to an area sees only it (None: the district).

    Returns
    -------
    str
        A self-contained page that loads only from this service.

    Raises
    ------
    PermissionDenied
        ``community`` or ``grid`` is outside the caller's area.
    """
    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user, community=community, grid=grid) if user else None
    done = analysis_cache.checked(store, day)  # the results and the version they are of
    results = tiles.area_results(store, mine, day, done)
    version = done.stamp.version
    area = analysis_cache.area_of(results, community=community, grid=grid)
    grids = results["summary_grids"]
    if area is not None:
        bounds = tuple(float(b) for b in shapely.bounds(area))
    elif len(grids):
        bounds = tuple(float(b) for b in grids.total_bounds)
    else:
        bounds = None
    names = community_names(store, version)
    title = _title(results, names, mine, user, community, grid, lang)
    tile_key = tile_key_for(request, user)
    page = MapPage(request, lang, title, bounds, version, tile_key=tile_key, stamp=done.stamp)
    page.add_basemaps()
    selection = tiles.Selection(as_of=day, community=community, grid=grid)
    for layer in coverage_layers():
        ts = tiles.FINDING_TILESETS[layer.name]
        frame = results.get(ts.result)
        if frame is None or "geometry" not in frame:
            continue
        frame = tiles.restrict(frame, results, community=community, grid=grid)
        if layer.name == "grid_coverage":
            frame = _named(frame, layer_names(store, "grids", version), names)
        if layer.name == "multi_assigned_buildings" and user is not None and user.may_see_personal:
            members = {"members": layer_names(store, "members", version)}
            frame = with_names({layer.name: frame}, members)[layer.name]
        url = tiles.tile_url(
            page.base(), layer.name, version=version, selection=selection, tile_key=tile_key
        )
        page.add_frame(layer, frame, url, ts.minzoom)
    page.add_labels(label_points(store, version, grids), grid_zoom(grids))
    page.legend = coverage_legend(TEXT[lang], lang)
    page.filters = "coverage_filters.html.j2"
    page.form = _form(grids, names, mine, community, grid, day, as_of, lang)
    return page.render()


def _named(grids: Any, grid_names: dict[str, str], names: dict[str, str]) -> Any:
    """The grids with their ``name`` and their community's name (``community_name``)."""
    codes = grids["code"].astype(str)
    community = grids["community"]
    return grids.assign(
        name=[grid_names.get(c, c) for c in codes],
        community_name=[None if pd.isna(c) else names.get(str(c), str(c)) for c in community],
    )


def _title(
    results: dict[str, pd.DataFrame],
    names: dict[str, str],
    mine: Area | None,
    user: Principal | None,
    community: str | None,
    grid: str | None,
    lang: Lang,
) -> str:
    """The page's title: the place shown and, where there is one, its coverage score."""
    t = TEXT[lang]
    where = t["district"]
    own = _single_community(mine)
    if community is not None:
        where = names.get(community, community)
    elif mine is not None:
        where = " · ".join(
            [names.get(c, c) for c in sorted(mine.communities)]
            + [g for g in sorted(set(user.grids if user else ()))]
        )
    if grid is not None:
        where = f"{where} · {grid}"
    score = _score(results, community or (own if grid is None else None), grid)
    title = f"{t['coverage_title']} · {where}"
    if score is not None:
        title += f" · {t['coverage_score']} {score:.1f}%"
    return title


def _form(
    grids: pd.DataFrame,
    names: dict[str, str],
    mine: Area | None,
    community: str | None,
    grid: str | None,
    day: dt.date,
    as_of: dt.date | None,
    lang: Lang,
) -> dict[str, Any]:
    """The filter form's choices and values (``coverage_filters.html.j2``)."""
    communities = sorted(set(grids["community"].dropna().astype(str))) if len(grids) else []
    if mine is not None:
        communities = [c for c in communities if c in mine.communities]
    in_scope = grids if community is None else grids[grids["community"].astype(str) == community]
    return {
        "communities": [(c, names.get(c, c)) for c in communities],
        "community": community,
        "grids": [(g, g) for g in sorted(in_scope["code"].astype(str))],
        "grid": grid,
        "as_of": day.isoformat(),
        "other_lang_query": page_query(
            community=community, grid=grid, as_of=as_of, lang=other_lang(lang)
        ),
    }


def _single_community(area: Area | None) -> str | None:
    """The community an area is, when it is exactly one community (for its score)."""
    if area is None or len(area.communities) != 1:
        return None
    (community,) = area.communities
    return community if area.visible_communities == area.communities else None


def _score(
    results: dict[str, pd.DataFrame], community: str | None, grid: str | None
) -> float | None:
    if grid is not None:
        table = results["summary_grids"]
        row = table[table["code"].astype(str) == grid]
    elif community is not None:
        table = results.get("summary_communities", pd.DataFrame())
        row = table[table["community"].astype(str) == community] if len(table) else table
    else:
        row = results.get("summary_district", pd.DataFrame())
    if not len(row) or "coverage_score" not in row:
        return None
    value = row["coverage_score"].iloc[0]
    return None if pd.isna(value) else float(value)


def community_names(store: Store, version: int) -> dict[str, str]:
    """Community code → name (the code where a community has no name), per data version."""
    return layer_names(store, "communities", version)


@router.get(
    "/maps/coverage",
    response_class=HTMLResponse,
    dependencies=ROUTE_DEPENDENCIES,
    responses={404: {"description": "no such community or grid"}, **REFUSALS},
)
async def coverage(
    request: Request,
    store: PageStoreDep,
    user: ReaderDep,
    community: Annotated[str | None, Query(description="community code")] = None,
    grid: Annotated[str | None, Query(description="grid code")] = None,
    as_of: tiles.AsOf = None,
    lang: LangQ = "zh",
) -> HTMLResponse:
    """Coverage map: grids by coverage score, gaps, overlaps and building findings."""
    community, grid = community or None, grid or None
    day = analysis_cache.resolve_as_of(as_of)
    options = {"community": community, "grid": grid, "as_of": as_of, "day": day, "lang": lang}
    return await cached_page_response(
        request,
        store,
        user,
        "coverage",
        options,
        lambda: coverage_page(
            request, store, community=community, grid=grid, as_of=as_of, lang=lang, user=user
        ),
    )
