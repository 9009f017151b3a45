"""Read and write the files planners hand over (GeoPackage, Shapefile, GeoJSON, OSM, CSV, XLSX).

A file is recognised by its content, not only its name: a ``.gpkg`` that is really a
ZIP, or a ``.geojson`` that is not JSON, is refused with a message that says so.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from gridgeo.errors import CRSError, FileFormatError, Issue, NotFound

__all__ = [
    "ReadResult",
    "read_file",
    "write_file",
    "detect_format",
    "parse_crs",
    "FORMATS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "WKT_COLUMNS",
]

#: format id -> human name
FORMATS = {
    "gpkg": "GeoPackage",
    "shp": "Shapefile",
    "geojson": "GeoJSON",
    "osm": "OpenStreetMap PBF",
    "zip": "ZIP archive",
    "csv": "CSV",
    "xlsx": "Excel workbook (.xlsx)",
    "xls": "old Excel workbook (.xls)",
}
_EXTENSIONS = {
    ".gpkg": "gpkg",
    ".shp": "shp",
    ".geojson": "geojson",
    ".json": "geojson",
    ".pbf": "osm",
    ".zip": "zip",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
}
#: column names (lower case) recognised as coordinates or WKT in tables
X_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
Y_COLUMNS = ("lat", "latitude", "y", "纬度")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
_VECTOR = {"gpkg", "shp", "geojson", "osm", "zip"}


@dataclass
class ReadResult:
    """A file read into a frame, with what the reader had to do to it."""

    frame: pd.DataFrame
    path: Path
    format: str
    layer: str | None = None
    #: 1-based row numbers as the user sees them (header counted for tables)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    source_crs: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The file name used in messages."""
        return self.path.name


