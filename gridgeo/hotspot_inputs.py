"""Problem points from files: the input of the hotspot analysis.

:func:`read_problems` reads a GeoPackage, GeoJSON or Shapefile (through
:func:`gridgeo.io.read_file`) or a CSV/XLSX table of coordinates, finds the time, category
and status columns under their usual names (English or Chinese) and parses the times to
UTC. It is lenient where a planner's table usually is: rows without a usable location are
dropped and counted in notes; a time that cannot be read is an error naming its row.
What it returns is what :func:`gridgeo.analysis.hotspots.hotspot_layers` takes.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.errors import Issue, NotFound, ValidationError
from gridgeo.io import X_COLUMNS, Y_COLUMNS, detect_format, read_file, read_table
from gridgeo.io.crs import InputCRS, frame_to_wgs84, parse_input_crs
from gridgeo.io.dates import parse_times as read_times
from gridgeo.settings import get_settings

__all__ = [
    "CATEGORY_COLUMNS",
    "STATUS_COLUMNS",
    "TIME_COLUMNS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "find_column",
    "parse_times",
    "read_problems",
]

#: column names (lower case) recognised as the time a problem was reported
TIME_COLUMNS = (
    "reported_at",
    "reported",
    "created",
    "created_at",
    "date",
    "datetime",
    "time",
    "timestamp",
    "上报时间",
    "时间",
    "日期",
)
#: column names (lower case) recognised as the problem's category
CATEGORY_COLUMNS = ("category", "type", "类别", "类型", "问题类别")
#: column names (lower case) recognised as the problem's status
STATUS_COLUMNS = ("status", "状态")


def read_problems(
    path: str | Path,
    *,
    layer: str | None = None,
    x: str | None = None,
    y: str | None = None,
    time_column: str | None = None,
    category_column: str | None = None,
    crs: str | int | None = None,
    timezone: str | None = None,
    encoding: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read problem points from a GeoPackage, GeoJSON, CSV or XLSX file.

    Vector files go through :func:`gridgeo.io.read_file`. In a table (CSV/XLSX) the
    coordinates are found under the usual names (lon/lng/longitude/x, lat/latitude/y)
    or named with ``x``/``y``; rows whose coordinates are missing, not numbers or out of
    longitude/latitude range are dropped and counted in the returned notes (not an
    error). The time column (``reported_at``, ``created``, ``date``… or ``time_column``)
    is parsed; naive times are local time in ``timezone``. The category column
    (``category``, ``type``, ``类别``… or ``category_column``) and a ``status`` column are
    renamed ``reported_at``, ``category`` and ``status``.

    Parameters
    ----------
    path
        The file.
    layer
        Layer (GeoPackage) or sheet (XLSX) to read.
    x, y
        Coordinate columns of a table (found by their usual names otherwise).
    time_column, category_column
        The columns with the report time and the category (found by their usual names
        otherwise).
    crs
        What the coordinates are in: an EPSG code for a file that declares none
        (default EPSG:4326 for tables), or ``gcj02``/``bd09`` (converted to WGS-84; see
        :mod:`gridgeo.io.crs`).
    timezone
        Time zone of times without an offset (default ``GRIDGEO_TIMEZONE``).
    encoding
        Text encoding of a CSV (detected by default, see :mod:`gridgeo.io.encodings`).

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        The points in EPSG:4326 and notes on what was dropped or guessed.

    Raises
    ------
    ValidationError
        A time that cannot be parsed (every such row is named), or a table without
        coordinate columns.
    NotFound
        No such file, or a named column that does not exist.

    Examples
    --------
    >>> p, notes = read_problems("shapes/sample_district.gpkg", layer="problems")
    >>> len(p), str(p["reported_at"].dt.tz), notes
    (2000, 'UTC', [])
    """
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    notes: list[str] = []
    fmt = detect_format(path)
    if fmt in ("csv", "xlsx"):
        table, table_notes = read_table(path, fmt, layer, encoding=encoding)
        notes.extend(f"{path.name}: {n}" for n in table_notes)
        rows = np.arange(len(table)) + 2  # the header is line 1
        frame = _points_from_table(table, path.name, rows, x, y, crs, notes)
        rows = rows[frame.index.to_numpy()]
        frame = frame.reset_index(drop=True)
    else:
        read = read_file(path, layer=layer, target="problems", crs=crs, encoding=encoding)
        frame, rows = read.frame, read.rows
        notes.extend(read.notes)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise ValidationError(Issue("the layer has no geometry", file=path.name))
        geoms = np.asarray(frame.geometry.array, dtype=object)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if (~keep).any():
            notes.append(f"{int((~keep).sum()):,} rows without a location dropped")
        frame, rows = frame[keep].reset_index(drop=True), rows[keep]
    frame, time_found = _rename_columns(frame, path.name, time_column, category_column)
    if time_found:
        frame["reported_at"] = parse_times(
            frame["reported_at"],
            file=path.name,
            column=time_found,
            rows=rows,
            timezone=timezone or get_settings().timezone,
        )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326), notes


