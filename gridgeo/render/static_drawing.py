"""The matplotlib artists of a static map: layers, legend entries, labels, scale bar, north arrow.

Everything is drawn in Web Mercator metres on an axes whose limits are the map's view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from gridgeo.layers import display_names
from gridgeo.render.geometry import rings
from gridgeo.render.projection import to_lonlat_bounds, to_mercator
from gridgeo.render.styles import (
    COVERAGE_CLASSES,
    COVERAGE_STYLE,
    NO_SCORE,
    STYLES,
    Style,
    coverage_color,
    with_alpha,
)

__all__ = ["LAYER_ORDER", "draw_labels", "draw_layers", "north_arrow", "scale_bar"]

#: The order layers are drawn in, bottom first.
LAYER_ORDER = ("communities", "grid_coverage", "buildings", "grids", "gaps", "overlaps",
               "buildings_outside", "straddling_buildings", "multi_assigned_buildings",
               "unassigned_buildings", "problems")  # fmt: skip


def _paths(geoms: np.ndarray) -> tuple[list[Any], list[int]]:
    """One matplotlib Path per feature (polygons with holes), in Web Mercator.

    Returns the paths and, for each, the position of its feature in ``geoms``.
    """
    from matplotlib.path import Path as MplPath

    coords, ring_off, poly_off, feature = rings(geoms)
    if len(feature) == 0:
        return [], []
    merc = to_mercator(coords)
    verts: dict[int, list[np.ndarray]] = {}
    codes: dict[int, list[np.ndarray]] = {}
    for i in range(len(feature)):
        for r in range(poly_off[i], poly_off[i + 1]):
            ring = merc[ring_off[r] : ring_off[r + 1]]
            if len(ring) < 3:
                continue
            c = np.full(len(ring), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.setdefault(int(feature[i]), []).append(ring)
            codes.setdefault(int(feature[i]), []).append(c)
    keys = sorted(verts)
    paths = [MplPath(np.concatenate(verts[k]), np.concatenate(codes[k])) for k in keys]
    return paths, keys


def _draw_points(ax: Any, geoms: np.ndarray, style: Style, z: float) -> None:
    pts = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(pts):
        xy = to_mercator(shapely.get_coordinates(pts))
        ax.scatter(xy[:, 0], xy[:, 1], s=(style.radius * 1.6) ** 2, c=style.fill,
                   edgecolors=style.stroke, linewidths=style.width, zorder=z)  # fmt: skip


def _draw_frame(
    ax: Any, frame: Any, style: Style, z: float, *, points: bool = False,
    fills: Sequence[str] | None = None,
) -> None:  # fmt: skip
    """Draw a frame's features with a style (``fills``: one colour per feature)."""
    from matplotlib.collections import PathCollection

    if frame is None or frame.empty:
        return
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if points:
        _draw_points(ax, geoms, style, z)
        return
    paths, which = _paths(geoms)
    if not paths:
        return
    face: Any = "none"
    if fills is not None:
        face = [with_alpha(fills[i], style.fill_opacity) for i in which]
    elif style.fill:
        face = with_alpha(style.fill, style.fill_opacity)
    coll = PathCollection(
        paths,
        facecolors=face,
        edgecolors=style.stroke or "none",
        linewidths=style.width,
        zorder=z,
    )
    ax.add_collection(coll)


def _coverage_handles(coverage_title: str, no_score: str) -> list[Any]:
    """Legend entries of the coverage classes, under their title."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="none", edgecolor="none", label=coverage_title)]
    for _, color, text in COVERAGE_CLASSES:
        handles.append(Patch(facecolor=with_alpha(color, COVERAGE_STYLE.fill_opacity),
                             edgecolor=COVERAGE_STYLE.stroke, label=text))  # fmt: skip
    handles.append(Patch(facecolor=with_alpha(NO_SCORE, COVERAGE_STYLE.fill_opacity),
                         edgecolor=COVERAGE_STYLE.stroke, label=no_score))  # fmt: skip
    return handles


def _style_handle(name: str, style: Style, lang: str) -> Any:
    """The legend entry of a layer drawn with its style."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if name == "problems":
        return Line2D([], [], marker="o", linestyle="none", markerfacecolor=style.fill,
                      markeredgecolor=style.stroke, markersize=7, label=style.label(lang))  # fmt: skip
    return Patch(
        facecolor=with_alpha(style.fill, style.fill_opacity) if style.fill else "none",
        edgecolor=style.stroke or "none",
        linewidth=max(style.width, 0.8),
        label=style.label(lang),
    )


