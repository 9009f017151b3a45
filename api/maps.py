"""Interactive Leaflet maps (folium), served offline: ``/maps/coverage``, ``/maps/hotspots``.

Every script, stylesheet, font and icon a page uses is served by this service:
folium's CDN links are replaced by ``/static/vendor/...`` (third-party packages unpacked
there by ``scripts/vendor.sh`` at install time) and ``/static/gridgeo/...`` (ours). The
default basemap is drawn from the data itself (the ``basemap`` vector tiles:
communities, grids, buildings); an external basemap is an option set by
``GRIDGEO_BASEMAP_URL`` (and ``GRIDGEO_BASEMAP_ATTRIBUTION``).

Small layers are put in the page as GeoJSON; any layer above
:data:`INLINE_MAX_FEATURES` features, or that would take the page past its byte
budget, is drawn from the service's vector tiles instead, so a page stays well under
2 MB whatever the size of the city.

Labels are Chinese by default and English with ``?lang=en``.

Who may see them: the pages depend on :func:`api.auth.reader`, so a token comes as
an ``Authorization: Bearer`` header, as ``?token=`` in the URL or as the
``gridgeo_token`` cookie. A browser opens a bookmarked intranet link such as
``/maps/coverage?token=ggt_...``: the page then sets the cookie (``HttpOnly``,
``SameSite=Strict``), which its language link and filter form go on with. The page
itself holds no token: its tile URLs carry a short-lived tile key
(:func:`api.auth.tile_key_for`, ``?tile_key=``) that opens only tiles, TileJSON and
static maps, for the same caller and area, so they load even where cookies are
blocked. Every response says ``Referrer-Policy: no-referrer``. A caller restricted to an area
sees only that area: the district-wide page shows the area's grids, findings and
basemap (its tiles are made for the caller's area, see :mod:`api.tiles`), and
asking for another community or grid is a 403 with the reason. ``/static/...``
stays open: the pages need their scripts before any token is read.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api import analysis_cache, tiles
from api.auth import REFUSALS, ReaderDep, check_place, reader, remember_token, tile_key_for
from api.state import get_store
from gridgeo import render
from gridgeo.access import Area, Principal
from gridgeo.store import Store

__all__ = ["STATIC_DIR", "VENDOR_ASSETS", "coverage_page", "hotspot_page", "router"]

#: Dependencies of the map pages: a token (or the open demo mode), see api/auth.py.
#: The static assets stay open.
ROUTE_DEPENDENCIES: list[Any] = [Depends(reader)]

router = APIRouter(tags=["maps"])

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: folium's asset names → files under /static/vendor/ (packages pinned in scripts/vendor.sh).
VENDOR_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "vectorGrid": "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
}
_JS = ("leaflet", "jquery", "bootstrap", "awesome_markers")
# folium also links bootstrap 3's glyphicons and its own rotate stylesheet; neither is
# used by these pages, so they are left out rather than fetched.
_CSS = ("leaflet_css", "bootstrap_css", "awesome_markers_font_css", "awesome_markers_css")

#: Layers with more features than this are drawn from vector tiles.
INLINE_MAX_FEATURES = 1500
#: Bytes of inline GeoJSON a page may hold in all; beyond it layers go to tiles.
INLINE_MAX_BYTES = 800_000

Lang = Literal["zh", "en"]

# -- labels ------------------------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "coverage_title": "网格覆盖图",
        "hotspots_title": "问题热点图",
        "district": "全区",
        "basemap": "底图（本系统数据）",
        "external_basemap": "外部底图",
        "no_basemap": "无底图",
        "grid_coverage": "网格覆盖率",
        "gaps": "网格缝隙",
        "overlaps": "网格重叠",
        "straddling_buildings": "跨网格楼栋",
        "buildings_outside": "网格外楼栋",
        "unassigned_buildings": "无责任党员楼栋",
        "multi_assigned_buildings": "多人负责楼栋",
        "last_visits": "楼栋最近走访",
        "legend": "图例",
        "findings": "问题",
        "coverage_score": "覆盖率",
        "no_buildings": "无楼栋",
        "never": "从未走访",
        "days": "天",
        "community": "社区",
        "grid": "网格",
        "as_of": "日期",
        "all": "全部",
        "apply": "筛选",
        "other_lang": "English",
        "code": "编号",
        "explanation": "说明",
        "rule": "规则",
        "severity": "级别",
        "buildings": "楼栋数",
        "unassigned": "无人负责",
        "multi_assigned": "多人负责",
        "straddling": "跨网格",
        "area_m2": "面积（平方米）",
        "kind": "类型",
        "grid_a": "网格甲",
        "grid_b": "网格乙",
        "building_id": "楼栋",
        "grid_ids": "所在网格",
        "households": "户数",
        "households_assigned": "已结对户数",
        "n_members": "负责党员数",
        "last_visit": "最近走访",
        "days_since": "距今天数",
        "category": "类别",
        "from": "起",
        "to": "止",
        "cells": "单元",
        "problems": "问题数",
        "density": "问题密度",
        "gi_bin": "热点（Gi*）",
        "lisa": "聚集（LISA）",
        "emerging": "新兴热点",
        "hot": "热点",
        "cold": "冷点",
        "not_significant": "不显著",
        "hotspots_pending": "热点分析模块尚未安装",
        "hotspot_cells": "热点（Gi*）",
        "hotspot_lisa": "聚集（LISA）",
        "hotspot_density": "问题密度",
        "hotspot_emerging": "新兴热点",
        "cell_id": "单元",
        "count": "问题数",
        "gi_z": "Gi* z 值",
        "gi_p": "p 值",
        "lisa_cluster": "聚集类型",
        "lisa_p_sim": "p 值（置换）",
        "level": "等级",
        "density_from": "密度下限（每平方公里）",
        "density_to": "密度上限（每平方公里）",
        "pattern_label": "类型",
        "trend_z": "趋势 z 值",
        "confidence": "置信度",
    },
    "en": {
        "coverage_title": "Grid coverage",
        "hotspots_title": "Problem hotspots",
        "district": "District",
        "basemap": "Basemap (own data)",
        "external_basemap": "External basemap",
        "no_basemap": "No basemap",
        "grid_coverage": "Grid coverage score",
        "gaps": "Gaps between grids",
        "overlaps": "Overlapping grids",
        "straddling_buildings": "Buildings straddling grids",
        "buildings_outside": "Buildings outside grids",
        "unassigned_buildings": "Buildings without a member",
        "multi_assigned_buildings": "Buildings with several members",
        "last_visits": "Last visit of buildings",
        "legend": "Legend",
        "findings": "Findings",
        "coverage_score": "Coverage",
        "no_buildings": "no buildings",
        "never": "never visited",
        "days": "days",
        "community": "Community",
        "grid": "Grid",
        "as_of": "As of",
        "all": "all",
        "apply": "Apply",
        "other_lang": "中文",
        "code": "Code",
        "explanation": "Finding",
        "rule": "Rule",
        "severity": "Severity",
        "buildings": "Buildings",
        "unassigned": "Unassigned",
        "multi_assigned": "Several members",
        "straddling": "Straddling",
        "area_m2": "Area (m²)",
        "kind": "Kind",
        "grid_a": "Grid A",
        "grid_b": "Grid B",
        "building_id": "Building",
        "grid_ids": "Grids",
        "households": "Households",
        "households_assigned": "Households assigned",
        "n_members": "Members",
        "last_visit": "Last visit",
        "days_since": "Days since",
        "category": "Category",
        "from": "From",
        "to": "To",
        "cells": "Cells",
        "problems": "Problems",
        "density": "Problem density",
        "gi_bin": "Hot spots (Gi*)",
        "lisa": "Clusters (LISA)",
        "emerging": "Emerging hot spots",
        "hot": "hot",
        "cold": "cold",
        "not_significant": "not significant",
        "hotspots_pending": "the hotspot analysis is not installed yet",
        "hotspot_cells": "Hot spots (Gi*)",
        "hotspot_lisa": "Clusters (LISA)",
        "hotspot_density": "Problem density",
        "hotspot_emerging": "Emerging hot spots",
        "cell_id": "Cell",
        "count": "Problems",
        "gi_z": "Gi* z",
        "gi_p": "p",
        "lisa_cluster": "Cluster",
        "lisa_p_sim": "p (permutations)",
        "level": "Level",
        "density_from": "Density from (per km²)",
        "density_to": "Density to (per km²)",
        "pattern_label": "Pattern",
        "trend_z": "Trend z",
        "confidence": "confidence",
    },
}

# -- styles ------------------------------------------------------------------------------------

_COVERAGE_CLASSES = [[90, "#d7191c"], [95, "#fdae61"], [99, "#a6d96a"], [None, "#1a9641"]]
_COVERAGE_LEGEND = ["< 90%", "90–95%", "95–99%", "≥ 99%"]
_AGE_CLASSES = [[8, "#1a9641"], [31, "#ffffbf"], [91, "#fdae61"], [None, "#d7191c"]]
_AGE_LEGEND = ["≤ 7", "8–30", "31–90", "> 90"]
_NEVER = "#7b3294"
_GREY = "#bdbdbd"


def _fixed(layer: str) -> dict[str, Any]:
    """A finding layer drawn as the raster tiles and static maps draw it (``render.STYLES``)."""
    style = render.STYLES[layer]
    return {
        "base": {
            "color": style.stroke,
            "weight": style.width,
            "fillColor": style.fill,
            "fillOpacity": style.fill_opacity,
        }
    }


@dataclass
class _LayerDef:
    """One overlay of a coverage or hotspot page."""

    name: str
    spec: dict[str, Any]
    popup: list[str]
    show: bool = True


def _coverage_layers() -> list[_LayerDef]:
    finding = ["code", "explanation", "rule"]
    return [
        _LayerDef(
            "grid_coverage",
            {
                "base": {"color": "#333333", "weight": 1, "fillOpacity": 0.45},
                "field": "coverage_score",
                "classes": _COVERAGE_CLASSES,
                "missing": _GREY,
            },
            [
                "code",
                "community",
                "coverage_score",
                "buildings",
                "unassigned",
                "multi_assigned",
                "straddling",
            ],
        ),
        _LayerDef("gaps", _fixed("gaps"), [*finding, "kind", "area_m2"]),
        _LayerDef("overlaps", _fixed("overlaps"), [*finding, "grid_a", "grid_b"]),
        _LayerDef("straddling_buildings", _fixed("straddling_buildings"), [*finding, "grid_ids"]),
        _LayerDef("buildings_outside", _fixed("buildings_outside"), finding),
        _LayerDef(
            "unassigned_buildings",
            _fixed("unassigned_buildings"),
            [*finding, "households", "households_assigned"],
        ),
        _LayerDef(
            "multi_assigned_buildings", _fixed("multi_assigned_buildings"), [*finding, "n_members"]
        ),
        _LayerDef(
            "last_visits",
            {
                "base": {"color": "#555555", "weight": 0.5, "fillOpacity": 0.8},
                "field": "days_since",
                "classes": _AGE_CLASSES,
                "missing": _NEVER,
            },
            ["building_id", "last_visit", "days_since"],
            show=False,
        ),
    ]


_BASEMAP_STYLES = {
    "communities": {
        "base": {
            "color": "#4d4d4d",
            "weight": 2.5,
            "fill": True,
            "fillColor": "#f7f4ee",
            "fillOpacity": 1.0,
        },
    },
    "grids": {"base": {"color": "#8c8c8c", "weight": 0.8, "fill": False, "dashArray": "3 3"}},
    "buildings": {
        "base": {
            "color": "#a0a0a0",
            "weight": 0.5,
            "fill": True,
            "fillColor": "#d9d9d9",
            "fillOpacity": 1.0,
        },
    },
}

# -- folium elements ----------------------------------------------------------------------------


def _static(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}/static/{path}"


def _offline(element: Any, request: Request, js: tuple[str, ...], css: tuple[str, ...]) -> None:
    """Point an element's assets at this service (instance lists: folium's stay as they are)."""
    element.default_js = [(n, _static(request, "vendor/" + VENDOR_ASSETS[n])) for n in js]
    element.default_css = [(n, _static(request, "vendor/" + VENDOR_ASSETS[n])) for n in css]


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


@functools.cache
def _overlay_class() -> type:
    from folium.elements import JSCSSMixin
    from folium.map import Layer
    from folium.template import Template

    class GridgeoLayer(JSCSSMixin, Layer):  # type: ignore[misc]
        """A layer made by the page's own script (static/gridgeo/map.js)."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = {{ this.js }};
            {% endmacro %}
            """
        )

        def __init__(self, js: str, name: str, *, overlay: bool = True, show: bool = True):
            super().__init__(name=name, overlay=overlay, control=True, show=show)
            self._name = "GridgeoLayer"
            self.js = js

    return GridgeoLayer


@dataclass
class _Page:
    """What a map page is made of, before folium renders it."""

    request: Request
    lang: Lang
    title: str
    bounds: tuple[float, float, float, float] | None
    version: int
    budget: int = INLINE_MAX_BYTES
    tile_key: str | None = None
    layers: list[Any] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    controls: str = ""

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    def base(self) -> str:
        return str(self.request.scope.get("root_path", ""))

    def popup_fields(self, names: list[str]) -> list[list[str]]:
        out = []
        for name in names:
            prop = name
            if name == "explanation":
                prop = f"explanation_{self.lang}"
            elif name == "pattern_label":
                prop = "label_zh" if self.lang == "zh" else "label"
            out.append([prop, self.t.get(name, name)])
        return out

    def add_frame(
        self, layer: _LayerDef, frame: Any, tile_url: str, minzoom: int, *, canvas: bool = False
    ) -> str:
        """Add a layer inline when it is small, from tiles otherwise; return how."""
        cls = _overlay_class()
        label = self.t.get(layer.name, layer.name)
        popup = self.popup_fields(layer.popup)
        data = _geojson(frame, [p for p, _ in popup] + [layer.spec.get("field") or "code"])
        size = len(data.encode()) if data is not None else 0
        if data is not None and size <= self.budget:
            self.budget -= size
            spec = {**layer.spec, "popup": popup, "title": label}
            js = f"gridgeo.geojson({_script_json(layer.name)}, {data}, {_script_json(spec)})"
            how = "inline"
        else:
            options = {"popup": popup, "title": label, "minZoom": minzoom, "canvas": canvas}
            js = (
                f"gridgeo.tiles({_script_json(layer.name)}, {_script_json(tile_url)}, "
                f"{_script_json({layer.name: layer.spec})}, {_script_json(options)})"
            )
            how = "tiles"
        element = cls(js, label, show=layer.show)
        _offline(element, self.request, ("vectorGrid",) if how == "tiles" else (), ())
        element.default_js = [
            *element.default_js,
            ("gridgeo_map", _static(self.request, "gridgeo/map.js")),
        ]
        self.layers.append(element)
        return how

    def add_basemaps(self) -> None:
        cls = _overlay_class()
        url = tiles.tile_url(self.base(), "basemap", version=self.version, tile_key=self.tile_key)
        options = {"minZoom": 0, "canvas": True}
        js = (
            f"gridgeo.tiles('basemap', {_script_json(url)}, {_script_json(_BASEMAP_STYLES)}, "
            f"{_script_json(options)})"
        )
        own = cls(js, self.t["basemap"], overlay=False, show=True)
        _offline(own, self.request, ("vectorGrid",), ())
        own.default_js = [*own.default_js, ("gridgeo_map", _static(self.request, "gridgeo/map.js"))]
        self.layers.append(own)
        external = _external_basemap(self.request)
        if external is not None:
            ext_url, attribution = external
            js = (
                f"L.tileLayer({_script_json(ext_url)}, "
                f"{_script_json({'attribution': attribution, 'maxZoom': 19})})"
            )
            self.layers.append(cls(js, self.t["external_basemap"], overlay=False, show=False))
        self.layers.append(cls("L.layerGroup()", self.t["no_basemap"], overlay=False, show=False))

    def render(self) -> str:
        import folium
        from branca.element import Element

        m = folium.Map(
            location=None if self.bounds else [0, 0],
            zoom_start=2,
            tiles=None,
            prefer_canvas=True,
            control_scale=True,
            max_zoom=tiles.MAX_ZOOM,
        )
        _offline(m, self.request, _JS, _CSS)
        root = m.get_root()
        root.header.add_child(
            Element(f'<link rel="stylesheet" href="{_static(self.request, "gridgeo/map.css")}"/>'),
            name="gridgeo_css",
        )
        root.header.add_child(Element(f"<title>{_escape(self.title)}</title>"), name="title")
        for element in self.layers:
            element.add_to(m)
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
        if self.bounds is not None:
            minx, miny, maxx, maxy = self.bounds
            m.fit_bounds([[miny, minx], [maxy, maxx]])
        root.html.add_child(
            Element(
                f'<div class="gridgeo-panel gridgeo-title">{_escape(self.title)}</div>'
                f'<div class="gridgeo-panel gridgeo-legend"><b>{self.t["legend"]}</b>'
                f"{''.join(self.legend)}</div>"
                f'<form class="gridgeo-panel gridgeo-filters" method="get">{self.controls}</form>'
            ),
            name="gridgeo_panels",
        )
        html = root.render()
        return html.replace("<html>", f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">', 1)


def _escape(text: Any) -> str:
    import html

    return html.escape(str(text), quote=True)


def _geojson(frame: Any, columns: list[str]) -> str | None:
    """A frame as compact GeoJSON text (6 decimals), or None when it is too large."""
    if frame is None or len(frame) > INLINE_MAX_FEATURES:
        return None
    keep = [c for c in dict.fromkeys(columns) if c in frame.columns]
    geoms = shapely.set_precision(np.asarray(frame.geometry.values, dtype=object), 1e-6)
    props = {c: tiles.native_values(frame[c].reset_index(drop=True)) for c in keep}
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        properties = {c: props[c][i] for c in keep if props[c][i] is not None}
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return _script_json({"type": "FeatureCollection", "features": features})


def _legend_block(title: str, rows: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<div><i style="background:{c}"></i>{_escape(label)}</div>' for c, label in rows
    )
    return f"<h4>{_escape(title)}</h4>{items}"


def _external_basemap(request: Request) -> tuple[str, str] | None:
    """The app settings' ``basemap_url`` and ``basemap_attribution``, or None when unset."""
    settings = request.app.state.settings
    if not settings.basemap_url:
        return None
    return settings.basemap_url, settings.basemap_attribution


