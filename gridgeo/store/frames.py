"""Rows fetched from either store turned into the same layer frames."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.layers import Field, LayerSpec
from gridgeo.schema import SRID

__all__ = ["by_column", "gc_paused", "to_frame"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a layer is read.

    A million rows are a million tuples and a million shapely geometries; the full
    collections they trigger cost more than the fetch itself (measured by
    benchmarks/read_layer.py). Pausing only defers collection, and the collector is
    put back as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def by_column(rows: Sequence[Sequence[Any]], ncols: int) -> list[list[Any]]:
    """Rows to one list per column (without zip(*rows)'s million-argument call)."""
    return [list(map(itemgetter(i), rows)) for i in range(ncols)]


def to_frame(spec: LayerSpec, fields: list[Field], data: list[list[Any]]) -> pd.DataFrame:
    """Build the layer frame, with the same dtypes whichever store read it."""
    cols: dict[str, Any] = {}
    for f, values in zip(fields, data, strict=False):
        cols[f.name] = _typed(f, values)
    frame = pd.DataFrame(cols, columns=[f.name for f in fields])
    if spec.geometry:
        geoms = shapely.from_wkb(np.asarray(data[len(fields)], dtype=object)) if data else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    return frame


def _typed(field: Field, values: list[Any]) -> pd.Series:
    if field.kind == "int":
        return pd.Series(values, dtype="Int64")
    if field.kind == "date":
        return pd.Series(
            pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601"),
            dtype="datetime64[ns]",
        )
    if field.kind == "datetime":
        ser = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=True)
        return ser.astype("datetime64[ns, UTC]")
    return pd.Series(values, dtype="str")
