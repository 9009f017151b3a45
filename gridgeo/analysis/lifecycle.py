"""The problem list over time (问题清单): rules R10 and R11, per grid, community and district.

A problem moves from ``open`` to ``resolved_on_site`` or ``escalated``, then to
``closed`` (销号); each step keeps its time. Every function here works from those
times, not from the ``status`` column, so the state of the list can be replayed at any
``as_of`` date.

Local time
    Times (``reported_at``, ``resolved_at``, ``escalated_at``, ``closed_at``,
    ``feedback_at``) are timezone-aware UTC, as stores return them (naive times are
    taken as local already). They are converted to the district's time zone
    (``timezone=``, default ``gridgeo.settings.get_settings().timezone``,
    Asia/Shanghai) before they are given a day or a month: a problem reported at
    2026-03-08 15:30 UTC was reported on 2026-03-08 at 23:30 in Shanghai, and one
    reported at 2026-03-08 16:30 UTC on 2026-03-09 at 00:30. ``deadline`` and
    ``as_of`` are local dates.

As of a date
    ``as_of`` is a local date and the state is the one at the **end** of that day:
    problems reported after it are left out, and a step counts when it happened by
    24:00 local time on ``as_of``.

The review meeting (R11)
    The joint meeting is held on day ``policy.joint_meeting_day`` (the 9th) of every
    month. The meeting that reviews a problem is the first one held on a local date
    **strictly after** the local date it was reported: a problem reported on 3 or
    8 March (even at 23:30) is reviewed on 9 March; one reported on 9 March itself,
    at any hour, is reviewed on 9 April, since the day's list is drawn up before the
    meeting and a problem raised that day cannot have been worked on yet. A problem
    **missed its meeting** when it was neither resolved nor closed by the end of the
    meeting day, and that day is before ``as_of``; it is **overdue** when it is,
    moreover, still unresolved at ``as_of`` (so from 10 March on for one reported on
    3 March).

Deadline (R10)
    A problem **missed its deadline** when it was not resolved or closed by the end of
    its ``deadline`` day, and that day is before ``as_of``. A problem still unresolved
    past its deadline is overdue too, even before its review meeting.

Resolved
    A problem is resolved (settled) at the earliest of ``resolved_at`` and
    ``closed_at`` (an escalated problem that cannot be solved is closed with an
    explanation); escalation alone does not resolve it.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.findings import findings
from gridgeo.analysis.responsibility import DateLike, _day, _text
from gridgeo.analysis.visits import _unit_of, _units
from gridgeo.policy import Policy

__all__ = [
    "LEVELS",
    "lifecycle_findings",
    "lifecycle_results",
    "lifecycle_table",
    "overdue_problems",
    "problem_areas",
    "problem_lifecycle",
    "problems_without_feedback",
    "repeat_problems",
    "unowned_problems",
]

Level = Literal["grid", "community", "district"]
#: the levels of :func:`lifecycle_table`
LEVELS: tuple[str, ...] = ("grid", "community", "district")
#: period codes of :func:`lifecycle_table` -> (calendar unit, name of the period column)
_FREQS = {"M": ("M", "month"), "Q": ("Q", "quarter"), "W": ("W-SUN", "week")}
_DAY = pd.Timedelta(days=1)
_STATES = ("open", "escalated", "resolved_on_site", "closed")


def _timezone(timezone: str | None) -> str:
    if timezone is not None:
        return timezone
    from gridgeo.settings import get_settings

    return get_settings().timezone


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")


def _local(times: pd.Series, tz: str) -> pd.Series:
    """Naive local wall-clock times of tz-aware times (naive ones are local already)."""
    t = pd.to_datetime(times)
    if t.dt.tz is not None:
        t = t.dt.tz_convert(tz).dt.tz_localize(None)
    return t.astype("datetime64[ns]")


def _blank(values: pd.Series) -> pd.Series:
    text = _text(values).str.strip()
    return (text.isna() | text.eq("")).astype(bool)


def problem_lifecycle(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> pd.DataFrame:
    """Where each problem stands at the end of ``as_of``: the per-problem facts.

    See the module's documentation for the rules (local time, the review meeting, the
    deadline). Problems reported after ``as_of`` (or with no ``reported_at``) are
    left out.

    Parameters
    ----------
    problems
        The ``problems`` layer (``code``, ``reported_at`` and, when known,
        ``building``, ``category``, ``responsible``, ``deadline``, ``resolved_at``,
        ``escalated_at``, ``closed_at``, ``feedback_at``, ``feedback``).
    as_of
        Local date; default today.
    policy
        ``joint_meeting_day`` and ``repeat_window_days``.
    timezone
        The district's time zone; default the ``GRIDGEO_TIMEZONE`` setting.

    Returns
    -------
    pandas.DataFrame
        On the kept problems' index: ``problem_id``, ``reported`` (local time),
        ``reported_on`` (local date), ``state`` at ``as_of`` (``open``,
        ``escalated``, ``resolved_on_site``, ``closed``), ``on_site`` (resolved
        without escalation), ``escalated``, ``unresolved``, ``closed``,
        ``closed_on`` (local date), ``close_days`` (report to close, days),
        ``review_meeting`` (date), ``missed_meeting``, ``deadline``,
        ``missed_deadline``, ``overdue``
        (unresolved and past its meeting or deadline), ``without_feedback``
        (closed, no feedback recorded), ``no_responsible``, ``no_deadline``,
        ``repeat`` and ``previous`` (see :func:`repeat_problems`).

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2"],
    ...     "reported_at": pd.to_datetime(["2026-03-08T15:30Z", "2026-03-08T16:30Z"])})
    >>> r = problem_lifecycle(p, as_of="2026-03-20", timezone="Asia/Shanghai")
    >>> r["reported_on"].dt.day.tolist(), r["review_meeting"].astype(str).tolist()
    ([8, 9], ['2026-03-09', '2026-04-09'])
    >>> r["overdue"].tolist()
    [True, False]
    """
    policy = policy or Policy()
    tz = _timezone(timezone)
    day = _day(as_of)
    cutoff = day + _DAY
    rep = _local(problems["reported_at"], tz)
    keep = (rep < cutoff).to_numpy(dtype=bool)
    frame = problems[keep]
    rep = rep[keep]

    def step(name: str) -> pd.Series:
        t = _local(_column(frame, name), tz)
        return t.where(t < cutoff)

    resolved, escalated, closed = step("resolved_at"), step("escalated_at"), step("closed_at")
    feedback_at = step("feedback_at")
    settled = resolved.where(resolved.notna() & ~(closed < resolved), closed)
    reported_on = rep.dt.normalize()
    k = policy.joint_meeting_day
    month = reported_on.dt.to_period("M")
    month = month.where(reported_on.dt.day < k, month + 1)
    meeting = (month.dt.start_time + pd.Timedelta(days=k - 1)).astype("datetime64[ns]")
    deadline = pd.to_datetime(_column(frame, "deadline")).astype("datetime64[ns]")

    def missed(due: pd.Series) -> pd.Series:
        late = settled.isna() | (settled >= due + _DAY)
        return ((due < day) & late).fillna(False).astype(bool)

    unresolved = settled.isna()
    on_site = resolved.notna() & escalated.isna()
    is_escalated = escalated.notna()
    is_closed = closed.notna()
    state = np.select(
        [is_closed, on_site, is_escalated],
        ["closed", "resolved_on_site", "escalated"],
        "open",
    )
    missed_meeting = missed(meeting)
    missed_deadline = missed(deadline)
    given = feedback_at.notna()
    if "feedback" in frame.columns:  # a feedback text with no time counts as given
        undated = _local(_column(frame, "feedback_at"), tz).isna()
        given |= undated & ~_blank(frame["feedback"])
    out = pd.DataFrame(
        {
            "problem_id": _text(frame["code"]),
            "reported": rep,
            "reported_on": reported_on,
            "state": pd.Categorical(state, categories=_STATES),
            "on_site": on_site,
            "escalated": is_escalated,
            "unresolved": unresolved,
            "closed": is_closed,
            "closed_on": closed.dt.normalize(),
            "close_days": (closed - rep) / _DAY,
            "review_meeting": meeting,
            "missed_meeting": missed_meeting,
            "deadline": deadline,
            "missed_deadline": missed_deadline,
            "overdue": unresolved & (missed_meeting | missed_deadline),
            "without_feedback": is_closed & ~given,
            "no_responsible": _blank(_column(frame, "responsible")),
            "no_deadline": deadline.isna(),
        },
        index=frame.index,
    )
    repeat, previous = _repeats(frame, rep, policy.repeat_window_days)
    out["repeat"] = repeat
    out["previous"] = previous
    return out


def _repeats(frame: pd.DataFrame, rep: pd.Series, window_days: int) -> tuple[pd.Series, pd.Series]:
    """Whether an earlier problem of the same building and category came within the window."""
    previous = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "building" not in frame.columns or frame.empty:
        return pd.Series(False, index=frame.index), previous
    category = (
        _text(frame["category"]).fillna("")
        if "category" in frame.columns
        else pd.Series("", index=frame.index, dtype="string")
    )
    keys = pd.DataFrame(
        {
            "building": _text(frame["building"]).to_numpy(),
            "category": category.to_numpy(),
            "t": rep.to_numpy(),
            "code": _text(frame["code"]).to_numpy(),
            "pos": np.arange(len(frame)),
        }
    ).dropna(subset=["building", "t"])
    keys = keys.sort_values(["building", "category", "t", "code"], kind="stable")
    same = keys[["building", "category"]].eq(keys[["building", "category"]].shift()).all(axis=1)
    gap = keys["t"] - keys["t"].shift()
    hit = (same & (gap <= pd.Timedelta(days=window_days))).to_numpy(dtype=bool)
    repeat = np.zeros(len(frame), dtype=bool)
    repeat[keys["pos"].to_numpy()[hit]] = True
    prev_code = keys["code"].shift().to_numpy()
    values = np.full(len(frame), None, dtype=object)
    values[keys["pos"].to_numpy()[hit]] = prev_code[hit]
    previous[:] = pd.array(values, dtype="string")
    return pd.Series(repeat, index=frame.index), previous


def problem_areas(
    problems: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    building_grid: pd.DataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Attach each problem's grid and community.

    A problem is placed by its building (the grid holding most of it, from
    ``building_grid``); a problem with no building, or whose building lies in no
    grid, by its point (the first grid, in the grids' order, that the point touches).

    Parameters
    ----------
    problems
        The ``problems`` layer (``building`` and/or a point geometry).
    grids
        Grid polygons with ``code`` and ``community``.
    building_grid
        ``building_id`` → ``grid_id``, as :func:`gridgeo.analysis.building_grid`
        returns it.
    communities
        Community polygons with ``code``; used only when ``grids`` has no
        ``community`` column (a grid then belongs to the community holding its
        representative point).

    Returns
    -------
    pandas.DataFrame
        A copy of ``problems`` (a GeoDataFrame if it was one) with ``grid``,
        ``community`` and ``located_by`` (``building``, ``point`` or missing).

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["G1", "G2"], "community": ["C1", "C2"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=4326)
    >>> bg = pd.DataFrame({"building_id": ["B1"], "grid_id": ["G2"]})
    >>> p = gpd.GeoDataFrame({"code": ["P1", "P2"], "building": ["B1", None]},
    ...     geometry=shapely.points([[0.5, 0.5], [0.5, 0.5]]), crs=4326)
    >>> problem_areas(p, g, building_grid=bg)[["grid", "community", "located_by"]].values.tolist()
    [['G2', 'C2', 'building'], ['G1', 'C1', 'point']]
    """
    grid = pd.Series(pd.NA, index=problems.index, dtype="string")
    located_by = pd.Series(pd.NA, index=problems.index, dtype="string")
    if building_grid is not None and "building" in problems.columns:
        bg = building_grid.dropna(subset=["grid_id"]).drop_duplicates("building_id")
        mapping = pd.Series(_text(bg["grid_id"]).to_numpy(), index=_text(bg["building_id"]))
        grid = _text(problems["building"]).map(mapping).astype("string")
        located_by[grid.notna()] = "building"
    if isinstance(problems, gpd.GeoDataFrame):
        need = (grid.isna() & problems.geometry.notna() & ~problems.geometry.is_empty).to_numpy()
        if need.any():
            points = problems.geometry[need]
            if grids.crs is not None and points.crs is not None and points.crs != grids.crs:
                points = points.to_crs(grids.crs)
            tree = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object))
            pi, gi = tree.query(np.asarray(points.values, dtype=object), predicate="intersects")
            order = np.lexsort((gi, pi))
            pi, gi = pi[order], gi[order]
            first = np.ones(len(pi), dtype=bool)
            first[1:] = pi[1:] != pi[:-1]
            rows = np.flatnonzero(need)[pi[first]]
            codes = _text(grids["code"]).to_numpy()[gi[first]]
            grid.iloc[rows] = codes
            located_by.iloc[rows] = "point"
    out = problems.copy()
    out["grid"] = grid
    out["community"] = grid.map(_grid_community(grids, communities)).astype("string")
    out["located_by"] = located_by
    return out


