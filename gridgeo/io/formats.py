"""Which format a file is, told by its content (and its name for text files)."""

from __future__ import annotations

from pathlib import Path

from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from gridgeo.errors import CRSError, FileFormatError, Issue

__all__ = ["FORMATS", "VECTOR_FORMATS", "detect_format", "parse_crs"]

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
#: formats read by GDAL (the others are tables)
VECTOR_FORMATS = frozenset({"gpkg", "shp", "geojson", "osm", "zip"})
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


def _sniff(head: bytes, claimed: str | None, path: Path) -> str:
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shp"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if claimed == "xlsx" else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if b"OSMHeader" in head[:64]:
        return "osm"
    if not head.strip():
        raise FileFormatError(Issue("the file is empty", file=path.name))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "geojson"
    if b"\x00" in head:
        return "binary"
    return "csv"


def detect_format(path: Path) -> str:
    """Return the format id of ``path`` from its content (and name for text files).

    Raises
    ------
    FileFormatError
        The content contradicts the extension, or is not a format gridgeo reads,
        or the path is a folder.
    """
    if path.is_dir():
        raise FileFormatError(Issue("is a folder, not a file", file=str(path)))
    with open(path, "rb") as fh:
        head = fh.read(512)
    suffix = path.suffix.lower()
    claimed = _EXTENSIONS.get(suffix)
    sniffed = _sniff(head, claimed, path)
    if sniffed == "xls":
        raise FileFormatError(
            Issue(
                "old .xls workbooks are not read",
                file=path.name,
                hint="open it in Excel or LibreOffice and save it as .xlsx",
            )
        )
    # an .xlsx workbook is a ZIP archive inside
    compatible = {claimed, sniffed} == {"zip", "xlsx"}
    if sniffed == "binary" or (claimed and claimed != sniffed and not compatible):
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
