"""The PostGIS statements that make Mapbox Vector Tiles of the stored layers.

One ``ST_AsMVT`` query per layer; the tile of several layers (the service's basemap)
is their concatenation in one statement. The statements are plain SQL with bound
parameters (``%(z)s``, ``%(x)s``, ``%(y)s``, and ``%(codes_<layer>)s`` for the codes an
area keeps), written for psycopg, so the service can await them on its asynchronous
connections. Tables and columns come from :data:`gridgeo.layers.LAYERS` through
:func:`gridgeo.store.base.column_sql`, as every other statement of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gridgeo.layers import LAYERS
from gridgeo.store.base import column_sql

__all__ = ["BUFFER", "EXTENT", "AREA_CODES", "extent_sql", "mvt_sql", "mvt_statement"]

#: Tile extent in tile units.
EXTENT = 4096
#: Tile buffer in tile units: features are clipped this far outside the tile, so
#: polygon outlines do not show along tile edges.
BUFFER = 64
#: The codes of an area (:class:`gridgeo.access.Area`) that each stored layer keeps.
AREA_CODES = {"communities": "visible_communities", "grids": "grids", "buildings": "buildings"}

_SQL: dict[tuple[str, tuple[str, ...], bool], str] = {}


def mvt_sql(layer: str, columns: tuple[str, ...], only: bool = False) -> str:
    """One ST_AsMVT query for a stored layer; parameters z, x, y.

    With ``only``, also ``codes_<layer>``: the codes to keep.

    Examples
    --------
    >>> mvt_sql("grids", ("code",)).startswith("SELECT ST_AsMVT(q, 'grids', 4096, 'geom')")
    True
    """
    spec = LAYERS[layer]
    cols, joins = column_sql([spec.field(name) for name in columns])
    # The envelope is transformed to 4326 once (a constant), so the && filter uses the
    # GiST index on the stored geometry; only the rows found are transformed to 3857.
    return (
        f"SELECT ST_AsMVT(q, '{layer}', {EXTENT}, 'geom') FROM ("
        f"SELECT {', '.join(cols)}, ST_AsMVTGeom(ST_Transform(t.geom, 3857), "
        f"ST_TileEnvelope(%(z)s, %(x)s, %(y)s), {EXTENT}, {BUFFER}, true) AS geom "
        f'FROM "{spec.table}" t {" ".join(joins)} '
        f"WHERE t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, "
        f"margin => {BUFFER / EXTENT}), 4326)"
        + (f" AND t.code = ANY(%(codes_{layer})s)" if only else "")
        + ") q"
    )


def mvt_statement(
    parts: Sequence[tuple[str, tuple[str, ...]]], z: int, x: int, y: int, area: Any = None
) -> tuple[str, dict[str, Any]]:
    """One statement for the tile of one or more stored layers (MVT layers concatenate).

    Parameters
    ----------
    parts
        ``(layer, columns)`` of each stored layer in the tile.
    z, x, y
        The tile (XYZ).
    area
        Only the features whose codes are in this :class:`gridgeo.access.Area`.

    Returns
    -------
    tuple[str, dict]
        The statement and its parameters.
    """
    selects, sqls = [], []
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    for layer, cols in parts:
        key = (layer, cols, area is not None)
        if key not in _SQL:
            _SQL[key] = mvt_sql(*key)
        sqls.append(_SQL[key])
        selects.append(f"({_SQL[key]})")
        if area is not None:
            params[f"codes_{layer}"] = sorted(getattr(area, AREA_CODES[layer]))
    sql = "SELECT " + " || ".join(selects) if len(selects) > 1 else sqls[0]
    return sql, params


def extent_sql(layer: str) -> str:
    """The bounds of a stored layer's geometries (minx, miny, maxx, maxy; NULLs if none)."""
    return (
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f'(SELECT ST_Extent(geom) AS e FROM "{LAYERS[layer].table}") s'
    )