def _grid_community(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> pd.Series:
    codes = _text(grids["code"])
    if "community" in grids.columns or communities is None:
        values = _text(grids["community"]).to_numpy() if "community" in grids.columns else pd.NA
        out = pd.Series(values, index=codes.to_numpy(), dtype="string")
        return out[~out.index.duplicated()]
    points = grids.geometry.representative_point()
    if communities.crs is not None and grids.crs is not None and communities.crs != grids.crs:
        points = points.to_crs(communities.crs)
    tree = shapely.STRtree(np.asarray(communities.geometry.values, dtype=object))
    pi, ci = tree.query(np.asarray(points.values, dtype=object), predicate="intersects")
    values = np.full(len(grids), None, dtype=object)
    values[pi[::-1]] = _text(communities["code"]).to_numpy()[ci[::-1]]
    out = pd.Series(pd.array(values, dtype="string"), index=codes.to_numpy())
    return out[~out.index.duplicated()]


# --------------------------------------------------------------------------- findings ---


def _where(problems: pd.DataFrame, life: pd.DataFrame, mask: pd.Series) -> tuple:
    rows = life[mask.to_numpy(dtype=bool)]
    geometry, crs = None, 4326
    if isinstance(problems, gpd.GeoDataFrame):
        geometry = problems.geometry.loc[rows.index].to_numpy()
        crs = problems.crs
    base = pd.DataFrame(index=rows.index)
    for col in ("category", "building", "grid", "community"):
        if col in problems.columns:
            base[col] = _text(problems.loc[rows.index, col])
    base["reported_on"] = rows["reported_on"]
    return rows, base, geometry, crs


def _date(values: pd.Series) -> np.ndarray:
    """``YYYY-MM-DD`` texts (empty where missing), vectorised."""
    return values.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)


