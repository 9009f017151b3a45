"""Frames from arrays, and the codes the layers are referred to by.

Codes are strings (``C01``, ``C01-G001``, ``B000001``, ``B000001-1-0101``, ``O001``,
``M00001``, ``A0000001``, ``V00000001``, ``MT000001``, ``P0000001``); references hold
codes. The frames are built by :mod:`~gridgeo.synth.place_frames`,
:mod:`~gridgeo.synth.people_frames` and :mod:`~gridgeo.synth.activity_frames`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from gridgeo.layers import LAYERS
from gridgeo.synth.columns import text_column

__all__ = ["layer_frame"]


def layer_frame(
    name: str, columns: dict[str, Any], geometry: np.ndarray | None = None
) -> pd.DataFrame | gpd.GeoDataFrame:
    """The frame of layer ``name``: its fields in order, then its geometry (EPSG:4326).

    ``columns`` is emptied as its columns are converted (arrow strings become pandas
    string columns), so that no second copy outlives the conversion.
    """
    spec = LAYERS[name]
    assert list(columns) == spec.field_names, (name, list(columns), spec.field_names)
    data = {}
    for field in spec.fields:
        column = columns.pop(field.name)
        if isinstance(column, (pa.Array, pa.ChunkedArray)):
            column = text_column(column)
        data[field.name] = column
    frame = pd.DataFrame(data, copy=False)
    if spec.geometry is None:
        return frame
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326"
    )
