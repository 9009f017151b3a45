"""Writing a generated district to one GeoPackage."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from gridgeo.layers import LAYER_ORDER, LAYERS, LayerSpec
from gridgeo.synth.parameters import Progress

if TYPE_CHECKING:
    from gridgeo.synth.district import District

__all__ = ["ROWS_PER_BATCH", "arrow_table", "write_gpkg"]

#: Rows per batch :func:`write_gpkg` hands to pyogrio (and reports progress after).
ROWS_PER_BATCH = 250_000


def write_gpkg(
    district: District, path: str | pathlib.Path, *, progress: Progress | None = None
) -> pathlib.Path:
    """Write a district to one GeoPackage, one layer per key, overwriting the file.

    Spatial layers are written with their geometry type in EPSG:4326; the others as
    attribute tables. ``date`` fields become GeoPackage DATE columns, ``datetime``
    fields DATETIME in UTC.

    Parameters
    ----------
    district
        What :func:`gridgeo.synth.generate` returned.
    path
        The ``.gpkg`` file to write; its folder is created if needed.
    progress
        Called as ``progress("writing <layer>", rows_done, rows_total)`` per batch of
        rows, ending with ``rows_done == rows_total`` for every layer.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import pyogrio, tempfile
    >>> from gridgeo.synth import generate
    >>> d = generate("tiny")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_gpkg(d, pathlib.Path(tmp) / "tiny.gpkg")
    ...     len(pyogrio.list_layers(p))
    10
    """
    import pyogrio

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        leftover = path.with_name(path.name + suffix)
        if leftover.exists():
            leftover.unlink()
    batch = ROWS_PER_BATCH
    for name in LAYER_ORDER:
        frame = district.layers[name]
        spec = LAYERS[name]
        geometry: dict[str, Any] = {}
        if spec.geometry:
            geometry = {
                "geometry_name": "geometry",
                "geometry_type": spec.geometry,
                "crs": "EPSG:4326",
            }
        total = max(len(frame), 1)
        for first in range(0, total, batch):
            if progress is not None:
                progress(f"writing {name}", first, total)
            table = arrow_table(frame.iloc[first : first + batch], spec)
            pyogrio.write_arrow(
                table, path, layer=name, driver="GPKG", append=first > 0, **geometry
            )
        if progress is not None:
            progress(f"writing {name}", total, total)
    return path


def arrow_table(frame: pd.DataFrame, spec: LayerSpec) -> pa.Table:
    """The frame's fields (and geometry as ISO WKB) as an arrow table, as GDAL types them.

    Parameters
    ----------
    frame
        Rows of a generated layer.
    spec
        The layer's spec: its fields' kinds and geometry type.

    Returns
    -------
    pyarrow.Table
        Text as strings, integers as int64, dates as date32, times as UTC milliseconds.
    """
    arrays, names = [], []
    for field in spec.fields:
        column = frame[field.name]
        if field.kind == "text":
            array = (
                pa.array(column.array, type=pa.string())
                if len(column)
                else pa.array([], pa.string())
            )
        elif field.kind == "int":
            array = pa.array(column.array, type=pa.int64())
        elif field.kind == "date":
            array = pa.array(column.array).cast(pa.date32(), safe=False)
        else:
            array = pa.array(column.dt.tz_convert("UTC").array).cast(
                pa.timestamp("ms", tz="UTC"), safe=False
            )
        arrays.append(array)
        names.append(field.name)
    if spec.geometry:
        wkb = shapely.to_wkb(np.asarray(frame.geometry.array), flavor="iso")
        arrays.append(pa.array(wkb, type=pa.binary(), from_pandas=True))
        names.append("geometry")
    return pa.Table.from_arrays(arrays, names=names)