def _overdue(problems: pd.DataFrame, life: pd.DataFrame, day: pd.Timestamp) -> gpd.GeoDataFrame:
    rows, base, geometry, crs = _where(problems, life, life["overdue"])
    extra = base.assign(
        state=rows["state"].astype(str),
        review_meeting=rows["review_meeting"],
        missed_meeting=rows["missed_meeting"],
        deadline=rows["deadline"],
        missed_deadline=rows["missed_deadline"],
        days_open=(day - rows["reported_on"]).dt.days.astype("int64"),
    )
    meeting = rows["missed_meeting"].to_numpy(dtype=bool)
    rep, mt, dl = _date(rows["reported_on"]), _date(rows["review_meeting"]), _date(rows["deadline"])
    zh = np.where(meeting, rep + "上报，" + mt + "联席会议后仍未解决",
                  rep + "上报，已过办理时限" + dl + "仍未解决")  # fmt: skip
    en = np.where(
        meeting,
        "reported " + rep + ", still unresolved after the joint meeting of " + mt,
        "reported " + rep + ", still unresolved after its deadline " + dl,
    )
    parts = []
    for rule, sel in (("R11", meeting), ("R10", ~meeting)):
        parts.append(
            findings(
                rule,
                "warning",
                "problems",
                rows["problem_id"][sel],
                zh[sel],
                en[sel],
                geometry=None if geometry is None else geometry[sel],
                crs=crs,
                extra=extra[sel].assign(_pos=np.flatnonzero(sel)),
            )
        )
    out = pd.concat(parts, ignore_index=True).sort_values("_pos", kind="stable")
    return gpd.GeoDataFrame(out.drop(columns="_pos").reset_index(drop=True), crs=crs)


