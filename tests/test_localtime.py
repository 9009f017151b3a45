"""Local time: UTC times to the district's days and periods, with the zone as an argument."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from gridgeo.localtime import (
    DEFAULT_TIMEZONE,
    as_day,
    calendar_units,
    local_date,
    local_days,
    local_times,
    unit_of,
    utc_time,
    utc_times,
)
from gridgeo.settings import Settings

ANALYSIS = Path(__file__).resolve().parent.parent / "gridgeo" / "analysis"


def test_the_default_zone_is_the_settings_default() -> None:
    assert Settings.model_fields["timezone"].default == DEFAULT_TIMEZONE


def test_a_utc_time_falls_on_the_local_day_of_the_zone_given() -> None:
    t = pd.Series(pd.to_datetime(["2026-03-08T15:30Z", "2026-03-08T16:30Z", None], utc=True))
    assert local_days(t, "Asia/Shanghai").dt.day.tolist()[:2] == [8, 9]
    assert local_days(t, "America/New_York").dt.day.tolist()[:2] == [8, 8]
    assert local_days(t, "Asia/Shanghai").isna().tolist() == [False, False, True]
    naive = pd.Series(pd.to_datetime(["2026-03-08 23:30"]))  # already local
    assert local_times(naive, "America/New_York").tolist() == [pd.Timestamp("2026-03-08 23:30")]
    assert local_date(pd.Timestamp("2026-03-08T16:30Z"), "Asia/Shanghai") == dt.date(2026, 3, 9)


def test_local_times_become_utc_across_a_clock_change() -> None:
    local = pd.Series(pd.to_datetime(["2026-03-08 02:30", "2026-11-01 01:30", "2026-07-01 12:00"]))
    utc = utc_times(local, "America/New_York")
    assert utc.iloc[0] == pd.Timestamp("2026-03-08T07:00Z")  # 02:30 never happens: 03:00 EDT
    assert pd.isna(utc.iloc[1])  # 01:30 happens twice
    assert utc.iloc[2] == pd.Timestamp("2026-07-01T16:00Z")
    assert utc_time(dt.datetime(2026, 7, 1, 12), "America/New_York") == dt.datetime(
        2026, 7, 1, 16, tzinfo=dt.UTC
    )


def test_calendar_units_are_clipped_to_the_period_and_days_fall_in_them() -> None:
    weeks = calendar_units("2026-01-07", "2026-01-19", freq="W-SUN")
    assert weeks["label"].tolist() == ["2026-W02", "2026-W03"]
    assert weeks["lo"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")]
    assert weeks["clo"].iloc[0] == pd.Timestamp("2026-01-07")
    windows = calendar_units("2026-01-07", "2026-01-19", freq="D", days=10)
    assert windows["label"].tolist() == ["2026-01-07", "2026-01-17"]
    quarters = calendar_units("2025-12-01", "2026-04-02", freq="Q")
    assert quarters["label"].tolist() == ["2025-Q4", "2026-Q1", "2026-Q2"]
    days = pd.Series(pd.to_datetime(["2026-01-04", "2026-01-05", "2026-01-18", "2026-01-19"]))
    assert unit_of(days, weeks).tolist() == [-1, 0, 1, -1]
    with pytest.raises(ValueError, match="must be after"):
        calendar_units("2026-01-07", "2026-01-07", freq="M")
    assert as_day("2026-03-09T17:45") == pd.Timestamp("2026-03-09")


def test_no_analysis_looks_up_the_settings() -> None:
    """The analyses take the time zone and the policy as arguments (hotspots aside, for now)."""
    found = []
    for path in sorted(ANALYSIS.rglob("*.py")):
        if "hotspots" in path.parts or path.name == "hotspots.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and (
                (node.module or "").startswith("gridgeo.settings") or "get_settings" in names
            ):
                found.append(f"{path.relative_to(ANALYSIS)}:{node.lineno}")
    assert not found
