"""Basemap files: read tiles from MBTiles and PMTiles archives, write MBTiles and PMTiles.

An MBTiles file is SQLite (the ``tiles`` table, rows counted from the south, "TMS") with
a ``metadata`` table; Python's own :mod:`sqlite3` reads it, no extension needed. A
PMTiles file is one archive read through the ``pmtiles`` package. Both hold raster
(PNG, JPEG, WebP) or vector (MVT, "pbf") tiles; :class:`BasemapFile` answers XYZ tiles
(rows counted from the north, as Leaflet asks) from either.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridgeo.errors import FileFormatError, NotFound

__all__ = ["MEDIA_TYPES", "BasemapFile", "TileFormat", "write_mbtiles", "write_pmtiles"]

#: Tile formats and their media types.
MEDIA_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "pbf": "application/vnd.mapbox-vector-tile",
}
TileFormat = str


@dataclass
class BasemapFile:
    """An open MBTiles or PMTiles file: its tiles by XYZ and what its metadata says.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "one.mbtiles"
    >>> write_mbtiles(path, [((3, 6, 3), b"tile")], {"format": "png", "name": "x"})
    >>> f = BasemapFile.open(path)
    >>> f.format, f.tile(3, 6, 3), f.tile(3, 0, 0)
    ('png', b'tile', None)
    >>> f.close()
    """

    path: Path
    format: TileFormat
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None
    attribution: str
    vector_layers: list[str]
    _reader: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, path: str | Path) -> BasemapFile:
        """Open ``path`` (``.mbtiles`` or ``.pmtiles``); FileFormatError if it is neither."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such basemap file (GRIDGEO_BASEMAP_FILE)")
        with path.open("rb") as f:
            magic = f.read(16)
        if magic.startswith(b"PMTiles"):
            return _open_pmtiles(path)
        if magic.startswith(b"SQLite format 3"):
            return _open_mbtiles(path)
        raise FileFormatError(
            f"{path}: neither an MBTiles (SQLite) nor a PMTiles file; "
            "give a .mbtiles or .pmtiles basemap"
        )

    @property
    def media_type(self) -> str:
        """The tiles' media type."""
        return MEDIA_TYPES.get(self.format, "application/octet-stream")

    @property
    def vector(self) -> bool:
        """Whether the tiles are vector (MVT) tiles."""
        return self.format == "pbf"

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ ``z/x/y`` (None: not in the file); MVT tiles come unzipped."""
        if not self.minzoom <= z <= self.maxzoom:
            return None
        with self._lock:
            if isinstance(self._reader, sqlite3.Connection):
                row = self._reader.execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                    "AND tile_row = ?",
                    (z, x, (1 << z) - 1 - y),
                ).fetchone()
                data = None if row is None else bytes(row[0])
            else:
                data = self._reader.get(z, x, y)
        if data and data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data

    def close(self) -> None:
        """Close the file."""
        if isinstance(self._reader, sqlite3.Connection):
            self._reader.close()
        else:
            self._reader.close_file()


def _open_mbtiles(path: Path) -> BasemapFile:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
        zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise FileFormatError(f"{path}: not an MBTiles file ({exc})") from None
    fmt = str(meta.get("format", "png")).lower().replace("jpeg", "jpg")
    bounds = None
    if meta.get("bounds"):
        w, s, e, n = (float(v) for v in str(meta["bounds"]).split(","))
        bounds = (w, s, e, n)
    layers = []
    if meta.get("json"):
        layers = [str(v["id"]) for v in json.loads(meta["json"]).get("vector_layers", [])]
    return BasemapFile(
        path=path,
        format=fmt,
        minzoom=int(meta.get("minzoom", zooms[0] or 0)),
        maxzoom=int(meta.get("maxzoom", zooms[1] or 0)),
        bounds=bounds,
        attribution=str(meta.get("attribution", "")),
        vector_layers=layers,
        _reader=conn,
    )


class _PMTilesReader:
    """The ``pmtiles`` package's reader over an open file."""

    def __init__(self, path: Path) -> None:
        from pmtiles.reader import MmapSource, Reader

        self.file = path.open("rb")
        self.reader = Reader(MmapSource(self.file))

    def get(self, z: int, x: int, y: int) -> bytes | None:
        return self.reader.get(z, x, y)  # type: ignore[no-any-return]

    def close_file(self) -> None:
        self.file.close()


def _open_pmtiles(path: Path) -> BasemapFile:
    from pmtiles.tile import TileType

    reader = _PMTilesReader(path)
    header = reader.reader.header()
    meta = reader.reader.metadata()
    fmt = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg",
           TileType.WEBP: "webp"}.get(header["tile_type"], "png")  # fmt: skip
    bounds = tuple(
        header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
    )
    return BasemapFile(
        path=path,
        format=fmt,
        minzoom=int(header["min_zoom"]),
        maxzoom=int(header["max_zoom"]),
        bounds=bounds,  # type: ignore[arg-type]
        attribution=str(meta.get("attribution", "")),
        vector_layers=[str(v["id"]) for v in meta.get("vector_layers", [])],
        _reader=reader,
    )


def write_mbtiles(
    path: str | Path, tiles: Iterable[tuple[tuple[int, int, int], bytes]], metadata: dict[str, Any]
) -> None:
    """Write ``((z, x, y), data)`` tiles (XYZ) and ``metadata`` to a new MBTiles file."""
    path = Path(path)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
            conn.execute(
                "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                "tile_row INTEGER, tile_data BLOB)"
            )
            conn.execute(
                "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)"
            )
            conn.executemany(
                "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                ((z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles),
            )
            conn.executemany(
                "INSERT INTO metadata VALUES (?, ?)", [(k, str(v)) for k, v in metadata.items()]
            )
    finally:
        conn.close()


def write_pmtiles(
    path: str | Path, tiles: Iterable[tuple[tuple[int, int, int], bytes]], metadata: dict[str, Any]
) -> None:
    """Write PNG ``((z, x, y), data)`` tiles and ``metadata`` to a new PMTiles file."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    kept = sorted(((zxy_to_tileid(*zxy), data) for zxy, data in tiles), key=lambda t: t[0])
    zooms = [z for z in (_zoom_of(t) for t, _ in kept)] or [0]
    w, s, e, n = (float(v) for v in str(metadata.get("bounds", "-180,-85,180,85")).split(","))
    with Path(path).open("wb") as f:
        writer = Writer(f)
        for tile_id, data in kept:
            writer.write_tile(tile_id, data)
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_zoom": min(zooms),
                "max_zoom": max(zooms),
                "min_lon_e7": int(w * 1e7),
                "min_lat_e7": int(s * 1e7),
                "max_lon_e7": int(e * 1e7),
                "max_lat_e7": int(n * 1e7),
                "center_zoom": min(zooms),
                "center_lon_e7": int((w + e) / 2 * 1e7),
                "center_lat_e7": int((s + n) / 2 * 1e7),
            },
            {k: v for k, v in metadata.items() if k != "bounds"},
        )


def _zoom_of(tile_id: int) -> int:
    from pmtiles.tile import tileid_to_zxy

    return int(tileid_to_zxy(tile_id)[0])
