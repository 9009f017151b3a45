"""Request parameters of the map, tile and report routes, each written once.

Dates (:data:`Day`), bounding boxes (:func:`parse_bbox`), the label language
(:data:`Lang`), tile coordinates (:class:`TileParams`, :func:`check_tile`,
:data:`MAX_ZOOM`), hotspot cells (:func:`check_cells`) and the query parameters the
tile routes share (``as_of``, ``community``, ``grid``, the hotspot options, ``v``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Path, Query, Request
from pydantic import AfterValidator, BeforeValidator

from api.state import get_store
from gridgeo.errors import ValidationError
from gridgeo.store import Store

__all__ = [
    "H3_RESOLUTIONS",
    "MAX_ZOOM",
    "SQUARE_METRES",
    "AsOf",
    "AsyncStoreDep",
    "Bbox",
    "CategoryQ",
    "CellsQ",
    "CommunityQ",
    "Day",
    "FromQ",
    "GridQ",
    "Lang",
    "LangQ",
    "StoreDep",
    "TileDep",
    "TileParams",
    "ToQ",
    "VersionQ",
    "check_cells",
    "check_tile",
    "parse_bbox",
]

#: The deepest zoom of every tileset.
MAX_ZOOM = 22


async def _store(request: Request) -> Store:
    """:func:`api.state.get_store` as a coroutine: FastAPI then calls it without a thread."""
    return get_store(request)


#: The app's store, for a route run in a worker thread.
StoreDep = Annotated[Store, Depends(get_store)]
#: The app's store, for a coroutine route.
AsyncStoreDep = Annotated[Store, Depends(_store)]


# -- dates -----------------------------------------------------------------------------


def _sane_day(value: dt.date | None) -> dt.date | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _iso_day(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("write the date as YYYY-MM-DD")


#: A date query parameter: YYYY-MM-DD within 1900–2200 (the analyses count days from it).
Day = Annotated[dt.date, BeforeValidator(_iso_day), AfterValidator(_sane_day)]


# -- places ----------------------------------------------------------------------------

#: A bounding box in longitude/latitude: (minx, miny, maxx, maxy).
Bbox = tuple[float, float, float, float]


def parse_bbox(text: str | None) -> Bbox | None:
    """``minx,miny,maxx,maxy`` (lon/lat) as four numbers (None: no bbox given).

    Raises
    ------
    ValidationError
        Not four finite numbers, out of -180..180 / -85..85, or min not below max.

    Examples
    --------
    >>> parse_bbox("121.4,31.2,121.5,31.3")
    (121.4, 31.2, 121.5, 31.3)
    """
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationError(f"bbox={text!r}: write it as minx,miny,maxx,maxy (lon/lat)")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -85 <= miny < maxy <= 85):
        raise ValidationError(
            f"bbox={text!r}: longitudes must lie in -180..180 and latitudes in -85..85, "
            "with min < max"
        )
    return values  # type: ignore[return-value]


# -- languages -------------------------------------------------------------------------

#: The languages of labels, maps and reports.
Lang = Literal["zh", "en"]
#: The ``?lang=`` of the images and reports.
LangQ = Annotated[str, Query(pattern="^(zh|en)$", description="zh (default) or en")]


# -- tiles -----------------------------------------------------------------------------


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse (400) a zoom or tile that does not exist."""
    if not 0 <= z <= MAX_ZOOM:
        raise HTTPException(400, f"zoom {z} is out of range: use 0 to {MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise HTTPException(
            400, f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {n - 1}"
        )


@dataclass(frozen=True)
class TileParams:
    """A tile's coordinates from the path (XYZ, rows counted from the north)."""

    z: int
    x: int
    y: int

    def check(self) -> TileParams:
        """The tile, if it exists (else a 400, see :func:`check_tile`)."""
        check_tile(self.z, self.x, self.y)
        return self


async def tile_params(
    z: Annotated[int, Path(description="zoom")],
    x: Annotated[int, Path(description="column")],
    y: Annotated[int, Path(description="row (XYZ, from the north)")],
) -> TileParams:
    """The ``{z}/{x}/{y}`` of a tile route (checked by the route, after its layer).

    A coroutine, so FastAPI calls it without a worker thread.
    """
    return TileParams(z, x, y)


TileDep = Annotated[TileParams, Depends(tile_params)]

#: The cells a hotspot analysis may be asked for over HTTP: H3 resolutions and square
#: sizes (metres) that keep a district to a sensible number of cells.
H3_RESOLUTIONS = range(5, 12)
SQUARE_METRES = (50.0, 5000.0)


def check_cells(cells: str) -> str:
    """Refuse (422) hotspot cells that are unknown or too fine or coarse for a request."""
    kind, _, size = cells.strip().lower().partition(":")
    if kind == "auto" and not size:
        return cells
    try:
        number = float(size) if size else None
    except ValueError:
        number = None
    if kind == "h3" and number is not None and number.is_integer():
        if int(number) in H3_RESOLUTIONS:
            return cells
    elif kind == "square" and number is not None and SQUARE_METRES[0] <= number <= SQUARE_METRES[1]:
        return cells
    raise ValidationError(
        f"cells={cells!r}: use auto (chosen from the problems), h3:RES with RES {H3_RESOLUTIONS.start}–{H3_RESOLUTIONS.stop - 1} "
        f"(e.g. h3:9) or square:METRES with {SQUARE_METRES[0]:g}–{SQUARE_METRES[1]:g} m "
        "(e.g. square:250)"
    )


# -- the query parameters the tile routes share ------------------------------------------

AsOf = Annotated[
    Day | None, Query(description="date of the check, for finding layers (default today)")
]
CommunityQ = Annotated[str | None, Query(description="keep the findings of this community")]
GridQ = Annotated[str | None, Query(description="keep the findings of this grid")]
CategoryQ = Annotated[str | None, Query(description="hotspots: problem category")]
FromQ = Annotated[Day | None, Query(alias="from", description="hotspots: first day")]
ToQ = Annotated[Day | None, Query(alias="to", description="hotspots: last day")]
CellsQ = Annotated[
    str, Query(description="hotspots: auto (chosen from the problems), h3:RES or square:METRES")
]
VersionQ = Annotated[
    int | None, Query(description="data version the URL was made for (lets browsers cache)")
]