def detect_format(path: Path) -> str:
    """Return the format id of ``path`` from its content (and name for text files).

    Raises
    ------
    FileFormatError
        The content contradicts the extension, or is not a format gridgeo reads.
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
    suffix = path.suffix.lower()
    claimed = _EXTENSIONS.get(suffix)
    if head.startswith(b"SQLite format 3\x00"):
        sniffed = "gpkg"
    elif head[:4] == b"\x00\x00\x27\x0a":
        sniffed = "shp"
    elif head.startswith(b"PK\x03\x04"):
        sniffed = "xlsx" if claimed == "xlsx" else "zip"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        sniffed = "xls"
    elif b"OSMHeader" in head[:64]:
        sniffed = "osm"
    elif not head.strip():
        raise FileFormatError(Issue("the file is empty", file=path.name))
    elif head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        sniffed = "geojson"
    elif b"\x00" in head:
        sniffed = "binary"
    else:
        sniffed = "csv"
    if sniffed == "xls":
        raise FileFormatError(
            Issue(
                "old .xls workbooks are not read",
                file=path.name,
                hint="open it in Excel or LibreOffice and save it as .xlsx",
            )
        )
    if sniffed == "binary" or (
        claimed and claimed != sniffed and not _compatible(claimed, sniffed)
    ):
        what = FORMATS.get(claimed or "", suffix or "this kind of file")
        looks = FORMATS.get(sniffed, "an unknown binary format")
        raise FileFormatError(
            Issue(
                f"the file is not a {what}: its content looks like {looks}",
                file=path.name,
                hint="check that the right file was given, or export it again in the "
                "format its name says",
            )
        )
    return sniffed


def _compatible(claimed: str, sniffed: str) -> bool:
    # an .xlsx workbook is a ZIP archive inside
    return {claimed, sniffed} == {"zip", "xlsx"}


def parse_crs(value: str | int | None) -> CRS | None:
    """Parse ``--crs`` (``4326``, ``EPSG:4547``, a WKT or PROJ string).

    Raises
    ------
    CRSError
        The value names no coordinate reference system.
    """
    if value is None or value == "":
        return None
    try:
        text = str(value).strip()
        return CRS.from_user_input(int(text) if text.isdigit() else text)
    except ProjCRSError as exc:
        raise CRSError(
            Issue(
                f"unknown coordinate reference system {value!r}",
                hint="give an EPSG code such as 4326 (WGS 84), 4490 (CGCS2000) or 4547 "
                "(CGCS2000 3-degree Gauss-Kruger CM 114E)",
            )
        ) from exc


@contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))


@contextmanager
def _shapefile_with_index(path: Path, notes: list[str]) -> Iterator[Path]:
    """Yield a readable path for a shapefile, rebuilding a missing .shx in a copy."""
    siblings = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*")}
    if ".dbf" not in siblings:
        raise FileFormatError(
            Issue(
                "the shapefile has no .dbf (attribute table) beside it",
                file=path.name,
                hint="hand over all of its files (.shp, .shx, .dbf, .prj), or a zip of them",
            )
        )
    if ".shx" in siblings:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gridgeo-shx-") as tmp:
        for p in siblings.values():
            shutil.copy(p, Path(tmp) / (path.stem + p.suffix.lower()))
        copy = Path(tmp) / (path.stem + ".shp")
        notes.append(f"{path.name} has no .shx index: rebuilt it from the .shp (in a copy)")
        with _gdal_config(SHAPE_RESTORE_SHX="YES"):
            pyogrio.read_info(copy)
        yield copy


def _choose_layer(path: Path, layer: str | None, target: str | None, fmt: str) -> str | None:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise _unreadable(path, fmt, exc) from exc
    if layer is not None:
        if layer not in layers:
            raise NotFound(f"{path.name} has no layer {layer!r}; its layers are {layers}")
        return layer
    if len(layers) == 1:
        return layers[0]
    if target in layers:
        return target
    if fmt == "osm":
        return "multipolygons" if target not in ("households", "visits", "problems") else "points"
    raise FileFormatError(
        Issue(
            f"the file has several layers ({', '.join(layers)})",
            file=path.name,
            hint="name one with --layer",
        )
    )


def _unreadable(path: Path, fmt: str, exc: Exception) -> FileFormatError:
    hint = "check that the file is complete and not damaged"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if fmt == "geojson":
        try:
            with open(path, encoding="utf-8-sig") as fh:
                json.load(fh)
        except json.JSONDecodeError as err:
            message = f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
            hint = "fix the JSON syntax there (a validator such as `python -m json.tool` shows it)"
        except UnicodeDecodeError:
            message = "the file is not UTF-8 text"
            hint = "GeoJSON must be UTF-8 (RFC 7946); save it again as UTF-8"
        else:
            hint = (
                "the JSON is well-formed but not GeoJSON: it needs a FeatureCollection (RFC 7946)"
            )
    return FileFormatError(
        Issue(f"cannot read it as {FORMATS.get(fmt, fmt)}: {message}", file=path.name, hint=hint)
    )


def read_file(
    path: str | Path,
    *,
    layer: str | None = None,
    target: str | None = None,
    crs: str | int | None = None,
    where: str | None = None,
    x: str | None = None,
    y: str | None = None,
    wkt: str | None = None,
) -> ReadResult:
    """Read a vector file or a table into a frame in EPSG:4326.

    Parameters
    ----------
    path
        GeoPackage, Shapefile (a missing ``.shx`` is rebuilt in a copy), GeoJSON,
        OSM PBF, a zip of one of these, CSV (UTF-8 or GB18030) or XLSX.
    layer
        Layer (GeoPackage, OSM) or sheet (XLSX) to read.
    target
        The gridgeo layer being imported: picks the same-named layer of a
        multi-layer file when ``layer`` is not given.
    crs
        CRS of a file that declares none (a Shapefile without ``.prj``, a CSV of
        projected coordinates). CSV/XLSX coordinates default to EPSG:4326.
    where
        Attribute filter for vector files (OGR SQL), e.g. ``"admin_level = '8'"``.
    x, y, wkt
        Coordinate or WKT columns of a table (found by their usual names otherwise).

    Returns
    -------
    ReadResult
        ``frame`` is a GeoDataFrame in EPSG:4326, or a DataFrame for a table
        without geometry; its columns are the file's.

    Examples
    --------
    >>> from gridgeo.io import read_file
    >>> r = read_file("shapes/sample_district.gpkg", layer="grids")
    >>> r.frame.crs.to_epsg(), r.format
    (4326, 'gpkg')
    """
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(Issue("is a folder, not a file", file=str(path)))
    fmt = detect_format(path)
    user_crs = parse_crs(crs)
    notes: list[str] = []
    if fmt == "geojson":
        _check_json(path)
    if fmt in _VECTOR:
        frame, chosen, rows = _read_vector(path, fmt, layer, target, where, notes)
    else:
        chosen = layer
        frame = _read_table(path, fmt, layer)
        rows = np.arange(len(frame)) + 2  # the header is line 1
        frame = _table_geometry(frame, path, rows, x=x, y=y, wkt=wkt, crs=user_crs)
    source_crs = None
    if isinstance(frame, gpd.GeoDataFrame):
        frame, source_crs = _to_wgs84(frame, path, fmt, user_crs, notes)
    return ReadResult(frame, path, fmt, chosen, np.asarray(rows), source_crs, notes)


def _check_json(path: Path, limit: int = 256 * 2**20) -> None:
    """Refuse malformed JSON that GDAL's lenient parser would half-read."""
    if path.stat().st_size > limit:
        return
    try:
        with open(path, encoding="utf-8-sig") as fh:
            json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _unreadable(path, "geojson", exc) from exc


