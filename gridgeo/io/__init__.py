"""Read and write the files planners hand over (GeoPackage, Shapefile, GeoJSON, OSM, CSV, XLSX).

A file is recognised by its content, not only its name: a ``.gpkg`` that is really a
ZIP, or a ``.geojson`` that is not JSON, is refused with a message that says so.

One job per module: :mod:`~gridgeo.io.formats` (what a file is),
:mod:`~gridgeo.io.encodings` (its text encoding), :mod:`~gridgeo.io.tables` (CSV and
XLSX), :mod:`~gridgeo.io.vectors` (GDAL formats), :mod:`~gridgeo.io.geometry`
(coordinates, WKT, CRS), :mod:`~gridgeo.io.crs` (what ``--crs`` says, GCJ-02 and
BD-09 converted once), :mod:`~gridgeo.io.dates` (times in and out),
:mod:`~gridgeo.io.readers` and :mod:`~gridgeo.io.writers`.
"""

from __future__ import annotations

from gridgeo.io.dates import ParsedTimes, format_times, parse_times
from gridgeo.io.encodings import CANDIDATES, decode_bytes
from gridgeo.io.formats import FORMATS, detect_format, parse_crs
from gridgeo.io.geometry import WKT_COLUMNS, X_COLUMNS, Y_COLUMNS, to_wkt
from gridgeo.io.readers import ReadResult, read_file
from gridgeo.io.tables import read_table
from gridgeo.io.writers import write_file

__all__ = [
    "CANDIDATES",
    "FORMATS",
    "ParsedTimes",
    "ReadResult",
    "WKT_COLUMNS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "decode_bytes",
    "detect_format",
    "format_times",
    "parse_crs",
    "parse_times",
    "read_file",
    "read_table",
    "to_wkt",
    "write_file",
]
