"""Visits and meetings over time: rules R8, R9 and R12, visit recency and shares.

R8: members visit weekly; R9: grids hold a council meeting monthly; R12: linked
leaders visit their community quarterly.

Times: ``visits.visited_at`` is timezone-aware (UTC); it is converted to the
district's local time (``gridgeo.settings.get_settings().timezone``, Asia/Shanghai
by default) before it is given a day, week, month or quarter. ``meetings.held_on``
and ``start``/``end`` are local dates.

Periods: a calendar unit (ISO week Monday–Sunday, month, quarter) is checked when it
overlaps ``[start, end)``; a visit or meeting anywhere in that unit counts for it.
For a member or leader, a unit is checked only when the part of it inside
``[start, end)`` lies wholly within one of their assignments' validity.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridgeo.analysis.responsibility import DateLike, _day, _text, join_groups
from gridgeo.policy import Policy

__all__ = [
    "last_visits",
    "leader_quarters",
    "meeting_months",
    "member_visit_weeks",
    "visit_share",
    "weekly_visit_share",
]

_DAY = pd.Timedelta(days=1)


def _local_day(times: pd.Series) -> pd.Series:
    """Local calendar day (naive midnight) of tz-aware (or naive local) times."""
    from gridgeo.settings import get_settings

    t = pd.to_datetime(times)
    if t.dt.tz is not None:
        t = t.dt.tz_convert(get_settings().timezone).dt.tz_localize(None)
    return t.dt.normalize().astype("datetime64[ns]")


def _units(start: DateLike, end: DateLike, freq: str, days: int = 7) -> pd.DataFrame:
    """Calendar units overlapping [start, end): label, lo, hi (whole), clo, chi (clipped)."""
    s, e = _day(start), _day(end)
    if e <= s:
        raise ValueError(f"end {e.date()} must be after start {s.date()}")
    if freq == "D":  # windows of `days` days counted from start
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
        elif freq == "M":
            labels = periods.strftime("%Y-%m")
        else:
            labels = periods.strftime("%Y-Q%q")
    out = pd.DataFrame({"label": np.asarray(labels, dtype=object), "lo": lo, "hi": hi})
    out["clo"] = out["lo"].clip(lower=s)
    out["chi"] = out["hi"].clip(upper=e)
    out["unit"] = np.arange(len(out))
    return out.astype({"lo": "datetime64[ns]", "hi": "datetime64[ns]",
                       "clo": "datetime64[ns]", "chi": "datetime64[ns]"})  # fmt: skip


def _unit_of(days: pd.Series, units: pd.DataFrame) -> pd.Series:
    """Index of the unit each day falls in; -1 outside all units."""
    lo = units["lo"].to_numpy()
    hi = units["hi"].to_numpy()
    d = days.to_numpy(dtype="datetime64[ns]")
    k = np.searchsorted(lo, d, side="right") - 1
    ok = (k >= 0) & ~np.isnat(d)
    ok[ok] = d[ok] < hi[k[ok]]
    return pd.Series(np.where(ok, k, -1), index=days.index)


def _valid_units(links: pd.DataFrame, units: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """(keys…, unit) where the unit's clipped span lies within one link's validity."""
    vf = pd.to_datetime(links["valid_from"]).astype("datetime64[ns]")
    vt = pd.to_datetime(links["valid_to"]).astype("datetime64[ns]")
    left = links[keys].assign(vf=vf.to_numpy(), vt=vt.to_numpy()).drop_duplicates()
    pairs = left.merge(units[["unit", "clo", "chi"]], how="cross")
    inside = (pairs["vf"] <= pairs["clo"]) & (
        pairs["vt"].isna() | (pairs["vt"] >= pairs["chi"] - _DAY)
    )
    return pairs.loc[inside, [*keys, "unit"]].drop_duplicates()


def _summary(
    checked: pd.DataFrame, counts: pd.Series, keys: list[str], required: int,
    units: pd.DataFrame, names: tuple[str, str, str],
) -> pd.DataFrame:  # fmt: skip
    """Per keys: number of units checked, of units with fewer than ``required`` events."""
    n_col, missed_col, list_col = names
    c = checked.merge(counts.rename("n").reset_index(), on=[*keys, "unit"], how="left")
    c["n"] = c["n"].fillna(0)
    c["missed"] = c["n"] < required
    c["label"] = units["label"].to_numpy()[c["unit"].to_numpy()]
    c = c.sort_values([*keys, "unit"])
    g = c.groupby(keys, sort=True)
    out = pd.DataFrame({n_col: g.size(), missed_col: g["missed"].sum().astype("int64")})
    labels = join_groups(c.loc[c["missed"], [*keys, "label"]], keys, "label")
    out[list_col] = labels.reindex(out.index).astype("string").fillna("")
    return out.reset_index()


def member_visit_weeks(
    visits: pd.DataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    start: DateLike,
    end: DateLike,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Weeks in which a member made no visit (R8).

    Members of role ``member`` with ``member_building``/``member_household``
    assignments are checked, in each ISO week (local time) overlapping
    ``[start, end)`` that lies within one of those assignments' validity. Any visit
    the member records counts. With ``policy.visit_interval_days`` other than 7 the
    weeks are replaced by windows of that many days counted from ``start``, labelled
    by their first day.

    Returns
    -------
    pandas.DataFrame
        One row per checked member: ``member_id``, ``weeks`` (weeks checked),
        ``weeks_missed`` and ``missed`` (labels like ``2026-W03``, comma-joined).

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["M1"], "role": ["member"]})
    >>> a = pd.DataFrame({"kind": ["member_household"], "member": ["M1"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"]), "valid_to": pd.NaT})
    >>> v = pd.DataFrame({"member": ["M1"],
    ...                   "visited_at": pd.to_datetime(["2026-01-05T02:00Z"])})
    >>> member_visit_weeks(v, m, a, start="2026-01-05", end="2026-01-19").values.tolist()
    [['M1', 2, 1, '2026-W03']]
    """
    interval = (policy or Policy()).visit_interval_days
    units = _units(start, end, "W-SUN") if interval == 7 else _units(start, end, "D", interval)
    partner = _text(members.loc[_text(members["role"]).eq("member").fillna(False), "code"])
    kinds = _text(assignments["kind"]).isin(["member_building", "member_household"])
    links = assignments[kinds.to_numpy(dtype=bool)].copy()
    links["member"] = _text(links["member"])
    links = links[links["member"].isin(set(partner))]
    checked = _valid_units(links, units, ["member"])
    v = pd.DataFrame(
        {
            "member": _text(visits["member"]),
            "unit": _unit_of(_local_day(visits["visited_at"]), units),
        }
    )
    counts = v[v["unit"] >= 0].groupby(["member", "unit"]).size()
    out = _summary(checked, counts, ["member"], 1, units, ("weeks", "weeks_missed", "missed"))
    return out.rename(columns={"member": "member_id"})