def _read_vector(
    path: Path, fmt: str, layer: str | None, target: str | None, where: str | None, notes: list[str]
) -> tuple[pd.DataFrame, str | None, np.ndarray]:
    read_path: Path | str = path
    if fmt == "zip":
        read_path = f"/vsizip/{path}"
    with _shapefile_with_index(path, notes) if fmt == "shp" else nullcontext(read_path) as readable:
        chosen = _choose_layer(Path(readable) if fmt != "zip" else readable, layer, target, fmt)  # type: ignore[arg-type]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = pyogrio.read_dataframe(
                    readable, layer=chosen, where=where, use_arrow=True, fid_as_index=False
                )
            notes.extend(sorted({f"GDAL: {w.message}" for w in caught}))
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _unreadable(path, fmt, exc) from exc
        except pyogrio.errors.FieldError as exc:
            raise FileFormatError(
                Issue(f"bad --where filter: {exc}", file=path.name, layer=chosen)
            ) from exc
    rows = np.arange(1, len(frame) + 1)
    return frame, chosen, rows


def _read_table(path: Path, fmt: str, sheet: str | None) -> pd.DataFrame:
    if fmt == "xlsx":
        try:
            book = pd.ExcelFile(path, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many kinds for damaged files
            raise FileFormatError(
                Issue(
                    f"cannot open the workbook: {exc}",
                    file=path.name,
                    hint="save it again from Excel",
                )
            ) from exc
        with book:
            if sheet is None:
                sheet = book.sheet_names[0]
            elif sheet not in book.sheet_names:
                raise NotFound(
                    f"{path.name} has no sheet {sheet!r}; its sheets are {book.sheet_names}"
                )
            frame = pd.read_excel(book, sheet_name=sheet, dtype=object)
        frame = frame.dropna(how="all")
        return _clean_columns(frame)
    last: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding=encoding,
                sep=None,
                engine="python",
            )
            return _clean_columns(frame)
        except UnicodeDecodeError as exc:
            last = exc
        except (pd.errors.ParserError, csv.Error) as exc:
            raise FileFormatError(
                Issue(
                    f"cannot parse it as CSV: {exc}",
                    file=path.name,
                    hint="check quoting and separators",
                )
            ) from exc
    raise FileFormatError(
        Issue(f"unknown text encoding ({last})", file=path.name, hint="save it as UTF-8 CSV")
    )


def _clean_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.reset_index(drop=True)


def _find(columns: list[str], explicit: str | None, names: tuple[str, ...]) -> str | None:
    if explicit:
        return explicit
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def _table_geometry(
    frame: pd.DataFrame,
    path: Path,
    rows: np.ndarray,
    *,
    x: str | None,
    y: str | None,
    wkt: str | None,
    crs: CRS | None,
) -> pd.DataFrame:
    cols = list(frame.columns)
    for name in (x, y, wkt):
        if name and name not in cols:
            raise NotFound(f"{path.name} has no column {name!r}; its columns are {cols}")
    wkt_col = _find(cols, wkt, WKT_COLUMNS) if not (x or y) else None
    x_col, y_col = _find(cols, x, X_COLUMNS), _find(cols, y, Y_COLUMNS)
    issues: list[Issue] = []
    if wkt_col:
        text = frame[wkt_col]
        geoms = np.full(len(frame), None, dtype=object)
        present = text.notna().to_numpy()
        parsed = shapely.from_wkt(text[present].astype(str).to_numpy(), on_invalid="ignore")
        geoms[present] = parsed
        bad = np.flatnonzero(present)[pd.isna(parsed)]
        for pos in bad[:50]:
            issues.append(
                Issue(
                    "not a WKT geometry",
                    file=path.name,
                    row=int(rows[pos]),
                    column=wkt_col,
                    value=text.iloc[pos],
                    hint="write it as e.g. POLYGON((x y, ...))",
                )
            )
        frame = frame.drop(columns=[wkt_col])
    elif x_col and y_col:
        xs = pd.to_numeric(frame[x_col], errors="coerce")
        ys = pd.to_numeric(frame[y_col], errors="coerce")
        for col, raw, num in ((x_col, frame[x_col], xs), (y_col, frame[y_col], ys)):
            bad = np.flatnonzero((raw.notna() & num.isna()).to_numpy())
            for pos in bad[:50]:
                issues.append(
                    Issue(
                        "not a number",
                        file=path.name,
                        row=int(rows[pos]),
                        column=col,
                        value=raw.iloc[pos],
                        hint="coordinates must be decimal numbers",
                    )
                )
        half = (xs.notna() ^ ys.notna()).to_numpy() & (
            frame[x_col].notna() ^ frame[y_col].notna()
        ).to_numpy()
        for pos in np.flatnonzero(half)[:50]:
            issues.append(
                Issue(
                    "only one of the two coordinates is given",
                    file=path.name,
                    row=int(rows[pos]),
                    column=y_col if pd.isna(frame[y_col].iloc[pos]) else x_col,
                    hint=f"fill both {x_col} and {y_col}, or leave both empty for no location",
                )
            )
        ok = (xs.notna() & ys.notna()).to_numpy()
        geoms = np.full(len(frame), None, dtype=object)
        geoms[ok] = shapely.points(xs[ok].to_numpy(), ys[ok].to_numpy())
        frame = frame.drop(columns=[x_col, y_col])
    else:
        return frame
    if issues:
        from gridgeo.errors import ValidationError

        raise ValidationError(issues, summary=f"{path.name}: {len(issues)} bad geometry value(s):")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=crs or "EPSG:4326")


