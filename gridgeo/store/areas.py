"""The study area an analysis of the whole district runs over."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["study_area"]


def study_area(store: Any, *, columns: Sequence[str] | None = None) -> Any:
    """The district's communities that have a polygon, or its grids when none has one.

    Communities are optional polygons (a district may load grids only); the grids then
    stand for the area.

    Parameters
    ----------
    store
        The store to read from (a :class:`gridgeo.store.Store` or a view of one).
    columns
        The attribute columns to read (None: all).

    Returns
    -------
    GeoDataFrame
        Polygons in EPSG:4326.

    Examples
    --------
    >>> import gridgeo
    >>> store = gridgeo.open_store("sqlite:///:memory:")
    >>> len(study_area(store, columns=["name"]))
    0
    >>> store.close()
    """
    wanted = None if columns is None else list(columns)
    communities = store.read_layer("communities", columns=wanted)
    present = communities[communities.geometry.notna()]
    if len(present):
        return present
    return store.read_layer("grids", columns=wanted)
