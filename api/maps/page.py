"""A map page: folium's Leaflet map with the service's basemap, overlays and panels.

:class:`MapPage` collects what a page is made of (its overlays, legend and filter
form) and renders it with folium; the panels come from the Jinja templates
``gridgeo/templates/map_*.html.j2``. Each overlay is small enough to be put in the page
as GeoJSON (:mod:`api.maps.inline`), or drawn from the service's vector tiles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from api import tiles
from api.maps import inline
from api.maps.assets import CSS, JS, offline, static_url
from api.maps.layers import LayerDef, Legend
from api.maps.text import TEXT, Lang
from gridgeo.render.templates import render_template, template_source
from gridgeo.store.versions import DataStamp

__all__ = ["POPUP_UNITS", "MapPage", "external_basemap", "overlay_class"]

#: The unit shown after a popup value, by property.
POPUP_UNITS = {"coverage_score": " %"}


@functools.cache
def overlay_class() -> type:
    """Folium's layer class for a layer made by the page's script (``map_layer.js.j2``)."""
    from folium.elements import JSCSSMixin
    from folium.map import Layer
    from folium.template import Template

    class GridgeoLayer(JSCSSMixin, Layer):  # type: ignore[misc]
        """A layer made by the page's own script (static/gridgeo/map.js)."""

        _template = Template(template_source("map_layer.js.j2"))

        def __init__(self, js: str, name: str, *, overlay: bool = True, show: bool = True):
            super().__init__(name=name, overlay=overlay, control=True, show=show)
            self._name = "GridgeoLayer"
            self.js = js

    return GridgeoLayer


def external_basemap(request: Request) -> tuple[str, str] | None:
    """The app settings' ``basemap_url`` and ``basemap_attribution``, or None when unset."""
    settings = request.app.state.settings
    if not settings.basemap_url:
        return None
    return settings.basemap_url, settings.basemap_attribution


