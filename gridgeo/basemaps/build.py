"""Build a basemap file of an area from a store's own data, drawn like the maps' basemap.

Each tile is the ``basemap`` raster tile of :mod:`gridgeo.render` (communities, grids,
buildings and the district's outline), so a district without a licensed basemap still
has one that an intranet service can serve from a file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mercantile
import pandas as pd
import shapely

from gridgeo import render
from gridgeo.basemaps.files import write_mbtiles, write_pmtiles
from gridgeo.errors import ValidationError

if TYPE_CHECKING:
    from gridgeo.store import Store

__all__ = ["BuiltBasemap", "build_basemap", "parse_zooms"]

#: The deepest zoom a basemap file is built to (a z19 tile is 75 m wide).
MAX_BUILD_ZOOM = 19


@dataclass(frozen=True)
class BuiltBasemap:
    """What :func:`build_basemap` wrote: the file, its tile count, zooms and bounds."""

    path: Path
    tiles: int
    zooms: tuple[int, int]
    bounds: tuple[float, float, float, float]


def parse_zooms(text: str) -> tuple[int, int]:
    """``"12-17"`` (or ``"15"``) as the first and last zoom.

    Examples
    --------
    >>> parse_zooms("12-17"), parse_zooms("15")
    ((12, 17), (15, 15))
    """
    first, _, last = text.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise ValidationError(f"--zooms {text!r}: give a zoom or a range such as 12-17") from None
    if not 0 <= lo <= hi <= MAX_BUILD_ZOOM:
        raise ValidationError(f"--zooms {text!r}: zooms go from 0 to {MAX_BUILD_ZOOM}, low to high")
    return lo, hi


def _frames(store: Store) -> dict[str, pd.DataFrame]:
    """The stored layers the basemap tiles draw, read once."""
    return {name: store.read_layer(name, columns=[]) for name in render.TILE_LAYERS["basemap"]}


def _near(frame: pd.DataFrame, bbox: tuple[float, float, float, float]) -> pd.DataFrame:
    hits = frame.sindex.query(shapely.box(*bbox), predicate="intersects")
    return frame.iloc[sorted(hits)]


def _tiles(
    frames: dict[str, pd.DataFrame],
    zooms: tuple[int, int],
    bounds: tuple[float, float, float, float],
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[tuple[int, int, int], bytes]]:
    for t in mercantile.tiles(*bounds, zooms=range(zooms[0], zooms[1] + 1)):
        bbox = render.tile_bbox(t.z, t.x, t.y)
        near = {name: _near(frame, bbox) for name, frame in frames.items()}
        near["communities"] = frames["communities"]  # the district's outline needs all
        if not any(len(near[n]) for n in ("grids", "buildings")) and not len(
            _near(frames["communities"], bbox)
        ):
            continue
        png = render.draw_tile(near, "basemap", t.z, t.x, t.y)
        if progress is not None:
            progress(1)
        if not _blank(png):
            yield (t.z, t.x, t.y), png


def _blank(png: bytes) -> bool:
    """Whether a tile is one colour (it holds nothing of the district but its margin)."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).getcolors(maxcolors=1) is not None


def build_basemap(
    store: Store,
    out: str | Path,
    *,
    zooms: tuple[int, int] = (12, 17),
    bounds: tuple[float, float, float, float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BuiltBasemap:
    """Draw the district's basemap tiles of ``zooms`` into an MBTiles or PMTiles file.

    Parameters
    ----------
    store
        The store whose communities, grids and buildings are drawn.
    out
        The file to write: ``.mbtiles`` or ``.pmtiles`` (replaced if it exists).
    zooms
        The first and last zoom (see :func:`parse_zooms`).
    bounds
        The area, lon/lat (default: the communities' extent).
    progress
        Called with 1 after each tile drawn (tiles of one colour are left out).

    Returns
    -------
    BuiltBasemap
        The file, how many tiles it holds, its zooms and bounds.

    Examples
    --------
    >>> import tempfile, pathlib, gridgeo
    >>> from gridgeo.basemaps import BasemapFile
    >>> store = gridgeo.open_store("sqlite:///:memory:")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "b.mbtiles"
    >>> built = build_basemap(store, out, zooms=(14, 14), bounds=(121.4, 31.2, 121.41, 31.21))
    >>> built.tiles  # an empty store draws nothing
    0
    >>> store.close()
    """
    out = Path(out)
    if out.suffix not in (".mbtiles", ".pmtiles"):
        raise ValidationError(f"{out}: the basemap file must end in .mbtiles or .pmtiles")
    frames = _frames(store)
    if bounds is None:
        if frames["communities"].empty:
            raise ValidationError("the store holds no communities: load the district first")
        bounds = tuple(float(v) for v in frames["communities"].total_bounds)  # type: ignore[assignment]
    assert bounds is not None
    tiles = list(_tiles(frames, zooms, bounds, progress))
    metadata = {
        "name": "gridgeo basemap",
        "format": "png",
        "type": "baselayer",
        "minzoom": zooms[0],
        "maxzoom": zooms[1],
        "bounds": ",".join(f"{v:.6f}" for v in bounds),
        "attribution": "gridgeo: the district's own data",
    }
    writer = write_pmtiles if out.suffix == ".pmtiles" else write_mbtiles
    writer(out, tiles, metadata)
    return BuiltBasemap(out, len(tiles), zooms, bounds)
