"""Layers held in memory with their R-tree, encoded as Mapbox Vector Tiles on request.

The embedded store's layers and the findings are drawn from frames, not from SQL: a
:class:`MemoryLayer` keeps a frame's geometries (in EPSG:4326, and in Web Mercator for
the vector tiles) with their spatial indexes, built the first time each is needed. The
PNG tiles take the rows near a tile from it (:meth:`MemoryLayer.window`), the vector
tiles their features clipped and encoded (:meth:`MemoryLayer.tile`).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import mercantile
import numpy as np
import pandas as pd
import shapely

from gridgeo.render import to_mercator
from gridgeo.store.tiles import BUFFER, EXTENT

__all__ = ["BUFFER", "EXTENT", "MVT_MEDIA_TYPE", "MemoryLayer", "native_values"]

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def native_values(values: pd.Series) -> list[Any]:
    """A column as MVT-encodable Python values (None for missing)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.strftime("%Y-%m-%d").astype(object)
        return out.where(values.notna(), None).tolist()
    if pd.api.types.is_bool_dtype(values):
        return [bool(v) for v in values.tolist()]
    if pd.api.types.is_numeric_dtype(values):
        floats = values.astype("float64")
        integral = bool(np.all(np.mod(floats.dropna(), 1) == 0))
        return [
            None if math.isnan(v) else (int(v) if integral else round(v, 3))
            for v in floats.tolist()
        ]

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, list | tuple | np.ndarray):
            return ", ".join(map(str, v))
        if isinstance(v, bool | int | float | str):
            return v
        return str(v)

    return [one(v) for v in values.tolist()]


class MemoryLayer:
    """A layer's features in memory with R-trees, for vector tiles and for drawing.

    Parameters
    ----------
    frame
        A GeoDataFrame in EPSG:4326 (rows without a geometry are left out).
    columns
        The attribute columns to put in the vector tiles (missing ones are left out).
    """

    def __init__(self, frame: Any, columns: tuple[str, ...] = ()) -> None:
        self.frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        self.columns = [c for c in columns if c in self.frame.columns]
        self.bounds = tuple(self.frame.total_bounds) if len(self.frame) else None

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def values(self) -> list[list[Any]]:
        """The values of each attribute column, as the tiles hold them."""
        return [native_values(self.frame[c].reset_index(drop=True)) for c in self.columns]

    @cached_property
    def lonlat_tree(self) -> shapely.STRtree:
        """The R-tree of the geometries in longitude/latitude."""
        return shapely.STRtree(np.asarray(self.frame.geometry.values, dtype=object))

    @cached_property
    def geoms(self) -> np.ndarray:
        """The geometries in Web Mercator."""
        lonlat = np.asarray(self.frame.geometry.values, dtype=object)
        return shapely.transform(lonlat, to_mercator)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """The R-tree of the geometries in Web Mercator."""
        return shapely.STRtree(self.geoms)

    def window(self, bbox: tuple[float, float, float, float]) -> Any:
        """The rows whose geometry meets ``bbox`` (lon/lat), in the frame's order."""
        hits = self.lonlat_tree.query(shapely.box(*bbox), predicate="intersects")
        hits.sort()
        return self.frame.iloc[hits]

    def tile(
        self, name: str, z: int, x: int, y: int, columns: tuple[str, ...] | None = None
    ) -> bytes:
        """The tile's features as one MVT layer called ``name`` (b"" when none).

        ``columns`` keeps only some of the layer's attribute columns.
        """
        minx, miny, maxx, maxy = mercantile.xy_bounds(x, y, z)
        scale = EXTENT / (maxx - minx)
        pad = BUFFER / scale
        clip = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        hits = self.tree.query(shapely.box(*clip), predicate="intersects")
        if not len(hits):
            return b""
        hits.sort()
        clipped = shapely.clip_by_rect(self.geoms[hits], *clip)
        local = shapely.transform(
            clipped,
            lambda c: np.column_stack(((c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale)),
        )
        attributes = [
            (col, values)
            for col, values in zip(self.columns, self.values, strict=True)
            if columns is None or col in columns
        ]
        features = []
        for i, geom in zip(hits.tolist(), local, strict=True):
            if geom.is_empty:
                continue
            props = {col: values[i] for col, values in attributes if values[i] is not None}
            features.append({"geometry": geom, "properties": props})
        return _encode(name, features)


def _encode(name: str, features: list[dict[str, Any]]) -> bytes:
    """One MVT layer of features in tile coordinates (b"" for none)."""
    if not features:
        return b""
    import mapbox_vector_tile

    return bytes(
        mapbox_vector_tile.encode(
            [{"name": name, "features": features}],
            default_options={
                "extents": EXTENT,
                "y_coord_down": True,
                "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
            },
        )
    )