def _without_feedback(
    problems: pd.DataFrame, life: pd.DataFrame, day: pd.Timestamp
) -> gpd.GeoDataFrame:
    rows, base, geometry, crs = _where(problems, life, life["without_feedback"])
    closed_on = rows["closed_on"]
    extra = base.assign(
        closed_on=closed_on, days_since_closed=(day - closed_on).dt.days.astype("int64")
    )
    return findings(
        "R11",
        "warning",
        "problems",
        rows["problem_id"],
        _date(closed_on) + "已销号，未向当事人反馈",
        "closed " + _date(closed_on) + " without feedback to the resident",
        geometry=geometry,
        crs=crs,
        extra=extra,
    )


def _unowned(problems: pd.DataFrame, life: pd.DataFrame) -> gpd.GeoDataFrame:
    mask = life["no_responsible"] | life["no_deadline"]
    rows, base, geometry, crs = _where(problems, life, mask)
    nr, nd = rows["no_responsible"].to_numpy(bool), rows["no_deadline"].to_numpy(bool)
    missing = np.select([nr & nd, nr], ["responsible,deadline", "responsible"], "deadline")
    zh_of = {"responsible,deadline": "未定责任人和办理时限", "responsible": "未定责任人",
             "deadline": "未定办理时限"}  # fmt: skip
    en_of = {"responsible,deadline": "no responsible person and no deadline",
             "responsible": "no responsible person", "deadline": "no deadline"}  # fmt: skip
    extra = base.assign(state=rows["state"].astype(str), missing=missing)
    return findings(
        "R10",
        "warning",
        "problems",
        rows["problem_id"],
        pd.Series(missing).map(zh_of),
        pd.Series(missing).map(en_of),
        geometry=geometry,
        crs=crs,
        extra=extra,
    )


