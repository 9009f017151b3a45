"""Static map images (PNG) of a community, a grid, a bounding box or the district.

:func:`static_map` draws with matplotlib (Agg) in Web Mercator: a title, a legend,
a scale bar and a north arrow, Chinese labels by default (:func:`~gridgeo.render.cjk_font`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from gridgeo.errors import NotFound, ValidationError
from gridgeo.render.fonts import rc_params
from gridgeo.render.projection import mercator_bounds, to_lonlat_bounds
from gridgeo.render.static_drawing import draw_labels, draw_layers, north_arrow, scale_bar
from gridgeo.render.styles import STYLES
from gridgeo.render.tiles import FINDING_LAYERS, RESULT_TILE_LAYERS

if TYPE_CHECKING:
    import geopandas as gpd

    from gridgeo.store import Store

__all__ = ["DEFAULT_STATIC_LAYERS", "STATIC_LAYERS", "area_bbox", "static_map"]

#: What :func:`static_map` draws when no ``layers`` are given.
DEFAULT_STATIC_LAYERS = ("communities", "grids", "buildings")
STATIC_LAYERS = (
    "communities",
    "grids",
    "buildings",
    "problems",
    "grid_coverage",
    *FINDING_LAYERS,
)
#: Stored layers a static map reads, and their attribute columns.
_STORED_COLUMNS = {"communities": ["name"], "grids": ["name", "community"], "buildings": [],
                   "problems": ["status"]}  # fmt: skip

_TEXT = {
    "zh": {
        "legend": "图例",
        "coverage": "覆盖率（楼栋）",
        "no_score": "无楼栋",
        "north": "北",
        "district_title": "全域",
        "area": "范围",
    },
    "en": {
        "legend": "Legend",
        "coverage": "Coverage score",
        "no_score": "no buildings",
        "north": "N",
        "district_title": "District",
        "area": "Area",
    },
}


def area_bbox(
    store: Store, *, community: str | None = None, grid: str | None = None
) -> tuple[tuple[float, float, float, float], str]:
    """The bounding box (lon/lat) and name of a community, a grid, or the whole district.

    Raises
    ------
    NotFound
        No community or grid has that code.
    """
    if community is not None and grid is not None:
        raise ValidationError("give a community or a grid, not both")
    if grid is not None:
        grids = store.read_layer("grids", columns=["name"])
        row = grids[grids["code"] == grid]
        if row.empty:
            raise NotFound(f"no grid with code {grid!r}")
        name = row["name"].iloc[0]
        return tuple(row.total_bounds.tolist()), f"{grid} {name or ''}".strip()  # type: ignore[return-value]
    if community is not None:
        communities = store.read_layer("communities", columns=["name"])
        row = communities[communities["code"] == community]
        if row.empty:
            raise NotFound(f"no community with code {community!r}")
        name = str(row["name"].iloc[0] or community)
        if row.geometry.notna().any() and not row.geometry.is_empty.all():
            return tuple(row.total_bounds.tolist()), name  # type: ignore[return-value]
        grids = store.read_layer("grids", columns=["community"])
        grids = grids[grids["community"] == community]
        if grids.empty:
            raise NotFound(f"community {community!r} has neither a polygon nor grids")
        return tuple(grids.total_bounds.tolist()), name  # type: ignore[return-value]
    grids = store.read_layer("grids", columns=[])
    if grids.empty:
        raise NotFound("the store holds no grids: load a district first")
    districts = store.read_layer("communities", columns=["district"])["district"].dropna()
    name = str(districts.mode().iloc[0]) if len(districts) else ""
    return tuple(grids.total_bounds.tolist()), name  # type: ignore[return-value]


def static_map(
    store: Store,
    *,
    community: str | None = None,
    grid: str | None = None,
    bbox: Sequence[float] | None = None,
    layers: Sequence[str] | None = None,
    results: Mapping[str, pd.DataFrame] | None = None,
    lang: str = "zh",
    width: int = 1000,
    height: int = 700,
    title: str | None = None,
    labels: bool = True,
) -> bytes:
    """Draw a static map of a community, a grid or a bounding box, as PNG bytes.

    The map is in Web Mercator, with a legend panel on the right, a scale bar at the
    lower left and a north arrow at the upper right; Chinese labels by default.

    Parameters
    ----------
    store
        The store to read from.
    community, grid, bbox
        What to show (at most one): a community's or a grid's code, or
        ``(minx, miny, maxx, maxy)`` in longitude/latitude. None: the district.
    layers
        Any of ``communities``, ``grids``, ``buildings``, ``problems``,
        ``grid_coverage`` (grids coloured by coverage score; ``coverage`` also
        works) and the check's findings ``gaps``, ``overlaps``,
        ``unassigned_buildings``, ``multi_assigned_buildings``,
        ``straddling_buildings``, ``buildings_outside``. Default: communities,
        grids and buildings.
    results
        What :func:`gridgeo.check.run_check` returned; needed by ``grid_coverage`` and
        the findings layers.
    lang
        ``zh`` (default) or ``en``, for the legend and title.
    width, height
        Image size in pixels (200–4000).
    title
        The title; by default the area's name.
    labels
        Write community names (district view) or grid names (community view).

    Returns
    -------
    bytes
        An RGB PNG of ``width`` × ``height`` pixels.

    Raises
    ------
    ConfigError
        No CJK font is installed.
    NotFound
        No community or grid has the code given.
    ValidationError
        Unknown layer, language or size, or a layer that needs ``results``.
    """
    layers = _checked_layers(layers, results, lang, width, height)
    if sum(v is not None for v in (community, grid, bbox)) > 1:
        raise ValidationError("give one of community, grid or bbox")
    text = _TEXT[lang]
    if bbox is not None:
        if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise ValidationError(f"bbox {list(bbox)}: give minx,miny,maxx,maxy with min < max")
        area = tuple(float(v) for v in bbox)
        name = text["area"]
    else:
        area, name = area_bbox(store, community=community, grid=grid)
        name = name or text["district_title"]
    # the legend panel takes at most a third of the image, so a narrow image keeps a map
    legend_px = min(230 if lang == "zh" else 250, width // 3)
    view = _view(area, width - legend_px, height)
    frames = _static_frames(store, layers, to_lonlat_bounds(view), results, labels, community, grid)
    district_view = community is None and grid is None and bbox is None
    return _figure_png(
        frames, layers, view, (width, height, legend_px), lang, title or name,
        labels=district_view if labels else None, community=community,
    )  # fmt: skip


def _checked_layers(
    layers: Sequence[str] | None,
    results: Mapping[str, pd.DataFrame] | None,
    lang: str,
    width: int,
    height: int,
) -> list[str]:
    """The layers to draw (``coverage`` read as ``grid_coverage``), once checked."""
    if lang not in _TEXT:
        raise ValidationError(f"lang={lang!r}: use 'zh' or 'en'")
    layers = ["grid_coverage" if n == "coverage" else n for n in layers or DEFAULT_STATIC_LAYERS]
    unknown = [name for name in layers if name not in STATIC_LAYERS]
    if unknown:
        raise ValidationError(f"unknown map layer(s) {unknown}; choose from {list(STATIC_LAYERS)}")
    needs_results = [n for n in layers if n == "grid_coverage" or n in FINDING_LAYERS]
    if needs_results and results is None:
        raise ValidationError(f"layer(s) {needs_results} need the check's results (run_check)")
    if not (200 <= width <= 4000 and 200 <= height <= 4000):
        raise ValidationError(f"size {width}×{height}: width and height must be 200–4000 px")
    return layers


def _view(area: Sequence[float], map_w: int, map_h: int) -> tuple[float, float, float, float]:
    """The area in Web Mercator, padded and stretched to the map panel's aspect."""
    x0, y0, x1, y1 = mercator_bounds(area)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max((x1 - x0) / 2 * 1.06, 50.0)
    half_h = max((y1 - y0) / 2 * 1.06, 50.0)
    if half_w / half_h < map_w / map_h:
        half_w = half_h * map_w / map_h
    else:
        half_h = half_w * map_h / map_w
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _figure_png(
    frames: Mapping[str, Any],
    layers: Sequence[str],
    view: tuple[float, float, float, float],
    size: tuple[int, int, int],
    lang: str,
    title: str,
    *,
    labels: bool | None,
    community: str | None,
) -> bytes:
    """The map panel and the legend panel drawn into a PNG.

    ``size`` is the image's width, height and legend panel width; ``labels`` is None
    for no labels, else whether the view is the district's (community names).
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height, legend_px = size
    map_w = width - legend_px
    text = _TEXT[lang]
    with rc_context(rc_params()):
        fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, map_w / width, 1))
        ax.set_facecolor(STYLES["background"].fill)
        ax.set_xlim(view[0], view[2])
        ax.set_ylim(view[1], view[3])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor("#999999")
        handles = draw_layers(ax, frames, layers, lang, text)
        if labels is not None:
            draw_labels(ax, frames, labels, community)
        scale_bar(ax, view, lang)
        north_arrow(ax, text["north"])
        legend_ax = fig.add_axes((map_w / width, 0, legend_px / width, 1))
        legend_ax.set_axis_off()
        legend_ax.text(0.08, 0.97, title, fontsize=13, fontweight="bold", va="top", wrap=True)
        legend_ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.02, 0.9),
            frameon=False,
            title=text["legend"],
            alignment="left",
            fontsize=10,
            title_fontsize=11,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def _static_frames(
    store: Store,
    layers: Sequence[str],
    view: tuple[float, float, float, float],
    results: Mapping[str, pd.DataFrame] | None,
    labels: bool,
    community: str | None,
    grid: str | None,
) -> dict[str, gpd.GeoDataFrame]:
    """The stored layers in the view, and the result layers' features that reach it."""
    import geopandas as gpd

    window = shapely.box(*view)
    frames: dict[str, gpd.GeoDataFrame] = {}
    wanted = [n for n in _STORED_COLUMNS if n in layers]
    if labels and "communities" not in wanted and community is None and grid is None:
        wanted.append("communities")
    if labels and "grids" not in wanted and community is not None:
        wanted.append("grids")
    for name in wanted:
        frames[name] = store.read_layer(name, bbox=view, columns=_STORED_COLUMNS[name])
    for name in layers:
        if name == "grid_coverage" or name in FINDING_LAYERS:
            assert results is not None
            source = results.get(RESULT_TILE_LAYERS[name])
            if source is None or not isinstance(source, gpd.GeoDataFrame) or source.empty:
                frames[name] = gpd.GeoDataFrame(geometry=[], crs=4326)
                continue
            geoms = np.asarray(source.geometry.values, dtype=object)
            near = ~shapely.is_missing(geoms) & shapely.intersects(geoms, window)
            frames[name] = source.loc[near]
    return frames