def _options(values: list[tuple[str, str]], selected: str | None, all_label: str) -> str:
    out = [f'<option value="">{_escape(all_label)}</option>']
    for value, label in values:
        mark = " selected" if value == selected else ""
        out.append(f'<option value="{_escape(value)}"{mark}>{_escape(label)}</option>')
    return "".join(out)


# -- the coverage map ---------------------------------------------------------------------------


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
    results = tiles.area_results(store, mine, day)
    version = analysis_cache.data_version(store)
    area = analysis_cache.area_of(results, community=community, grid=grid)
    grids = results["summary_grids"]
    if area is not None:
        bounds = tuple(float(b) for b in shapely.bounds(area))
    elif len(grids):
        bounds = tuple(float(b) for b in grids.total_bounds)
    else:
        bounds = None
    t = TEXT[lang]
    names = _community_names(store, version)
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
    tile_key = tile_key_for(request, user)
    page = _Page(request, lang, title, bounds, version, tile_key=tile_key)
    page.add_basemaps()
    base = page.base()
    selection = tiles.Selection(as_of=day, community=community, grid=grid)
    for layer in _coverage_layers():
        ts = tiles.FINDING_TILESETS[layer.name]
        frame = results.get(ts.result)
        if frame is None or "geometry" not in frame:
            continue
        frame = tiles.restrict(frame, results, community=community, grid=grid)
        url = tiles.tile_url(
            base, layer.name, version=version, selection=selection, tile_key=tile_key
        )
        page.add_frame(layer, frame, url, ts.minzoom)
    page.legend = [
        _legend_block(
            t["grid_coverage"],
            [
                *(
                    (c, label)
                    for (_, c), label in zip(_COVERAGE_CLASSES, _COVERAGE_LEGEND, strict=True)
                ),
                (_GREY, t["no_buildings"]),
            ],
        ),
        _legend_block(
            t["findings"],
            [
                (layer.spec["base"]["fillColor"], t[layer.name])
                for layer in _coverage_layers()
                if "field" not in layer.spec
            ],
        ),
        _legend_block(
            f"{t['last_visits']}（{t['days']}）"
            if lang == "zh"
            else f"{t['last_visits']} ({t['days']})",
            [
                *((c, label) for (_, c), label in zip(_AGE_CLASSES, _AGE_LEGEND, strict=True)),
                (_NEVER, t["never"]),
            ],
        ),
    ]
    communities = sorted(set(grids["community"].dropna().astype(str))) if len(grids) else []
    if mine is not None:
        communities = [c for c in communities if c in mine.communities]
    in_scope = grids if community is None else grids[grids["community"].astype(str) == community]
    page.controls = (
        f'<label>{t["community"]} <select name="community">'
        f"{_options([(c, names.get(c, c)) for c in communities], community, t['all'])}</select></label>"
        f'<label>{t["grid"]} <select name="grid">'
        f"{_options([(g, g) for g in sorted(in_scope['code'].astype(str))], grid, t['all'])}"
        "</select></label>"
        f'<label>{t["as_of"]} <input type="date" name="as_of" value="{day.isoformat()}"/></label>'
        f'<input type="hidden" name="lang" value="{lang}"/>'
        f'<button type="submit">{t["apply"]}</button> '
        f'<a href="?{_query(community=community, grid=grid, as_of=as_of, lang=_other(lang))}">'
        f"{t['other_lang']}</a>"
    )
    return page.render()


