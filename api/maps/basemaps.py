"""The map pages' basemaps, as the layer switcher offers them.

- the service's own basemap (vector tiles of the district's communities, grids and
  buildings), shown unless a basemap file is set;
- the basemap file (``GRIDGEO_BASEMAP_FILE``, served at ``/basemaps/file/...``), shown
  when set: raster tiles with Leaflet's own tile layer, vector (MVT) tiles with
  Leaflet.VectorGrid;
- 天地图 vector and imagery, each with its labels (``GRIDGEO_TIANDITU_KEY``), and AMap
  re-projected to WGS-84 (``GRIDGEO_AMAP=1``), all through the service's
  ``/basemaps/...`` proxy: no key is in the page;
- the external tile URL (``GRIDGEO_BASEMAP_URL``), loaded by the browser itself;
- no basemap.

Every URL the page gets for them carries the page's tile key, as the service's own
tiles do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from api import basemaps, tiles
from api.maps import inline
from api.maps.layers import BASEMAP_STYLES

if TYPE_CHECKING:
    from api.maps.page import MapPage

__all__ = ["FILE_VECTOR_STYLE", "TIANDITU_ATTRIBUTION", "AMAP_ATTRIBUTION", "basemap_layers"]

TIANDITU_ATTRIBUTION = "© 天地图 Tianditu (国家地理信息公共服务平台)"
AMAP_ATTRIBUTION = "© 高德地图 AutoNavi"
#: How each layer of a vector basemap file is drawn.
FILE_VECTOR_STYLE = {"base": {"color": "#8a8a8a", "weight": 1, "fill": True,
                              "fillColor": "#e8e4da", "fillOpacity": 0.6}}  # fmt: skip
#: The deepest zoom the providers draw; Leaflet scales their tiles beyond it.
PROVIDER_MAX_ZOOM = 18


def _url(page: MapPage, path: str) -> str:
    query = urlencode({"tile_key": page.tile_key}) if page.tile_key else ""
    return f"{page.base()}/basemaps/{path}" + (f"?{query}" if query else "")


def _raster(name: str, urls: list[str], attribution: str, max_native: int) -> str:
    options = {"attribution": attribution, "maxNativeZoom": max_native}
    return f"gridgeo.raster({inline.script_json(name)}, {inline.script_json(urls)}, " \
           f"{inline.script_json(options)})"  # fmt: skip


def _file_layer(page: MapPage) -> tuple[str, bool] | None:
    """The basemap file's layer script and whether it needs VectorGrid (None: no file)."""
    opened = basemaps.basemap_file(page.request)
    if opened is None:
        return None
    settings = page.request.app.state.settings
    attribution = settings.basemap_file_attribution or opened.attribution
    url = _url(page, "file/{z}/{x}/{y}")
    if not opened.vector:
        return _raster("basemap_file", [url], attribution, opened.maxzoom), False
    specs = {name: FILE_VECTOR_STYLE for name in opened.vector_layers}
    options = {"minZoom": 0, "canvas": True, "attribution": attribution,
               "maxNativeZoom": opened.maxzoom}  # fmt: skip
    js = (
        f"gridgeo.tiles('basemap_file', {inline.script_json(url)}, "
        f"{inline.script_json(specs)}, {inline.script_json(options)})"
    )
    return js, True


def _providers(page: MapPage) -> list[tuple[str, str]]:
    """(label, script) of Tianditu's two maps and AMap, as the settings offer them."""
    settings = page.request.app.state.settings
    out = []
    if settings.tianditu_key is not None:
        for name, layers in (("tianditu_vector", ("vec_w", "cva_w")),
                             ("tianditu_imagery", ("img_w", "cia_w"))):  # fmt: skip
            urls = [_url(page, f"tianditu/{layer}/{{z}}/{{x}}/{{y}}") for layer in layers]
            out.append((name, _raster(name, urls, TIANDITU_ATTRIBUTION, PROVIDER_MAX_ZOOM)))
    if settings.amap:
        url = _url(page, "amap/{z}/{x}/{y}.png")
        out.append(("amap", _raster("amap", [url], AMAP_ATTRIBUTION, PROVIDER_MAX_ZOOM)))
    return out


def basemap_layers(page: MapPage) -> list[Any]:
    """The page's basemap layers, in the switcher's order; the first one shown is shown."""
    from api.maps.page import external_basemap, overlay_class

    cls = overlay_class()
    file_layer = _file_layer(page)
    url = tiles.tile_url(page.base(), "basemap", version=page.version, tile_key=page.tile_key)
    options = {"minZoom": 0, "canvas": True}
    js = (
        f"gridgeo.tiles('basemap', {inline.script_json(url)}, "
        f"{inline.script_json(BASEMAP_STYLES)}, {inline.script_json(options)})"
    )
    out = [page.script_layer(js, page.t["basemap"], vector_tiles=True, overlay=False,
                             show=file_layer is None)]  # fmt: skip
    if file_layer is not None:
        js, vector = file_layer
        out.append(page.script_layer(js, page.t["basemap_file"], vector_tiles=vector,
                                     overlay=False, show=True))  # fmt: skip
    for name, js in _providers(page):
        out.append(page.script_layer(js, page.t[name], vector_tiles=False, overlay=False,
                                     show=False))  # fmt: skip
    external = external_basemap(page.request)
    if external is not None:
        options = {"attribution": external[1], "maxZoom": 19}
        js = f"L.tileLayer({inline.script_json(external[0])}, {inline.script_json(options)})"
        out.append(cls(js, page.t["external_basemap"], overlay=False, show=False))
    out.append(cls("L.layerGroup()", page.t["no_basemap"], overlay=False, show=False))
    return out