def _looks_lonlat(frame: gpd.GeoDataFrame) -> bool:
    bounds = frame.geometry.total_bounds
    return bool(
        np.all(np.isfinite(bounds))
        and -180 <= bounds[0] <= 180
        and -180 <= bounds[2] <= 180
        and -90 <= bounds[1] <= 90
        and -90 <= bounds[3] <= 90
    )


def _to_wgs84(
    frame: gpd.GeoDataFrame, path: Path, fmt: str, user_crs: CRS | None, notes: list[str]
) -> tuple[gpd.GeoDataFrame, str | None]:
    declared = frame.crs
    if declared is None and user_crs is None:
        if shapely.is_missing(frame.geometry.values).all():
            return frame.set_crs(4326), None
        guess = (
            "its coordinates look like longitude/latitude, so most likely --crs 4326"
            if _looks_lonlat(frame)
            else "its coordinates are projected (metres): give the projection's EPSG code, "
            "e.g. --crs 4547 for CGCS2000 Gauss-Kruger CM 114E"
        )
        what = "a Shapefile without .prj" if fmt == "shp" else "no CRS in the file"
        raise CRSError(
            Issue(
                f"no coordinate reference system ({what})",
                file=path.name,
                hint=f"pass --crs with the EPSG code of its coordinates; {guess}",
            )
        )
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
    has_geometry = not shapely.is_missing(frame.geometry.values).all()
    if crs.is_geographic and has_geometry and not _looks_lonlat(frame):
        raise CRSError(
            Issue(
                f"coordinates are outside longitude/latitude range for {crs.to_string()} "
                f"(bounds {np.round(frame.geometry.total_bounds, 1).tolist()})",
                file=path.name,
                hint="the coordinates are probably projected: pass the right --crs",
            )
        )
    name = crs.to_string()
    if crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
        notes.append(f"reprojected from {name} to EPSG:4326")
    return frame, name


def write_file(frame: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a frame to GeoPackage, GeoJSON, Shapefile, CSV or XLSX (by extension).

    A GeoPackage gains or replaces the layer ``layer``; CSV and XLSX get the
    geometry as WKT in a ``wkt`` column (points as ``lon``/``lat``).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".csv", ".xlsx"):
        table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        if isinstance(frame, gpd.GeoDataFrame):
            geoms = frame.geometry
            if len(geoms) and (geoms.geom_type.dropna() == "Point").all():
                table["lon"], table["lat"] = geoms.x, geoms.y
            else:
                table["wkt"] = geoms.to_wkt()
        for col in table.columns:
            if isinstance(table[col].dtype, pd.DatetimeTZDtype):
                table[col] = table[col].dt.tz_localize(None)  # Excel has no time zones
        if ext == ".csv":
            table.to_csv(path, index=False, encoding="utf-8-sig")
        else:
            table.to_excel(path, index=False, sheet_name=(layer or path.stem)[:31])
        return path
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}
    if ext not in driver:
        raise FileFormatError(
            Issue(
                f"cannot write {ext or 'files without extension'}",
                file=path.name,
                hint="use .gpkg, .geojson, .shp, .csv or .xlsx",
            )
        )
    kwargs = {"layer": layer} if ext == ".gpkg" and layer else {}
    pyogrio.write_dataframe(frame, path, driver=driver[ext], **kwargs)
    return path
