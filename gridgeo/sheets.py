"""Frames as spreadsheet tables: one XLSX writer for every workbook gridgeo writes.

A sheet holds a frame's columns without its geometry; what replaces the geometry is
chosen by ``geometry``:

``"omit"``
    nothing (the check's workbook: the GeoPackage beside it has the geometries);
``"lonlat"``
    ``lon``/``lat`` columns, the coordinates of points (empty for other geometries),
    when the frame has any geometry;
``"lonlat_or_wkt"``
    ``lon``/``lat`` when every geometry is a point, else a ``wkt`` column (a layer
    exported for Excel, CSV included).

Times keep their local clock reading without the offset: Excel has no time zones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import shapely

__all__ = ["GEOMETRY_CHOICES", "GeometryColumns", "sheet_table", "write_sheets"]

#: what replaces a frame's geometry in its sheet (see the module's docstring)
GeometryColumns = Literal["omit", "lonlat", "lonlat_or_wkt"]
GEOMETRY_CHOICES: tuple[str, ...] = ("omit", "lonlat", "lonlat_or_wkt")
#: the longest sheet name Excel accepts
SHEET_NAME_LENGTH = 31


def sheet_table(frame: pd.DataFrame, *, geometry: GeometryColumns = "omit") -> pd.DataFrame:
    """The table a frame is written as: no geometry column, times without their offset.

    Parameters
    ----------
    frame
        A DataFrame or GeoDataFrame.
    geometry
        What replaces the geometry: ``"omit"``, ``"lonlat"`` or ``"lonlat_or_wkt"``.

    Returns
    -------
    DataFrame
        A new frame; ``frame`` is not modified.

    Examples
    --------
    >>> points = gpd.GeoDataFrame({"code": ["a"]}, geometry=gpd.points_from_xy([121.5], [31.2]))
    >>> sheet_table(points, geometry="lonlat").columns.tolist()
    ['code', 'lon', 'lat']
    >>> squares = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)])
    >>> sheet_table(squares, geometry="lonlat_or_wkt").columns.tolist()
    ['code', 'wkt']
    >>> sheet_table(squares).columns.tolist()
    ['code']
    """
    if geometry not in GEOMETRY_CHOICES:
        raise ValueError(f"geometry={geometry!r}: one of {', '.join(GEOMETRY_CHOICES)}")
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if isinstance(frame, gpd.GeoDataFrame):
        if geometry == "lonlat" and frame.geometry.notna().any():
            geoms = frame.geometry.to_numpy()
            table["lon"], table["lat"] = shapely.get_x(geoms), shapely.get_y(geoms)
        elif geometry == "lonlat_or_wkt":
            geoms = frame.geometry
            if len(geoms) and (geoms.geom_type.dropna() == "Point").all():
                table["lon"], table["lat"] = geoms.x, geoms.y
            else:
                table["wkt"] = geoms.to_wkt()
    for col in table.columns:
        if isinstance(table[col].dtype, pd.DatetimeTZDtype):
            table[col] = table[col].dt.tz_localize(None)
    return table


def write_sheets(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    geometry: GeometryColumns = "omit",
) -> Path:
    """Write a workbook with one sheet per frame, in the order given.

    Parameters
    ----------
    sheets
        Frames by sheet name; names are cut to Excel's 31 characters.
    path
        The ``.xlsx`` to write (replaced if it exists).
    geometry
        What replaces each frame's geometry (:func:`sheet_table`).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "counts.xlsx"
    >>> _ = write_sheets({"grids": pd.DataFrame({"code": ["G1", "G2"]})}, out)
    >>> pd.read_excel(out, sheet_name=None)["grids"]["code"].tolist()
    ['G1', 'G2']
    """
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = sheet_table(frame, geometry=geometry)
            table.to_excel(writer, sheet_name=name[:SHEET_NAME_LENGTH], index=False)
    return path
