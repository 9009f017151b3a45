"""Write frames to the files planners open: GeoPackage, GeoJSON, Shapefile, CSV, XLSX.

What is written reads back as it was stored: times as ISO 8601 text with their UTC
offset and microseconds, days as ``YYYY-MM-DD``, coordinates at full precision
(points as ``lon``/``lat`` numbers, other geometries as WKT that reads back as the
same doubles).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridgeo.errors import FileFormatError, Issue
from gridgeo.io.columns import describe_geopackage
from gridgeo.io.dates import format_dates, format_times
from gridgeo.io.geometry import to_wkt
from gridgeo.sheets import write_sheets

__all__ = ["write_file"]

_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}


def _lossless_times(frame: pd.DataFrame, *, days_as_text: bool) -> pd.DataFrame:
    """Time columns as ISO text with offset; day columns (midnight, naive) too if asked."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        dtype = out[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[col] = format_times(out[col])
        elif days_as_text and pd.api.types.is_datetime64_dtype(dtype):
            values = out[col].dropna()
            if (values == values.dt.normalize()).all():
                out[col] = format_dates(out[col])
    return out


def _shortest(values: pd.Series) -> pd.Series:
    """Numbers as the shortest text that reads back as the same double."""
    return pd.Series([None if pd.isna(v) else repr(float(v)) for v in values], dtype=object)


def _table(frame: pd.DataFrame, *, numbers_as_text: bool = False) -> pd.DataFrame:
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry
        types = geoms.geom_type.dropna()
        if len(types) and (types == "Point").all():
            table["lon"], table["lat"] = geoms.x, geoms.y
            if numbers_as_text:  # openpyxl writes doubles a last digit short
                table["lon"], table["lat"] = _shortest(geoms.x), _shortest(geoms.y)
        else:
            table["wkt"] = to_wkt(geoms.values)
    return _lossless_times(table, days_as_text=True)


def write_file(
    frame: pd.DataFrame, path: str | Path, *, layer: str | None = None, lang: str = "zh"
) -> Path:
    """Write a frame to GeoPackage, GeoJSON, Shapefile, CSV or XLSX (by extension).

    A GeoPackage gains or replaces the layer ``layer``, its fields titled and described
    in ``lang`` (:func:`gridgeo.io.columns.describe_geopackage`: QGIS's aliases and
    comments); CSV and XLSX get the geometry as full-precision WKT in a ``wkt`` column
    (points as ``lon``/``lat``). Times are written as ISO 8601 text with their offset,
    to the microsecond.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".csv", ".xlsx"):
        table = _table(frame, numbers_as_text=ext == ".xlsx")
        if ext == ".csv":
            table.to_csv(path, index=False, encoding="utf-8-sig")
        else:
            write_sheets({layer or path.stem: table}, path)
        return path
    if ext not in _DRIVERS:
        raise FileFormatError(
            Issue(
                f"cannot write {ext or 'files without extension'}",
                file=path.name,
                hint="use .gpkg, .geojson, .shp, .csv or .xlsx",
            )
        )
    kwargs: dict[str, object] = {"layer": layer} if ext == ".gpkg" and layer else {}
    if _DRIVERS[ext] == "GeoJSON":
        kwargs["layer_options"] = {"SIGNIFICANT_FIGURES": "17", "COORDINATE_PRECISION": "17"}
    out = _lossless_times(frame, days_as_text=False)
    if isinstance(frame, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.name, crs=frame.crs)
    pyogrio.write_dataframe(out, path, driver=_DRIVERS[ext], **kwargs)
    if ext == ".gpkg":
        describe_geopackage(path, lang, layers=[layer or path.stem])
    return path
