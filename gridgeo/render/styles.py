"""How the maps look: the layers' colours and widths, the coverage classes.

One table for the raster tiles, the static maps and the interactive pages
(``api/maps/layers.py`` draws its finding layers from :data:`STYLES` and uses the same
colours for its basemap), so a tile, a static map and the page of the same place
look alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

__all__ = [
    "COVERAGE_CLASSES",
    "COVERAGE_STYLE",
    "NO_SCORE",
    "STYLES",
    "STYLE_VERSION",
    "Style",
    "coverage_color",
    "rgba",
    "with_alpha",
]

#: Bumped whenever the drawing changes, so cached tiles (and their ETags) change too.
STYLE_VERSION = 1


@dataclass(frozen=True)
class Style:
    """How one layer is drawn: fill and stroke colours (``#rrggbb``), opacity, widths.

    ``width`` is the stroke width in pixels of a 256 px tile; ``radius`` is the
    radius of point symbols.
    """

    fill: str | None
    stroke: str | None
    width: float = 1.0
    fill_opacity: float = 1.0
    radius: float = 3.0
    label_zh: str = ""
    label_en: str = ""

    def label(self, lang: str) -> str:
        """The layer's name in the legend, in ``zh`` or ``en``."""
        return self.label_zh if lang == "zh" else self.label_en


#: The map's styling, shared by tiles, static maps and the map pages.
STYLES: dict[str, Style] = {
    "background": Style("#e8e8e8", None, label_zh="底图", label_en="background"),
    "district": Style(None, "#222222", 3.5, label_zh="街道/区界", label_en="district boundary"),
    "communities": Style("#f7f4ee", "#4d4d4d", 2.5, label_zh="社区", label_en="community"),
    "grids": Style(None, "#8c8c8c", 0.8, label_zh="网格", label_en="grid"),
    "buildings": Style("#d9d9d9", "#a0a0a0", 0.5, label_zh="楼栋", label_en="building"),
    "problems": Style("#d7301f", "#ffffff", 0.6, radius=3.0, label_zh="问题", label_en="problem"),
    "gaps": Style(
        "#e7298a", "#e7298a", 2.0, fill_opacity=0.7, label_zh="网格缝隙", label_en="gap"
    ),
    "overlaps": Style(
        "#6a3d9a", "#6a3d9a", 2.0, fill_opacity=0.7, label_zh="网格重叠", label_en="overlap"
    ),
    "unassigned_buildings": Style(
        "#e31a1c", "#e31a1c", 1.5, fill_opacity=0.6, label_zh="无人负责楼栋",
        label_en="unassigned building",
    ),
    "multi_assigned_buildings": Style(
        "#1f78b4", "#1f78b4", 1.5, fill_opacity=0.6, label_zh="多人负责楼栋",
        label_en="multi-assigned building",
    ),
    "straddling_buildings": Style(
        "#ff7f00", "#ff7f00", 1.5, fill_opacity=0.6, label_zh="跨网格楼栋",
        label_en="straddling building",
    ),
    "buildings_outside": Style(
        "#b15928", "#b15928", 1.5, fill_opacity=0.6, label_zh="网格外楼栋",
        label_en="building outside grids",
    ),
}  # fmt: skip
#: How grids coloured by coverage score are drawn (fill: :func:`coverage_color`).
COVERAGE_STYLE = Style("#000000", "#333333", 1.0, fill_opacity=0.45)

#: Coverage score classes: (lowest score of the class, colour, label), as on the maps.
COVERAGE_CLASSES: list[tuple[float, str, str]] = [
    (99.0, "#1a9641", "≥ 99%"),
    (95.0, "#a6d96a", "95–99%"),
    (90.0, "#fdae61", "90–95%"),
    (-math.inf, "#d7191c", "< 90%"),
]
#: The colour of a grid without buildings (no score).
NO_SCORE = "#bdbdbd"


def coverage_color(score: float | None) -> str:
    """The colour of a coverage score (0–100) on the maps.

    Examples
    --------
    >>> coverage_color(100.0), coverage_color(85), coverage_color(None)
    ('#1a9641', '#d7191c', '#bdbdbd')
    """
    if score is None or (isinstance(score, float) and math.isnan(score)) or pd.isna(score):
        return NO_SCORE
    for low, color, _ in COVERAGE_CLASSES:
        if score >= low:
            return color
    return COVERAGE_CLASSES[-1][1]


@lru_cache(maxsize=256)
def rgba(color: str | None, opacity: float) -> tuple[int, int, int, int]:
    """``#rrggbb`` and an opacity (0–1) as 8-bit RGBA; None is transparent.

    Examples
    --------
    >>> rgba("#ff8000", 0.5), rgba(None, 1.0)
    ((255, 128, 0, 128), (0, 0, 0, 0))
    """
    if color is None:
        return (0, 0, 0, 0)
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * opacity))


def with_alpha(color: str | None, alpha: float) -> tuple[float, float, float, float]:
    """``#rrggbb`` as a matplotlib RGBA tuple (0–1) with opacity ``alpha``.

    Examples
    --------
    >>> with_alpha("#ff0000", 0.5)
    (1.0, 0.0, 0.0, 0.5)
    """
    r, g, b, _ = rgba(color, 1.0)
    return (r / 255, g / 255, b / 255, alpha)