def meeting_months(
    meetings: pd.DataFrame,
    grids: pd.DataFrame,
    *,
    start: DateLike,
    end: DateLike,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Months in which a grid held fewer than ``policy.meetings_per_month`` meetings (R9).

    Every grid is checked in every calendar month overlapping ``[start, end)``.

    Returns
    -------
    pandas.DataFrame
        One row per grid: ``grid_id``, ``months``, ``months_missed`` and ``missed``
        (``2026-03,...``). Filter ``months_missed > 0`` for the grids at fault.

    Examples
    --------
    >>> g = pd.DataFrame({"code": ["G1"]})
    >>> mt = pd.DataFrame({"grid": ["G1"], "held_on": pd.to_datetime(["2026-03-09"])})
    >>> meeting_months(mt, g, start="2026-03-01", end="2026-05-01").values.tolist()
    [['G1', 2, 1, '2026-04']]
    """
    required = (policy or Policy()).meetings_per_month
    units = _units(start, end, "M")
    checked = pd.DataFrame({"grid": _text(grids["code"])}).merge(units[["unit"]], how="cross")
    m = pd.DataFrame(
        {"grid": _text(meetings["grid"]), "unit": _unit_of(_local_day(meetings["held_on"]), units)}
    )
    counts = m[m["unit"] >= 0].groupby(["grid", "unit"]).size()
    out = _summary(
        checked, counts, ["grid"], required, units, ("months", "months_missed", "missed")
    )
    return out.rename(columns={"grid": "grid_id"})


def leader_quarters(
    visits: pd.DataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    start: DateLike,
    end: DateLike,
    building_community: pd.Series,
    households: pd.DataFrame | None = None,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Quarters in which a linked leader did not visit their community (R12).

    Each ``leader_community`` link of a member of role ``leader`` is checked in the
    calendar quarters overlapping ``[start, end)`` within the link's validity. A
    visit counts for the community of its building (``building_community``: building
    code → community code; for a visit with only a household, ``households`` gives
    its building).

    Returns
    -------
    pandas.DataFrame
        One row per link: ``member_id``, ``community_id``, ``quarters``,
        ``quarters_missed``, ``missed`` (``2026-Q1,...``) and ``visits`` (visits to
        the community in the checked quarters).

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["L1"], "role": ["leader"]})
    >>> a = pd.DataFrame({"kind": ["leader_community"], "member": ["L1"], "community": ["C1"],
    ...                   "valid_from": pd.to_datetime(["2025-01-01"]), "valid_to": pd.NaT})
    >>> v = pd.DataFrame({"member": ["L1"], "building": ["B1"], "household": [None],
    ...                   "visited_at": pd.to_datetime(["2026-02-01T02:00Z"])})
    >>> bc = pd.Series({"B1": "C1"})
    >>> leader_quarters(v, m, a, start="2026-01-01", end="2026-07-01",
    ...                 building_community=bc).values.tolist()
    [['L1', 'C1', 2, 1, '2026-Q2', 1]]
    """
    required = (policy or Policy()).leader_visits_per_quarter
    units = _units(start, end, "Q")
    leaders = set(_text(members.loc[_text(members["role"]).eq("leader").fillna(False), "code"]))
    links = assignments[
        _text(assignments["kind"]).eq("leader_community").fillna(False).to_numpy(dtype=bool)
    ]
    links = links.assign(member=_text(links["member"]), community=_text(links["community"]))
    links = links[links["member"].isin(leaders)]
    checked = _valid_units(links, units, ["member", "community"])
    # only the linked leaders' own visits count: a few among millions
    visits = visits[_text(visits["member"]).isin(set(links["member"])).to_numpy(dtype=bool)]
    building = _text(visits["building"])
    if households is not None and "household" in visits:
        needed = _text(visits["household"])[building.isna()].dropna().unique()
        known = _text(households["code"]).isin(needed).to_numpy(dtype=bool)  # a few of millions
        hb = pd.Series(
            _text(households["building"])[known].to_numpy(),
            index=_text(households["code"])[known].to_numpy(),
        )
        building = building.fillna(_text(visits["household"]).map(hb))
        building = building.astype("string")
    bc = pd.Series(
        _text(building_community).to_numpy(), index=building_community.index.astype("string")
    )
    v = pd.DataFrame(
        {
            "member": _text(visits["member"]),
            "community": building.map(bc).astype("string"),
            "unit": _unit_of(_local_day(visits["visited_at"]), units),
        }
    )
    counts = v[v["unit"] >= 0].dropna().groupby(["member", "community", "unit"]).size()
    keys = ["member", "community"]
    out = _summary(
        checked, counts, keys, required, units, ("quarters", "quarters_missed", "missed")
    )
    seen = checked.merge(counts.rename("n").reset_index(), on=[*keys, "unit"])
    total = seen.groupby(keys)["n"].sum()
    out["visits"] = pd.MultiIndex.from_frame(out[keys]).map(total).fillna(0).astype("int64")
    return out.rename(columns={"member": "member_id", "community": "community_id"})


def last_visits(
    targets: pd.DataFrame, visits: pd.DataFrame, *, as_of: DateLike = None
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
    day = _day(as_of)
    local = _local_day(visits["visited_at"])
    v = pd.DataFrame({"target": _text(visits[col]), "day": local})
    v = v[(v["day"] <= day).to_numpy(dtype=bool)].dropna()
    last = v.groupby("target")["day"].max()
    codes = _text(targets["code"])
    last_visit = pd.Series(
        last.reindex(codes.to_numpy()).to_numpy(dtype="datetime64[ns]"), index=codes.index
    )
    days = (day - last_visit).dt.days.astype("Int64")
    return pd.DataFrame(
        {name: codes, "last_visit": last_visit, "days_since": days,
         "never_visited": last_visit.isna()},
        index=targets.index,
    )  # fmt: skip


#: The buildings of the last households frame seen (weakly referenced): the visit shares
#: group the same millions of households by grid, by community and by week.
_last_buildings: list[tuple[weakref.ref[pd.DataFrame], np.ndarray, pd.Index]] = []


def _building_ids(households: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Building of each household as a position in the distinct building codes (-1: none)."""
    if _last_buildings:
        ref, ids, codes = _last_buildings[0]
        if ref() is households:
            return ids, codes
    ids, codes = pd.factorize(_text(households["building"]))
    codes = pd.Index(codes)
    _last_buildings[:] = [(weakref.ref(households), ids, codes)]
    return ids, codes


def _household_group_ids(households: pd.DataFrame, by: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Group of each household as a position in the distinct groups (-1: none), and those."""
    ids, codes = _building_ids(households)
    gid, groups = pd.factorize(_text(by), sort=True)  # missing group: -1
    where = codes.get_indexer(pd.Index(_text(pd.Series(by.index))))
    known = where >= 0
    slot = np.full(len(codes) + 1, -1, dtype=np.int64)  # the last slot answers id -1
    slot[where[known]] = gid[known]
    return slot[ids], pd.Index(groups)


def _household_groups(households: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
    group = by.name if by.name is not None else "group"
    gid, groups = _household_group_ids(households, by)
    keep = gid >= 0
    return pd.DataFrame(
        {
            "household": _text(households["code"])[keep].to_numpy(),
            group: pd.Series(groups.to_numpy()[gid[keep]], dtype="string").to_numpy(),
        }
    )


def visit_share(
    visits: pd.DataFrame,
    households: pd.DataFrame,
    *,
    by: pd.Series,
    as_of: DateLike = None,
    windows: Sequence[int] = (7, 30),
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
    gid, groups = _household_group_ids(households, by)
    placed = gid >= 0
    size = np.bincount(gid[placed], minlength=len(groups))
    day = _day(as_of)
    local = _local_day(visits["visited_at"])
    # only the visits of the widest window matter: select them before anything else
    widest = ((local > day - pd.Timedelta(days=max(windows))) & (local <= day)).to_numpy(bool)
    v = pd.DataFrame(
        {"household": _text(visits["household"][widest]), "day": local[widest]}
    ).dropna()
    out = pd.DataFrame({group: groups.astype("string"), "households": size})
    codes = _text(households["code"])
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
    hh = _household_groups(households, by)
    group = hh.columns[1]
    units = _units(start, end, "W-SUN")
    unit = _unit_of(_local_day(visits["visited_at"]), units)
    inside = (unit >= 0).to_numpy(dtype=bool)
    v = pd.DataFrame(
        {"household": _text(visits["household"][inside]), "unit": unit[inside]}
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
