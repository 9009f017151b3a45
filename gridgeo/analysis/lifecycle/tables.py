"""The problem list per area and period: how problems were handled (R10, R11)."""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import pandas as pd

from gridgeo.analysis.frames import as_str
from gridgeo.analysis.lifecycle.areas import problem_areas
from gridgeo.analysis.lifecycle.findings import findings_of_lifecycle
from gridgeo.analysis.lifecycle.states import problem_lifecycle
from gridgeo.localtime import DEFAULT_TIMEZONE, DateLike, as_day, calendar_units, unit_of
from gridgeo.policy import Policy

__all__ = ["FREQS", "LEVELS", "lifecycle_results", "lifecycle_table"]

Level = Literal["grid", "community", "district"]
#: the levels of :func:`lifecycle_table`
LEVELS: tuple[str, ...] = ("grid", "community", "district")
#: period codes of :func:`lifecycle_table` -> (calendar unit, name of the period column)
FREQS = {"M": ("M", "month"), "Q": ("Q", "quarter"), "W": ("W-SUN", "week")}
_DAY = pd.Timedelta(days=1)
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
_NONE = "\x00none"  # stands for "in no area" while grouping


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
    timezone: str = DEFAULT_TIMEZONE,
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
    if freq not in FREQS:
        raise ValueError(f"freq {freq!r}: give one of {', '.join(FREQS)}")
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
    return _table(frame, life, known, level, freq, as_day(as_of), start)


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
    return [str(v) for v in pd.unique(as_str(source).dropna())]


def _counts(
    frame: pd.DataFrame, life: pd.DataFrame, known: list[str], level: str, units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.MultiIndex]:
    """Sums per (area, unit) of the per-problem flags, on every area and unit."""
    if level == "district":
        area = pd.Series("district", index=life.index, dtype="string")
        areas = ["district"]
    else:
        area = as_str(frame.loc[life.index, level])
        seen = sorted(set(area.dropna()) - set(known))
        areas = known + seen + ([_NONE] if area.isna().any() else [])
        area = area.fillna(_NONE)
    data = pd.DataFrame(
        {"area": area.to_numpy(), "unit": unit_of(life["reported_on"], units).to_numpy()}
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
    return full, index


def _table(
    frame: pd.DataFrame,
    life: pd.DataFrame,
    known: list[str],
    level: str,
    freq: str,
    day: pd.Timestamp,
    start: DateLike,
) -> pd.DataFrame:
    unit_freq, period_name = FREQS[freq]
    first = as_day(start) if start is not None else life["reported_on"].min()
    if pd.isna(first) or first > day:
        first = day
    units = calendar_units(first, day + _DAY, freq=unit_freq)
    full, index = _counts(frame, life, known, level, units)
    reported = full["reported"].where(full["reported"] > 0)
    out = pd.DataFrame(
        {
            level: pd.array(
                [None if a == _NONE else a for a in index.get_level_values("area")],
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
    timezone: str = DEFAULT_TIMEZONE,
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
    day = as_day(as_of)
    levels = LEVELS if grids is not None else ("district",)
    out: dict[str, pd.DataFrame] = {
        f"lifecycle_{level}": _table(
            frame, life, _known_areas(grids, communities, level), level, freq, day, start
        )
        for level in levels
    }
    out.update(findings_of_lifecycle(frame, life, as_of=as_of))
    return out
