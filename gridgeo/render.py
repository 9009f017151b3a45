"""Drawing maps without a browser: raster tiles and static map images.

Everything here draws in Web Mercator (EPSG:3857) from frames in EPSG:4326:

- :func:`tile_png` draws one 256 px XYZ tile of a layer (or of the ``basemap``,
  which stacks communities, grids, buildings and the district outline) with Pillow,
  drawn at twice the size and reduced, so edges are smooth. These tiles are the maps'
  offline basemap and what other map clients and documents embed.
- :func:`static_map` draws a PNG of a community, a grid or a bounding box with
  matplotlib (Agg): a title, a legend, a scale bar and a north arrow.

Chinese text needs a CJK font: :func:`cjk_font` finds one (Debian package
``fonts-noto-cjk``) or raises :class:`~gridgeo.errors.ConfigError` saying what to
install, rather than letting labels come out as empty boxes.

The colours are in :data:`STYLES` and :func:`coverage_color`, so that the Leaflet
maps and the tiles look the same.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from gridgeo.errors import ConfigError, NotFound, ValidationError

if TYPE_CHECKING:
    import geopandas as gpd

    from gridgeo.store import Store

__all__ = [
    "COVERAGE_CLASSES",
    "COVERAGE_STYLE",
    "STYLES",
    "STYLE_VERSION",
    "RESULT_TILE_LAYERS",
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

#: Bumped whenever the drawing changes, so cached tiles (and their ETags) change too.
STYLE_VERSION = 1
TILE_SIZE = 256
_SUPERSAMPLE = 2
_EARTH_RADIUS = 6378137.0
_MAX_LAT = 85.0511287798066


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


#: The map's styling, shared by tiles and static maps. The Leaflet pages draw their
#: finding layers from it (``api/maps.py``: ``_coverage_layers``) and use the same
#: colours for the basemap (``_BASEMAP_STYLES``), so a raster tile, a static map and
#: the interactive map of the same place look alike.
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
_NO_SCORE = "#bdbdbd"

#: Layers :func:`tile_png` draws from the store, and the stored layers each reads.
TILE_LAYERS: dict[str, tuple[str, ...]] = {
    "basemap": ("communities", "grids", "buildings"),
    "district": ("communities",),
    "communities": ("communities",),
    "grids": ("grids",),
    "buildings": ("buildings",),
    "problems": ("problems",),
}
#: Layers drawn from the check's results (tile layer → result layer); the names are
#: those of the vector tilesets in ``api/tiles.py``.
RESULT_TILE_LAYERS: dict[str, str] = {
    "grid_coverage": "summary_grids",
    "gaps": "gaps",
    "overlaps": "overlaps",
    "straddling_buildings": "straddling_buildings",
    "buildings_outside": "buildings_outside",
    "unassigned_buildings": "unassigned_buildings",
    "multi_assigned_buildings": "multi_assigned_buildings",
}
#: Below this zoom buildings are not drawn (a z10 tile of a city holds a million).
BUILDINGS_MIN_ZOOM = 13
#: Below this zoom problems are not drawn.
PROBLEMS_MIN_ZOOM = 12
_FINDING_LAYERS = ("gaps", "overlaps", "unassigned_buildings", "multi_assigned_buildings",
                   "straddling_buildings", "buildings_outside")  # fmt: skip

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


def coverage_color(score: float | None) -> str:
    """The colour of a coverage score (0–100) on the maps.

    Examples
    --------
    >>> coverage_color(100.0), coverage_color(85), coverage_color(None)
    ('#1a9641', '#d7191c', '#bdbdbd')
    """
    if score is None or (isinstance(score, float) and math.isnan(score)) or pd.isna(score):
        return _NO_SCORE
    for low, color, _ in COVERAGE_CLASSES:
        if score >= low:
            return color
    return COVERAGE_CLASSES[-1][1]


# -- fonts ----------------------------------------------------------------------------

#: Font families tried in order; the first one matplotlib knows is used.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
)
_CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The font family matplotlib uses for Chinese text (found once per process).

    ``GRIDGEO_CJK_FONT`` (:attr:`gridgeo.settings.Settings.cjk_font`) may name a font
    file to use instead.

    Raises
    ------
    ConfigError
        No CJK font is installed: Chinese labels would be drawn as empty boxes.
    """
    from matplotlib import font_manager

    from gridgeo.settings import get_settings

    extra = get_settings().cjk_font
    candidates = [extra] if extra else []
    candidates += [f for f in _CJK_FILES if Path(f).is_file()]
    known = {f.name for f in font_manager.fontManager.ttflist}
    if not extra:
        for family in CJK_FAMILIES:
            if family in known:
                return family
    for path in candidates:
        if not Path(path).is_file():
            raise ConfigError(f"GRIDGEO_CJK_FONT={path}: no such font file")
        font_manager.fontManager.addfont(path)
        names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
        best = next((n for n in CJK_FAMILIES if n in names), names[0] if names else None)
        if best:
            return best
    raise ConfigError(
        "no Chinese (CJK) font is installed, so Chinese labels would be drawn as empty "
        "boxes; install one with `apt-get install fonts-noto-cjk` (or set "
        "GRIDGEO_CJK_FONT to a .ttf/.ttc/.otf file)"
    )


