"""Visit recency and shares: the last visit of each place, the share of households visited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridgeo.analysis.frames import as_str
from gridgeo.localtime import (
    DEFAULT_TIMEZONE,
    DateLike,
    as_day,
    calendar_units,
    local_days,
    unit_of,
)

__all__ = [
    "HouseholdBuildings",
    "household_buildings",
    "last_visits",
    "visit_share",
    "weekly_visit_share",
]


@dataclass(frozen=True)
class HouseholdBuildings:
    """The building of each household as a position in the distinct building codes."""

    #: per household, the position of its building in ``codes`` (-1: none)
    ids: np.ndarray
    #: the distinct building codes
    codes: pd.Index


def household_buildings(households: pd.DataFrame) -> HouseholdBuildings:
    """Number the households' buildings once, for several :func:`visit_share` calls.

    Examples
    --------
    >>> hb = household_buildings(pd.DataFrame({"code": ["H1", "H2"], "building": ["B2", "B2"]}))
    >>> hb.ids.tolist(), hb.codes.tolist()
    ([0, 0], ['B2'])
    """
    ids, codes = pd.factorize(as_str(households["building"]))
    return HouseholdBuildings(ids, pd.Index(codes))


def _household_group_ids(
    households: pd.DataFrame, by: pd.Series, numbered: HouseholdBuildings | None
) -> tuple[np.ndarray, pd.Index]:
    """Group of each household as a position in the distinct groups (-1: none), and those."""
    numbered = numbered or household_buildings(households)
    gid, groups = pd.factorize(as_str(by), sort=True)  # missing group: -1
    where = numbered.codes.get_indexer(pd.Index(as_str(pd.Series(by.index))))
    known = where >= 0
    slot = np.full(len(numbered.codes) + 1, -1, dtype=np.int64)  # the last slot answers id -1
    slot[where[known]] = gid[known]
    return slot[numbered.ids], pd.Index(groups)


def last_visits(
    targets: pd.DataFrame,
    visits: pd.DataFrame,
    *,
    as_of: DateLike = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Last visit of each household or building up to ``as_of`` (local dates).

    ``targets`` is the ``households`` layer (it has a ``building`` column; visits
    with that household count) or the ``buildings`` layer (visits recorded with that
    building count).

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``household_id`` or ``building_id``, ``last_visit``
        (local date), ``days_since`` (Int64, missing if never) and ``never_visited``.

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2"], "building": ["B1", "B1"]})
    >>> v = pd.DataFrame({"household": ["H1", "H1"], "building": ["B1", "B1"],
    ...                   "visited_at": pd.to_datetime(["2026-03-01T20:00Z", "2026-03-20T01:00Z"])})
    >>> r = last_visits(h, v, as_of="2026-03-10")
    >>> r["days_since"].tolist(), r["never_visited"].tolist()
    ([8, <NA>], [False, True])
    """
    is_household = "building" in targets.columns
    col, name = ("household", "household_id") if is_household else ("building", "building_id")
    day = as_day(as_of)
    local = local_days(visits["visited_at"], timezone)
    v = pd.DataFrame({"target": as_str(visits[col]), "day": local})
    v = v[(v["day"] <= day).to_numpy(dtype=bool)].dropna()
    last = v.groupby("target")["day"].max()
    codes = as_str(targets["code"])
    last_visit = pd.Series(
        last.reindex(codes.to_numpy()).to_numpy(dtype="datetime64[ns]"), index=codes.index
    )
    days = (day - last_visit).dt.days.astype("Int64")
    return pd.DataFrame(
        {name: codes, "last_visit": last_visit, "days_since": days,
         "never_visited": last_visit.isna()},
        index=targets.index,
    )  # fmt: skip