def _repeated(problems: pd.DataFrame, life: pd.DataFrame) -> gpd.GeoDataFrame:
    rows, base, geometry, crs = _where(problems, life, life["repeat"])
    first = life.set_index("problem_id")["reported_on"]
    first = first[~first.index.duplicated()]
    prev_on = pd.Series(
        first.reindex(rows["previous"].to_numpy()).to_numpy(dtype="datetime64[ns]"),
        index=rows.index,
    )
    previous = rows["previous"].fillna("").to_numpy(dtype=object)
    extra = base.assign(
        previous=rows["previous"],
        previous_reported_on=prev_on,
        days_between=(rows["reported_on"] - prev_on).dt.days.astype("Int64"),
    )
    return findings(
        "R11",
        "info",
        "problems",
        rows["problem_id"],
        "同一楼栋同类问题重复出现（前次" + previous + "，" + _date(prev_on) + "上报）",
        "the same kind of problem again at this building (previous " + previous
        + ", reported " + _date(prev_on) + ")",
        geometry=geometry,
        crs=crs,
        extra=extra,
    )  # fmt: skip


def overdue_problems(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> gpd.GeoDataFrame:
    """Problems still unresolved after their review meeting or their deadline (R11, R10).

    A problem unresolved at the end of ``as_of`` is reported when the joint meeting
    that reviews it (the first ``policy.joint_meeting_day`` strictly after the local
    date it was reported) or its deadline day lies before ``as_of``. Rows past their
    meeting have rule R11; rows past only their deadline have rule R10.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (one per problem, at its point) with ``category``, ``building`` (and
        ``grid``, ``community`` when ``problems`` has them), ``reported_on``,
        ``state``, ``review_meeting``, ``missed_meeting``, ``deadline``,
        ``missed_deadline`` and ``days_open`` (days from the report day to ``as_of``).

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2", "P3"],
    ...     "reported_at": pd.to_datetime(["2026-03-03T02:00Z"] * 2 + ["2026-03-09T02:00Z"]),
    ...     "resolved_at": pd.to_datetime([None, "2026-03-09T08:00Z", None], utc=True)})
    >>> r = overdue_problems(p, as_of="2026-03-10", timezone="Asia/Shanghai")
    >>> r[["rule", "code", "days_open"]].values.tolist()
    [['R11', 'P1', 7]]
    """
    life = problem_lifecycle(problems, as_of=as_of, policy=policy, timezone=timezone)
    return _overdue(problems, life, _day(as_of))


def problems_without_feedback(
    problems: pd.DataFrame, *, as_of: DateLike = None, timezone: str | None = None
) -> gpd.GeoDataFrame:
    """Problems closed (销号) by ``as_of`` with no feedback to the resident (R11).

    Feedback counts when ``feedback_at`` is at or before the end of ``as_of``, or when
    it has no time but a ``feedback`` text.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings with ``closed_on`` (local date) and ``days_since_closed``.

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2"],
    ...     "reported_at": pd.to_datetime(["2026-03-01T02:00Z"] * 2),
    ...     "closed_at": pd.to_datetime(["2026-03-09T07:00Z"] * 2),
    ...     "feedback_at": pd.to_datetime(["2026-03-10T02:00Z", None], utc=True)})
    >>> r = problems_without_feedback(p, as_of="2026-03-20")
    >>> r[["code", "closed_on"]].astype(str).values.tolist()
    [['P2', '2026-03-09']]
    """
    life = problem_lifecycle(problems, as_of=as_of, timezone=timezone)
    return _without_feedback(problems, life, _day(as_of))


def unowned_problems(
    problems: pd.DataFrame, *, as_of: DateLike = None, timezone: str | None = None
) -> gpd.GeoDataFrame:
    """Problems with no responsible person or no deadline (R10, 定人定事定时定责).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings with ``state`` and ``missing`` (``responsible``, ``deadline`` or
        ``responsible,deadline``).

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2"], "responsible": ["M1", None],
    ...     "deadline": pd.to_datetime([None, "2026-03-20"]),
    ...     "reported_at": pd.to_datetime(["2026-03-01T02:00Z"] * 2)})
    >>> unowned_problems(p, as_of="2026-03-10")[["code", "missing"]].values.tolist()
    [['P1', 'deadline'], ['P2', 'responsible']]
    """
    life = problem_lifecycle(problems, as_of=as_of, timezone=timezone)
    return _unowned(problems, life)


def repeat_problems(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> gpd.GeoDataFrame:
    """Problems that come back: same building and category within a window.

    A problem is a repeat when another problem of the same ``category`` at the same
    ``building`` was reported at most ``policy.repeat_window_days`` (90) days before
    it (ties in time are ordered by code). The first problem of a series is not a
    repeat; a building with three within the window gives two rows.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (rule R11, severity ``info``: a closed-out problem that recurs was
        perhaps not solved) with ``previous`` (the code of the problem before it),
        ``previous_reported_on`` and ``days_between``.

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2", "P3"], "building": ["B1"] * 3,
    ...     "category": ["停车", "停车", "卫生"],
    ...     "reported_at": pd.to_datetime(["2026-01-05T02:00Z", "2026-03-01T02:00Z",
    ...                                    "2026-03-02T02:00Z"])})
    >>> repeat_problems(p, as_of="2026-03-10")[["code", "previous", "days_between"]].values.tolist()
    [['P2', 'P1', 55]]
    """
    life = problem_lifecycle(problems, as_of=as_of, policy=policy, timezone=timezone)
    return _repeated(problems, life)


def lifecycle_findings(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """All four per-problem findings at once (one pass over the problems).

    Returns
    -------
    dict
        ``overdue_problems``, ``problems_without_feedback``, ``unowned_problems`` and
        ``repeat_problems``, as the functions of those names return them.

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1"], "reported_at": pd.to_datetime(["2026-03-03T02:00Z"])})
    >>> [len(v) for v in lifecycle_findings(p, as_of="2026-03-10").values()]
    [1, 0, 1, 0]
    """
    life = problem_lifecycle(problems, as_of=as_of, policy=policy, timezone=timezone)
    day = _day(as_of)
    return {
        "overdue_problems": _overdue(problems, life, day),
        "problems_without_feedback": _without_feedback(problems, life, day),
        "unowned_problems": _unowned(problems, life),
        "repeat_problems": _repeated(problems, life),
    }


# ------------------------------------------------------------------------------ table ---

#: lifecycle_table's count columns -> the per-problem flag they count
_COUNTS = {
    "closed": "closed",
    "still_open": "unresolved",
    "overdue": "missed_meeting",
    "past_deadline": "missed_deadline",
    "closed_without_feedback": "without_feedback",
    "no_responsible": "no_responsible",
    "no_deadline": "no_deadline",
    "repeats": "repeat",
}


def lifecycle_table(
    problems: pd.DataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    building_grid: pd.DataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    level: Level = "grid",
    freq: str = "M",
    as_of: DateLike = None,
    start: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> pd.DataFrame:
    """The problem list per area and month: how problems were handled (R10, R11).

    Problems are counted in the period (local time) they were **reported** in, and
    every figure is about those problems, as they stand at the end of ``as_of``.

    Parameters
    ----------
    problems
        The ``problems`` layer, or what :func:`problem_areas` returned (its ``grid``
        and ``community`` columns are then used as they are).
    grids, building_grid, communities
        Grids (with ``community``), the building → grid table and (for grids without
        ``community``) community polygons, to place the problems with
        :func:`problem_areas`; not needed for ``level="district"`` or when
        ``problems`` already has the level's column.
    level
        ``grid``, ``community`` or ``district``.
    freq
        ``M`` (calendar months, ``2026-03``), ``Q`` (``2026-Q1``) or ``W`` (ISO
        weeks, ``2026-W10``).
    as_of
        Local date; default today. Periods run to the one holding it.
    start
        First local date counted; default the first report.
    policy, timezone
        As for :func:`problem_lifecycle`.

    Returns
    -------
    pandas.DataFrame
        One row per area (every grid or community of ``grids``, plus a missing one
        for problems in no grid) and period: ``reported``; ``resolved_on_site_share``
        and ``escalated_share`` (of the reported; the rest are still open, not yet
        handled); ``closed`` and ``close_days_median``, ``close_days_p90`` (days
        from report to close of the closed ones, linear interpolation);
        ``still_open`` (unresolved at ``as_of``); ``overdue`` (missed their review
        meeting, R11); ``past_deadline`` (missed their deadline);
        ``closed_without_feedback``; ``no_responsible``; ``no_deadline`` (R10) and
        ``repeats``. Shares and times are missing where nothing was reported or
        closed.

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1", "P2"], "responsible": ["M1", "M1"],
    ...     "deadline": pd.to_datetime(["2026-03-20"] * 2),
    ...     "reported_at": pd.to_datetime(["2026-03-01T02:00Z", "2026-03-02T02:00Z"]),
    ...     "resolved_at": pd.to_datetime(["2026-03-01T04:00Z", None], utc=True),
    ...     "closed_at": pd.to_datetime(["2026-03-09T02:00Z", None], utc=True)})
    >>> t = lifecycle_table(p, level="district", as_of="2026-03-10")
    >>> t[["district", "month", "reported", "resolved_on_site_share", "close_days_median",
    ...    "overdue"]].values.tolist()
    [['district', '2026-03', 2, 0.5, 8.0, 1]]
    """
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: give one of {', '.join(LEVELS)}")
    if freq not in _FREQS:
        raise ValueError(f"freq {freq!r}: give one of {', '.join(_FREQS)}")
    frame = problems
    if level != "district" and level not in problems.columns:
        if grids is None:
            raise ValueError(
                f"level {level!r} needs grids (or problems with a {level!r} column, "
                "as problem_areas returns them)"
            )
        frame = problem_areas(problems, grids, building_grid=building_grid, communities=communities)
    life = problem_lifecycle(frame, as_of=as_of, policy=policy, timezone=timezone)
    known = _known_areas(grids, communities, level)
    return _table(frame, life, known, level, freq, _day(as_of), start)


def _known_areas(
    grids: pd.DataFrame | None, communities: pd.DataFrame | None, level: str
) -> list[str]:
    """Every area of the level, in the grids' order (so areas without problems get rows)."""
    if level == "grid" and grids is not None:
        source = grids["code"]
    elif level == "community" and grids is not None and "community" in grids.columns:
        source = grids["community"]
    elif level == "community" and communities is not None:
        source = communities["code"]
    else:
        return []
    return [str(v) for v in pd.unique(_text(source).dropna())]


def _table(
    frame: pd.DataFrame,
    life: pd.DataFrame,
    known: list[str],
    level: str,
    freq: str,
    day: pd.Timestamp,
    start: DateLike,
) -> pd.DataFrame:
    unit_freq, period_name = _FREQS[freq]
    first = _day(start) if start is not None else life["reported_on"].min()
    if pd.isna(first) or first > day:
        first = day
    units = _units(first, day + _DAY, unit_freq)
    none = "\x00none"  # stands for "in no area" while grouping
    if level == "district":
        area = pd.Series("district", index=life.index, dtype="string")
        areas = ["district"]
    else:
        area = _text(frame.loc[life.index, level])
        seen = sorted(set(area.dropna()) - set(known))
        areas = known + seen + ([none] if area.isna().any() else [])
        area = area.fillna(none)
    data = pd.DataFrame(
        {"area": area.to_numpy(), "unit": _unit_of(life["reported_on"], units).to_numpy()}
    )
    for col in ("on_site", "escalated", "close_days", *_COUNTS.values()):
        data[col] = life[col].to_numpy()
    data = data[data["unit"] >= 0]
    g = data.groupby(["area", "unit"], sort=False)
    agg = g[["on_site", "escalated", *_COUNTS.values()]].sum()
    agg = agg.rename(columns={v: k for k, v in _COUNTS.items()})
    agg.insert(0, "reported", g.size())
    agg["close_days_median"] = g["close_days"].median()
    agg["close_days_p90"] = g["close_days"].quantile(0.9)
    index = pd.MultiIndex.from_product([areas, units["unit"].tolist()], names=["area", "unit"])
    full = agg.reindex(index)
    counts = ["reported", "on_site", "escalated", *_COUNTS]
    full[counts] = full[counts].fillna(0).astype("int64")
    reported = full["reported"].where(full["reported"] > 0)
    out = pd.DataFrame(
        {
            level: pd.array(
                [None if a == none else a for a in index.get_level_values("area")],
                dtype="string",
            ),
            period_name: units["label"].to_numpy()[index.get_level_values("unit")],
            "reported": full["reported"].to_numpy(),
            "resolved_on_site_share": (full["on_site"] / reported).to_numpy(),
            "escalated_share": (full["escalated"] / reported).to_numpy(),
            "closed": full["closed"].to_numpy(),
            "close_days_median": full["close_days_median"].to_numpy(dtype=float),
            "close_days_p90": full["close_days_p90"].to_numpy(dtype=float),
        }
    )
    for col in ("still_open", "overdue", "past_deadline", "closed_without_feedback",
                "no_responsible", "no_deadline", "repeats"):  # fmt: skip
        out[col] = full[col].to_numpy()
    return out


def lifecycle_results(
    problems: pd.DataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    building_grid: pd.DataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    freq: str = "M",
    as_of: DateLike = None,
    start: DateLike = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Everything ``gridgeo lifecycle`` writes: the tables of the three levels and the findings.

    Returns
    -------
    dict
        ``lifecycle_grid``, ``lifecycle_community`` (only with ``grids``),
        ``lifecycle_district``, then the frames of :func:`lifecycle_findings` (which
        carry ``grid`` and ``community`` when ``grids`` is given).

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1"], "reported_at": pd.to_datetime(["2026-03-03T02:00Z"])})
    >>> list(lifecycle_results(p, as_of="2026-03-10"))  # doctest: +NORMALIZE_WHITESPACE
    ['lifecycle_district', 'overdue_problems', 'problems_without_feedback',
     'unowned_problems', 'repeat_problems']
    """
    frame = problems
    if grids is not None:
        frame = problem_areas(problems, grids, building_grid=building_grid, communities=communities)
    life = problem_lifecycle(frame, as_of=as_of, policy=policy, timezone=timezone)
    day = _day(as_of)
    levels = LEVELS if grids is not None else ("district",)
    out: dict[str, pd.DataFrame] = {
        f"lifecycle_{level}": _table(
            frame, life, _known_areas(grids, communities, level), level, freq, day, start
        )
        for level in levels
    }
    out["overdue_problems"] = _overdue(frame, life, day)
    out["problems_without_feedback"] = _without_feedback(frame, life, day)
    out["unowned_problems"] = _unowned(frame, life)
    out["repeat_problems"] = _repeated(frame, life)
    return out
