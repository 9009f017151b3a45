"""Geometry in tables (coordinate or WKT columns) and coordinate reference systems."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridgeo.errors import CRSError, Issue, NotFound, ValidationError
from gridgeo.io.crs import InputCRS, frame_to_wgs84

__all__ = [
    "WKT_COLUMNS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "table_geometry",
    "to_wgs84",
    "to_wkt",
]

#: column names (lower case) recognised as coordinates or WKT in tables
X_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
Y_COLUMNS = ("lat", "latitude", "y", "纬度")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
_SHOWN = 50


def to_wkt(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """WKT at full precision (every coordinate reads back as the same double)."""
    return shapely.to_wkt(np.asarray(geoms, dtype=object), rounding_precision=-1)


def _find(columns: list[str], explicit: str | None, names: tuple[str, ...]) -> str | None:
    if explicit:
        return explicit
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _wkt_geometry(
    frame: pd.DataFrame, column: str, file: str, rows: np.ndarray, issues: list[Issue]
) -> np.ndarray:
    text = frame[column]
    geoms = np.full(len(frame), None, dtype=object)
    present = text.notna().to_numpy()
    parsed = shapely.from_wkt(text[present].astype(str).to_numpy(), on_invalid="ignore")
    geoms[present] = parsed
    for pos in np.flatnonzero(present)[pd.isna(parsed)][:_SHOWN]:
        issues.append(
            Issue(
                "not a WKT geometry",
                file=file,
                row=int(rows[pos]),
                column=column,
                value=text.iloc[pos],
                hint="write it as e.g. POLYGON((x y, ...))",
            )
        )
    return geoms


def _point_geometry(
    frame: pd.DataFrame, x_col: str, y_col: str, file: str, rows: np.ndarray, issues: list[Issue]
) -> np.ndarray:
    xs = pd.to_numeric(frame[x_col], errors="coerce").astype(float)
    ys = pd.to_numeric(frame[y_col], errors="coerce").astype(float)
    for col, raw, num in ((x_col, frame[x_col], xs), (y_col, frame[y_col], ys)):
        bad = raw.notna().to_numpy() & ~np.isfinite(num.to_numpy())
        for pos in np.flatnonzero(bad)[:_SHOWN]:
            issues.append(
                Issue(
                    "not a number",
                    file=file,
                    row=int(rows[pos]),
                    column=col,
                    value=raw.iloc[pos],
                    hint="coordinates must be finite decimal numbers",
                )
            )
    half = (frame[x_col].notna() ^ frame[y_col].notna()).to_numpy()
    for pos in np.flatnonzero(half)[:_SHOWN]:
        issues.append(
            Issue(
                "only one of the two coordinates is given",
                file=file,
                row=int(rows[pos]),
                column=y_col if pd.isna(frame[y_col].iloc[pos]) else x_col,
                hint=f"fill both {x_col} and {y_col}, or leave both empty for no location",
            )
        )
    ok = np.isfinite(xs.to_numpy()) & np.isfinite(ys.to_numpy())
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(xs.to_numpy()[ok], ys.to_numpy()[ok])
    return geoms


def table_geometry(
    frame: pd.DataFrame,
    path: Path,
    rows: np.ndarray,
    *,
    x: str | None,
    y: str | None,
    wkt: str | None,
    crs: CRS | None,
) -> pd.DataFrame:
    """A table with a WKT or x/y column as a GeoDataFrame (the frame itself without one).

    Raises
    ------
    ValidationError
        A value that is not WKT, a coordinate that is not a finite number, or a
        point with one coordinate only, each named by its row.
    """
    cols = list(frame.columns)
    for name in (x, y, wkt):
        if name and name not in cols:
            raise NotFound(f"{path.name} has no column {name!r}; its columns are {cols}")
    wkt_col = _find(cols, wkt, WKT_COLUMNS) if not (x or y) else None
    x_col, y_col = _find(cols, x, X_COLUMNS), _find(cols, y, Y_COLUMNS)
    issues: list[Issue] = []
    if wkt_col:
        geoms = _wkt_geometry(frame, wkt_col, path.name, rows, issues)
        frame = frame.drop(columns=[wkt_col])
    elif x_col and y_col:
        geoms = _point_geometry(frame, x_col, y_col, path.name, rows, issues)
        frame = frame.drop(columns=[x_col, y_col])
    else:
        return frame
    if issues:
        raise ValidationError(issues, summary=f"{path.name}: {len(issues)} bad geometry value(s):")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=crs or "EPSG:4326")


def _outside_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: whether its bounds leave longitude/latitude range (missing: False)."""
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        out = (
            ~np.isfinite(bounds).all(axis=1)
            | (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
        )
    return out & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _range_issues(frame: gpd.GeoDataFrame, path: Path, rows: np.ndarray, crs: CRS) -> None:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    outside = _outside_lonlat(geoms)
    if not outside.any():
        return
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if outside.sum() == present.sum() and present.sum() > 1:
        raise CRSError(
            Issue(
                f"every coordinate is outside longitude/latitude range for {crs.to_string()} "
                f"(bounds {np.round(frame.geometry.total_bounds, 1).tolist()})",
                file=path.name,
                hint="the coordinates are probably projected: pass the right --crs",
            )
        )
    issues = []
    for pos in np.flatnonzero(outside)[:_SHOWN]:
        b = shapely.bounds(geoms[pos])
        issues.append(
            Issue(
                "coordinates outside longitude -180…180 / latitude -90…90",
                file=path.name,
                row=int(rows[pos]) if len(rows) > pos else pos + 1,
                column="geometry",
                value=f"x {b[0]:g}…{b[2]:g}, y {b[1]:g}…{b[3]:g}",
                hint="correct the coordinates (longitude and latitude swapped? a typo?)",
            )
        )
    raise ValidationError(issues, summary=f"{path.name}: {int(outside.sum())} row(s) out of range:")


def _no_crs(frame: gpd.GeoDataFrame, path: Path, fmt: str) -> CRSError:
    """The refusal of a file without a CRS and without ``--crs``, with a guess."""
    lonlat = not _outside_lonlat(np.asarray(frame.geometry.values, dtype=object)).any()
    guess = (
        "its coordinates look like longitude/latitude, so most likely --crs 4326 "
        "(or gcj02/bd09 for positions from AMap/Baidu)"
        if lonlat
        else "its coordinates are projected (metres): give the projection's EPSG code, "
        "e.g. --crs 4547 for CGCS2000 Gauss-Kruger CM 114E"
    )
    what = "a Shapefile without .prj" if fmt == "shp" else "no CRS in the file"
    return CRSError(
        Issue(
            f"no coordinate reference system ({what})",
            file=path.name,
            hint=f"pass --crs with the EPSG code of its coordinates; {guess}",
        )
    )


def _shifted(
    frame: gpd.GeoDataFrame, path: Path, given: InputCRS, notes: list[str], rows: np.ndarray
) -> gpd.GeoDataFrame:
    """GCJ-02/BD-09 coordinates converted to WGS-84; a declared projected CRS refused."""
    declared = None if frame.crs is None else CRS(frame.crs)
    if declared is not None and not declared.is_geographic:
        raise CRSError(
            Issue(
                f"the file declares the projected {declared.to_string()} (metres) but "
                f"--crs {given.shift} says its coordinates are {given.name} longitude/latitude",
                file=path.name,
                hint="drop --crs to use the file's own CRS, or fix the file's .prj",
            )
        )
    frame = frame.set_crs(4326, allow_override=True)
    _range_issues(frame, path, rows, given.crs)
    label = f" (its {declared.to_string()} label overridden)" if declared is not None else ""
    notes.append(f"converted from {given.name} to WGS-84 (--crs {given.shift}){label}")
    return frame_to_wgs84(frame, given)


def to_wgs84(
    frame: gpd.GeoDataFrame,
    path: Path,
    fmt: str,
    given: InputCRS | None,
    notes: list[str],
    rows: np.ndarray,
) -> tuple[gpd.GeoDataFrame, str | None]:
    """The frame in EPSG:4326 and the name of the CRS it came in.

    ``given`` is what ``--crs`` says (:mod:`gridgeo.io.crs` states the rule for a file
    with its own CRS): GCJ-02/BD-09 are converted vertex by vertex, an EPSG code
    applies to a file without a CRS and must agree with a declared one.

    Raises
    ------
    CRSError
        No CRS known, a conflicting ``--crs``, or projected coordinates in a
        geographic CRS.
    ValidationError
        Some rows (named) lie outside longitude/latitude range.
    """
    declared = frame.crs
    if declared is None and given is None:
        if shapely.is_missing(frame.geometry.values).all():
            return frame.set_crs(4326), None
        raise _no_crs(frame, path, fmt)
    if given is not None and given.shift:
        return _shifted(frame, path, given, notes, rows), given.name
    user_crs = None if given is None else given.crs
    if declared is not None and user_crs is not None and not CRS(declared).equals(user_crs):
        raise CRSError(
            Issue(
                f"the file declares {CRS(declared).to_string()} but --crs says {user_crs.to_string()}",
                file=path.name,
                hint="drop --crs to use the file's own CRS, or fix the file's .prj",
            )
        )
    crs = CRS(declared) if declared is not None else user_crs
    assert crs is not None
    if declared is None:
        frame = frame.set_crs(crs)
        notes.append(f"coordinates taken as {crs.to_string()} (--crs)")
    if crs.is_geographic:
        _range_issues(frame, path, rows, crs)
    name = crs.to_string()
    if crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
        notes.append(f"reprojected from {name} to EPSG:4326")
    return frame, name
