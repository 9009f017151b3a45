"""Periods missed: weeks without a visit (R8), months without a meeting (R9), quarters (R12).

A member of role ``member`` visits every week, a grid holds a council meeting every
month, a linked county-level leader visits the community every quarter.
"""

from __future__ import annotations

import pandas as pd

from gridgeo.analysis.frames import as_str, join_groups, rows_with
from gridgeo.localtime import DEFAULT_TIMEZONE, DateLike, calendar_units, local_days, unit_of
from gridgeo.policy import Policy

__all__ = ["leader_quarters", "meeting_months", "member_visit_weeks"]

_DAY = pd.Timedelta(days=1)


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
    timezone: str = DEFAULT_TIMEZONE,
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
    if interval == 7:
        units = calendar_units(start, end, freq="W-SUN")
    else:
        units = calendar_units(start, end, freq="D", days=interval)
    partner = as_str(rows_with(members, "role", "member")["code"])
    kinds = as_str(assignments["kind"]).isin(["member_building", "member_household"])
    links = assignments[kinds.to_numpy(dtype=bool)].copy()
    links["member"] = as_str(links["member"])
    links = links[links["member"].isin(set(partner))]
    checked = _valid_units(links, units, ["member"])
    v = pd.DataFrame(
        {
            "member": as_str(visits["member"]),
            "unit": unit_of(local_days(visits["visited_at"], timezone), units),
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
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Months in which a grid held fewer than ``policy.meetings_per_month`` meetings (R9).

    Every grid is checked in every calendar month overlapping ``[start, end)``.
    ``meetings.held_on`` is a local date (a time-zone-aware time is converted to
    ``timezone`` first).

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
    units = calendar_units(start, end, freq="M")
    checked = pd.DataFrame({"grid": as_str(grids["code"])}).merge(units[["unit"]], how="cross")
    held = unit_of(local_days(meetings["held_on"], timezone), units)
    m = pd.DataFrame({"grid": as_str(meetings["grid"]), "unit": held})
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
    timezone: str = DEFAULT_TIMEZONE,
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
    units = calendar_units(start, end, freq="Q")
    leaders = set(as_str(rows_with(members, "role", "leader")["code"]))
    links = rows_with(assignments, "kind", "leader_community")
    links = links.assign(member=as_str(links["member"]), community=as_str(links["community"]))
    links = links[links["member"].isin(leaders)]
    checked = _valid_units(links, units, ["member", "community"])
    # only the linked leaders' own visits count: a few among millions
    visits = visits[as_str(visits["member"]).isin(set(links["member"])).to_numpy(dtype=bool)]
    bc = pd.Series(
        as_str(building_community).to_numpy(), index=building_community.index.astype("string")
    )
    v = pd.DataFrame(
        {
            "member": as_str(visits["member"]),
            "community": _visit_buildings(visits, households).map(bc).astype("string"),
            "unit": unit_of(local_days(visits["visited_at"], timezone), units),
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


def _visit_buildings(visits: pd.DataFrame, households: pd.DataFrame | None) -> pd.Series:
    """The building of each visit: its own, else (with ``households``) its household's."""
    building = as_str(visits["building"])
    if households is not None and "household" in visits:
        needed = as_str(visits["household"])[building.isna()].dropna().unique()
        known = as_str(households["code"]).isin(needed).to_numpy(dtype=bool)  # a few of millions
        hb = pd.Series(
            as_str(households["building"])[known].to_numpy(),
            index=as_str(households["code"])[known].to_numpy(),
        )
        building = building.fillna(as_str(visits["household"]).map(hb))
        building = building.astype("string")
    return building
