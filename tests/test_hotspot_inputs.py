"""Reading problem points: tables with odd columns, dropped rows, times in the district's zone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hotspot_frames import SAMPLE

from gridgeo.errors import NotFound, ValidationError
from gridgeo.hotspot_inputs import read_problems


def test_a_workbook_with_chinese_columns_and_naive_local_times(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "经度": [121.44, 121.45, None, 121.46],
            "纬度": [31.22, 31.23, 31.24, 31.25],
            "问题类别": ["停车", "噪音", "停车", "停车"],
            "上报时间": ["2025-03-01 08:00", "2025-03-02", "2025-03-03 09:00", ""],
            "状态": ["open", "closed", "open", "open"],
        }
    )
    path = tmp_path / "问题.xlsx"
    table.to_excel(path, sheet_name="问题清单", index=False)
    problems, notes = read_problems(path, layer="问题清单", timezone="Asia/Shanghai")
    assert notes == ["问题.xlsx: 1 rows dropped, missing coordinates (rows 4)"]
    assert problems.crs.to_epsg() == 4326
    assert problems[["category", "status"]].values.tolist() == [
        ["停车", "open"],
        ["噪音", "closed"],
        ["停车", "open"],
    ]
    utc = problems["reported_at"]
    assert str(utc.dt.tz) == "UTC"
    assert utc.iloc[0] == pd.Timestamp("2025-03-01 00:00", tz="UTC")  # 08:00 in Shanghai
    assert utc.iloc[1] == pd.Timestamp("2025-03-01 16:00", tz="UTC")
    assert pd.isna(utc.iloc[2])  # no time given: kept, without one
    in_utc, _ = read_problems(path, layer="问题清单", timezone="UTC")
    assert in_utc["reported_at"].iloc[0] == pd.Timestamp("2025-03-01 08:00", tz="UTC")


def test_what_cannot_be_read_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"lon": [121.44], "lat": [31.22], "when": ["soon"]}).to_csv(path, index=False)
    with pytest.raises(NotFound, match="has no column 'time'"):
        read_problems(path, time_column="time")
    with pytest.raises(ValidationError, match=r"row 2.*when.*soon"):
        read_problems(path, time_column="when")
    with pytest.raises(NotFound, match="has no sheet"):
        pd.DataFrame({"lon": [1]}).to_excel(tmp_path / "p.xlsx", index=False)
        read_problems(tmp_path / "p.xlsx", layer="nope")
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="no coordinate columns"):
        read_problems(path)


def test_the_sample_geopackage_reads_as_it_is_stored() -> None:
    problems, notes = read_problems(SAMPLE, layer="problems")
    assert notes == [] and len(problems) == 2000
    assert {"reported_at", "category", "status"} <= set(problems.columns)
