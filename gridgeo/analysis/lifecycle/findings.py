"""The problems behind the counts, as findings: overdue, without feedback, unowned, repeats."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.analysis.findings import findings
from gridgeo.analysis.frames import as_str
from gridgeo.analysis.lifecycle.states import problem_lifecycle
from gridgeo.localtime import DEFAULT_TIMEZONE, DateLike, as_day
from gridgeo.policy import Policy

__all__ = [
    "findings_of_lifecycle",
    "lifecycle_findings",
    "overdue_problems",
    "problems_without_feedback",
    "repeat_problems",
    "unowned_problems",
]


def _where(problems: pd.DataFrame, life: pd.DataFrame, mask: pd.Series) -> tuple:
    rows = life[mask.to_numpy(dtype=bool)]
    geometry, crs = None, 4326
    if isinstance(problems, gpd.GeoDataFrame):
        geometry = problems.geometry.loc[rows.index].to_numpy()
        crs = problems.crs
    base = pd.DataFrame(index=rows.index)
    for col in ("category", "building", "grid", "community"):
        if col in problems.columns:
            base[col] = as_str(problems.loc[rows.index, col])
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
    previous = rows["previous"].astype(object).fillna("").to_numpy(dtype=object)
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


def findings_of_lifecycle(
    problems: pd.DataFrame, life: pd.DataFrame, *, as_of: DateLike = None
) -> dict[str, gpd.GeoDataFrame]:
    """The four per-problem findings from a :func:`problem_lifecycle` table already made.

    Parameters
    ----------
    problems
        The problems ``life`` was computed from (their points, categories,
        buildings, grids and communities go into the findings).
    life
        What :func:`problem_lifecycle` returned for them at ``as_of``.
    as_of
        The same local date.

    Returns
    -------
    dict
        As :func:`lifecycle_findings`.

    Examples
    --------
    >>> p = pd.DataFrame({"code": ["P1"], "reported_at": pd.to_datetime(["2026-03-03T02:00Z"])})
    >>> life = problem_lifecycle(p, as_of="2026-03-10")
    >>> len(findings_of_lifecycle(p, life, as_of="2026-03-10")["overdue_problems"])
    1
    """
    day = as_day(as_of)
    return {
        "overdue_problems": _overdue(problems, life, day),
        "problems_without_feedback": _without_feedback(problems, life, day),
        "unowned_problems": _unowned(problems, life),
        "repeat_problems": _repeated(problems, life),
    }


def overdue_problems(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str = DEFAULT_TIMEZONE,
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
    return _overdue(problems, life, as_day(as_of))


def problems_without_feedback(
    problems: pd.DataFrame, *, as_of: DateLike = None, timezone: str = DEFAULT_TIMEZONE
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
    return _without_feedback(problems, life, as_day(as_of))


def unowned_problems(
    problems: pd.DataFrame, *, as_of: DateLike = None, timezone: str = DEFAULT_TIMEZONE
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
    timezone: str = DEFAULT_TIMEZONE,
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
    timezone: str = DEFAULT_TIMEZONE,
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
    return findings_of_lifecycle(problems, life, as_of=as_of)
