"""The query parameters of a read: ``bbox`` and the ``column=value`` filters.

A filter is selected by the store when it can be (:func:`store_selection`), the rest in
memory (:func:`apply_filters`); both select the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import Request

from api.geojson import json_column
from gridgeo.errors import ValidationError
from gridgeo.layers import LayerSpec

__all__ = [
    "RESERVED",
    "apply_filters",
    "column_filters",
    "parse_bbox",
    "store_selection",
    "time_range",
]

#: Query parameters that are not column filters.
RESERVED = {"bbox", "limit", "offset", "include_personal", "as_of", "community"}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """The ``bbox`` parameter as ``(minx, miny, maxx, maxy)`` (None: not given)."""
    if text is None:
        return None
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(math.isfinite(x) for x in parts):
        raise ValidationError(
            f"bbox {text!r}: give four numbers minx,miny,maxx,maxy (longitude/latitude)"
        )
    minx, miny, maxx, maxy = parts
    if minx > maxx or miny > maxy:
        raise ValidationError(f"bbox {text!r}: minx must not exceed maxx, nor miny maxy")
    return minx, miny, maxx, maxy


def column_filters(request: Request, columns: list[str]) -> dict[str, str]:
    """The ``column=value`` filters of a request, each on one of ``columns``."""
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    unknown = sorted(set(filters) - set(columns))
    if unknown:
        raise ValidationError(
            f"unknown filter(s) {unknown}: filter on one of the columns {columns}, "
            "or use bbox, limit, offset"
        )
    for column, value in filters.items():
        if "\x00" in value:
            raise ValidationError(f"filter {column}: text must not contain NUL characters")
    return filters


def apply_filters(
    frame: pd.DataFrame, filters: dict[str, str], timezone: str | None = None
) -> pd.DataFrame:
    """The rows of a frame in memory whose columns match ``column=value`` filters.

    Text is compared whole; a date or time column matches when its ISO text starts with
    the value, times written in local time in ``timezone`` (the district's), so
    ``visited_at=2025-03-04`` is that local day (:func:`time_range` selects the same
    rows in the store).
    """
    for column, value in filters.items():
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype) and timezone is not None:
            values = values.dt.tz_convert(timezone)
        texts = pd.Series(json_column(values), index=frame.index, dtype=object)
        text = texts.map(lambda v: None if v is None else str(v))
        is_time = pd.api.types.is_datetime64_any_dtype(frame[column].dtype)
        mask = text.str.startswith(value) if is_time else text.eq(value)
        frame = frame.loc[mask.fillna(False).to_numpy(dtype=bool)]
    return frame


_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
#: The prefixes of ISO text that are a whole period: a year down to a second.
_STEPS = tuple(dt.timedelta(**{unit: 1}) for unit in ("days", "hours", "minutes", "seconds"))
_PERIOD = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?")


def store_selection(
    spec: LayerSpec, filters: dict[str, str], timezone: str
) -> tuple[dict[str, list[Any]], dict[str, tuple[Any, Any]], dict[str, str]]:
    """The ``column=value`` filters split into what the store selects and what is left.

    A filter on a text column (codes and references too) is the store's equality; one
    on an integer column is too when the value is written as the integer would be
    (``5``; ``05`` or ``5.0`` match nothing). A date or time filter that names a whole
    period (``2025``, ``2025-03``, ``2025-03-04``, ``2025-03-04T09``...) is the range
    of that period (:func:`time_range`). Anything else (``2025-0``, a time with an
    offset) is left to :func:`apply_filters`, after the store's selection.

    Returns
    -------
    tuple
        ``where`` (column → values), ``ranges`` (column → ``[low, high)``) and the
        filters left.
    """
    where: dict[str, list[Any]] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    rest: dict[str, str] = {}
    for column, value in filters.items():
        kind = spec.field(column).kind
        if kind == "text":
            where[column] = [value]
        elif kind == "int":
            where[column] = [int(value)] if _CANONICAL_INT.fullmatch(value) else []
        elif (period := time_range(kind, value, timezone)) is not None:
            ranges[column] = period
        else:
            rest[column] = value
    return where, ranges, rest


def time_range(kind: str, value: str, timezone: str) -> tuple[Any, Any] | None:
    """``[low, high)`` of the period a filter value names (None: not a whole period).

    For a ``date`` column, dates (``2025-03`` is 1 March to 1 April); for a time column,
    UTC instants of the local period in ``timezone``. A period whose bounds fall in a
    daylight-saving change (a local time that is skipped or happens twice) is None:
    the text comparison handles it.
    """
    match = _PERIOD.fullmatch(value)
    if match is None:
        return None
    parts = [int(p) for p in match.groups() if p is not None]
    if kind == "date" and len(parts) > 3:
        return None
    try:
        start = dt.datetime(*parts, *([1] * max(0, 3 - len(parts))))  # type: ignore[misc]
        if len(parts) == 1:
            end = start.replace(year=start.year + 1)
        elif len(parts) == 2:
            end = (start + dt.timedelta(days=32)).replace(day=1)
        else:
            end = start + _STEPS[len(parts) - 3]
    except (ValueError, OverflowError):
        return None  # no such period (2025-13, 2025-02-30): the text matches nothing either
    if kind == "date":
        return start.date(), end.date()
    zone = ZoneInfo(timezone)
    bounds = []
    for wall in (start, end):
        early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            return None
        bounds.append(early.astimezone(dt.UTC))
    return bounds[0], bounds[1]
