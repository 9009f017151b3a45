"""Dates and times as files hold them: parsed to UTC, and written back without loss.

Times are written as ISO 8601 text with their UTC offset and microseconds
(``2026-03-02T02:30:00.250000+00:00``), in every format: Excel cells have no time
zone and keep milliseconds only, GeoPackage and GeoJSON fields milliseconds only.
Reading, a time with an offset is taken as it says; one without is local time in the
zone given. A day written ``03/04/2025`` is ambiguous (3 April or March 4) and is
refused unless a format is given; one that cannot be read either way is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = ["ParsedTimes", "format_dates", "format_times", "parse_times"]

_DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f")
_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?=$|[ T])")
_ORDERS = {"day first": "%d/%m/%Y", "month first": "%m/%d/%Y"}


@dataclass
class ParsedTimes:
    """Times in UTC, and which present values could not be read or are ambiguous."""

    utc: pd.Series
    bad: np.ndarray
    ambiguous: np.ndarray


def format_times(values: pd.Series) -> pd.Series:
    """Timezone-aware times as ISO 8601 text with offset and microseconds (empty: None).

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-03-02 02:30:00.25", None], utc=True))
    >>> format_times(t).tolist()
    ['2026-03-02T02:30:00.250000+00:00', None]
    """
    return pd.Series(
        [None if pd.isna(v) else v.isoformat(timespec="microseconds") for v in values],
        index=values.index,
        dtype=object,
    )


def format_dates(values: pd.Series) -> pd.Series:
    """Days (naive midnight datetimes) as ``YYYY-MM-DD`` text (empty: None)."""
    return pd.Series(
        [None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d") for v in values],
        index=values.index,
        dtype=object,
    )


def _localize(naive: pd.Series, tz: ZoneInfo) -> pd.Series:
    naive = pd.to_datetime(naive)
    if isinstance(naive.dtype, pd.DatetimeTZDtype):
        return naive.dt.tz_convert("UTC")
    return naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
        "UTC"
    )


def _with_formats(text: pd.Series, formats: list[str]) -> pd.Series:
    got = pd.to_datetime(text, errors="coerce", format="ISO8601")
    for fmt in formats:
        miss = got.isna()
        if not miss.any():
            break
        got[miss] = pd.to_datetime(text[miss], errors="coerce", format=fmt)
    return got


def _day_month_order(text: pd.Series) -> tuple[str | None, np.ndarray]:
    """The order of ``NN/NN/YYYY`` days in a column, and which values it leaves ambiguous."""
    parts = text.str.extract(_DAY_MONTH)
    slashed = parts[0].notna().to_numpy()
    if not slashed.any():
        return None, np.zeros(len(text), dtype=bool)
    first = parts[0].astype(float).to_numpy()
    second = parts[1].astype(float).to_numpy()
    day_first = bool(np.all(second[slashed] <= 12))
    month_first = bool(np.all(first[slashed] <= 12))
    if day_first != month_first:
        return ("day first" if day_first else "month first"), np.zeros(len(text), dtype=bool)
    return None, slashed & (first != second)


def _parse_naive(sub: pd.Series, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
    formats = [f + s for f in _DATE_FORMATS for s in _TIME_SUFFIXES]
    ambiguous = np.zeros(len(sub), dtype=bool)
    if date_format:
        formats = [date_format + s for s in _TIME_SUFFIXES] + formats
    else:
        order, ambiguous = _day_month_order(sub)
        if order is not None:
            formats += [_ORDERS[order] + s for s in _TIME_SUFFIXES]
        else:
            same = [_ORDERS["day first"] + s for s in _TIME_SUFFIXES]
            formats += same  # 05/05/2025 is 5 May either way
    got = _with_formats(sub, formats)
    got[ambiguous] = pd.NaT
    return got, ambiguous


def parse_times(values: pd.Series, *, timezone: str, date_format: str | None = None) -> ParsedTimes:
    """Parse dates/times to UTC; times without an offset are local time in ``timezone``.

    Parameters
    ----------
    values
        Text, Excel's date cells, or datetimes (naive ones are local).
    timezone
        The zone of times without an offset.
    date_format
        A :func:`~datetime.datetime.strptime` format for days such as ``%d/%m/%Y``,
        tried first (with ``HH:MM[:SS[.ffffff]]`` after it for times).

    Examples
    --------
    >>> p = parse_times(pd.Series(["2025-03-01 08:00", "03/04/2025"]), timezone="Asia/Shanghai")
    >>> p.utc.dt.strftime("%d %H:%M").tolist(), p.ambiguous.tolist()
    (['01 00:00', nan], [False, True])
    >>> p = parse_times(pd.Series(["03/04/2025", "25/04/2025"]), timezone="UTC")
    >>> p.utc.dt.strftime("%m-%d").tolist()  # 25/04 shows the column is day first
    ['04-03', '04-25']
    """
    tz = ZoneInfo(timezone)
    values = values.reset_index(drop=True)
    n = len(values)
    ambiguous = np.zeros(n, dtype=bool)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = _localize(values, tz)
    else:
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        objs = values.map(lambda v: isinstance(v, dt.date)).to_numpy(dtype=bool)  # Excel cells
        if objs.any():
            parsed[objs] = [
                _localize(pd.Series([pd.Timestamp(v)]), tz).iloc[0] for v in values[objs]
            ]
        text = values.map(lambda v: None if pd.isna(v) else str(v).strip() or None)
        strings = text.notna().to_numpy() & ~objs
        if strings.any():
            sub = text[strings].astype(str)
            aware = sub.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
            got = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns, UTC]")
            if aware.any():
                with_offset = pd.to_datetime(
                    sub[aware], errors="coerce", format="ISO8601", utc=True
                )
                miss = with_offset.isna()
                if miss.any():
                    with_offset[miss] = pd.to_datetime(
                        sub[aware][miss], errors="coerce", format="mixed", utc=True
                    )
                got[aware] = with_offset
            if (~aware).any():
                naive, unclear = _parse_naive(sub[~aware], date_format)
                got[~aware] = _localize(naive, tz)
                ambiguous[np.flatnonzero(strings)[~aware][unclear]] = True
            parsed[strings] = got
    present = values.map(lambda v: not (pd.isna(v) or str(v).strip() == "")).to_numpy(dtype=bool)
    bad = present & parsed.isna().to_numpy() & ~ambiguous
    return ParsedTimes(parsed.astype("datetime64[ns, UTC]"), bad, ambiguous)
