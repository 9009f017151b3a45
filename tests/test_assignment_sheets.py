"""Assignment sheets in the long form (党员编号 | 对象类型 | 对象编号) import as the wide form does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from frames import district
from roundtrip_helpers import gridgeo, snapshot, store_frames

LONG = pd.DataFrame(
    {
        "编号": ["A1", "A2", "A3", "A4"],
        "组织编号": ["O1", None, None, None],
        "责任人编号": [None, "M1", "M1", "L1"],
        "对象类型": ["网格", "楼栋", "户", "社区"],
        "对象编号": ["C1-G1", "B1", "B2-1-101", "C1"],
        "开始日期": ["2026-01-01", "2026-01-01", "2026-02-01", "2026-01-01"],
        "结束日期": [None, "2026-12-31", None, None],
    }
)


def _store(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}"
    frames = district()
    store_frames(
        url, {k: v for k, v in frames.items() if k not in ("assignments", "visits", "problems")}
    )
    return url


def test_a_long_form_sheet_imports_as_the_wide_form(tmp_path: Path) -> None:
    long_url, wide_url = _store(tmp_path, "long.sqlite"), _store(tmp_path, "wide.sqlite")
    sheet = LONG.copy()
    sheet.to_excel(tmp_path / "责任.xlsx", index=False)
    code, out = gridgeo("import", "assignments", tmp_path / "责任.xlsx", "--db", long_url)
    assert code == 0, out
    assert "columns read as 对象类型 + 对象编号 → community, grid, building, household" in out
    assert "责任人编号 → member" in out
    wide = district()["assignments"].drop(columns=["kind"])
    wide.to_csv(tmp_path / "wide.csv", index=False)
    code, out = gridgeo("import", "assignments", tmp_path / "wide.csv", "--db", wide_url)
    assert code == 0, out
    got, want = snapshot(long_url)["assignments"], snapshot(wide_url)["assignments"]
    assert len(got) == 4
    pd.testing.assert_frame_equal(got, want)


def test_an_unknown_kind_of_object_is_named_with_its_row(tmp_path: Path) -> None:
    url = _store(tmp_path, "s.sqlite")
    sheet = LONG.copy()
    sheet.loc[2, "对象类型"] = "单元"
    sheet.to_csv(tmp_path / "a.csv", index=False)
    code, out = gridgeo("import", "assignments", tmp_path / "a.csv", "--db", url)
    assert code == 1, out
    assert "row 4 (A3)" in out and "对象类型" in out and "单元" in out
    assert "use one of 社区 (community), 网格 (grid), 楼栋 (building), 户 (household)" in out
    assert snapshot(url)["assignments"].empty


def test_a_long_form_sheet_is_spread_beside_a_map_of_other_columns(tmp_path: Path) -> None:
    url = _store(tmp_path, "s.sqlite")
    LONG.rename(columns={"开始日期": "起始"}).to_csv(tmp_path / "a.csv", index=False)
    code, out = gridgeo(
        "import", "assignments", tmp_path / "a.csv", "--map", "起始=valid_from", "--db", url
    )
    assert code == 0, out
    assert "columns read as 对象类型 + 对象编号" in out
    assert len(snapshot(url)["assignments"]) == 4
