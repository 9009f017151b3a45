"""Drawing on one raster tile with Pillow: polygons, points, supersampled and reduced.

A :class:`TileCanvas` is twice the tile's size; :meth:`TileCanvas.png` reduces it
with Lanczos, so edges come out smooth.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import mercantile
import numpy as np
import shapely
from PIL import Image, ImageDraw

from gridgeo.render.geometry import near_window, rings
from gridgeo.render.projection import TILE_SIZE, tile_bounds, to_mercator
from gridgeo.render.styles import STYLES, Style, rgba

__all__ = ["MARGIN_PX", "SUPERSAMPLE", "TileCanvas"]

#: The canvas is this many times the tile's size.
SUPERSAMPLE = 2
#: Features are clipped this many pixels beyond the tile, so strokes meet across tiles.
MARGIN_PX = 8
_CLEAR = (0, 0, 0, 0)


class TileCanvas:
    """An RGBA canvas of one XYZ tile, taking lon/lat geometries."""

    def __init__(self, tile: mercantile.Tile, *, transparent: bool) -> None:
        self.size = TILE_SIZE * SUPERSAMPLE
        left, bottom, right, top = mercantile.xy_bounds(tile)
        self._origin = (left, top)
        self._scale = (self.size / (right - left), self.size / (top - bottom))
        # lines get thinner below zoom 14, where a tile holds many more of them
        self.thin = min(1.0, max(0.4, (tile.z - 9) / 5))
        background = _CLEAR if transparent else rgba(STYLES["background"].fill, 1.0)
        self.image = Image.new("RGBA", (self.size, self.size), background)
        self.clip = tile_bounds(tile, margin_px=MARGIN_PX)
        self.window = shapely.box(*self.clip)

    def pixels(self, coords: np.ndarray) -> np.ndarray:
        """Lon/lat coordinates as canvas pixels (x right, y down)."""
        m = to_mercator(coords)
        (left, top), (sx, sy) = self._origin, self._scale
        return np.column_stack(((m[:, 0] - left) * sx, (top - m[:, 1]) * sy))

    def near(self, frame: Any) -> np.ndarray:
        """Positions of the frame's features that reach the tile."""
        return near_window(frame, self.window)

    def clip_geoms(self, geoms: np.ndarray) -> np.ndarray:
        """Geometries cut to the tile and its margin."""
        return shapely.clip_by_rect(np.asarray(geoms, dtype=object), *self.clip)

    def clipped(self, frame: Any) -> np.ndarray:
        """The frame's geometries that reach the tile, cut to it (none for no frame)."""
        if frame is None or len(frame) == 0 or "geometry" not in frame:
            return np.zeros(0, dtype=object)
        geoms = np.asarray(frame.geometry.values, dtype=object)[self.near(frame)]
        return self.clip_geoms(geoms)

    def polygons(self, geoms: np.ndarray, style: Style, fills: Sequence[str] | None = None) -> None:
        """Fill and stroke polygons (``fills``: one colour per feature instead of the style's)."""
        if len(geoms) == 0:
            return
        coords, ring_off, poly_off, feature = rings(geoms)
        if len(feature) == 0:
            return
        pix = self.pixels(coords)
        overlay = Image.new("RGBA", (self.size, self.size), _CLEAR)
        draw = ImageDraw.Draw(overlay)
        width = max(1, round(style.width * SUPERSAMPLE * self.thin))
        stroke = rgba(style.stroke, 1.0) if style.stroke else None
        base_fill = rgba(style.fill, style.fill_opacity) if style.fill else None
        for i in range(len(feature)):
            fill = rgba(fills[feature[i]], style.fill_opacity) if fills is not None else base_fill
            for r in range(poly_off[i], poly_off[i + 1]):
                ring = pix[ring_off[r] : ring_off[r + 1]]
                if len(ring) < 3:
                    continue
                points = ring.ravel().tolist()
                if fill is not None:
                    draw.polygon(points, fill=fill if r == poly_off[i] else _CLEAR)
                if stroke is not None:
                    draw.line(points, fill=stroke, width=width, joint="curve")
        self.image.alpha_composite(overlay)

    def points(self, geoms: np.ndarray, style: Style) -> None:
        """Draw point symbols (circles of the style's radius)."""
        if len(geoms) == 0:
            return
        geoms = geoms[~shapely.is_empty(geoms)]
        if len(geoms) == 0:
            return
        pix = self.pixels(shapely.get_coordinates(geoms))
        draw = ImageDraw.Draw(self.image)
        r = style.radius * SUPERSAMPLE
        fill = rgba(style.fill, 1.0) if style.fill else None
        stroke = rgba(style.stroke, 1.0) if style.stroke else None
        for px, py in pix.tolist():
            draw.ellipse(
                (px - r, py - r, px + r, py + r),
                fill=fill,
                outline=stroke,
                width=max(1, round(style.width * SUPERSAMPLE)),
            )

    def png(self) -> bytes:
        """The canvas reduced to a 256 px tile, as PNG bytes."""
        out = self.image.resize((TILE_SIZE, TILE_SIZE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, format="PNG", optimize=False, compress_level=6)
        return buf.getvalue()