def draw_layers(
    ax: Any, frames: Mapping[str, Any], layers: Sequence[str], lang: str, text: Mapping[str, str]
) -> list[Any]:
    """Draw ``layers`` in :data:`LAYER_ORDER`; return their legend entries.

    ``text`` holds the legend's words (``coverage``, ``no_score``).
    """
    handles: list[Any] = []
    for z, name in enumerate(LAYER_ORDER, start=1):
        if name not in layers:
            continue
        if name == "grid_coverage":
            frame = frames.get("grid_coverage")
            scores = [] if frame is None else frame["coverage_score"].tolist()
            fills = [coverage_color(s) for s in scores]
            _draw_frame(ax, frame, COVERAGE_STYLE, z, fills=fills)
            handles += _coverage_handles(text["coverage"], text["no_score"])
            continue
        style = STYLES[name]
        _draw_frame(ax, frames.get(name), style, z, points=name == "problems")
        handles.append(_style_handle(name, style, lang))
    # community boundaries stay visible above fills
    if "communities" in layers and "communities" in frames and not frames["communities"].empty:
        outline = Style(None, STYLES["communities"].stroke, 2.0)
        _draw_frame(ax, frames["communities"], outline, len(LAYER_ORDER) + 1)
    return handles


def draw_labels(
    ax: Any, frames: Mapping[str, Any], district_view: bool, community: str | None
) -> None:
    """Community names (district view) or grid names (of ``community``), where they fit."""
    import matplotlib.patheffects as pe

    name = "communities" if district_view else "grids"
    frame = frames.get(name)
    if frame is not None and community is not None and "community" in frame:
        frame = frame[frame["community"] == community]
    if frame is None or frame.empty or len(frame) > 200:
        return
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    points = to_mercator(shapely.get_coordinates(shapely.point_on_surface(geoms[ok])))
    names = display_names(frame.loc[ok]).astype(str).tolist()
    for (px, py), text in zip(points, names, strict=True):
        if not (xlim[0] <= px <= xlim[1] and ylim[0] <= py <= ylim[1]):
            continue
        ax.text(
            px,
            py,
            text,
            fontsize=11 if district_view else 8,
            ha="center",
            va="center",
            color="#222222",
            zorder=50,
            path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
        )


def scale_bar(ax: Any, view: Sequence[float], lang: str) -> None:
    """A black-and-white scale bar of a round length at the lower left."""
    from matplotlib.patches import Rectangle

    width_m = view[2] - view[0]
    lat = to_lonlat_bounds(view)
    k = math.cos(math.radians((lat[1] + lat[3]) / 2))  # ground metres per Mercator metre
    target = width_m * k / 5
    exp = 10 ** math.floor(math.log10(target))
    length = max(m * exp for m in (1, 2, 5) if m * exp <= target)
    bar = length / k
    x0 = view[0] + 0.04 * width_m
    height = (view[3] - view[1]) * 0.012
    y0 = view[1] + (view[3] - view[1]) * 0.05
    ax.add_patch(Rectangle((x0 - 0.01 * width_m, y0 - height * 1.2), bar + 0.02 * width_m,
                           height * 4.6, facecolor="white", alpha=0.8, edgecolor="none",
                           zorder=60))  # fmt: skip
    for i in range(4):
        ax.add_patch(
            Rectangle((x0 + i * bar / 4, y0), bar / 4, height,
                      facecolor="#222222" if i % 2 == 0 else "white",
                      edgecolor="#222222", linewidth=0.8, zorder=61)
        )  # fmt: skip
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    if lang == "zh":
        text = f"{length / 1000:g} 千米" if length >= 1000 else f"{length:g} 米"
    ax.text(x0 + bar / 2, y0 + height * 1.5, text, ha="center", va="bottom", fontsize=9,
            zorder=62)  # fmt: skip


def north_arrow(ax: Any, label: str) -> None:
    """An arrow pointing up at the upper right, with ``label`` (北 / N) under it."""
    ax.annotate(
        label,
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="top",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "#222222", "edgecolor": "#222222", "width": 3, "headwidth": 10},
        zorder=63,
    )