def _rename_columns(
    frame: pd.DataFrame, file: str, time_column: str | None, category_column: str | None
) -> tuple[pd.DataFrame, str | None]:
    """The time, category and status columns renamed; and the time column's own name."""
    columns = list(frame.columns)
    found = {
        "reported_at": find_column(columns, time_column, TIME_COLUMNS, file),
        "category": find_column(columns, category_column, CATEGORY_COLUMNS, file),
        "status": find_column(columns, None, STATUS_COLUMNS, file),
    }
    renames = {old: new for new, old in found.items() if old and old != new}
    frame = frame.drop(columns=[n for n in renames.values() if n in columns])
    return frame.rename(columns=renames), found["reported_at"]


def find_column(
    columns: list[str], explicit: str | None, names: tuple[str, ...], file: str
) -> str | None:
    """The column named ``explicit``, else the first of ``names`` present (any case).

    Raises
    ------
    NotFound
        ``explicit`` is not one of ``columns``.

    Examples
    --------
    >>> find_column(["ID", "经度", "Lat"], None, Y_COLUMNS, "p.csv")
    'Lat'
    >>> find_column(["ID", "when"], "when", TIME_COLUMNS, "p.csv")
    'when'
    """
    if explicit:
        if explicit not in columns:
            raise NotFound(f"{file} has no column {explicit!r}; its columns are {columns}")
        return explicit
    lower = {str(c).lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _points_from_table(
    table: pd.DataFrame,
    file: str,
    rows: np.ndarray,
    x: str | None,
    y: str | None,
    crs: str | int | None,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """Points of the rows with usable coordinates, in EPSG:4326; the others noted."""
    columns = list(table.columns)
    xcol = find_column(columns, x, X_COLUMNS, file)
    ycol = find_column(columns, y, Y_COLUMNS, file)
    if not xcol or not ycol:
        raise ValidationError(
            Issue(
                "no coordinate columns",
                file=file,
                hint="name them lon/lat (or x/y), or give --x and --y",
            )
        )
    raw_x, raw_y = table[xcol], table[ycol]
    xs = pd.to_numeric(raw_x, errors="coerce").to_numpy(float)
    ys = pd.to_numeric(raw_y, errors="coerce").to_numpy(float)
    missing = (raw_x.isna() | raw_y.isna()).to_numpy()
    not_number = ~missing & (np.isnan(xs) | np.isnan(ys))
    given = parse_input_crs(crs) or InputCRS(pyproj.CRS(4326))
    target = given.crs
    bad_range = np.zeros(len(table), bool)
    if target.is_geographic:
        with np.errstate(invalid="ignore"):
            bad_range = ~missing & ~not_number & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
    for mask, why in (
        (missing, "missing coordinates"),
        (not_number, "coordinates that are not numbers"),
        (bad_range, "coordinates out of longitude/latitude range"),
    ):
        if mask.any():
            shown = ", ".join(str(r) for r in rows[mask][:10])
            more = "…" if mask.sum() > 10 else ""
            notes.append(f"{file}: {int(mask.sum()):,} rows dropped, {why} (rows {shown}{more})")
    keep = ~(missing | not_number | bad_range)
    kept = table[keep].drop(columns=[xcol, ycol])
    points = shapely.points(xs[keep], ys[keep])
    frame = gpd.GeoDataFrame(kept, geometry=gpd.GeoSeries(points, index=kept.index), crs=target)
    return frame_to_wgs84(frame, given)


def parse_times(
    values: pd.Series, *, file: str, column: str, rows: np.ndarray, timezone: str
) -> pd.Series:
    """Times as UTC, read as imports read them (:func:`gridgeo.io.dates.parse_times`).

    Times with an offset are converted, those without are local time in ``timezone``;
    empty values stay missing. A value that is not a date or time, and a day such as
    ``03/04/2025`` whose order the column does not settle, is an error.

    Raises
    ------
    ValidationError
        Every value that cannot be read, named by its row (``rows``: the row numbers
        the user sees, one per value).

    Examples
    --------
    >>> t = pd.Series(["2025-03-01 08:00", "", "2025-03-02"])
    >>> utc = parse_times(t, file="p.csv", column="time", rows=np.arange(2, 5),
    ...                   timezone="Asia/Shanghai")
    >>> utc.dt.strftime("%d %H:%M").tolist(), str(utc.dt.tz)
    (['01 00:00', nan, '01 16:00'], 'UTC')
    """
    parsed = read_times(values, timezone=timezone)
    issues = [
        Issue(
            "ambiguous date: day/month or month/day"
            if parsed.ambiguous[k]
            else "not a date or time",
            file=file,
            row=int(rows[k]),
            column=column,
            value=values.iloc[k],
            hint="write it as YYYY-MM-DD or YYYY-MM-DD HH:MM",
        )
        for k in np.flatnonzero(parsed.bad | parsed.ambiguous)
    ]
    if issues:
        raise ValidationError(
            issues, summary=f"{file}: {len(issues)} time value(s) cannot be read:"
        )
    return parsed.utc.set_axis(values.index)