def _rc() -> dict[str, Any]:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [cjk_font(), "DejaVu Sans"],
        "axes.unicode_minus": False,
    }


# -- projection -----------------------------------------------------------------------


def to_mercator(coords: np.ndarray) -> np.ndarray:
    """Longitude/latitude (``(n, 2)`` array) to Web Mercator metres.

    Examples
    --------
    >>> to_mercator(np.array([[180.0, 0.0], [0.0, 85.0511287798066]])).round(1).tolist()
    [[20037508.3, -0.0], [0.0, 20037508.3]]
    """
    coords = np.asarray(coords, dtype=float)
    out = np.empty_like(coords)
    out[:, 0] = np.radians(coords[:, 0]) * _EARTH_RADIUS
    lat = np.radians(np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT))
    out[:, 1] = _EARTH_RADIUS * np.log(np.tan(np.pi / 4 + lat / 2))
    return out


def _to_mercator_geoms(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object), to_mercator)


# -- geometry to drawable rings ------------------------------------------------------------


def _rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Polygon rings of ``geoms``: coordinates, ring offsets, polygon offsets, feature index.

    The first ring of each polygon is its exterior; polygon ``i`` belongs to feature
    ``feature[i]``.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, index = parts[keep], index[keep]
    if len(parts) == 0:
        empty = np.zeros(1, dtype=np.int64)
        return np.zeros((0, 2)), empty, empty, np.zeros(0, dtype=np.int64)
    _, coords, (ring_offsets, poly_offsets) = shapely.to_ragged_array(parts)
    return coords, ring_offsets, poly_offsets, index


# -- tiles ------------------------------------------------------------------------------


def _tile(z: int, x: int, y: int) -> Any:
    import mercantile

    if not (0 <= z <= 24 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"tile {z}/{x}/{y} does not exist (x and y must be below 2**z)")
    return mercantile.Tile(x, y, z)


def tile_layers_needed(layer: str) -> tuple[str, ...]:
    """The stored layers a tile of ``layer`` is drawn from (for cache keys).

    Examples
    --------
    >>> tile_layers_needed("basemap")
    ('communities', 'grids', 'buildings')
    """
    if layer in RESULT_TILE_LAYERS:
        return ()
    if layer not in TILE_LAYERS:
        known = sorted([*TILE_LAYERS, *RESULT_TILE_LAYERS])
        raise NotFound(f"no tile layer {layer!r}; the tile layers are {', '.join(known)}")
    return TILE_LAYERS[layer]


def tile_read_plan(layer: str, z: int) -> list[tuple[str, list[str]]]:
    """The stored layers (and attribute columns) a tile of ``layer`` at zoom ``z`` draws.

    Examples
    --------
    >>> tile_read_plan("basemap", 12)
    [('communities', []), ('grids', [])]
    """
    plan = []
    for name in tile_layers_needed(layer):
        if name == "buildings" and z < BUILDINGS_MIN_ZOOM:
            continue
        if name == "problems" and z < PROBLEMS_MIN_ZOOM:
            continue
        plan.append((name, ["status"] if name == "problems" else []))
    return plan


def _tile_bbox(tile: Any, margin_px: float) -> tuple[float, float, float, float]:
    import mercantile

    b = mercantile.bounds(tile)
    dx = (b.east - b.west) * margin_px / TILE_SIZE
    dy = (b.north - b.south) * margin_px / TILE_SIZE
    return (b.west - dx, b.south - dy, b.east + dx, b.north + dy)