def _single_community(area: Area | None) -> str | None:
    """The community an area is, when it is exactly one community (for its score)."""
    if area is None or len(area.communities) != 1:
        return None
    (community,) = area.communities
    return community if area.visible_communities == area.communities else None


def _page_response(request: Request, html: str) -> HTMLResponse:
    response = HTMLResponse(
        html, headers={"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    )
    remember_token(request, response)
    return response


def _other(lang: Lang) -> str:
    return "en" if lang == "zh" else "zh"


def _query(**params: Any) -> str:
    from urllib.parse import urlencode

    return _escape(urlencode({k: str(v) for k, v in params.items() if v is not None}))


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


def _community_names(store: Store, version: int) -> dict[str, str]:
    def read() -> dict[str, str]:
        frame = store.read_layer("communities", columns=["name"])
        return {
            str(c): str(n) if isinstance(n, str) and n else str(c)
            for c, n in zip(frame["code"], frame["name"], strict=True)
        }

    return analysis_cache.memo(store, "community-names", version, read)


StoreDep = Annotated[Store, Depends(get_store)]
LangQ = Annotated[Lang, Query(description="labels: zh (default) or en")]


@router.get(
    "/maps/coverage",
    response_class=HTMLResponse,
    dependencies=ROUTE_DEPENDENCIES,
    responses={404: {"description": "no such community or grid"}, **REFUSALS},
)
def coverage(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    community: Annotated[str | None, Query(description="community code")] = None,
    grid: Annotated[str | None, Query(description="grid code")] = None,
    as_of: tiles.AsOf = None,
    lang: LangQ = "zh",
) -> HTMLResponse:
    """Coverage map: grids by coverage score, gaps, overlaps and building findings."""
    html = coverage_page(
        request,
        store,
        community=community or None,
        grid=grid or None,
        as_of=as_of,
        lang=lang,
        user=user,
    )
    return _page_response(request, html)


# -- the hotspot map ----------------------------------------------------------------------------


_GI_CLASSES = [
    [3, "#b2182b"],
    [2, "#ef8a62"],
    [1, "#fddbc7"],
    [0, "#f7f7f7"],
    [-1, "#d1e5f0"],
    [-2, "#67a9cf"],
    [-3, "#2166ac"],
]
_LISA_CLASSES = [
    ["HH", "#d7191c"],
    ["HL", "#fdae61"],
    ["LH", "#abd9e9"],
    ["LL", "#2c7bb6"],
    ["not significant", "#eeeeee"],
]
_DENSITY_COLOURS = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"]
_HOT = {
    "new": "#fcbba1",
    "consecutive": "#fc9272",
    "intensifying": "#a50f15",
    "persistent": "#de2d26",
    "diminishing": "#fb6a4a",
    "sporadic": "#fdd0a2",
    "oscillating": "#f16913",
    "historical": "#bdbdbd",
}
_COLD = {
    "new": "#c6dbef",
    "consecutive": "#9ecae1",
    "intensifying": "#08519c",
    "persistent": "#3182bd",
    "diminishing": "#6baed6",
    "sporadic": "#deebf7",
    "oscillating": "#4292c6",
    "historical": "#d9d9d9",
}


def _hotspot_layers() -> list[_LayerDef]:
    cell = {"color": "#666666", "weight": 0.5, "fillOpacity": 0.65}
    emerging = [[f"{p} hot spot", c] for p, c in _HOT.items()]
    emerging += [[f"{p} cold spot", c] for p, c in _COLD.items()]
    return [
        _LayerDef(
            "hotspot_cells",
            {"base": cell, "field": "gi_bin", "classes": _GI_CLASSES, "categorical": True},
            ["cell_id", "count", "gi_z", "gi_p", "gi_bin"],
        ),
        _LayerDef(
            "hotspot_lisa",
            {"base": cell, "field": "lisa_cluster", "classes": _LISA_CLASSES, "categorical": True},
            ["cell_id", "count", "lisa_cluster", "lisa_p_sim"],
            show=False,
        ),
        _LayerDef(
            "hotspot_density",
            {
                "base": {"color": "#a50f15", "weight": 0.5, "fillOpacity": 0.5},
                "field": "level",
                "classes": [[i + 2, c] for i, c in enumerate(_DENSITY_COLOURS[:-1])]
                + [[None, _DENSITY_COLOURS[-1]]],
            },
            ["level", "density_from", "density_to"],
            show=False,
        ),
        _LayerDef(
            "hotspot_emerging",
            {
                "base": cell,
                "field": "label",
                "classes": emerging,
                "categorical": True,
                "missing": "#ffffff00",
            },
            ["cell_id", "count", "pattern_label", "trend_z"],
            show=False,
        ),
    ]


def _categories(store: Store, version: int, area: Area | None = None) -> list[str]:
    def read() -> list[str]:
        frame = store.read_layer("problems", columns=["category", "household", "building"])
        if area is not None:
            frame = area.keep("problems", frame)
        return sorted(set(frame["category"].dropna().astype(str)))

    return analysis_cache.memo(store, "problem-categories", (version, area), read)


CELL_CHOICES = ("h3:8", "h3:9", "h3:10", "square:250", "square:500")


def hotspot_page(
    request: Request,
    store: Store,
    *,
    category: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    cells: str = "h3:9",
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
        ``h3:RES`` hexagons or ``square:METRES`` squares.
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
    version = analysis_cache.data_version(store)
    cells_frame = layers.get("cells")
    bounds = None
    if cells_frame is not None and len(cells_frame):
        bounds = tuple(float(b) for b in cells_frame.total_bounds)
    period = " – ".join(str(d) for d in (start, end) if d is not None)
    title = " · ".join(x for x in (t["hotspots_title"], category or t["all"], period) if x)
    tile_key = tile_key_for(request, user)
    page = _Page(request, lang, title, bounds, version, tile_key=tile_key)
    page.add_basemaps()
    for layer in _hotspot_layers():
        ts = tiles.FINDING_TILESETS[layer.name]
        frame = layers.get(ts.result)
        if frame is None or "geometry" not in frame:
            continue
        url = tiles.tile_url(
            page.base(), layer.name, version=version, selection=selection, tile_key=tile_key
        )
        page.add_frame(layer, frame, url, ts.minzoom)
    confidence = ["99%", "95%", "90%"]
    page.legend = [
        _legend_block(
            t["hotspot_cells"],
            [(c, f"{t['hot']} {confidence[3 - v]}") for v, c in _GI_CLASSES[:3]]
            + [(_GI_CLASSES[3][1], t["not_significant"])]
            + [(c, f"{t['cold']} {confidence[3 + v]}") for v, c in _GI_CLASSES[4:]],
        ),
        _legend_block(
            t["hotspot_lisa"],
            [(c, t["not_significant"] if v == "not significant" else v) for v, c in _LISA_CLASSES],
        ),
        _legend_block(
            t["hotspot_emerging"],
            [
                (c, (_pattern_zh(p) + "热点") if lang == "zh" else f"{p} hot spot")
                for p, c in _HOT.items()
            ]
            + [
                (c, (_pattern_zh(p) + "冷点") if lang == "zh" else f"{p} cold spot")
                for p, c in _COLD.items()
            ],
        ),
    ]
    page.controls = (
        f'<label>{t["category"]} <select name="category">'
        f"{_options([(c, c) for c in _categories(store, version, mine)], category, t['all'])}"
        "</select></label>"
        f'<label>{t["from"]} <input type="date" name="from" value="{start or ""}"/></label>'
        f'<label>{t["to"]} <input type="date" name="to" value="{end or ""}"/></label>'
        f'<label>{t["cells"]} <select name="cells">'
        + "".join(
            f'<option value="{c}"{" selected" if c == cells else ""}>{c}</option>'
            for c in dict.fromkeys((*CELL_CHOICES, cells))
        )
        + "</select></label>"
        f'<input type="hidden" name="lang" value="{lang}"/>'
        f"{t['other_lang']}</a>"
    )
    return page.render()


def _pattern_zh(pattern: str) -> str:
    from gridgeo.analysis.hotspots import PATTERNS

    return PATTERNS.get(pattern, pattern)


@router.get(
    "/maps/hotspots",
    response_class=HTMLResponse,
    dependencies=ROUTE_DEPENDENCIES,
    responses=REFUSALS,
)
def hotspots(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    category: Annotated[str | None, Query(description="problem category")] = None,
    start: tiles.FromQ = None,
    end: tiles.ToQ = None,
    cells: Annotated[str, Query(description="cells: h3:RES or square:METRES")] = "h3:9",
    lang: LangQ = "zh",
) -> HTMLResponse:
    """Hotspot map of problems by category and period."""
    html = hotspot_page(
        request, store, category=category, start=start, end=end, cells=cells, lang=lang, user=user
    )
    return _page_response(request, html)


# -- static files ------------------------------------------------------------------------------

_static_files = StaticFiles(directory=STATIC_DIR, check_dir=False)


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str, request: Request) -> Response:
    """The pages' scripts, stylesheets, fonts and images (ETag, 304, a week's cache)."""
    response = await _static_files.get_response(path, request.scope)
    if response.status_code in (200, 304):
        response.headers["Cache-Control"] = "public, max-age=604800"
    return response