def visit_share(
    visits: pd.DataFrame,
    households: pd.DataFrame,
    *,
    by: pd.Series,
    as_of: DateLike = None,
    windows: Sequence[int] = (7, 30),
    timezone: str = DEFAULT_TIMEZONE,
    numbered: HouseholdBuildings | None = None,
) -> pd.DataFrame:
    """Share of households visited in the last ``windows`` days, per group.

    Parameters
    ----------
    visits, households
        Layer frames. Only visits recorded with a household count.
    by
        Group of each building: a Series indexed by building code (building → grid or
        building → community). Households of buildings not in ``by`` are left out.
        The Series' name names the group column (default ``group``).
    as_of
        Last day of the windows (local date); the window of ``w`` days is
        ``(as_of - w, as_of]``.
    windows
        Window lengths in days.
    timezone
        The district's time zone, to give the visits their local days.
    numbered
        What :func:`household_buildings` returned for ``households``; computed when
        not given.

    Returns
    -------
    pandas.DataFrame
        One row per group: the group, ``households`` and, per window ``w``,
        ``visited_{w}d`` and ``share_{w}d``.

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2"], "building": ["B1", "B2"]})
    >>> v = pd.DataFrame({"household": ["H1", "H2"],
    ...                   "visited_at": pd.to_datetime(["2026-03-09T02:00Z", "2026-02-20T02:00Z"])})
    >>> by = pd.Series({"B1": "G1", "B2": "G1"}, name="grid")
    >>> visit_share(v, h, by=by, as_of="2026-03-10").values.tolist()
    [['G1', 2, 1, 0.5, 2, 1.0]]
    """
    group = by.name if by.name is not None else "group"
    gid, groups = _household_group_ids(households, by, numbered)
    placed = gid >= 0
    size = np.bincount(gid[placed], minlength=len(groups))
    day = as_day(as_of)
    local = local_days(visits["visited_at"], timezone)
    # only the visits of the widest window matter: select them before anything else
    widest = ((local > day - pd.Timedelta(days=max(windows))) & (local <= day)).to_numpy(bool)
    v = pd.DataFrame(
        {"household": as_str(visits["household"][widest]), "day": local[widest]}
    ).dropna()
    out = pd.DataFrame({group: groups.astype("string"), "households": size})
    codes = as_str(households["code"])
    for w in windows:
        recent = v[(v["day"] > day - pd.Timedelta(days=w)).to_numpy(dtype=bool)]
        seen = codes.isin(recent["household"].unique()).to_numpy(dtype=bool) & placed
        out[f"visited_{w}d"] = np.bincount(gid[seen], minlength=len(groups)).astype("int64")
        out[f"share_{w}d"] = out[f"visited_{w}d"] / out["households"]
    return out[out["households"] > 0].reset_index(drop=True)


def weekly_visit_share(
    visits: pd.DataFrame,
    households: pd.DataFrame,
    *,
    by: pd.Series,
    start: DateLike,
    end: DateLike,
    timezone: str = DEFAULT_TIMEZONE,
    numbered: HouseholdBuildings | None = None,
) -> pd.DataFrame:
    """Share of households visited in each ISO week (local time) overlapping ``[start, end)``.

    Arguments as :func:`visit_share`.

    Returns
    -------
    pandas.DataFrame
        One row per group and week: the group, ``week`` (``2026-W03``), ``week_start``
        (the Monday), ``households``, ``visited`` and ``share``.

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2"], "building": ["B1", "B1"]})
    >>> v = pd.DataFrame({"household": ["H1", "H2"],
    ...                   "visited_at": pd.to_datetime(["2026-01-05T02:00Z", "2026-01-13T02:00Z"])})
    >>> by = pd.Series({"B1": "G1"}, name="grid")
    >>> r = weekly_visit_share(v, h, by=by, start="2026-01-05", end="2026-01-19")
    >>> r[["grid", "week", "share"]].values.tolist()
    [['G1', '2026-W02', 0.5], ['G1', '2026-W03', 0.5]]
    """
    group = by.name if by.name is not None else "group"
    gid, groups = _household_group_ids(households, by, numbered)
    keep = gid >= 0
    hh = pd.DataFrame(
        {
            "household": as_str(households["code"])[keep].to_numpy(),
            group: pd.Series(groups.to_numpy()[gid[keep]], dtype="string").to_numpy(),
        }
    )
    units = calendar_units(start, end, freq="W-SUN")
    unit = unit_of(local_days(visits["visited_at"], timezone), units)
    inside = (unit >= 0).to_numpy(dtype=bool)
    v = pd.DataFrame(
        {"household": as_str(visits["household"][inside]), "unit": unit[inside]}
    ).dropna()
    v = v.drop_duplicates(["household", "unit"]).merge(hh, on="household")
    visited = v.groupby([group, "unit"]).size()
    size = hh.groupby(group).size()
    grid = pd.MultiIndex.from_product([size.index, units["unit"]], names=[group, "unit"])
    out = pd.DataFrame(index=grid).reset_index()
    out["week"] = units["label"].to_numpy()[out["unit"].to_numpy()]
    out["week_start"] = units["lo"].to_numpy()[out["unit"].to_numpy()]
    out["households"] = out[group].map(size).astype("int64")
    out["visited"] = visited.reindex(grid).fillna(0).astype("int64").to_numpy()
    out["share"] = out["visited"] / out["households"]
    return out.drop(columns="unit")
