"""The hotspot map, ``/maps/hotspots``: Gi* bins, LISA clusters, density, emerging hot spots."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import analysis_cache, tiles
from api.auth import REFUSALS, ReaderDep, check_place, tile_key_for
from api.maps.cache import PageStoreDep, cached_page_response
from api.maps.layers import gi_words, hotspot_layers, hotspot_legend, lisa_words
from api.maps.page import MapPage
from api.maps.responses import ROUTE_DEPENDENCIES, page_query
from api.maps.text import TEXT, Lang, LangQ, other_lang
from gridgeo.access import Area, Principal
from gridgeo.schema.columns import PROBLEM_STATUSES
from gridgeo.store import Store

__all__ = [
    "CELL_CHOICES",
    "cells_words",
    "hotspot_page",
    "hotspots",
    "problem_categories",
    "router",
]

router = APIRouter()

#: The cells offered by the page's form (the page's own choice is added when other).
CELL_CHOICES = ("auto", "h3:8", "h3:9", "h3:10", "square:250", "square:500")


def problem_categories(store: Store, version: int, area: Area | None = None) -> list[str]:
    """The problems' categories (of those in ``area``), per data version."""

    def read() -> list[str]:
        frame = store.read_layer("problems", columns=["category", "household", "building"])
        if area is not None:
            frame = area.keep("problems", frame)
        return sorted(set(frame["category"].dropna().astype(str)))

    return analysis_cache.memo(store, "problem-categories", (version, area), read)


def cells_words(spec: str, t: dict[str, str], where: tuple[float, float] | None) -> str:
    """Cells in words, e.g. ``六边形格网，边长约 66 米`` (the size where the map is)."""
    from gridgeo.analysis.hotspots.resolution import cell_size_m, is_auto

    if is_auto(spec):
        return t["cells_auto"]
    kind = spec.strip().lower().partition(":")[0]
    side = cell_size_m(spec, *where) if where is not None else None
    if side is None:
        return t["cells_grids"] if kind == "grids" else spec
    return t["cells_hexagons" if kind == "h3" else "cells_squares"].format(side=f"{side:,.0f}")


def hotspot_page(
    request: Request,
    store: Store,
    *,
    category: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    cells: str = "auto",
    lang: Lang = "zh",
    user: Principal | None = None,
) -> str:
    """The hotspot map's HTML: Gi* bins, LISA clusters, density and emerging hot spots.

    Parameters
    ----------
    request
        The request (for the service's own URLs).
    store
        The store whose problems are analysed.
    category
        Only problems of this category (default: all).
    start, end
        Only problems reported in this period (days included).
    cells
        ``auto`` (chosen from the problems:
        :func:`~gridgeo.analysis.hotspots.resolution.auto_cells`), ``h3:RES`` hexagons
        or ``square:METRES`` squares.
    lang
        ``zh`` (default) or ``en``.
    user
        The caller: for a caller restricted to an area, the hot spots of the problems
        in it, over its grids (None: the district).

    Returns
    -------
    str
        A self-contained page that loads only from this service.
    """
    t = TEXT[lang]
    tiles.check_cells(cells)
    selection = tiles.Selection(category=category, start=start, end=end, cells=cells)
    mine = check_place(store, user) if user else None
    layers = tiles.area_hotspots(store, mine, **selection.hotspot_params())
    stamp = analysis_cache.data_stamp(store)
    version = stamp.version
    cells_frame = layers.get("cells")
    bounds = None
    if cells_frame is not None and len(cells_frame):
        bounds = tuple(float(b) for b in cells_frame.total_bounds)
    period = " – ".join(str(d) for d in (start, end) if d is not None)
    title = " · ".join(x for x in (t["hotspots_title"], category or t["all"], period) if x)
    tile_key = tile_key_for(request, user)
    page = MapPage(request, lang, title, bounds, version, tile_key=tile_key, stamp=stamp)
    page.add_basemaps()
    where = None if bounds is None else ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    used = str(cells_frame.attrs.get("cells", cells)) if cells_frame is not None else cells
    size = cells_words(used, t, where)
    page.popup_options = _popup_options(t, size)
    _add_layers(page, layers, selection, tile_key)
    page.legend = hotspot_legend(t, lang, size)
    page.filters = "hotspot_filters.html.j2"
    page.form = _form(store, version, mine, category, start, end, cells, lang)
    page.form["cell_choices"] = _cell_choices(page.form["cell_choices"], cells, size, t, where)
    return page.render()


def _add_layers(
    page: MapPage, layers: dict[str, Any], selection: tiles.Selection, tile_key: str | None
) -> None:
    """The hotspot overlays, inline or from tiles."""
    for layer in hotspot_layers():
        ts = tiles.FINDING_TILESETS[layer.name]
        frame = layers.get(ts.result)
        if frame is None or "geometry" not in frame:
            continue
        url = tiles.tile_url(
            page.base(), layer.name, version=page.version, selection=selection, tile_key=tile_key
        )
        page.add_frame(layer, frame, url, ts.minzoom)


def _cell_choices(
    choices: list[str],
    cells: str,
    size: str,
    t: dict[str, str],
    where: tuple[float, float] | None,
) -> list[tuple[str, str]]:
    """The form's cells in words; ``auto``, when chosen, with the size it chose."""
    return [
        (c, f"{t['cells_auto']} · {size}" if c == "auto" == cells else cells_words(c, t, where))
        for c in choices
    ]


def _popup_options(t: dict[str, str], size: str) -> dict[str, dict[str, Any]]:
    """The hotspot popups' rows in words: bins, clusters, the cell's size and place."""
    return {
        "gi_bin": {"values": gi_words(t)},
        "lisa_cluster": {"values": lisa_words(t)},
        "cell_size": {"text": size},
        "cell_id": {"small": True},
        "grid_name": {"title": True},
        "community_name": {"title": True},
        "status": {"values": {s: t[f"status_{s}"] for s in PROBLEM_STATUSES}},
    }


def _form(
    store: Store,
    version: int,
    mine: Area | None,
    category: str | None,
    start: dt.date | None,
    end: dt.date | None,
    cells: str,
    lang: Lang,
) -> dict[str, Any]:
    """The filter form's choices and values (``hotspot_filters.html.j2``)."""
    return {
        "categories": [(c, c) for c in problem_categories(store, version, mine)],
        "category": category,
        "start": start or "",
        "end": end or "",
        "cell_choices": list(dict.fromkeys((*CELL_CHOICES, cells))),
        "cells": cells,
        "other_lang_query": page_query(
            category=category, **{"from": start, "to": end}, cells=cells, lang=other_lang(lang)
        ),
    }


@router.get(
    "/maps/hotspots",
    response_class=HTMLResponse,
    dependencies=ROUTE_DEPENDENCIES,
    responses=REFUSALS,
)
async def hotspots(
    request: Request,
    store: PageStoreDep,
    user: ReaderDep,
    category: Annotated[str | None, Query(description="problem category")] = None,
    start: tiles.FromQ = None,
    end: tiles.ToQ = None,
    cells: Annotated[
        str,
        Query(description="cells: auto (chosen from the problems), h3:RES or square:METRES"),
    ] = "auto",
    lang: LangQ = "zh",
) -> HTMLResponse:
    """Hotspot map of problems by category and period."""
    options = {"category": category, "start": start, "end": end, "cells": cells, "lang": lang}

    def make() -> str:
        return hotspot_page(request, store, user=user, **options)

    return await cached_page_response(request, store, user, "hotspots", options, make)
