"""Raster (PNG) XYZ tiles of the stored layers and of the check's results.

:func:`tile_png` draws one 256 px tile of a layer (or of the ``basemap``, which stacks
communities, grids, buildings and the district outline). These tiles are the maps'
offline basemap and what other map clients and documents embed. The service reads
the features itself (:func:`tile_read_plan`, :func:`tile_bbox`) and hands them to
:func:`draw_tile`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from gridgeo.errors import NotFound, ValidationError
from gridgeo.render.geometry import district_outline
from gridgeo.render.projection import tile, tile_bounds
from gridgeo.render.raster import MARGIN_PX, TileCanvas
from gridgeo.render.styles import COVERAGE_STYLE, STYLES, Style, coverage_color

if TYPE_CHECKING:
    from gridgeo.store import Store

__all__ = [
    "BUILDINGS_MIN_ZOOM",
    "FINDING_LAYERS",
    "PROBLEMS_MIN_ZOOM",
    "RESULT_TILE_LAYERS",
    "TILE_LAYERS",
    "draw_tile",
    "tile_bbox",
    "tile_layers_needed",
    "tile_png",
    "tile_read_plan",
]

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
#: those of the service's vector tilesets.
RESULT_TILE_LAYERS: dict[str, str] = {
    "grid_coverage": "summary_grids",
    "gaps": "gaps",
    "overlaps": "overlaps",
    "straddling_buildings": "straddling_buildings",
    "buildings_outside": "buildings_outside",
    "unassigned_buildings": "unassigned_buildings",
    "multi_assigned_buildings": "multi_assigned_buildings",
}
#: The check's finding layers drawn with their own style (:data:`~gridgeo.render.STYLES`).
FINDING_LAYERS = ("gaps", "overlaps", "unassigned_buildings", "multi_assigned_buildings",
                  "straddling_buildings", "buildings_outside")  # fmt: skip
#: Below this zoom buildings are not drawn (a z10 tile of a city holds a million).
BUILDINGS_MIN_ZOOM = 13
#: Below this zoom problems are not drawn.
PROBLEMS_MIN_ZOOM = 12


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


def tile_bbox(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's bounds in lon/lat, with the margin drawn around it (8 px).

    Examples
    --------
    >>> [round(v, 3) for v in tile_bbox(1, 0, 0)]
    [-185.625, -2.658, 5.625, 87.709]
    """
    return tile_bounds(tile(z, x, y), margin_px=MARGIN_PX)


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
    >>> import io
    >>> import gridgeo
    >>> from PIL import Image
    >>> store = gridgeo.open_store("sqlite:///:memory:")
    >>> png = tile_png(store, "basemap", 14, 13722, 6693)
    >>> Image.open(io.BytesIO(png)).size
    (256, 256)
    >>> store.close()
    """
    bbox = tile_bbox(z, x, y)
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
    t = tile(z, x, y)
    tile_layers_needed(layer)
    if transparent is None:
        transparent = layer != "basemap"
    canvas = TileCanvas(t, transparent=transparent)
    if layer == "basemap":
        canvas.polygons(canvas.clipped(frames.get("communities")), STYLES["communities"])
        canvas.polygons(canvas.clipped(frames.get("buildings")), STYLES["buildings"])
        canvas.polygons(canvas.clipped(frames.get("grids")), STYLES["grids"])
        canvas.polygons(
            canvas.clipped(frames.get("communities")),
            Style(None, STYLES["communities"].stroke, 2.5),
        )
        _draw_district(canvas, frames.get("communities"))
    elif layer == "district":
        _draw_district(canvas, frames.get("communities"))
    elif layer == "grid_coverage":
        _draw_coverage(canvas, frames.get("summary_grids"))
    elif layer in RESULT_TILE_LAYERS:
        canvas.polygons(canvas.clipped(frames.get(RESULT_TILE_LAYERS[layer])), STYLES[layer])
    elif layer == "problems":
        canvas.points(canvas.clipped(frames.get("problems")), STYLES["problems"])
    else:
        canvas.polygons(canvas.clipped(frames.get(layer)), STYLES[layer])
    return canvas.png()


def _draw_district(canvas: TileCanvas, communities: pd.DataFrame | None) -> None:
    """The district's outline, from the communities (all of them, not only the near ones)."""
    if communities is None or len(communities) == 0:
        return
    geoms = np.asarray(communities.geometry.values, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms)]
    if len(geoms) == 0:
        return
    outline = district_outline(geoms)
    canvas.polygons(canvas.clip_geoms(np.array([outline], dtype=object)), STYLES["district"])


def _draw_coverage(canvas: TileCanvas, summary: pd.DataFrame | None) -> None:
    """Grids filled with the colour of their coverage score."""
    if summary is None or not len(summary):
        return
    hits = canvas.near(summary)
    geoms = np.asarray(summary.geometry.values, dtype=object)[hits]
    scores = summary["coverage_score"].to_numpy()[hits]
    fills = [coverage_color(s) for s in scores]
    canvas.polygons(canvas.clip_geoms(geoms), COVERAGE_STYLE, fills)
