"""Where each problem stands at a date: its state, review meeting, deadline and repeats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.analysis.frames import as_str
from gridgeo.localtime import DEFAULT_TIMEZONE, DateLike, as_day, local_times
from gridgeo.policy import Policy

__all__ = ["STATES", "problem_lifecycle"]

#: the states of a problem, in the order it moves through them
STATES = ("open", "escalated", "resolved_on_site", "closed")
_DAY = pd.Timedelta(days=1)
#: the times of a problem's steps
_STEP_TIMES = ("resolved_at", "escalated_at", "closed_at", "feedback_at")


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")


def _blank(values: pd.Series) -> pd.Series:
    text = as_str(values).str.strip()
    return (text.isna() | text.eq("")).astype(bool)


def problem_lifecycle(
    problems: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Where each problem stands at the end of ``as_of``: the per-problem facts.

    See the package's documentation for the rules (local time, the review meeting, the
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
        The district's time zone; default Asia/Shanghai (pass the ``GRIDGEO_TIMEZONE``
        setting for the configured one).

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
        ``repeat`` and ``previous`` (see :func:`~gridgeo.analysis.lifecycle.repeat_problems`).

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
    day = as_day(as_of)
    cutoff = day + _DAY
    rep = local_times(problems["reported_at"], timezone)
    keep = (rep < cutoff).to_numpy(dtype=bool)
    frame = problems[keep]
    rep = rep[keep]
    out = pd.DataFrame(
        {
            "problem_id": as_str(frame["code"]),
            "reported": rep,
            "reported_on": rep.dt.normalize(),
            **_handling(frame, rep, day, policy, timezone),
        },
        index=frame.index,
    )
    out["repeat"], out["previous"] = _repeats(frame, rep, policy.repeat_window_days)
    return out


def _handling(
    frame: pd.DataFrame, rep: pd.Series, day: pd.Timestamp, policy: Policy, timezone: str
) -> dict[str, pd.Series]:
    """How each problem was handled by the end of ``day``: the columns from ``state`` on."""
    steps = {name: _by(frame, name, day + _DAY, timezone) for name in _STEP_TIMES}
    resolved, escalated, closed = steps["resolved_at"], steps["escalated_at"], steps["closed_at"]
    settled = resolved.where(resolved.notna() & ~(closed < resolved), closed)
    meeting = _review_meeting(rep.dt.normalize(), policy.joint_meeting_day)
    deadline = pd.to_datetime(_column(frame, "deadline")).astype("datetime64[ns]")
    missed_meeting, missed_deadline = (
        _missed(meeting, settled, day),
        _missed(deadline, settled, day),
    )
    on_site = resolved.notna() & escalated.isna()
    state = np.select(
        [closed.notna(), on_site, escalated.notna()], ["closed", "resolved_on_site", "escalated"],
        "open",
    )  # fmt: skip
    return {
        "state": pd.Categorical(state, categories=STATES),
        "on_site": on_site,
        "escalated": escalated.notna(),
        "unresolved": settled.isna(),
        "closed": closed.notna(),
        "closed_on": closed.dt.normalize(),
        "close_days": (closed - rep) / _DAY,
        "review_meeting": meeting,
        "missed_meeting": missed_meeting,
        "deadline": deadline,
        "missed_deadline": missed_deadline,
        "overdue": settled.isna() & (missed_meeting | missed_deadline),
        "without_feedback": closed.notna()
        & ~_feedback_given(frame, steps["feedback_at"], timezone),
        "no_responsible": _blank(_column(frame, "responsible")),
        "no_deadline": deadline.isna(),
    }


def _by(frame: pd.DataFrame, name: str, cutoff: pd.Timestamp, timezone: str) -> pd.Series:
    """The local time of a step, where it happened before ``cutoff`` (else missing)."""
    t = local_times(_column(frame, name), timezone)
    return t.where(t < cutoff)


def _missed(due: pd.Series, settled: pd.Series, day: pd.Timestamp) -> pd.Series:
    """Due before ``day`` and not settled by the end of the day it was due."""
    late = settled.isna() | (settled >= due + _DAY)
    return ((due < day) & late).fillna(False).astype(bool)


def _review_meeting(reported_on: pd.Series, meeting_day: int) -> pd.Series:
    """The joint meeting reviewing each problem: the first ``meeting_day`` after its report day."""
    month = reported_on.dt.to_period("M")
    month = month.where(reported_on.dt.day < meeting_day, month + 1)
    return (month.dt.start_time + pd.Timedelta(days=meeting_day - 1)).astype("datetime64[ns]")


def _feedback_given(frame: pd.DataFrame, feedback_at: pd.Series, timezone: str) -> pd.Series:
    """Feedback given by the cutoff: a time, or a ``feedback`` text with no time."""
    given = feedback_at.notna()
    if "feedback" in frame.columns:
        undated = local_times(_column(frame, "feedback_at"), timezone).isna()
        given |= undated & ~_blank(frame["feedback"])
    return given


def _repeats(frame: pd.DataFrame, rep: pd.Series, window_days: int) -> tuple[pd.Series, pd.Series]:
    """Whether an earlier problem of the same building and category came within the window."""
    previous = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "building" not in frame.columns or frame.empty:
        return pd.Series(False, index=frame.index), previous
    category = (
        as_str(frame["category"]).fillna("")
        if "category" in frame.columns
        else pd.Series("", index=frame.index, dtype="string")
    )
    keys = pd.DataFrame(
        {
            "building": as_str(frame["building"]).to_numpy(),
            "category": category.to_numpy(),
            "t": rep.to_numpy(),
            "code": as_str(frame["code"]).to_numpy(),
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
