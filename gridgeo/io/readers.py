"""One entry for every file planners hand over: :func:`read_file`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.errors import FileFormatError, Issue, NotFound
from gridgeo.io.crs import parse_input_crs
from gridgeo.io.formats import VECTOR_FORMATS, detect_format
from gridgeo.io.geometry import table_geometry, to_wgs84
from gridgeo.io.tables import read_table
from gridgeo.io.vectors import check_json, read_vector

__all__ = ["ReadResult", "read_file"]


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
    encoding: str | None = None,
) -> ReadResult:
    """Read a vector file or a table into a frame in EPSG:4326.

    Parameters
    ----------
    path
        GeoPackage, Shapefile (a missing ``.shx`` is rebuilt in a copy), GeoJSON,
        OSM PBF, a zip of one of these, CSV or XLSX.
    layer
        Layer (GeoPackage, OSM) or sheet (XLSX) to read.
    target
        The gridgeo layer being imported: picks the same-named layer of a
        multi-layer file when ``layer`` is not given.
    crs
        What the coordinates are in: an EPSG code for a file that declares none (a
        Shapefile without ``.prj``, a CSV of projected coordinates; CSV/XLSX default to
        EPSG:4326), or ``gcj02``/``bd09``, converted to WGS-84 even when the file is
        labelled WGS 84 (the rule is in :mod:`gridgeo.io.crs`).
    where
        Attribute filter for vector files (OGR SQL), e.g. ``"admin_level = '8'"``.
    x, y, wkt
        Coordinate or WKT columns of a table (found by their usual names otherwise).
    encoding
        Text encoding of a CSV or of a Shapefile's .dbf. By default UTF-8, GBK,
        GB18030 and Big5 are tried in order (see :mod:`gridgeo.io.encodings`) and the
        choice is told in ``notes``.

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
    given = parse_input_crs(crs)
    notes: list[str] = []
    if fmt == "geojson":
        check_json(path)
    if fmt in VECTOR_FORMATS:
        frame, chosen, rows = read_vector(path, fmt, layer, target, where, notes, encoding)
    else:
        chosen = layer
        frame, table_notes = read_table(path, fmt, layer, encoding=encoding)
        notes.extend(f"{path.name}: {n}" for n in table_notes)
        rows = np.arange(len(frame)) + 2  # the header is line 1
        label = None if given is None else given.crs
        frame = table_geometry(frame, path, rows, x=x, y=y, wkt=wkt, crs=label)
    source_crs = None
    if isinstance(frame, gpd.GeoDataFrame):
        frame, source_crs = to_wgs84(frame, path, fmt, given, notes, np.asarray(rows))
    return ReadResult(frame, path, fmt, chosen, np.asarray(rows), source_crs, notes)
