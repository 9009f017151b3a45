"""Local time: from stored UTC times to the district's days, weeks, months and quarters.

Stores keep every point in time in UTC (``visits.visited_at``, ``problems.reported_at``
...); the campaign's rules speak of local days ("at least once a week", "the joint
meeting on the 9th"). Everything in gridgeo that turns a time into a local day or a
calendar period goes through this module, with the time zone given as an argument:
the library never looks it up itself. The service, the CLI and the check pass the
``GRIDGEO_TIMEZONE`` setting; an analyst passes it, or gets :data:`DEFAULT_TIMEZONE`.

Naive times (no offset) are taken as local wall-clock times already.

Examples
--------
>>> times = pd.Series(pd.to_datetime(["2026-03-08T15:30Z", "2026-03-08T16:30Z"]))
>>> local_days(times, "Asia/Shanghai").dt.day.tolist()
[8, 9]
>>> calendar_units("2026-03-01", "2026-05-01", freq="M")["label"].tolist()
['2026-03', '2026-04']
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_TIMEZONE",
    "DateLike",
    "as_day",
    "calendar_units",
    "local_date",
    "local_days",
    "local_now",
    "local_times",
    "unit_of",
    "utc_time",
    "utc_times",
]

#: the plan's district time zone; the default of the ``GRIDGEO_TIMEZONE`` setting too
DEFAULT_TIMEZONE = "Asia/Shanghai"

DateLike = dt.date | str | pd.Timestamp | None

_DAY = pd.Timedelta(days=1)
#: label formats of the months and quarters of :func:`calendar_units`
_LABELS = {"M": "%Y-%m", "Q": "%Y-Q%q"}


def as_day(value: DateLike) -> pd.Timestamp:
    """A naive midnight timestamp for a (local) date; today, by the machine's clock, for None.

    Examples
    --------
    >>> as_day("2026-03-09T17:45")
    Timestamp('2026-03-09 00:00:00')
    """
    ts = pd.Timestamp(dt.date.today() if value is None else value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def local_times(times: pd.Series, timezone: str = DEFAULT_TIMEZONE) -> pd.Series:
    """Naive local wall-clock times (``datetime64[ns]``) of timezone-aware times.

    Parameters
    ----------
    times
        Timezone-aware times (UTC as stores return them), or naive local times, which
        are kept as they are.
    timezone
        The district's time zone (IANA name).

    Returns
    -------
    pandas.Series
        On the input's index.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-03-08T16:30Z"]))
    >>> local_times(t, "Asia/Shanghai").tolist()
    [Timestamp('2026-03-09 00:30:00')]
    """
    t = pd.to_datetime(times)
    if t.dt.tz is not None:
        t = t.dt.tz_convert(timezone).dt.tz_localize(None)
    return t.astype("datetime64[ns]")


def local_days(times: pd.Series, timezone: str = DEFAULT_TIMEZONE) -> pd.Series:
    """The local calendar day (naive midnight) of each time, as :func:`local_times` reads it.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-03-08T16:30Z"]))
    >>> local_days(t, "Asia/Shanghai").tolist()
    [Timestamp('2026-03-09 00:00:00')]
    """
    return local_times(times, timezone).dt.normalize()


def local_date(value: dt.datetime | pd.Timestamp, timezone: str = DEFAULT_TIMEZONE) -> dt.date:
    """The local date of one timezone-aware point in time.

    Examples
    --------
    >>> local_date(pd.Timestamp("2026-03-08T16:30Z"), "Asia/Shanghai")
    datetime.date(2026, 3, 9)
    """
    return pd.Timestamp(value).tz_convert(timezone).date()


def local_now(timezone: str = DEFAULT_TIMEZONE) -> pd.Timestamp:
    """The present moment on the district's clock (timezone-aware).

    Examples
    --------
    >>> str(local_now("Asia/Shanghai").tz)
    'Asia/Shanghai'
    """
    return pd.Timestamp.now(tz=timezone)


def utc_times(values: pd.Series, timezone: str = DEFAULT_TIMEZONE) -> pd.Series:
    """UTC times of local ones: naive times are local wall-clock times in ``timezone``.

    A local time that happens twice (the autumn clock change) becomes NaT; one that
    never happens (spring) is moved forward to the first time that does. Aware times
    are converted.

    Examples
    --------
    >>> utc_times(pd.Series(pd.to_datetime(["2026-03-09 00:30"])), "Asia/Shanghai").tolist()
    [Timestamp('2026-03-08 16:30:00+0000', tz='UTC')]
    """
    times = pd.to_datetime(values)
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        return times.dt.tz_convert("UTC")
    local = times.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


def utc_time(value: dt.datetime, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime:
    """One point in time in UTC; a naive one is a local wall-clock time in ``timezone``.

    Examples
    --------
    >>> utc_time(dt.datetime(2026, 3, 9, 0, 30), "Asia/Shanghai").isoformat()
    '2026-03-08T16:30:00+00:00'
    """
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(dt.UTC)


def calendar_units(start: DateLike, end: DateLike, *, freq: str, days: int = 7) -> pd.DataFrame:
    """The calendar units (weeks, months, quarters or windows) overlapping ``[start, end)``.

    Parameters
    ----------
    start, end
        Local dates; ``end`` is not included.
    freq
        ``W-SUN`` (ISO weeks, Monday to Sunday, labelled ``2026-W03``), ``M``
        (``2026-03``), ``Q`` (``2026-Q1``) or ``D`` (windows of ``days`` days counted
        from ``start``, labelled by their first day).
    days
        The window length for ``freq="D"``.

    Returns
    -------
    pandas.DataFrame
        One row per unit, in time order: ``label``, ``lo`` and ``hi`` (the whole
        unit, ``hi`` excluded), ``clo`` and ``chi`` (clipped to ``[start, end)``) and
        ``unit`` (its position).

    Raises
    ------
    ValueError
        ``end`` is not after ``start``.

    Examples
    --------
    >>> u = calendar_units("2026-01-07", "2026-01-19", freq="W-SUN")
    >>> u[["label", "clo"]].astype(str).values.tolist()
    [['2026-W02', '2026-01-07'], ['2026-W03', '2026-01-12']]
    """
    s, e = as_day(start), as_day(end)
    if e <= s:
        raise ValueError(f"end {e.date()} must be after start {s.date()}")
    if freq == "D":
        lo = pd.date_range(s, e - _DAY, freq=f"{days}D")
        hi = lo + pd.Timedelta(days=days)
        labels = lo.strftime("%Y-%m-%d")
    else:
        periods = pd.period_range(s, e - _DAY, freq=freq)
        lo = periods.start_time.normalize()
        hi = (periods + 1).start_time.normalize()
        if freq == "W-SUN":
            iso = lo.isocalendar()
            labels = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
        else:
            labels = periods.strftime(_LABELS[freq])
    out = pd.DataFrame({"label": np.asarray(labels, dtype=object), "lo": lo, "hi": hi})
    out["clo"] = out["lo"].clip(lower=s)
    out["chi"] = out["hi"].clip(upper=e)
    out["unit"] = np.arange(len(out))
    spans = ("lo", "hi", "clo", "chi")
    return out.astype(dict.fromkeys(spans, "datetime64[ns]"))


def unit_of(days: pd.Series, units: pd.DataFrame) -> pd.Series:
    """The position of the unit each local day falls in (-1 outside every unit).

    Parameters
    ----------
    days
        Local days (naive), as :func:`local_days` returns them.
    units
        What :func:`calendar_units` returned.

    Examples
    --------
    >>> u = calendar_units("2026-03-01", "2026-05-01", freq="M")
    >>> unit_of(pd.Series(pd.to_datetime(["2026-04-30", "2026-05-01"])), u).tolist()
    [1, -1]
    """
    lo = units["lo"].to_numpy()
    hi = units["hi"].to_numpy()
    d = days.to_numpy(dtype="datetime64[ns]")
    k = np.searchsorted(lo, d, side="right") - 1
    ok = (k >= 0) & ~np.isnat(d)
    ok[ok] = d[ok] < hi[k[ok]]
    return pd.Series(np.where(ok, k, -1), index=days.index)
