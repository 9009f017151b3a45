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
Every sheet has its header row frozen, an auto filter, and columns as wide as their
text (Chinese characters counted double, at most 60).
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
    headings: Mapping[str, str] | None = None,
    sheet_names: Mapping[str, str] | None = None,
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
    headings, sheet_names
        Column headings and sheet names to show instead of the frames' own names
        (names not in them are kept).

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
    headings, sheet_names = headings or {}, sheet_names or {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = sheet_table(frame, geometry=geometry)
            table = table.rename(columns=lambda c: headings.get(str(c), c))
            sheet = sheet_names.get(name, name)[:SHEET_NAME_LENGTH]
            table.to_excel(writer, sheet_name=sheet, index=False)
            _readable(writer.sheets[sheet], table)
    return path


def _text_width(value: object) -> int:
    """Columns a value takes in Excel's default font (a Chinese character takes two)."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _readable(ws: object, table: pd.DataFrame) -> None:
    """Frozen header row, an auto filter, and columns as wide as their text."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"  # type: ignore[attr-defined]
    if len(table.columns):
        ws.auto_filter.ref = ws.dimensions  # type: ignore[attr-defined]
    for i, col in enumerate(table.columns, start=1):
        sample = table[col].head(500)
        width = max([_text_width(col), *(_text_width(v) for v in sample)])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 6), 60)  # type: ignore[attr-defined]
