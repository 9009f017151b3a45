"""`gridgeo check` on a planner's files: the same column mapping and input selection as `import`."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.synth import generate

runner = CliRunner()


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The tiny district as a planner keeps it: Chinese column names, an Excel sheet."""
    t = generate("tiny", seed=0)
    d = tmp_path_factory.mktemp("planner")
    grids = t.layers["grids"].rename(
        columns={"code": "网格编号", "name": "名称", "community": "社区"}
    )
    grids.to_file(d / "grids.gpkg")
    t.layers["buildings"].rename(columns={"code": "楼栋编号"}).to_file(d / "buildings.gpkg")
    a = t.layers["assignments"].copy()
    for col in ("valid_from", "valid_to"):
        a[col] = a[col].dt.strftime("%Y-%m-%d")
    a.to_excel(d / "assignments.xlsx", index=False)
    a.rename(columns={"kind": "knd", "member": "membr"}).to_excel(d / "bad.xlsx", index=False)
    t.layers["households"].drop(columns="geometry", errors="ignore").to_csv(
        d / "h.csv", index=False
    )
    for name in ("grids", "buildings"):
        t.layers[name].to_file(d / f"{name}_noprj.shp")
        os.remove(d / f"{name}_noprj.prj")
    return t, d


def test_chinese_columns_keep_the_planners_codes_names_and_communities(files) -> None:
    t, d = files
    out = d / "zh.gpkg"
    code, text = gridgeo("check", "--grids", d / "grids.gpkg", "--buildings", d / "buildings.gpkg",
                         "--assignments", d / "assignments.xlsx", "--households", d / "h.csv",
                         "--out", out)  # fmt: skip
    assert code == 0, text
    assert (
        "note: grids.gpkg: columns read as 网格编号 → code, 名称 → name, 社区 → community" in text
    )
    summary = pyogrio.read_dataframe(out, layer="summary_grids")
    assert set(summary["code"]) == set(t.layers["grids"]["code"])
    assert set(summary["community"].dropna()) == set(t.layers["grids"]["community"])


def test_a_multi_layer_source_without_layer_is_refused_with_its_layers(files, tmp_path) -> None:
    t, _ = files
    both = tmp_path / "both.gpkg"
    t.layers["grids"].to_file(both, layer="wangge")
    t.layers["buildings"].to_file(both, layer="loudong")
    code, text = gridgeo(
        "check", "--grids", both, "--buildings", both, "--out", tmp_path / "o.gpkg"
    )
    assert code == 1 and "several layers (wangge, loudong)" in text and "--layer" in text
    code, text = gridgeo("check", "--grids", both, "--buildings", both, "--layer", "grids:wangge",
                         "--layer", "buildings:loudong", "--out", tmp_path / "o.gpkg")  # fmt: skip
    assert code == 0, text


def test_every_problem_of_every_file_is_reported_in_one_run(files) -> None:
    _, d = files
    code, text = gridgeo("check", "--grids", d / "grids_noprj.shp",
                         "--buildings", d / "buildings_noprj.shp",
                         "--assignments", d / "bad.xlsx", "--out", d / "x.gpkg")  # fmt: skip
    assert code == 1
    assert "grids_noprj.shp: (--grids) no coordinate reference system" in text
    assert "buildings_noprj.shp: (--buildings) no coordinate reference system" in text
    assert text.count("cannot tell what is assigned to whom") == 1
    assert "['knd', 'membr']" in text
    assert "Traceback" not in text


def test_null_geometries_and_unclosed_rings_are_named(files, tmp_path) -> None:
    t, d = files
    grids = t.layers["grids"].copy()
    grids.loc[[1, 3], "geometry"] = None
    grids.to_file(tmp_path / "null.gpkg")
    code, text = gridgeo("check", "--grids", tmp_path / "null.gpkg", "--buildings",
                         d / "buildings.gpkg", "--out", tmp_path / "o.gpkg")  # fmt: skip
    assert code == 0, text
    assert "null.gpkg: 2 row(s) without a geometry left out of the check (row 2, 4)" in text
    ring = '{"type":"Polygon","coordinates":[[[121,31],[121.01,31],[121.01,31.01],[121,31.01]]]}'
    (tmp_path / "ring.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"G1"},'
        f'"geometry":{ring}}}]}}',
        encoding="utf-8",
    )
    code, text = gridgeo("check", "--grids", tmp_path / "ring.geojson", "--buildings",
                         d / "buildings.gpkg", "--out", tmp_path / "o.gpkg")  # fmt: skip
    assert code == 1 and "ring.geojson row 1 column 'geometry'" in text
    assert "close the ring" in text and "Traceback" not in text