def tile_png(
    store: Store,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    transparent: bool | None = None,
    results: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """Draw one 256 px XYZ tile of a layer from a store, as PNG bytes.

    Parameters
    ----------
    store
        The store to read from (only the features near the tile are read).
    layer
        One of :data:`TILE_LAYERS`: ``basemap`` (communities, grids, buildings and
        the district outline), ``district``, ``communities``, ``grids``,
        ``buildings``, ``problems``; or one of :data:`RESULT_TILE_LAYERS`:
        ``grid_coverage`` (grids coloured by coverage score), ``gaps``,
        ``overlaps``, ``unassigned_buildings``... (pass ``results``).
    z, x, y
        The tile (XYZ / "slippy map" numbering, as Leaflet and OpenLayers use).
    transparent
        Transparent background; by default every layer but ``basemap`` is.
    results
        What :func:`gridgeo.check.run_check` returned, for the result layers.

    Returns
    -------
    bytes
        A 256×256 RGBA PNG.

    Examples
    --------
    >>> import gridgeo
    >>> from PIL import Image
    >>> store = gridgeo.open_store("sqlite:///:memory:")
    >>> png = tile_png(store, "basemap", 14, 13722, 6693)
    >>> Image.open(io.BytesIO(png)).size
    (256, 256)
    >>> store.close()
    """
    tile = _tile(z, x, y)
    bbox = _tile_bbox(tile, margin_px=8)
    frames: dict[str, pd.DataFrame] = {}
    for name, columns in tile_read_plan(layer, z):
        frames[name] = store.read_layer(name, bbox=bbox, columns=columns)
    if layer in RESULT_TILE_LAYERS:
        if results is None:
            raise ValidationError(f"the {layer} layer needs the check's results (run_check)")
        source = RESULT_TILE_LAYERS[layer]
        if source in results:
            frames[source] = results[source]
    return draw_tile(frames, layer, z, x, y, transparent=transparent)


def tile_bbox(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's bounds in lon/lat, with the margin drawn around it (8 px).

    Examples
    --------
    >>> [round(v, 3) for v in tile_bbox(1, 0, 0)]
    [-185.625, -2.658, 5.625, 87.709]
    """
    return _tile_bbox(_tile(z, x, y), margin_px=8)


def draw_tile(
    frames: Mapping[str, pd.DataFrame],
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    transparent: bool | None = None,
) -> bytes:
    """Draw one tile from frames already read (layer name → GeoDataFrame in EPSG:4326).

    See :func:`tile_png`. ``frames`` holds the stored layers of
    :func:`tile_read_plan` or, for a result layer, the result frame (e.g.
    ``summary_grids``); features outside the tile are left out.
    """
    import mercantile
    from PIL import Image, ImageDraw

    tile = _tile(z, x, y)
    tile_layers_needed(layer)
    if transparent is None:
        transparent = layer != "basemap"
    size = TILE_SIZE * _SUPERSAMPLE
    left, bottom, right, top = mercantile.xy_bounds(tile)
    sx, sy = size / (right - left), size / (top - bottom)

    def pixels(coords: np.ndarray) -> np.ndarray:
        m = to_mercator(coords)
        return np.column_stack(((m[:, 0] - left) * sx, (top - m[:, 1]) * sy))

    # lines get thinner below zoom 14, where a tile holds many more of them
    thin = min(1.0, max(0.4, (z - 9) / 5))
    bg = (0, 0, 0, 0) if transparent else _rgba(STYLES["background"].fill, 1.0)
    image = Image.new("RGBA", (size, size), bg)
    clip = _tile_bbox(tile, margin_px=8)

    window = shapely.box(*clip)

    def near(frame: Any) -> np.ndarray:
        """Positions of the frame's features that reach the tile."""
        geoms = np.asarray(frame.geometry.values, dtype=object)
        if len(geoms) > 2000 and hasattr(frame, "sindex"):
            return np.sort(frame.sindex.query(window, predicate="intersects"))
        ok = ~shapely.is_missing(geoms)
        ok[ok] = shapely.intersects(geoms[ok], window)
        return np.flatnonzero(ok)

    def clipped(name: str) -> np.ndarray:
        frame = frames.get(name)
        if frame is None or len(frame) == 0 or "geometry" not in frame:
            return np.zeros(0, dtype=object)
        geoms = np.asarray(frame.geometry.values, dtype=object)[near(frame)]
        return shapely.clip_by_rect(geoms, *clip)

    def polygons(geoms: np.ndarray, style: Style, fills: Sequence[str] | None = None) -> None:
        if len(geoms) == 0:
            return
        coords, ring_off, poly_off, feature = _rings(geoms)
        if len(feature) == 0:
            return
        pix = pixels(coords)
        overlay = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        width = max(1, round(style.width * _SUPERSAMPLE * thin))
        stroke = _rgba(style.stroke, 1.0) if style.stroke else None
        base_fill = _rgba(style.fill, style.fill_opacity) if style.fill else None
        clear = (0, 0, 0, 0)
        for i in range(len(feature)):
            fill = _rgba(fills[feature[i]], style.fill_opacity) if fills is not None else base_fill
            for r in range(poly_off[i], poly_off[i + 1]):
                ring = pix[ring_off[r] : ring_off[r + 1]]
                if len(ring) < 3:
                    continue
                points = ring.ravel().tolist()
                exterior = r == poly_off[i]
                if fill is not None:
                    draw.polygon(points, fill=fill if exterior else clear)
                if stroke is not None:
                    draw.line(points, fill=stroke, width=width, joint="curve")
        image.alpha_composite(overlay)

    def points(geoms: np.ndarray, style: Style) -> None:
        if len(geoms) == 0:
            return
        geoms = geoms[~shapely.is_empty(geoms)]
        if len(geoms) == 0:
            return
        pix = pixels(shapely.get_coordinates(geoms))
        draw = ImageDraw.Draw(image)
        r = style.radius * _SUPERSAMPLE
        fill = _rgba(style.fill, 1.0) if style.fill else None
        stroke = _rgba(style.stroke, 1.0) if style.stroke else None
        for px, py in pix.tolist():
            draw.ellipse(
                (px - r, py - r, px + r, py + r),
                fill=fill,
                outline=stroke,
                width=max(1, round(style.width * _SUPERSAMPLE)),
            )

    def district() -> None:
        frame = frames.get("communities")
        if frame is None or len(frame) == 0:
            return
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms = geoms[~shapely.is_missing(geoms)]
        if len(geoms) == 0:
            return
        outline = district_outline(geoms)
        polygons(shapely.clip_by_rect(np.array([outline], dtype=object), *clip), STYLES["district"])

    if layer == "basemap":
        polygons(clipped("communities"), STYLES["communities"])
        polygons(clipped("buildings"), STYLES["buildings"])
        polygons(clipped("grids"), STYLES["grids"])
        polygons(clipped("communities"), Style(None, STYLES["communities"].stroke, 2.5))
        district()
    elif layer == "district":
        district()
    elif layer == "grid_coverage":
        summary = frames.get("summary_grids")
        if summary is not None and len(summary):
            hits = near(summary)
            geoms = np.asarray(summary.geometry.values, dtype=object)[hits]
            scores = summary["coverage_score"].to_numpy()[hits]
            fills = [coverage_color(s) for s in scores]
            polygons(shapely.clip_by_rect(geoms, *clip), COVERAGE_STYLE, fills)
    elif layer in RESULT_TILE_LAYERS:
        polygons(clipped(RESULT_TILE_LAYERS[layer]), STYLES[layer])
    elif layer == "problems":
        points(clipped("problems"), STYLES["problems"])
    else:
        polygons(clipped(layer), STYLES[layer])
    out = image.resize((TILE_SIZE, TILE_SIZE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


#: Streets between communities narrower than about twice this (degrees, ~30 m) are
#: closed when the district outline is drawn, so it runs round the district only.
_CLOSE_DEG = 3e-4


def district_outline(communities: np.ndarray) -> shapely.Geometry:
    """The district's outline: the communities' union, with streets between them closed.

    Examples
    --------
    >>> a, b = shapely.box(0, 0, 1, 1), shapely.box(1.0002, 0, 2, 1)  # a 20 m street
    >>> district_outline(np.array([a, b])).geom_type
    'Polygon'
    """
    union = shapely.union_all(shapely.make_valid(np.asarray(communities, dtype=object)))
    grown = shapely.buffer(union, _CLOSE_DEG, quad_segs=2, join_style="mitre")
    return shapely.buffer(grown, -_CLOSE_DEG, quad_segs=2, join_style="mitre")


@lru_cache(maxsize=256)
def _rgba(color: str | None, opacity: float) -> tuple[int, int, int, int]:
    if color is None:
        return (0, 0, 0, 0)
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * opacity))


# -- static maps --------------------------------------------------------------------------

#: What :func:`static_map` draws when no ``layers`` are given.
DEFAULT_STATIC_LAYERS = ("communities", "grids", "buildings")
STATIC_LAYERS = (
    "communities",
    "grids",
    "buildings",
    "problems",
    "grid_coverage",
    *_FINDING_LAYERS,
)


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
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if lang not in _TEXT:
        raise ValidationError(f"lang={lang!r}: use 'zh' or 'en'")
    layers = ["grid_coverage" if n == "coverage" else n for n in layers or DEFAULT_STATIC_LAYERS]
    unknown = [name for name in layers if name not in STATIC_LAYERS]
    if unknown:
        raise ValidationError(f"unknown map layer(s) {unknown}; choose from {list(STATIC_LAYERS)}")
    needs_results = [n for n in layers if n == "grid_coverage" or n in _FINDING_LAYERS]
    if needs_results and results is None:
        raise ValidationError(f"layer(s) {needs_results} need the check's results (run_check)")
    if not (200 <= width <= 4000 and 200 <= height <= 4000):
        raise ValidationError(f"size {width}×{height}: width and height must be 200–4000 px")
    given = sum(v is not None for v in (community, grid, bbox))
    if given > 1:
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
    map_w, map_h = width - legend_px, height
    # the area in Web Mercator, padded and stretched to the map panel's aspect
    (x0, y0), (x1, y1) = to_mercator(np.array([[area[0], area[1]], [area[2], area[3]]]))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max((x1 - x0) / 2 * 1.06, 50.0)
    half_h = max((y1 - y0) / 2 * 1.06, 50.0)
    if half_w / half_h < map_w / map_h:
        half_w = half_h * map_w / map_h
    else:
        half_h = half_w * map_h / map_w
    view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    view_lonlat = _mercator_to_lonlat(view)
    frames = _static_frames(store, layers, view_lonlat, results, labels, community, grid)

    with rc_context(_rc()):
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
        handles = _draw_static_layers(ax, frames, layers, lang)
        if labels:
            _draw_labels(ax, frames, community is None and grid is None and bbox is None, community)
        _scale_bar(ax, view, lang)
        _north_arrow(ax, text["north"])
        legend_ax = fig.add_axes((map_w / width, 0, legend_px / width, 1))
        legend_ax.set_axis_off()
        legend_ax.text(
            0.08, 0.97, title or name, fontsize=13, fontweight="bold", va="top", wrap=True
        )
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


def _mercator_to_lonlat(view: Sequence[float]) -> tuple[float, float, float, float]:
    def lon(x: float) -> float:
        return math.degrees(x / _EARTH_RADIUS)

    def lat(y: float) -> float:
        return math.degrees(2 * math.atan(math.exp(y / _EARTH_RADIUS)) - math.pi / 2)

    return (lon(view[0]), lat(view[1]), lon(view[2]), lat(view[3]))


def _static_frames(
    store: Store,
    layers: Sequence[str],
    view: tuple[float, float, float, float],
    results: Mapping[str, pd.DataFrame] | None,
    labels: bool,
    community: str | None,
    grid: str | None,
) -> dict[str, gpd.GeoDataFrame]:
    import geopandas as gpd

    window = shapely.box(*view)
    frames: dict[str, gpd.GeoDataFrame] = {}
    stored = {"communities": ["name"], "grids": ["name", "community"], "buildings": [],
              "problems": ["status"]}  # fmt: skip
    wanted = [n for n in stored if n in layers]
    if labels and "communities" not in wanted and community is None and grid is None:
        wanted.append("communities")
    if labels and "grids" not in wanted and community is not None:
        wanted.append("grids")
    for name in wanted:
        frames[name] = store.read_layer(name, bbox=view, columns=stored[name])
    for name in layers:
        if name == "grid_coverage" or name in _FINDING_LAYERS:
            assert results is not None
            source = results.get(RESULT_TILE_LAYERS[name])
            if source is None or not isinstance(source, gpd.GeoDataFrame) or source.empty:
                frames[name] = gpd.GeoDataFrame(geometry=[], crs=4326)
                continue
            geoms = np.asarray(source.geometry.values, dtype=object)
            near = ~shapely.is_missing(geoms) & shapely.intersects(geoms, window)
            frames[name] = source.loc[near]
    return frames


def _paths(geoms: np.ndarray) -> tuple[list[Any], list[int]]:
    """One matplotlib Path per feature (polygons with holes), in Web Mercator.

    Returns the paths and, for each, the position of its feature in ``geoms``.
    """
    from matplotlib.path import Path as MplPath

    coords, ring_off, poly_off, feature = _rings(geoms)
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


def _draw_static_layers(
    ax: Any, frames: Mapping[str, Any], layers: Sequence[str], lang: str
) -> list[Any]:
    from matplotlib.collections import PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    label = "label_zh" if lang == "zh" else "label_en"
    handles: list[Any] = []

    def add(name: str, style: Style, z: float, fills: Sequence[str] | None = None) -> None:
        frame = frames.get(name)
        if frame is None or frame.empty:
            return
        geoms = np.asarray(frame.geometry.values, dtype=object)
        if name in ("problems",):
            pts = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
            if len(pts):
                xy = to_mercator(shapely.get_coordinates(pts))
                ax.scatter(xy[:, 0], xy[:, 1], s=(style.radius * 1.6) ** 2, c=style.fill,
                           edgecolors=style.stroke, linewidths=style.width, zorder=z)  # fmt: skip
            return
        paths, which = _paths(geoms)
        if not paths:
            return
        face: Any = "none"
        if fills is not None:
            face = [_with_alpha(fills[i], style.fill_opacity) for i in which]
        elif style.fill:
            face = _with_alpha(style.fill, style.fill_opacity)
        coll = PathCollection(
            paths,
            facecolors=face,
            edgecolors=style.stroke or "none",
            linewidths=style.width,
            zorder=z,
        )
        ax.add_collection(coll)

    def patch(style: Style, text: str) -> Any:
        return Patch(
            facecolor=_with_alpha(style.fill, style.fill_opacity) if style.fill else "none",
            edgecolor=style.stroke or "none",
            linewidth=max(style.width, 0.8),
            label=text,
        )

    order = ["communities", "grid_coverage", "buildings", "grids", "gaps", "overlaps",
             "buildings_outside", "straddling_buildings", "multi_assigned_buildings",
             "unassigned_buildings", "problems"]  # fmt: skip
    for z, name in enumerate(order, start=1):
        if name not in layers:
            continue
        if name == "grid_coverage":
            frame = frames.get("grid_coverage")
            scores = [] if frame is None else frame["coverage_score"].tolist()
            add(name, COVERAGE_STYLE, z, [coverage_color(s) for s in scores])
            title = _TEXT[lang]["coverage"]
            handles.append(Patch(facecolor="none", edgecolor="none", label=title))
            for _, color, text in COVERAGE_CLASSES:
                handles.append(Patch(facecolor=_with_alpha(color, COVERAGE_STYLE.fill_opacity),
                                     edgecolor=COVERAGE_STYLE.stroke, label=text))  # fmt: skip
            handles.append(Patch(facecolor=_with_alpha(_NO_SCORE, COVERAGE_STYLE.fill_opacity),
                                 edgecolor=COVERAGE_STYLE.stroke,
                                 label=_TEXT[lang]["no_score"]))  # fmt: skip
            continue
        style = STYLES[name]
        add(name, style, z)
        if name == "problems":
            handles.append(
                Line2D([], [], marker="o", linestyle="none", markerfacecolor=style.fill,
                       markeredgecolor=style.stroke, markersize=7, label=getattr(style, label))
            )  # fmt: skip
        else:
            handles.append(patch(style, getattr(style, label)))
    # community boundaries stay visible above fills
    if "communities" in layers and "communities" in frames and not frames["communities"].empty:
        add("communities", Style(None, STYLES["communities"].stroke, 2.0), len(order) + 1)
    return handles


def _with_alpha(color: str | None, alpha: float) -> tuple[float, float, float, float]:
    r, g, b, _ = _rgba(color, 1.0)
    return (r / 255, g / 255, b / 255, alpha)


def _draw_labels(
    ax: Any, frames: Mapping[str, Any], district_view: bool, community: str | None
) -> None:
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
    names = frame.loc[ok, "name"].fillna(frame.loc[ok, "code"]).astype(str).tolist()
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


def _scale_bar(ax: Any, view: Sequence[float], lang: str) -> None:
    """A black-and-white scale bar of a round length at the lower left."""
    from matplotlib.patches import Rectangle

    width_m = view[2] - view[0]
    lat = _mercator_to_lonlat(view)
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


def _north_arrow(ax: Any, label: str) -> None:
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
