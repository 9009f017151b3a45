"""Drawing maps without a browser: raster tiles and static map images.

Everything draws in Web Mercator (EPSG:3857) from frames in EPSG:4326, one job per
module:

- :mod:`~gridgeo.render.styles`: the layers' colours (:data:`STYLES`), the coverage
  classes and :func:`coverage_color`, shared with the Leaflet pages;
- :mod:`~gridgeo.render.projection`: tile and Web Mercator maths (mercantile);
- :mod:`~gridgeo.render.geometry`: polygon rings to draw, the district's outline;
- :mod:`~gridgeo.render.raster` and :mod:`~gridgeo.render.tiles`: 256 px PNG tiles
  drawn with Pillow (:func:`tile_png`, :func:`draw_tile`);
- :mod:`~gridgeo.render.static_map` and :mod:`~gridgeo.render.static_drawing`: PNG
  maps of a community, a grid or a box with matplotlib (:func:`static_map`);
- :mod:`~gridgeo.render.fonts`: a CJK font for Chinese labels (:func:`cjk_font`);
- :mod:`~gridgeo.render.templates`: the Jinja templates and message catalogues of the
  pages gridgeo writes (the coverage report, the service's map pages).
"""

from __future__ import annotations

from gridgeo.render.fonts import CJK_FAMILIES, cjk_font
from gridgeo.render.geometry import district_outline
from gridgeo.render.projection import TILE_SIZE, to_mercator
from gridgeo.render.static_map import (
    DEFAULT_STATIC_LAYERS,
    STATIC_LAYERS,
    area_bbox,
    static_map,
)
from gridgeo.render.styles import (
    COVERAGE_CLASSES,
    COVERAGE_STYLE,
    STYLE_VERSION,
    STYLES,
    Style,
    coverage_color,
)
from gridgeo.render.tiles import (
    BUILDINGS_MIN_ZOOM,
    PROBLEMS_MIN_ZOOM,
    RESULT_TILE_LAYERS,
    TILE_LAYERS,
    draw_tile,
    tile_bbox,
    tile_layers_needed,
    tile_png,
    tile_read_plan,
)

__all__ = [
    "BUILDINGS_MIN_ZOOM",
    "CJK_FAMILIES",
    "COVERAGE_CLASSES",
    "COVERAGE_STYLE",
    "DEFAULT_STATIC_LAYERS",
    "PROBLEMS_MIN_ZOOM",
    "RESULT_TILE_LAYERS",
    "STATIC_LAYERS",
    "STYLES",
    "STYLE_VERSION",
    "TILE_LAYERS",
    "TILE_SIZE",
    "Style",
    "area_bbox",
    "cjk_font",
    "coverage_color",
    "district_outline",
    "draw_tile",
    "static_map",
    "tile_bbox",
    "tile_layers_needed",
    "tile_png",
    "tile_read_plan",
    "to_mercator",
]
