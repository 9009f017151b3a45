"""Problem hotspots: where problems concentrate, and where that is new or growing.

Problem points (filtered by category, status and period) are counted in cells: H3
hexagons (``"h3:9"``), a square fishnet in the metric CRS (``"square:250"``, metres) or
the grids themselves (a grids GeoDataFrame). Every cell of the study area is kept, also
those without a problem, as Esri's Optimized Hot Spot Analysis does with bounding
polygons; cells outside the area are not made.

On the cell counts:

* :func:`gi_star`: Getis-Ord Gi* (self included, binary weights) with the analytic z and
  two-sided p, a seeded conditional-permutation pseudo-p and Esri's ``gi_bin`` (−3…+3,
  99/95/90 % confidence, false-discovery-rate corrected);
* :func:`local_moran`: Local Moran's I clusters HH, LL, LH, HL;
* :func:`kernel_density`: a Gaussian kernel density raster and its contour polygons;
* :func:`emerging_hotspots`: Gi* per time slice plus a Mann-Kendall trend per cell,
  classified in Esri's emerging hot spot categories.

:func:`hotspot_layers` runs them all and is what the CLI, the map service and the
notebooks call. The statistics are PySAL's (libpysal weights, ``esda.G_Local``,
``esda.Moran_Local``, ``esda.fdr``): the analytic Gi* is the same formula computed as one
sparse product, and the permutation engine draws exactly esda's permutations (same seed,
same pseudo-p) without esda's per-observation copy of the data. Every returned geometry
is in EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy import stats

from gridgeo.analysis.coverage import metric_crs
from gridgeo.errors import Issue, NotFound, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "CATEGORY_COLUMNS",
    "PATTERNS",
    "TIME_COLUMNS",
    "DensitySurface",
    "aggregate",
    "emerging_hotspots",
    "emerging_pattern",
    "gi_star",
    "hotspot_layers",
    "kernel_density",
    "local_moran",
    "mann_kendall",
    "read_problems",
    "select_problems",
    "spatial_weights",
]

Progress = Callable[[str, int, int], None]
_STEP = "hotspot analysis"

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
STATUS_COLUMNS = ("status", "状态")
_X_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
_Y_COLUMNS = ("lat", "latitude", "y", "纬度")

#: distance (m) within which two cells count as touching (queen contiguity)
_TOUCH_M = 0.01
#: confidence levels of ``gi_bin``: bin -> two-sided significance level
_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
#: elements per block of the permutation engine (memory ~ 8 bytes each, twice)
_BLOCK = 1 << 22

#: emerging hot spot patterns (Esri's) -> Chinese name
PATTERNS = {
    "new": "新增",
    "consecutive": "连续",
    "intensifying": "加剧",
    "persistent": "持续",
    "diminishing": "减弱",
    "sporadic": "零星",
    "oscillating": "振荡",
    "historical": "历史",
}
_SPOT_ZH = {"hot": "热点", "cold": "冷点"}


# ------------------------------------------------------------------ input --------------


def read_problems(
    path: str | Path,
    *,
    layer: str | None = None,
    x: str | None = None,
    y: str | None = None,
    time_column: str | None = None,
    category_column: str | None = None,
    crs: str | int | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read problem points from a GeoPackage, GeoJSON, CSV or XLSX file.

    Vector files go through :func:`gridgeo.io.read_file`. In a table (CSV/XLSX) the
    coordinates are found under the usual names (lon/lng/longitude/x, lat/latitude/y)
    or named with ``x``/``y``; rows whose coordinates are missing, not numbers or out of
    longitude/latitude range are dropped and counted in the returned notes (not an
    error). The time column (``reported_at``, ``created``, ``date``… or ``time_column``)
    is parsed; naive times are local time in ``GRIDGEO_TIMEZONE``. The category column
    (``category``, ``type``, ``类别``… or ``category_column``) and a ``status`` column are
    renamed ``reported_at``, ``category`` and ``status``.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        The points in EPSG:4326 and notes on what was dropped or guessed.

    Raises
    ------
    ValidationError
        A time that cannot be parsed (every such row is named), or a named column that
        does not exist.

    Examples
    --------
    >>> p, notes = read_problems("shapes/sample_district.gpkg", layer="problems")
    >>> len(p), str(p["reported_at"].dt.tz), notes
    (2000, 'UTC', [])
    """
    from gridgeo.io import _read_table, detect_format, read_file

    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    notes: list[str] = []
    fmt = detect_format(path)
    if fmt in ("csv", "xlsx"):
        table = _read_table(path, fmt, layer)
        rows = np.arange(len(table)) + 2  # the header is line 1
        frame = _points_from_table(table, path.name, rows, x, y, crs, notes)
        rows = rows[frame.index.to_numpy()]
        frame = frame.reset_index(drop=True)
    else:
        read = read_file(path, layer=layer, target="problems", crs=crs)
        frame = read.frame
        rows = read.rows
        notes.extend(read.notes)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise ValidationError(Issue("the layer has no geometry", file=path.name))
        keep = _present(_geoms(frame))
        if (~keep).any():
            notes.append(f"{int((~keep).sum()):,} rows without a location dropped")
        frame, rows = frame[keep].reset_index(drop=True), rows[keep]
    columns = list(frame.columns)
    renames: dict[str, str] = {}
    tcol = _column(columns, time_column, TIME_COLUMNS, path.name)
    ccol = _column(columns, category_column, CATEGORY_COLUMNS, path.name)
    scol = _column(columns, None, STATUS_COLUMNS, path.name)
    for found, name in ((tcol, "reported_at"), (ccol, "category"), (scol, "status")):
        if found and found != name:
            renames[found] = name
    frame = frame.drop(columns=[n for n in renames.values() if n in columns]).rename(
        columns=renames
    )
    if tcol:
        frame["reported_at"] = _parse_times(frame["reported_at"], path.name, tcol, rows)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326), notes


def _column(columns: list[str], explicit: str | None, names: tuple[str, ...], file: str):
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
    columns = list(table.columns)
    xcol = _column(columns, x, _X_COLUMNS, file)
    ycol = _column(columns, y, _Y_COLUMNS, file)
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
    target = pyproj.CRS.from_user_input(crs) if crs else pyproj.CRS(4326)
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
    return frame.to_crs(4326) if not target.equals(pyproj.CRS(4326)) else frame


