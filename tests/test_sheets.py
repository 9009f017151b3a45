"""gridgeo.sheets: the one XLSX writer (check's workbook, the lifecycle workbook, exports)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.sheets import sheet_table, write_sheets

TIMES = pd.to_datetime(["2026-03-08T15:30Z", None], utc=True).tz_convert("Asia/Shanghai")


def frame(*geoms: shapely.Geometry | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": ["a", "b"], "t": TIMES}, geometry=list(geoms), crs=4326)


NAN = float("nan")


@pytest.mark.parametrize(
    ("geometry", "geoms", "columns", "lon"),
    [
        ("omit", (shapely.Point(1, 2), None), ["code", "t"], None),
        ("lonlat", (shapely.Point(1, 2), None), ["code", "t", "lon", "lat"], [1.0, NAN]),
        ("lonlat", (None, None), ["code", "t"], None),
        ("lonlat", (shapely.box(0, 0, 1, 1), shapely.Point(5, 2)), ["code", "t", "lon", "lat"], [NAN, 5.0]),
        ("lonlat_or_wkt", (shapely.Point(1, 2), None), ["code", "t", "lon", "lat"], [1.0, NAN]),
        ("lonlat_or_wkt", (None, None), ["code", "t", "lon", "lat"], [NAN, NAN]),
        ("lonlat_or_wkt", (shapely.box(0, 0, 1, 1), shapely.Point(5, 2)), ["code", "t", "wkt"], None),
    ],
)  # fmt: skip
def test_what_replaces_the_geometry(geometry, geoms, columns, lon) -> None:
    table = sheet_table(frame(*geoms), geometry=geometry)
    assert table.columns.tolist() == columns
    if lon is not None:
        assert table["lon"].tolist() == pytest.approx(lon, nan_ok=True)


def test_times_keep_their_clock_reading_without_the_offset() -> None:
    table = sheet_table(frame(None, None))
    assert table["t"].dt.tz is None
    assert table["t"].iloc[0] == pd.Timestamp("2026-03-08 23:30")
    assert pd.isna(table["t"].iloc[1])


def test_a_workbook_has_a_sheet_per_frame_in_order_with_names_cut_to_31(tmp_path: Path) -> None:
    long = "problems_without_feedback_in_the_last_quarter"
    sheets = {"summary": pd.DataFrame({"n": [1]}), long: frame(shapely.Point(1, 2), None)}
    path = write_sheets(sheets, tmp_path / "book.xlsx", geometry="lonlat")
    read = pd.read_excel(path, sheet_name=None)
    assert list(read) == ["summary", long[:31]]
    assert read[long[:31]][["code", "lon", "lat"]].iloc[0].tolist() == ["a", 1.0, 2.0]


def test_an_unknown_geometry_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="lonlat_or_wkt"):
        sheet_table(frame(None, None), geometry="points")  # type: ignore[arg-type]


def test_every_sheet_has_a_frozen_header_a_filter_and_widths_of_its_text(tmp_path: Path) -> None:
    import openpyxl

    table = pd.DataFrame({"code": ["C01-G001"], "name": ["第一网格（很长的名字）"]})
    path = write_sheets({"grids": table}, tmp_path / "b.xlsx",
                        headings={"code": "编号"}, sheet_names={"grids": "网格"})  # fmt: skip
    ws = openpyxl.load_workbook(path)["网格"]
    assert [c.value for c in ws[1]] == ["编号", "name"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B2"
    assert ws.column_dimensions["A"].width == len("C01-G001") + 2
    assert ws.column_dimensions["B"].width == 2 * 11 + 2