def test_grids_without_a_community_column_are_checked_with_a_note(files, tmp_path) -> None:
    t, d = files
    t.layers["grids"].drop(columns="community").to_file(tmp_path / "g.gpkg")
    code, text = gridgeo("check", "--grids", tmp_path / "g.gpkg", "--buildings",
                         d / "buildings.gpkg", "--assignments", d / "assignments.xlsx",
                         "--households", d / "h.csv", "--out", tmp_path / "o.gpkg")  # fmt: skip
    assert code == 0, text
    assert "g.gpkg: no community column (looked for community, 社区" in text


def test_check_without_inputs_or_store_is_refused_and_creates_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRIDGEO_DATABASE_URL", raising=False)
    from gridgeo.settings import get_settings

    get_settings.cache_clear()
    try:
        code, text = gridgeo("check", "--out", "x.gpkg")
    finally:
        get_settings.cache_clear()
    assert code == 1 and "nothing to check" in text and "nan" not in text
    assert not (tmp_path / "gridgeo.sqlite").exists() and not (tmp_path / "x.gpkg").exists()
    code, text = gridgeo("check", "--assignments", "a.xlsx", "--out", "x.gpkg")
    assert code == 1 and "--grids" in text


def test_a_shared_map_must_match_some_file(files) -> None:
    _, d = files
    code, text = gridgeo("check", "--grids", d / "grids.gpkg", "--buildings", d / "buildings.gpkg",
                         "--map", "nosuch=name", "--out", d / "y.gpkg")  # fmt: skip
    assert code == 1 and "no input file has a column 'nosuch'" in text


def test_generate_ids_numbers_the_grids(files, tmp_path) -> None:
    _, d = files
    out = tmp_path / "o.gpkg"
    code, text = gridgeo("check", "--grids", d / "grids.gpkg", "--buildings", d / "buildings.gpkg",
                         "--generate-ids", "grids:W", "--out", out)  # fmt: skip
    assert code == 0, text
    assert gpd.read_file(out, layer="summary_grids")["code"].str.startswith("W").all()


def test_the_workbook_is_chinese_by_default_with_names_and_areas(files, tmp_path) -> None:
    import openpyxl

    t, d = files
    t.layers["communities"].to_file(tmp_path / "c.gpkg")
    out = tmp_path / "zh.gpkg"
    code, text = gridgeo("check", "--grids", d / "grids.gpkg", "--buildings", d / "buildings.gpkg",
                         "--communities", tmp_path / "c.gpkg", "--out", out)  # fmt: skip
    assert code == 0, text
    book = openpyxl.load_workbook(out.with_suffix(".xlsx"))
    assert book.sheetnames[0] == "汇总" and "网格重叠" in book.sheetnames
    ws = book["网格重叠"]
    headers = [c.value for c in ws[1]]
    assert {"网格甲", "网格甲名称"} <= set(headers) and ws.freeze_panes == "A2"
    name = headers.index("网格甲名称") + 1
    grid_names = set(t.layers["grids"]["name"])
    assert {ws.cell(r, name).value for r in range(2, ws.max_row + 1)} <= grid_names
    communities = gpd.read_file(out, layer="summary_communities")
    assert communities.geometry.notna().all() and len(communities) == len(t.layers["communities"])
    assert set(communities["community_name"]) == set(t.layers["communities"]["name"])
    code, _ = gridgeo("check", "--grids", d / "grids.gpkg", "--buildings", d / "buildings.gpkg",
                      "--lang", "en", "--out", out)  # fmt: skip
    assert openpyxl.load_workbook(out.with_suffix(".xlsx")).sheetnames[0] == "summary"