@dataclass
class MapPage:
    """What a map page is made of, before folium renders it.

    ``filters`` names the template of the page's filter form, ``form`` its values,
    ``panel_label`` the button that opens it (default: the words for filters).
    """

    request: Request
    lang: Lang
    title: str
    bounds: tuple[float, float, float, float] | None
    version: int
    budget: int = field(default_factory=lambda: inline.INLINE_MAX_BYTES)
    tile_key: str | None = None
    layers: list[Any] = field(default_factory=list)
    legend: list[Legend] = field(default_factory=list)
    filters: str = ""
    form: dict[str, Any] = field(default_factory=dict)
    #: popup row name → options of the row in map.js (``values``, ``text``, ``small``, ``title``)
    popup_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    panel_label: str = ""
    #: the data version the page shows, with its time: the "as of" line under the title
    stamp: DataStamp | None = None

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    def as_of_line(self) -> str:
        """``数据截至 2026-12-04 11:05（版本 123）`` in the page's language ("" without a stamp)."""
        if self.stamp is None:
            return ""
        timezone = self.request.app.state.settings.timezone
        return self.stamp.describe(self.t["data_as_of"], timezone)

    def base(self) -> str:
        """The app's root path, for the service's own URLs."""
        return str(self.request.scope.get("root_path", ""))

    def popup_fields(self, names: list[str]) -> list[list[Any]]:
        """``[property, heading]`` of each popup row, in the page's language.

        A row named in ``popup_options`` or :data:`POPUP_UNITS` has its options third.
        A property ``"a|b"`` is ``a``, or ``b`` where a feature has no ``a`` (map.js).
        """
        out = []
        for name in names:
            prop = name
            if name == "explanation":
                prop = f"explanation_{self.lang}"
            elif name == "pattern_label":
                prop = "label_zh" if self.lang == "zh" else "label"
            first = name.split("|")[0]
            row: list[Any] = [prop, self.t.get(first, first)]
            options = dict(self.popup_options.get(name, {}))
            if first in POPUP_UNITS:
                options["unit"] = POPUP_UNITS[first]
            if options:
                row.append(options)
            out.append(row)
        return out

    def script_layer(
        self, js: str, label: str, *, vector_tiles: bool, cluster: bool = False, **kwargs: Any
    ) -> Any:
        """A layer made by ``js`` with map.js.

        With VectorGrid when it draws vector tiles, MarkerCluster when it clusters points.
        """
        element = overlay_class()(js, label, **kwargs)
        scripts = (("vectorGrid",) if vector_tiles else ()) + (
            ("markerCluster",) if cluster else ()
        )
        styles = ("markerCluster_css", "markerCluster_default_css") if cluster else ()
        offline(element, self.request, scripts, styles)
        element.default_js = [
            *element.default_js,
            ("gridgeo_map", static_url(self.request, "gridgeo/map.js")),
        ]
        return element

    def add_frame(
        self, layer: LayerDef, frame: Any, tile_url: str, minzoom: int, *, canvas: bool = False
    ) -> str:
        """Add a layer inline when it is small, from tiles otherwise; return how."""
        label = self.t.get(layer.name, layer.name)
        popup = self.popup_fields(layer.popup)
        columns = [p for row in popup for p in row[0].split("|")]
        columns.append(layer.spec.get("field") or "code")
        if layer.title_field:
            columns += [layer.title_field, "code"]
        data = inline.geojson(frame, columns, points=bool(layer.spec.get("cluster")))
        where = {"pane": layer.pane, "titleField": layer.title_field}
        size = len(data.encode()) if data is not None else 0
        name = inline.script_json(layer.name)
        if data is not None and size <= self.budget:
            self.budget -= size
            spec = {**layer.spec, "popup": popup, "title": label, **where}
            js = f"gridgeo.geojson({name}, {data}, {inline.script_json(spec)})"
            how = "inline"
        else:
            options = {"popup": popup, "title": label, "minZoom": minzoom, "canvas": canvas,
                       **where}  # fmt: skip
            js = (
                f"gridgeo.tiles({name}, {inline.script_json(tile_url)}, "
                f"{inline.script_json({layer.name: layer.spec})}, {inline.script_json(options)})"
            )
            how = "tiles"
        cluster = how == "inline" and bool(layer.spec.get("cluster"))
        self.layers.append(
            self.script_layer(
                js, label, vector_tiles=how == "tiles", cluster=cluster, show=layer.show
            )
        )
        return how

    def add_labels(self, points: list[dict[str, Any]], grid_zoom: int) -> bool:
        """Name labels as one layer of the switcher (False when over the page's budget).

        ``points`` are ``{lat, lng, text, kind}``, kind ``community`` (shown below
        ``grid_zoom``) or ``grid`` (from it on). Returns False, adding nothing, when they would take the page past its budget.
        """
        data = inline.script_json(points)
        if len(data.encode()) > self.budget:
            return False
        self.budget -= len(data.encode())
        options = inline.script_json({"gridZoom": grid_zoom})
        js = f"gridgeo.labels('labels', {data}, {options})"
        self.layers.append(self.script_layer(js, self.t["labels"], vector_tiles=False))
        return True

    def add_basemaps(self) -> None:
        """The basemaps of the layer switcher (:mod:`api.maps.basemaps`)."""
        from api.maps.basemaps import basemap_layers

        self.layers.extend(basemap_layers(self))

    def render(self) -> str:
        """The page's HTML."""
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
        offline(m, self.request, JS, CSS)
        root = m.get_root()
        head = render_template(
            "map_head.html.j2",
            stylesheet=static_url(self.request, "gridgeo/map.css"),
            title=self.title,
        )
        root.header.add_child(Element(head), name="gridgeo_head")
        for element in self.layers:
            element.add_to(m)
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
        if self.bounds is not None:
            minx, miny, maxx, maxy = self.bounds
            m.fit_bounds([[miny, minx], [maxy, maxx]])
        panels = render_template(
            "map_panels.html.j2",
            title=self.title,
            t=self.t,
            lang=self.lang,
            legend=self.legend,
            filters=self.filters,
            form=self.form,
            panel_label=self.panel_label or self.t["filters"],
            as_of_line=self.as_of_line(),
        )
        root.html.add_child(Element(panels), name="gridgeo_panels")
        html = root.render()
        return html.replace("<html>", f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">', 1)