def _parse_times(values: pd.Series, file: str, column: str, rows: np.ndarray) -> pd.Series:
    from gridgeo.settings import get_settings

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    text = values.astype("string")
    present = text.notna() & (text.str.strip() != "")
    parsed = pd.to_datetime(text.where(present), errors="coerce", format="mixed", utc=False)
    bad = np.flatnonzero((present & parsed.isna()).to_numpy())
    if len(bad):
        raise ValidationError(
            [
                Issue(
                    "not a date or time",
                    file=file,
                    row=int(rows[k]),
                    column=column,
                    value=values.iloc[k],
                    hint="write it as YYYY-MM-DD or YYYY-MM-DD HH:MM",
                )
                for k in bad
            ],
            summary=f"{file}: {len(bad)} time value(s) cannot be read:",
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC")
    if parsed.dtype == object:  # mixed offsets: parse again as UTC
        return pd.to_datetime(text.where(present), format="mixed", utc=True)
    return parsed.dt.tz_localize(get_settings().timezone).dt.tz_convert("UTC")


def select_problems(
    problems: gpd.GeoDataFrame,
    *,
    category: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    timezone: str | None = None,
) -> gpd.GeoDataFrame:
    """Keep the problems of the given categories, statuses and period.

    ``start`` and ``end`` are local dates, both included (``end`` up to its last
    second); times are compared in ``timezone`` (default ``GRIDGEO_TIMEZONE``). Rows
    without a location are dropped.

    Examples
    --------
    >>> p, _ = read_problems("shapes/sample_district.gpkg", layer="problems")
    >>> len(select_problems(p, category="安全隐患", start="2025-04-01", end="2025-04-30"))
    151
    """
    out = problems
    for name, wanted in (("category", category), ("status", status)):
        if wanted is None:
            continue
        if name not in out.columns:
            raise ValidationError(Issue(f"no {name!r} column to select on", layer="problems"))
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        out = out[out[name].isin(wanted).to_numpy()]
    if start is not None or end is not None:
        if "reported_at" not in out.columns:
            raise ValidationError(Issue("no 'reported_at' column to select a period on"))
        local = _local(out["reported_at"], timezone)
        keep = local.notna().to_numpy().copy()
        if start is not None:
            keep = keep & (local >= pd.Timestamp(str(start)).tz_localize(local.dt.tz)).to_numpy()
        if end is not None:
            stop = pd.Timestamp(str(end)).tz_localize(local.dt.tz) + pd.Timedelta(days=1)
            keep = keep & (local < stop).to_numpy()
        out = out[keep]
    return out[_present(_geoms(out))]


def _local(times: pd.Series, timezone: str | None) -> pd.Series:
    from gridgeo.settings import get_settings

    tz = timezone or get_settings().timezone
    times = pd.to_datetime(times)
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize("UTC")
    return times.dt.tz_convert(tz)


# ------------------------------------------------------------------ cells --------------


def _in_4326(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326."""
    if gdf.crs is not None and pyproj.CRS(gdf.crs).equals(pyproj.CRS(4326)):
        return gdf.copy()
    return gdf.to_crs(4326)


def _geoms(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The geometries as a plain object array (shapely's functions are fastest on it)."""
    return np.asarray(gdf.geometry.array, dtype=object)


def _present(geoms: np.ndarray) -> np.ndarray:
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _working_crs(gdf: gpd.GeoDataFrame, policy: Policy | None) -> pyproj.CRS:
    """``policy.metric_crs``, else the frame's own CRS when projected, else its UTM zone."""
    if policy is not None and policy.metric_crs:
        return pyproj.CRS.from_user_input(policy.metric_crs)
    if gdf.crs is not None and pyproj.CRS(gdf.crs).is_projected:
        return pyproj.CRS(gdf.crs)
    geoms = _geoms(gdf)
    geoms = geoms[_present(geoms)]
    if len(geoms) > 1000:  # the UTM zone of the bounding box: no need to look at every row
        box = shapely.box(*shapely.total_bounds(geoms))
        return metric_crs(gpd.GeoDataFrame(geometry=[box], crs=gdf.crs), policy)
    return metric_crs(gdf, policy)


def _xy(gdf: gpd.GeoDataFrame, crs: object) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a location, and their (centroid) coordinates in ``crs``."""
    geoms = _geoms(gdf)
    present = _present(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    found = geoms[present]
    if not (shapely.get_type_id(found) == 0).all():
        found = shapely.centroid(found)
    xy[present] = shapely.get_coordinates(found)
    source = pyproj.CRS(gdf.crs)
    target = pyproj.CRS.from_user_input(crs)
    if present.any() and not source.equals(target):
        tf = pyproj.Transformer.from_crs(source, target, always_xy=True)
        xy[present, 0], xy[present, 1] = tf.transform(xy[present, 0], xy[present, 1])
    return present, xy


def _area_geometry(area: Any, crs: object) -> shapely.Geometry | None:
    """The study area as one geometry in ``crs`` (densified first, so edges stay true)."""
    if area is None:
        return None
    if isinstance(area, shapely.Geometry):
        area = gpd.GeoDataFrame(geometry=[area], crs=4326)
    if area.crs is None:
        raise ValidationError(Issue("no CRS", layer="area", hint="set one, e.g. 4326"))
    geoms = _geoms(area)
    geoms = shapely.make_valid(geoms[_present(geoms)])
    source = pyproj.CRS(area.crs)
    target = pyproj.CRS.from_user_input(crs)
    if not source.equals(target):
        step = 0.0005 if source.is_geographic else 50.0  # about 50 m
        geoms = shapely.segmentize(geoms, step)
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=source).to_crs(target).array, dtype=object)
    region = shapely.union_all(geoms)
    shapely.prepare(region)
    return region


def _assign(
    problems: gpd.GeoDataFrame,
    *,
    area: Any,
    cells: str | gpd.GeoDataFrame,
    policy: Policy | None,
) -> tuple[np.ndarray, np.ndarray, object, np.ndarray, pyproj.CRS, dict[str, Any]]:
    """Cell ids, cell polygons (in the returned CRS) and the cell of each problem (-1: none).

    H3 cells are made and matched in EPSG:4326, squares and grids in the metric CRS.
    """
    if problems.crs is None:
        raise ValidationError(Issue("no CRS", layer="problems", hint="set one, e.g. 4326"))
    if isinstance(cells, gpd.GeoDataFrame):
        base = cells
    elif isinstance(area, gpd.GeoDataFrame) and len(area):
        base = area
    else:
        base = problems
    crs = _working_crs(base, policy) if len(base) else pyproj.CRS(32651)
    info: dict[str, Any] = {"metric_crs": crs.to_string()}
    spec = "grids" if isinstance(cells, gpd.GeoDataFrame) else str(cells).strip().lower()
    kind, _, size = spec.partition(":")
    if kind not in ("grids", "h3", "square"):
        raise ValidationError(
            Issue(
                f"unknown cells {cells!r}",
                hint="use h3:RES (e.g. h3:9), square:METRES (e.g. square:250) or grids",
            )
        )
    frame_crs: object = 4326 if kind == "h3" else crs
    present, xy = _xy(problems, frame_crs)
    region = _area_geometry(area, frame_crs)
    if isinstance(cells, gpd.GeoDataFrame):
        if "code" not in cells.columns and "cell_id" not in cells.columns:
            raise ValidationError(Issue("no 'code' column", layer="grids"))
        ids = cells["cell_id" if "cell_id" in cells.columns else "code"].astype(str).to_numpy()
        polys = shapely.make_valid(_geoms(cells.to_crs(crs)))
        if region is not None:
            keep = _overlapping(polys, region)
            ids, polys = ids[keep], polys[keep]
        else:
            region = shapely.union_all(polys)
            shapely.prepare(region)
    else:
        if region is None:
            region = _hull(xy[present], 1e-5 if kind == "h3" else 1.0)
        if kind == "h3":
            res = int(_number(size or 9, spec))
            if not 0 <= res <= 15:
                raise ValidationError(Issue(f"H3 resolution must be 0–15, not {res}"))
            ints, polys = _h3_cells(region, res)
            ids = np.array([format(int(c), "x") for c in ints], dtype=object)
        else:
            step = _number(size or 250, spec)
            ids, polys, keys = _square_cells(region, step)
    info["cells"] = spec
    inside = present.copy()
    if present.any():
        inside[present] = shapely.intersects_xy(region, xy[present, 0], xy[present, 1])
    owner = np.full(len(problems), -1, dtype=np.int64)
    if kind == "h3" and inside.any() and len(ids):
        found = _h3_latlng_to_cells(xy[inside, 1], xy[inside, 0], res)
        order = np.argsort(ints)
        pos = np.minimum(np.searchsorted(ints[order], found), len(ints) - 1)
        hit = ints[order][pos] == found
        owner[inside] = np.where(hit, order[pos], -1)
    elif kind == "square" and inside.any() and len(ids):
        found = _square_keys(np.floor(xy[inside] / step).astype(np.int64))
        pos = np.minimum(np.searchsorted(keys, found), len(keys) - 1)
        owner[inside] = np.where(keys[pos] == found, pos, -1)
    elif inside.any() and len(ids):
        tree = shapely.STRtree(polys)
        pi, ci = tree.query(shapely.points(xy[inside]), predicate="intersects")
        first = np.unique(pi, return_index=True)[1]
        sub = np.full(int(inside.sum()), -1, dtype=np.int64)
        sub[pi[first]] = ci[first]
        owner[inside] = sub
    info["outside"] = int((present & (owner < 0)).sum())
    info["without_location"] = int((~present).sum())
    return ids, polys, frame_crs, owner, crs, info


def _number(text: object, spec: str) -> float:
    try:
        return float(str(text))
    except ValueError:
        raise ValidationError(
            Issue(f"{spec!r}: {text!r} is not a number", hint="e.g. h3:9, square:250, knn:8")
        ) from None


def _overlapping(polys: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Cells sharing some area with the region (not only an edge or a corner)."""
    shapely.prepare(region)
    return shapely.intersects(region, polys) & ~shapely.touches(region, polys)


def _h3_latlng_to_cells(lat: np.ndarray, lng: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (uint64) of many points.

    h3 4.x has no vectorised ``latlng_to_cell`` (``h3.api.numpy_int`` is scalar too):
    a generator over the integer API fills one array, about 0.6 s per million points.
    """
    from h3.api import basic_int

    f = basic_int.latlng_to_cell
    return np.fromiter(
        (f(a, b, res) for a, b in zip(lat.tolist(), lng.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(lat),
    )


def _h3_cells(region: shapely.Geometry, res: int) -> tuple[np.ndarray, np.ndarray]:
    """H3 cells (uint64, sorted) overlapping a region in EPSG:4326, and their hexagons."""
    from h3.api import basic_int

    found: set[int] = set()
    for part in shapely.get_parts(region):
        if part.geom_type != "Polygon" or part.area == 0:
            continue
        shape = basic_int.geo_to_h3shape(part)
        found.update(basic_int.h3shape_to_cells_experimental(shape, res, contain="overlap"))
    if not found:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=object)
    ints = np.array(sorted(found), dtype=np.uint64)
    polys = _h3_polygons(ints)
    # "overlap" is generous at the edge: keep the cells that really share area with it
    keep = _overlapping(polys, region)
    return ints[keep], polys[keep]


def _h3_polygons(ints: np.ndarray) -> np.ndarray:
    """Hexagons (and pentagons) of H3 cells, EPSG:4326, built in one call per shape."""
    from h3.api import basic_int

    rings = [np.asarray(basic_int.cell_to_boundary(int(c)))[:, ::-1] for c in ints]
    sizes = np.array([len(r) for r in rings])
    polys = np.empty(len(rings), dtype=object)
    for k in np.unique(sizes):
        at = np.flatnonzero(sizes == k)
        coords = np.stack([rings[i] for i in at])
        closed = np.concatenate([coords, coords[:, :1]], axis=1)
        polys[at] = shapely.polygons(closed)
    return polys


def _hull(xy: np.ndarray, pad: float) -> shapely.Geometry:
    """Convex hull of many points (scipy's Qhull), slightly padded if degenerate."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = shapely.Polygon(xy[ConvexHull(xy).vertices])
    except (QhullError, ValueError, IndexError):
        hull = shapely.convex_hull(shapely.multipoints(xy)).buffer(pad)
    shapely.prepare(hull)
    return hull


def _square_keys(ij: np.ndarray) -> np.ndarray:
    return (ij[:, 0] << 32) + (ij[:, 1] & 0xFFFFFFFF)


def _square_cells(
    region: shapely.Geometry, size: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squares of a fishnet overlapping the region, sorted by their (column, row) key."""
    if not size > 0:
        raise ValidationError(Issue(f"square cell size must be positive, not {size}"))
    x0, y0, x1, y1 = region.bounds
    i = np.arange(math.floor(x0 / size), math.floor(x1 / size) + 1)
    j = np.arange(math.floor(y0 / size), math.floor(y1 / size) + 1)
    ii, jj = (a.ravel() for a in np.meshgrid(i, j))
    boxes = shapely.box(ii * size, jj * size, (ii + 1) * size, (jj + 1) * size)
    keep = _overlapping(boxes, region)
    ii, jj, boxes = ii[keep], jj[keep], boxes[keep]
    keys = _square_keys(np.column_stack([ii, jj]).astype(np.int64))
    order = np.argsort(keys)
    ids = np.array([f"{size:g}m_{a}_{b}" for a, b in zip(ii[order], jj[order], strict=True)])
    return ids.astype(object), boxes[order], keys[order]


def aggregate(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame = "h3:9",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Count problem points in cells covering the study area, empty cells included.

    Parameters
    ----------
    problems
        Points (any CRS).
    area
        The study area (the district boundary, the communities…; a GeoDataFrame or a
        shapely geometry in EPSG:4326). Default: the union of the grids when ``cells``
        are grids, else the convex hull of the points. Points outside it are not
        counted (their number is in ``attrs["outside"]``).
    cells
        ``"h3:RES"`` (H3 hexagons: every cell overlapping the area), ``"square:M"``
        (a fishnet of M-metre squares aligned on multiples of M in the metric CRS, every
        square overlapping the area) or a polygon GeoDataFrame with a ``code`` column
        (the grids: those overlapping the area).
    policy
        ``metric_crs`` for distances and squares (default: the data's UTM zone).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``count``, ``geometry`` (EPSG:4326), one row per cell.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoSeries(shapely.points([[10, 10], [20, 10], [260, 40]]), crs=32651)
    >>> pts = gpd.GeoDataFrame(geometry=pts.translate(350_000, 3_450_000))
    >>> area = shapely.box(350_000, 3_450_000, 350_500, 3_450_100)
    >>> area = gpd.GeoDataFrame(geometry=[area], crs=32651)
    >>> aggregate(pts, area=area, cells="square:100")[["cell_id", "count"]].to_numpy().tolist()
    [['100m_3500_34500', 2], ['100m_3501_34500', 0], ['100m_3502_34500', 1], ['100m_3503_34500', 0], ['100m_3504_34500', 0]]
    """
    ids, polys, polys_crs, owner, _, info = _assign(problems, area=area, cells=cells, policy=policy)
    counts = np.bincount(owner[owner >= 0], minlength=len(ids)).astype(np.int64)
    out = gpd.GeoDataFrame(
        {"cell_id": pd.Series(ids, dtype=object), "count": counts},
        geometry=gpd.GeoSeries(polys, crs=polys_crs).to_crs(4326).array,
        crs=4326,
    )
    out.attrs.update(info)
    return out


# ------------------------------------------------------------------ weights ------------


def _binary_csr(matrix: Any, n: int) -> sp.csr_matrix:
    """1.0 where an entry is non-zero off the diagonal; canonical CSR (sorted, no duplicates)."""
    coo = sp.coo_matrix(matrix, shape=(n, n))
    keep = (coo.row != coo.col) & (coo.data != 0)
    ones = np.ones(int(keep.sum()))
    m = sp.csr_matrix((ones, (coo.row[keep], coo.col[keep])), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def spatial_weights(
    cells: gpd.GeoDataFrame,
    weights: str | Any = "queen",
    *,
    policy: Policy | None = None,
) -> sp.csr_matrix:
    """Binary neighbour matrix between cells (no self-weight; Gi* adds it).

    Parameters
    ----------
    cells
        Polygons (or points) with, for H3, the H3 index in ``cell_id``.
    weights
        ``"queen"``: cells sharing an edge or a corner (H3 hexagons: the six around;
        others: polygons within 1 cm of each other in the metric CRS, which also bridges
        seam slivers); ``"knn:K"``: the K nearest centroids (e.g. ``"knn:8"``);
        ``"distance:M"``: centroids within M metres (``<=``, as libpysal's
        ``DistanceBand``). A libpysal ``W`` or ``Graph`` or a scipy sparse matrix is
        used as given (non-zero entries are neighbours).
    policy
        ``metric_crs`` for distances.

    Returns
    -------
    scipy.sparse.csr_matrix
        n × n, 1.0 where j is a neighbour of i. ``libpysal.weights.W.from_sparse``
        turns it into PySAL weights.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> boxes = gpd.GeoDataFrame(geometry=shapely.box([0, 1, 2], 0, [1, 2, 3], 1), crs=32651)
    >>> spatial_weights(boxes).toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    n = len(cells)
    if hasattr(weights, "sparse"):  # libpysal W or Graph
        return _binary_csr(weights.sparse, n)
    if sp.issparse(weights):
        return _binary_csr(weights, n)
    spec = str(weights).strip().lower()
    kind, _, arg = spec.partition(":")
    if n == 0:
        return sp.csr_matrix((0, 0))
    if kind == "queen":
        if "cell_id" in cells.columns and _all_h3(cells["cell_id"]):
            return _h3_queen(cells["cell_id"].to_numpy())
        crs = _working_crs(cells, policy)
        geoms = np.asarray(cells.geometry.to_crs(crs).array, dtype=object)
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="dwithin", distance=_TOUCH_M)
        return _binary_csr(sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), n)
    if kind in ("knn", "distance"):
        from scipy.spatial import cKDTree

        _, xy = _xy(cells, _working_crs(cells, policy))
        tree = cKDTree(xy)
        if kind == "knn":
            k = int(_number(arg or 8, spec))
            if not 0 < k < n:
                raise ValidationError(Issue(f"knn:{k} needs between 1 and {n - 1} neighbours"))
            _, nb = tree.query(xy, k=k + 1)
            own = nb == np.arange(n)[:, None]
            keep = ~own
            keep[~own.any(axis=1), -1] = False  # a duplicate location pushed itself out
            rows = np.repeat(np.arange(n), k)
            m = sp.coo_matrix((np.ones(rows.size), (rows, nb[keep])), shape=(n, n))
            return _binary_csr(m, n)
        band = _number(arg, spec)
        pairs = tree.query_pairs(band, output_type="ndarray")
        i = np.concatenate([pairs[:, 0], pairs[:, 1]])
        j = np.concatenate([pairs[:, 1], pairs[:, 0]])
        return _binary_csr(sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), n)
    raise ValidationError(
        Issue(f"unknown weights {weights!r}", hint="use queen, knn:K or distance:METRES")
    )


def _all_h3(ids: pd.Series) -> bool:
    import h3

    values = ids.astype(str).to_numpy()
    return (
        len(values) > 0
        and all(h3.is_valid_cell(v) for v in values[:50])
        and all(h3.is_valid_cell(v) for v in values)
    )


def _h3_queen(ids: np.ndarray) -> sp.csr_matrix:
    import h3
    from h3.api import basic_int

    ints = np.array([h3.str_to_int(str(c)) for c in ids], dtype=np.uint64)
    order = np.argsort(ints)
    sorted_ints = ints[order]
    rows, cols = [], []
    for pos, c in enumerate(ints.tolist()):
        ring = np.array(basic_int.grid_ring(c, 1), dtype=np.uint64)
        at = np.minimum(np.searchsorted(sorted_ints, ring), len(ints) - 1)
        hit = sorted_ints[at] == ring
        rows.append(np.full(int(hit.sum()), pos))
        cols.append(order[at[hit]])
    i, j = np.concatenate(rows), np.concatenate(cols)
    n = len(ids)
    return _binary_csr(sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), n)


# ------------------------------------------------------------------ statistics ---------


def _permuted_ids(max_card: int, n: int, permutations: int, seed: int) -> np.ndarray:
    """Draw esda's permutations (``esda.crand.vec_permutations``) without touching the global RNG."""
    rng = np.random.RandomState(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for k in range(permutations):
        out[k] = rng.permutation(n - 1)[:max_card]
    return out


def _conditional_counts(
    y: np.ndarray,
    other: sp.csr_matrix,
    observed: np.ndarray,
    direction: np.ndarray,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, how many random neighbour sums are ``>=`` (``<=``) the observed one.

    Returns esda's count (``>=`` for ``direction`` +1, ``<=`` for -1, every draw for 0)
    and the count of the opposite tail, ties included in both.

    Conditional randomisation as esda does it: cell i keeps its value, its k neighbours
    are replaced by the values at esda's permuted ids (drawn among the n-1 others). The
    value at permuted id r is ``y[r]`` when r < i, else ``y[r + 1]``, so no copy of the
    data per cell is needed: a block of cells with k neighbours is one broadcast over
    (cells, permutations, k). ``direction`` +1 counts ``>=``, -1 counts ``<=``, 0 counts
    every draw (a tie).
    """
    n = len(y)
    card = np.diff(other.indptr)
    count = np.full(n, permutations, dtype=np.int64)
    opposite = np.full(n, permutations, dtype=np.int64)
    if n < 2 or card.max(initial=0) == 0 or permutations == 0:
        return count, opposite
    ids = _permuted_ids(int(card.max()), n, permutations, seed)
    ext = np.append(y, 0.0)
    base = ext[ids]  # value when the id is below i
    step = ext[ids + 1] - base  # change when the id is at or above i
    for k in np.unique(card[card > 0]):
        rows = np.flatnonzero(card == k)
        r, b, d = ids[:, :k], base[:, :k].sum(axis=1), step[:, :k]
        block = max(1, _BLOCK // (permutations * int(k)))
        for s in range(0, len(rows), block):
            i = rows[s : s + block]
            shifted = r[None, :, :] >= i[:, None, None]
            lag = b[None, :] + np.einsum("mpk,pk->mp", shifted, d, optimize=False)
            obs = observed[i][:, None]
            ge = (lag >= obs).sum(axis=1)
            le = (lag <= obs).sum(axis=1)
            dirn = direction[i]
            count[i] = np.where(dirn > 0, ge, np.where(dirn < 0, le, permutations))
            opposite[i] = np.where(dirn > 0, le, np.where(dirn < 0, ge, permutations))
    return count, opposite


def _pseudo_p(counts: tuple[np.ndarray, np.ndarray], permutations: int, ties: str) -> np.ndarray:
    """Pseudo p-value of the tail the observed value is in: (larger + 1) / (perms + 1).

    ``ties="esda"`` is esda's default ("directed"): ties count in the upper tail only,
    so the lower tail is ``permutations - count``. ``ties="both"`` counts ties in both
    tails (conservative; the same as esda where no draw ties with the observation).
    """
    count, opposite = counts
    larger = count.astype(np.int64).copy()
    if ties == "both":
        larger = np.minimum(larger, opposite)
    else:
        low = (permutations - larger) < larger
        larger[low] = permutations - larger[low]
    return (larger + 1.0) / (permutations + 1.0)


def _significant(p: np.ndarray, alpha: float, fdr: bool) -> np.ndarray:
    from esda import fdr as esda_fdr

    ok = np.isfinite(p)
    sig = np.zeros(len(p), bool)
    if not ok.any():
        return sig
    if fdr:
        sig[ok] = p[ok] < esda_fdr(p[ok], alpha)
    else:
        sig[ok] = p[ok] <= alpha
    return sig


def _bins(z: np.ndarray, p: np.ndarray, fdr: bool) -> np.ndarray:
    """Esri's Gi_Bin: ±3/2/1 for 99/95/90 % confidence, the sign of z; 0 otherwise."""
    out = np.zeros(len(z), dtype=np.int64)
    for level, alpha in reversed(_LEVELS):  # 90 % first, then overwrite with 95, 99
        sig = _significant(p, alpha, fdr)
        out[sig] = level * np.sign(z[sig]).astype(np.int64)
    return out


def _values(cells: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """The analysed column as floats; missing or infinite values are refused."""
    if column not in cells.columns:
        raise ValidationError(Issue(f"no column {column!r} to analyse", layer="cells"))
    y = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValidationError(
            [
                Issue("not a finite number", layer="cells", row=int(k) + 1, column=column)
                for k in bad
            ],
            summary=f"{len(bad)} cell(s) without a usable {column!r}:",
        )
    return y


def _gi_star_analytic(y: np.ndarray, other: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """Gi* with binary weights and the cell itself: esda's ``G_Local(star=True)`` moments."""
    n = len(y)
    total = y.sum()
    lag = other @ y
    card = np.diff(other.indptr) + 1.0  # the cell itself included
    mean = total / n
    var = (y * y).sum() / n - mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (lag + y) / total
        eg = card / n
        vg = card * (n - card) / (n - 1) / n**2 * var / mean**2
        z = (g - eg) / np.sqrt(vg)
    z = np.where(np.isfinite(z), z, 0.0) if n > 1 and var > 0 and total != 0 else np.zeros(n)
    return g, z, lag


def gi_star(
    cells: gpd.GeoDataFrame,
    *,
    column: str = "count",
    weights: str | Any = "queen",
    permutations: int = 999,
    seed: int = 0,
    inference: str = "analytic",
    fdr: bool = True,
    ties: str = "esda",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* of ``column`` per cell, with Esri's ``gi_bin`` classes.

    Weights are binary with the cell itself included (Gi*, "star"); the numbers equal
    ``esda.G_Local(y, w, transform="B", star=True)`` for the same weights: ``gi_z`` is
    its ``Zs``, ``gi_p`` is two-sided (``2 * p_norm``, as Esri reports it) and
    ``gi_p_sim`` is its ``p_sim`` with the same ``seed`` (esda's default "directed"
    pseudo-p: the share of permutations at least as extreme in the observed tail).
    ``gi_bin`` is +3/+2/+1 (hot spot at 99/95/90 % confidence), −3…−1 (cold), 0 (not
    significant), the significance corrected for the false discovery rate
    (Benjamini-Hochberg, ``esda.fdr``) at each level. Cells without neighbours get
    ``gi_p_sim`` NaN (esda's permutation gives them meaningless values).

    esda's pseudo-p counts ties with the upper tail: where many cells share a value (a
    cell with no problems among neighbours with none, in sparse data), a low
    neighbourhood sum gets a pseudo-p near ``1 / (permutations + 1)`` although most
    permutations equal it. That is why ``gi_bin`` uses the analytic p by default, as
    Esri does; with ``inference="permutation"`` on sparse counts pass ``ties="both"``.

    Parameters
    ----------
    cells
        From :func:`aggregate` (or any polygons with a numeric ``column``).
    column
        The value per cell.
    weights
        See :func:`spatial_weights`: ``"queen"``, ``"knn:K"``, ``"distance:M"``, a
        libpysal ``W``/``Graph`` or a sparse matrix.
    permutations
        Conditional permutations for ``gi_p_sim``; 0 skips them (``gi_p_sim`` NaN).
    seed
        Seed of the permutations.
    inference
        ``"analytic"`` (Esri's choice: ``gi_bin`` from ``gi_p``) or ``"permutation"``
        (from ``gi_p_sim``).
    fdr
        Correct for the false discovery rate.
    ties
        ``"esda"`` (esda's pseudo-p, ties in the upper tail) or ``"both"`` (ties count
        in both tails: never smaller than esda's, equal where nothing ties).
    policy
        ``metric_crs`` for distance weights.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cells`` with ``n_neighbors``, ``gi``, ``gi_z``, ``gi_p``, ``gi_p_sim``,
        ``gi_bin`` appended.

    Examples
    --------
    esda's published case (distance band 15, binary): z = −1.39727626 for the first point.

    >>> import geopandas as gpd, shapely
    >>> xy = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    >>> pts = gpd.GeoDataFrame({"y": [2, 3, 3.2, 5, 8, 7]},
    ...                        geometry=shapely.points(xy), crs=32651)
    >>> g = gi_star(pts, column="y", weights="distance:15", permutations=99)
    >>> g["gi_z"].round(8).tolist()[:3], g["n_neighbors"].tolist()
    ([-1.39727626, -0.28917762, 0.65064964], [2, 3, 1, 3, 4, 1])
    """
    if ties not in ("esda", "both"):
        raise ValueError(f"ties must be 'esda' or 'both', not {ties!r}")
    if inference not in ("analytic", "permutation"):
        raise ValueError(f"inference must be 'analytic' or 'permutation', not {inference!r}")
    y = _values(cells, column)
    other = spatial_weights(cells, weights, policy=policy)
    g, z, lag = _gi_star_analytic(y, other)
    p = 2 * stats.norm.sf(np.abs(z))
    card = np.diff(other.indptr)
    p_sim = np.full(len(y), np.nan)
    if permutations:
        counts = _conditional_counts(y, other, lag, np.ones(len(y)), permutations, seed)
        p_sim = _pseudo_p(counts, permutations, ties)
        p_sim[card == 0] = np.nan
        if y.var() == 0:  # nothing varies: nothing to find
            p_sim[:] = 1.0
    if inference == "permutation" and not permutations:
        raise ValueError("inference='permutation' needs permutations > 0")
    chosen = p if inference == "analytic" else p_sim
    out = _in_4326(cells)
    out["n_neighbors"] = card.astype(np.int64)
    out["gi"] = g
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_p_sim"] = p_sim
    out["gi_bin"] = _bins(z, chosen, fdr)
    return out


_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def local_moran(
    cells: gpd.GeoDataFrame,
    *,
    column: str = "count",
    weights: str | Any = "queen",
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    fdr: bool = True,
    ties: str = "esda",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Local Moran's I of ``column`` per cell and its cluster: HH, LL, LH, HL.

    Row-standardised weights without the cell itself; the numbers equal
    ``esda.Moran_Local(y, w, transformation="r", permutations, seed=seed)`` for the same
    binary weights: ``lisa_i`` is ``Is``, ``lisa_q`` is ``q`` (1 HH, 2 LH, 3 LL, 4 HL:
    high or low value, high or low neighbours), ``lisa_p_sim`` is ``p_sim`` (ties in
    the neighbour sums are compared exactly here, in floating point by esda).
    ``lisa_cluster`` is the quadrant where ``lisa_p_sim`` is significant at ``alpha``
    (after the false-discovery-rate correction with ``fdr``), else
    ``"not significant"``. Cells without neighbours, or exactly at the mean, are not
    significant. ``ties="both"`` counts permutations that tie with the observation in
    both tails (see :func:`gi_star`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cells`` with ``n_neighbors``, ``lisa_i``, ``lisa_q``, ``lisa_p_sim``,
        ``lisa_cluster``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> row = gpd.GeoDataFrame({"count": [9, 8, 1, 0, 0, 1]},
    ...                        geometry=shapely.box(range(6), 0, range(1, 7), 1), crs=32651)
    >>> local_moran(row, permutations=99, fdr=False)["lisa_q"].map(_QUADRANTS).tolist()
    ['HH', 'HH', 'LH', 'LL', 'LL', 'LL']
    """
    y = _values(cells, column)
    n = len(y)
    other = spatial_weights(cells, weights, policy=policy)
    card = np.diff(other.indptr)
    z = y - y.mean() if n else y
    sd = z.std() if n else 0.0
    out = _in_4326(cells)
    out["n_neighbors"] = card.astype(np.int64)
    if n < 3 or sd == 0:
        out["lisa_i"] = 0.0
        out["lisa_q"] = np.where(z > 0, 1, 3) if n else np.zeros(0, int)
        out["lisa_p_sim"] = np.nan
        out["lisa_cluster"] = "not significant"
        return out
    zs = z / sd
    with np.errstate(divide="ignore", invalid="ignore"):
        row = sp.diags(np.where(card > 0, 1.0 / np.maximum(card, 1), 0.0)) @ other
    lag_z = row @ zs
    lisa = (n - 1) * zs * lag_z / (zs * zs).sum()
    q = np.select(
        [(zs > 0) & (lag_z > 0), (zs <= 0) & (lag_z > 0), (zs <= 0) & (lag_z <= 0)],
        [1, 2, 3],
        4,
    )
    p_sim = np.full(n, np.nan)
    if permutations:
        counts = _conditional_counts(y, other, other @ y, np.sign(zs), permutations, seed)
        p_sim = _pseudo_p(counts, permutations, ties)
        p_sim[(card == 0) | (zs == 0)] = np.nan
    sig = _significant(p_sim, alpha, fdr)
    out["lisa_i"] = lisa
    out["lisa_q"] = q.astype(np.int64)
    out["lisa_p_sim"] = p_sim
    out["lisa_cluster"] = np.where(sig, pd.Series(q).map(_QUADRANTS).to_numpy(), "not significant")
    return out


# ------------------------------------------------------------------ density ------------


@dataclass(frozen=True)
class DensitySurface:
    """A kernel density raster.

    Attributes
    ----------
    values
        Problems per square kilometre, ``(rows, cols)``, row 0 at the north.
    transform
        Affine transform in rasterio's order ``(a, b, c, d, e, f)``: the centre of
        no pixel but the top-left corner of pixel (row, col) is
        ``x = a * col + b * row + c``, ``y = d * col + e * row + f``.
    crs
        The (metric) CRS of the raster.
    bandwidth_m
        The Gaussian kernel's standard deviation, metres.
    """

    values: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: pyproj.CRS
    bandwidth_m: float

    @property
    def cell_size_m(self) -> float:
        """Pixel size in metres."""
        return float(self.transform[0])

    def total(self) -> float:
        """The integral of the surface: about the number of points."""
        return float(self.values.sum() * (self.cell_size_m / 1000) ** 2)


def _bandwidth(xy: np.ndarray, rule: str | float) -> float:
    if not isinstance(rule, str):
        return float(rule)
    n = len(xy)
    if n < 2:
        return 100.0
    if rule == "scott":
        sigma = math.sqrt((xy[:, 0].var(ddof=1) + xy[:, 1].var(ddof=1)) / 2)
        return sigma * n ** (-1 / 6)
    if rule == "silverman":  # Esri's spatial variant of Silverman's rule of thumb
        centre = xy.mean(axis=0)
        dist = np.hypot(*(xy - centre).T)
        sd = math.sqrt(((xy - centre) ** 2).sum(axis=1).mean())
        dm = float(np.median(dist))
        return 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n ** (-0.2)
    raise ValueError(f"bandwidth must be metres, 'scott' or 'silverman', not {rule!r}")


def kernel_density(
    problems: gpd.GeoDataFrame,
    *,
    bandwidth: float | str = "silverman",
    cell_size: float | None = None,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    levels: int | Sequence[float] = 5,
    policy: Policy | None = None,
) -> tuple[DensitySurface, gpd.GeoDataFrame]:
    """Gaussian kernel density of the points: a raster and its contour polygons.

    Parameters
    ----------
    problems
        Points (any CRS).
    bandwidth
        Standard deviation of the Gaussian kernel in metres, or a rule:
        ``"silverman"`` (default; Esri's spatial Silverman rule
        ``0.9 · min(SD, √(1/ln 2) · Dm) · n^-0.2``, SD the standard distance, Dm the
        median distance to the mean centre) or ``"scott"`` (``σ · n^(-1/6)``, σ the
        mean of the two coordinate standard deviations).
    cell_size
        Pixel size in metres; default a quarter of the bandwidth.
    area
        Extent of the raster (default: the points), padded by three bandwidths so the
        surface integrates to about the number of points.
    levels
        Number of contour bands between 0 and the maximum (the lowest band starts at
        the first level above 0), or explicit breaks (problems/km²).
    policy
        ``metric_crs``.

    Returns
    -------
    (DensitySurface, geopandas.GeoDataFrame)
        The raster (problems/km²) and the contours: ``level``, ``density_from``,
        ``density_to`` and (Multi)Polygon ``geometry`` in EPSG:4326.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, shapely
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.normal(0, 100, (500, 2)) + (350_000, 3_450_000)
    >>> pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32651)
    >>> surface, contours = kernel_density(pts, bandwidth=50)
    >>> round(surface.total()), len(contours)
    (500, 5)
    """
    from scipy import ndimage

    crs = _working_crs(problems, policy)
    present, xy = _xy(problems, crs)
    xy = xy[present]
    h = _bandwidth(xy, bandwidth)
    if not h > 0:
        raise ValueError(f"bandwidth must be positive, not {h}")
    size = float(cell_size or h / 4)
    region = _area_geometry(area, crs)
    x0, y0, x1, y1 = region.bounds if region is not None else (*xy.min(0), *xy.max(0))
    pad = 3 * h
    x0, y0 = math.floor((x0 - pad) / size) * size, math.floor((y0 - pad) / size) * size
    ncol = max(1, math.ceil((x1 + pad - x0) / size))
    nrow = max(1, math.ceil((y1 + pad - y0) / size))
    top = y0 + nrow * size
    col = np.floor((xy[:, 0] - x0) / size).astype(np.int64)
    row = np.floor((top - xy[:, 1]) / size).astype(np.int64)
    ok = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
    counts = np.bincount(row[ok] * ncol + col[ok], minlength=nrow * ncol).reshape(nrow, ncol)
    smooth = ndimage.gaussian_filter(counts.astype(np.float64), sigma=h / size, mode="constant")
    values = smooth / (size / 1000) ** 2  # problems per km²
    surface = DensitySurface(values, (size, 0.0, x0, 0.0, -size, top), crs, h)
    return surface, _contours(surface, levels)


def _contours(surface: DensitySurface, levels: int | Sequence[float]) -> gpd.GeoDataFrame:
    import contourpy

    values = surface.values
    vmax = float(values.max()) if values.size else 0.0
    if isinstance(levels, int):
        edges = np.linspace(0, vmax, levels + 2)[1:] if vmax > 0 else np.empty(0)
    else:
        edges = np.asarray(sorted(levels), dtype=float)
    a, _, c, _, e, f = surface.transform
    xs = c + a * (np.arange(values.shape[1]) + 0.5)
    ys = f + e * (np.arange(values.shape[0]) + 0.5)
    gen = contourpy.contour_generator(
        xs, ys, values, fill_type=contourpy.FillType.OuterOffset, name="serial"
    )
    rows = []
    for k in range(len(edges) - 1 if len(edges) > 1 else 0):
        lo, hi = edges[k], edges[k + 1]
        if k == len(edges) - 2:
            hi = max(hi, vmax) + 1e-9
        points, offsets = gen.filled(lo, hi)
        polys = []
        for pts, offs in zip(points, offsets, strict=True):
            rings = [pts[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
            if rings and len(rings[0]) >= 4:
                polys.append(shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
        if polys:
            rows.append((k + 1, float(lo), float(edges[k + 1]), shapely.MultiPolygon(polys)))
    frame = pd.DataFrame(rows, columns=["level", "density_from", "density_to", "geometry"])
    geometry = gpd.GeoSeries(frame.pop("geometry").to_numpy(dtype=object), crs=surface.crs)
    return gpd.GeoDataFrame(frame, geometry=geometry.to_crs(4326).array, crs=4326)


# ------------------------------------------------------------------ emerging -----------


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of ``series`` (cells × time).

    S is the sum of the signs of all later-minus-earlier differences; its variance has
    the usual correction for ties, ``(n(n-1)(2n+5) - Σ t(t-1)(2t+5)) / 18``; z uses the
    continuity correction (S ∓ 1) and p is two-sided.

    Returns
    -------
    (S, z, p)
        Arrays with one value per row (z 0 and p 1 where the variance is 0).

    Examples
    --------
    >>> s, z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 4, 4, 1]]))
    >>> s.tolist(), z.round(4).tolist(), p.round(4).tolist()
    ([10, -7], [2.2045, -1.6641], [0.0275, 0.0961])
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    m, t = x.shape
    iu, ju = np.triu_indices(t, k=1)
    s = np.sign(x[:, ju] - x[:, iu]).sum(axis=1).astype(np.int64)
    # ties: run lengths of equal values in each sorted row
    srt = np.sort(x, axis=1)
    start = np.ones((m, t), bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(start.ravel()) - 1
    lengths = np.bincount(run_id).astype(np.float64)
    owner = np.repeat(np.arange(m), t)[start.ravel()]
    ties = np.bincount(owner, weights=lengths * (lengths - 1) * (2 * lengths + 5), minlength=m)
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.where(var > 0, z, 0.0)
    return s, z, 2 * stats.norm.sf(np.abs(z))


def emerging_pattern(
    states: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Esri's emerging hot spot categories from per-slice states and the trend.

    ``states`` is cells × slices of +1 (significant hot spot), −1 (cold), 0. For hot
    spots (cold ones mirror it, with "cold" for "hot" and the trend reversed):

    * ``new``: hot in the final slice only;
    * ``consecutive``: one unbroken run of at least two hot slices ending in the final
      one, never hot before, hot in less than 90 % of the slices;
    * ``intensifying`` / ``persistent`` / ``diminishing``: hot in at least 90 % of the
      slices including the final one, with a significant (``trend_p < alpha``) upward /
      no / downward Mann-Kendall trend of the Gi* z;
    * ``sporadic``: hot in the final slice, in less than 90 % of the slices, never cold
      (and neither new nor consecutive);
    * ``oscillating``: hot in the final slice, in less than 90 %, cold in some earlier;
    * ``historical``: not hot in the final slice but in at least 90 % of them.

    Our choices where Esri's wording leaves room: the 90 % share counts slices
    (``hot >= 0.9 * slices``), sporadic and oscillating require the final slice to be
    significant, a cell that was ever of the opposite kind is oscillating (before new
    or consecutive), and a cell whose final slice is neither hot nor cold can only be
    historical.

    Returns
    -------
    (pattern, spot)
        ``pattern`` one of :data:`PATTERNS` or ``""``; ``spot`` ``"hot"``, ``"cold"``
        or ``""``.

    Examples
    --------
    >>> s = np.array([[0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ...               [0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...               [1, 0, 0, 1, 0, 0, 0, 0, 0, 1],
    ...               [-1, 0, 0, 0, 0, 0, 0, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
    >>> emerging_pattern(s, np.zeros(6), np.ones(6))[0].tolist()
    ['new', 'consecutive', 'persistent', 'sporadic', 'oscillating', 'historical']
    """
    states = np.atleast_2d(np.asarray(states, dtype=np.int64))
    m, t = states.shape
    pattern = np.full(m, "", dtype=object)
    spot = np.full(m, "", dtype=object)
    if t == 0:
        return pattern, spot
    up = (trend_p < alpha) & (trend_z > 0)
    down = (trend_p < alpha) & (trend_z < 0)
    for sign, name, rising, falling in ((1, "hot", up, down), (-1, "cold", down, up)):
        this = states == sign
        other = states == -sign
        n_this = this.sum(axis=1)
        last = this[:, -1]
        mostly = n_this >= 0.9 * t
        # length of the run of this state that ends at the final slice
        run = np.where(last, t - _last_false(this), 0)
        before = n_this - run  # slices of this state before that run
        p = np.full(m, "", dtype=object)
        p[last & mostly & rising] = "intensifying"
        p[last & mostly & falling] = "diminishing"
        p[last & mostly & ~rising & ~falling] = "persistent"
        was_other = other.any(axis=1)
        p[last & ~mostly] = "sporadic"
        p[last & ~mostly & (before == 0) & (run >= 2)] = "consecutive"
        p[last & (n_this == 1)] = "new"
        p[last & ~mostly & was_other] = "oscillating"
        p[~last & mostly & ~states[:, -1].astype(bool)] = "historical"
        chosen = (p != "") & (pattern == "")
        pattern[chosen], spot[chosen] = p[chosen], name
    return pattern, spot


def _last_false(mask: np.ndarray) -> np.ndarray:
    """Index after the last False in each row (0 when all are True)."""
    t = mask.shape[1]
    rev = ~mask[:, ::-1]
    has = rev.any(axis=1)
    return np.where(has, t - np.argmax(rev, axis=1), 0)


def emerging_hotspots(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame = "h3:9",
    interval: str = "month",
    weights: str | Any = "queen",
    alpha: float = 0.10,
    fdr: bool = True,
    timezone: str | None = None,
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spots: Gi* per time slice, Mann-Kendall trend, Esri's categories.

    The problems are counted per cell (as :func:`aggregate`) and per time slice
    (``interval`` ``"month"``, ``"week"`` or ``"day"``, in local time; every slice from
    the first to the last problem, empty ones included). In each slice a cell is a hot
    (cold) spot when its Gi* (spatial neighbours only, analytic) is significant at
    ``alpha`` (default 0.10, 90 % confidence, FDR-corrected in each slice). The trend
    is the Mann-Kendall test of the cell's Gi* z series (as Esri does); the categories
    are those of :func:`emerging_pattern`. Esri asks for at least 10 slices for a
    meaningful trend; with fewer, only new / consecutive / sporadic / oscillating
    patterns are reliable.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``count``, ``n_slices``, ``hot_slices``, ``cold_slices``,
        ``last_z``, ``trend_z``, ``trend_p``, ``pattern``, ``spot``, ``label``
        (e.g. ``"new hot spot"``), ``label_zh`` (e.g. ``"新增热点"``), ``geometry``.

    Examples
    --------
    >>> p, _ = read_problems("shapes/sample_district.gpkg", layer="problems")
    >>> e = emerging_hotspots(p, cells="h3:10", interval="week")
    >>> int(e["n_slices"].iloc[0]), sorted(set(e["label"]) - {""})[:2]
    (12, ['consecutive hot spot', 'persistent hot spot'])
    """
    freq = {"month": "M", "week": "W-SUN", "day": "D"}.get(interval, interval)
    ids, polys, polys_crs, owner, _, info = _assign(problems, area=area, cells=cells, policy=policy)
    n = len(ids)
    if "reported_at" not in problems.columns:
        raise ValidationError(Issue("no 'reported_at' column for time slices", layer="problems"))
    local = _local(problems["reported_at"], timezone)
    ok = (owner >= 0) & local.notna().to_numpy()
    periods = local[ok].dt.tz_localize(None).dt.to_period(freq)
    frame = gpd.GeoDataFrame(
        {"cell_id": pd.Series(ids, dtype=object)},
        geometry=gpd.GeoSeries(polys, crs=polys_crs).to_crs(4326).array,
        crs=4326,
    )
    if ok.any():
        first, last = periods.min(), periods.max()
        t = int((last - first).n) + 1
        slot = np.array([(p - first).n for p in periods], dtype=np.int64)
        cube = np.zeros((n, t))
        np.add.at(cube, (owner[ok], slot), 1.0)
    else:
        t, cube = 0, np.zeros((n, 0))
    other = spatial_weights(frame, weights, policy=policy)
    zs = np.zeros((n, t))
    states = np.zeros((n, t), dtype=np.int64)
    for k in range(t):
        _, z, _ = _gi_star_analytic(cube[:, k], other)
        zs[:, k] = z
        sig = _significant(2 * stats.norm.sf(np.abs(z)), alpha, fdr)
        states[sig, k] = np.sign(z[sig]).astype(np.int64)
    _, trend_z, trend_p = mann_kendall(zs) if t > 1 else (None, np.zeros(n), np.ones(n))
    pattern, spot = emerging_pattern(states, trend_z, trend_p, alpha=alpha)
    label = np.array([f"{p} {s} spot" if p else "" for p, s in zip(pattern, spot, strict=True)])
    label_zh = np.array(
        [PATTERNS[p] + _SPOT_ZH[s] if p else "" for p, s in zip(pattern, spot, strict=True)]
    )
    frame.insert(1, "count", cube.sum(axis=1).astype(np.int64))
    frame.insert(2, "n_slices", np.full(n, t, dtype=np.int64))
    frame.insert(3, "hot_slices", (states == 1).sum(axis=1))
    frame.insert(4, "cold_slices", (states == -1).sum(axis=1))
    frame.insert(5, "last_z", zs[:, -1] if t else np.zeros(n))
    frame.insert(6, "trend_z", trend_z)
    frame.insert(7, "trend_p", trend_p)
    frame.insert(8, "pattern", pattern.astype(object))
    frame.insert(9, "spot", spot.astype(object))
    frame.insert(10, "label", label.astype(object))
    frame.insert(11, "label_zh", label_zh.astype(object))
    frame.attrs.update(info, interval=interval)
    return frame


# ------------------------------------------------------------------ everything ---------


def hotspot_layers(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame = "h3:9",
    category: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    permutations: int = 999,
    seed: int = 0,
    weights: str | Any = "queen",
    inference: str = "analytic",
    fdr: bool = True,
    ties: str = "esda",
    bandwidth: float | str = "silverman",
    interval: str = "month",
    timezone: str | None = None,
    policy: Policy | None = None,
    progress: Progress | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """All hotspot layers of the selected problems: cells, lisa, density, emerging.

    The one entry point of the CLI (``gridgeo hotspots``), the map service and the
    notebooks. Problems are selected with :func:`select_problems`, counted with
    :func:`aggregate`, then :func:`gi_star`, :func:`local_moran`,
    :func:`kernel_density` and :func:`emerging_hotspots` run on them with the same
    cells and weights.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``cells`` (cell_id, count, n_neighbors, gi, gi_z, gi_p, gi_p_sim, gi_bin),
        ``lisa`` (cell_id, count, lisa_i, lisa_q, lisa_p_sim, lisa_cluster),
        ``density`` (contour bands) and ``emerging``; all in EPSG:4326.
        ``cells.attrs`` records the selection (problems used, outside the area).

    Examples
    --------
    >>> p, _ = read_problems("shapes/sample_district.gpkg", layer="problems")
    >>> layers = hotspot_layers(p, cells="h3:10", permutations=99)
    >>> sorted(layers), int(layers["cells"]["count"].sum())
    (['cells', 'density', 'emerging', 'lisa'], 2000)
    """
    report = progress or (lambda *_: None)
    steps = 5  # select, count, Gi* and LISA, density, emerging
    report(_STEP, 0, steps)
    chosen = select_problems(
        problems, category=category, status=status, start=start, end=end, timezone=timezone
    )
    report(_STEP, 1, steps)
    counted = aggregate(chosen, area=area, cells=cells, policy=policy)
    if len(counted) == 0:
        raise ValidationError(Issue("the study area holds no cell", hint="check --area/--cells"))
    report(_STEP, 2, steps)
    w = spatial_weights(counted, weights, policy=policy)
    gi = gi_star(
        counted,
        weights=w,
        permutations=permutations,
        seed=seed,
        inference=inference,
        fdr=fdr,
        ties=ties,
        policy=policy,
    )
    lisa = local_moran(counted, weights=w, permutations=permutations, seed=seed, fdr=fdr, ties=ties)
    lisa = lisa[
        [
            "cell_id",
            "count",
            "n_neighbors",
            "lisa_i",
            "lisa_q",
            "lisa_p_sim",
            "lisa_cluster",
            "geometry",
        ]
    ]
    report(_STEP, 3, steps)
    inside = chosen
    if len(chosen):
        _, _, _, owner, _, _ = _assign(chosen, area=area, cells=cells, policy=policy)
        inside = chosen[owner >= 0]
    if len(inside) >= 2:
        _, density = kernel_density(inside, bandwidth=bandwidth, area=area, policy=policy)
    else:
        density = gpd.GeoDataFrame(
            {"level": [], "density_from": [], "density_to": []},
            geometry=gpd.GeoSeries([], crs=4326),
        )
    report(_STEP, 4, steps)
    if "reported_at" in chosen.columns and len(inside):
        emerging = emerging_hotspots(
            chosen,
            area=area,
            cells=cells,
            interval=interval,
            weights=weights if isinstance(weights, str) else w,
            fdr=fdr,
            timezone=timezone,
            policy=policy,
        )
    else:
        emerging = counted[["cell_id", "count", "geometry"]].assign(pattern="", label="")
    report(_STEP, steps, steps)
    gi.attrs.update(counted.attrs, problems=len(chosen), weights=str(weights))
    return {"cells": gi, "lisa": lisa, "density": density, "emerging": emerging}
