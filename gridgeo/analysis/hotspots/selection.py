"""Which problems are analysed: categories, statuses and a period in local days.

Times are stored in UTC; a period is a range of local days in the district's time zone,
which the caller passes (the CLI and the service pass ``GRIDGEO_TIMEZONE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from gridgeo.analysis.hotspots.geometry import geometry_array, has_location
from gridgeo.errors import Issue, ValidationError
from gridgeo.settings import Settings

__all__ = ["DEFAULT_TIMEZONE", "local_times", "select_problems"]

#: the time zone the analyses use when the caller names none (the default of
#: ``GRIDGEO_TIMEZONE``; this is a constant, the environment is not read here)
DEFAULT_TIMEZONE: str = Settings.model_fields["timezone"].default


def local_times(times: pd.Series, timezone: str) -> pd.Series:
    """Times in ``timezone``; naive times are taken as UTC (as the stores keep them).

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2025-03-31 17:00"]))
    >>> local_times(t, "Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2025-04-01 01:00']
    """
    times = pd.to_datetime(times)
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize("UTC")
    return times.dt.tz_convert(timezone)


def select_problems(
    problems: gpd.GeoDataFrame,
    *,
    category: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> gpd.GeoDataFrame:
    """Keep the problems of the given categories, statuses and period.

    Parameters
    ----------
    problems
        Problem points with ``category``, ``status`` and ``reported_at`` columns as
        far as they are selected on.
    category, status
        One value or several (any of them); None keeps all.
    start, end
        Local dates, both included (``end`` up to its last second).
    timezone
        The time zone the dates are local to (default :data:`DEFAULT_TIMEZONE`).

    Returns
    -------
    geopandas.GeoDataFrame
        The selected rows that have a location.

    Raises
    ------
    ValidationError
        A selection on a column the problems do not have.

    Examples
    --------
    >>> p = gpd.read_file("shapes/sample_district.gpkg", layer="problems")
    >>> len(select_problems(p, category="安全隐患", start="2025-04-01", end="2025-04-30",
    ...                     timezone="Asia/Shanghai"))
    151
    """
    out = problems
    for name, wanted in (("category", category), ("status", status)):
        if wanted is None:
            continue
        if name not in out.columns:
            raise ValidationError(Issue(f"no {name!r} column to select on", layer="problems"))
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        out = out[out[name].isin(wanted).to_numpy()]
    if start is not None or end is not None:
        if "reported_at" not in out.columns:
            raise ValidationError(Issue("no 'reported_at' column to select a period on"))
        local = local_times(out["reported_at"], timezone)
        keep = local.notna().to_numpy().copy()
        if start is not None:
            keep = keep & (local >= pd.Timestamp(str(start)).tz_localize(local.dt.tz)).to_numpy()
        if end is not None:
            stop = pd.Timestamp(str(end)).tz_localize(local.dt.tz) + pd.Timedelta(days=1)
            keep = keep & (local < stop).to_numpy()
        out = out[keep]
    return out[has_location(geometry_array(out))]
