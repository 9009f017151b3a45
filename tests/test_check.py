"""`gridgeo check` on a store and straight on a planner's files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.store import open_store
from gridgeo.synth import generate

runner = CliRunner()
ALWAYS = ["gaps", "overlaps", "building_grid", "straddling_buildings", "buildings_outside"]


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def test_check_a_store_finds_the_planted_defects(store_url: str, tiny, tmp_path: Path) -> None:
    store = open_store(store_url)
    store.write_layers(tiny.layers)
    store.close()
    as_of = tiny.defects["period"]["start"]
    out = tmp_path / "findings.gpkg"
    code, text = gridgeo(
        "check", "--db", store_url, "--as-of", str(as_of)[:10], "--out", out, "--lang", "en"
    )
    assert code == 0, text
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert (
        set(ALWAYS)
        | {"unassigned_buildings", "multi_assigned_buildings", "member_quota", "organisation_quota"}
        <= layers
    )
    gaps = pyogrio.read_dataframe(out, layer="gaps")
    assert sorted(gaps["kind"]) == ["gap", "sliver"]
    overlaps = pyogrio.read_dataframe(out, layer="overlaps")
    assert {overlaps["grid_a"][0], overlaps["grid_b"][0]} == set(tiny.defects["overlap"]["grids"])
    outside = pyogrio.read_dataframe(out, layer="buildings_outside")
    assert set(outside["building_id"]) == set(tiny.defects["buildings_outside_grids"])
    unassigned = pyogrio.read_dataframe(out, layer="unassigned_buildings")
    assert set(unassigned["building_id"]) == set(tiny.defects["unassigned_buildings"])
    quota = pyogrio.read_dataframe(out, layer="member_quota")
    assert set(quota["member_id"]) >= set(tiny.defects["members_under_10"])
    with pd.ExcelFile(out.with_suffix(".xlsx")) as book:
        sheets = book.sheet_names
    assert sheets[0] == "summary" and "unassigned_buildings" in sheets
    for col in ("rule", "severity", "explanation_zh", "explanation_en"):
        assert col in unassigned.columns


def test_check_two_shapefiles_without_a_store(tiny, tmp_path: Path) -> None:
    grids = tiny.layers["grids"].rename(columns={"code": "WG_ID"})
    buildings = tiny.layers["buildings"].rename(columns={"code": "LD_ID"})
    # a planner's files: a duplicated building id and a self-intersecting grid
    buildings.loc[1, "LD_ID"] = buildings.loc[0, "LD_ID"]
    grids.to_file(tmp_path / "grids.shp", encoding="utf-8")
    buildings.to_file(tmp_path / "buildings.shp", encoding="utf-8")
    out = tmp_path / "check.gpkg"
    code, text = gridgeo(
        "check",
        "--grids",
        tmp_path / "grids.shp",
        "--buildings",
        tmp_path / "buildings.shp",
        "--grid-id",
        "WG_ID",
        "--building-id",
        "LD_ID",
        "--out",
        out,
    )
    assert code == 0, text
    assert {name for name, _ in pyogrio.list_layers(out)} >= set(ALWAYS) | {"input_issues"}
    issues = pyogrio.read_dataframe(out, layer="input_issues")
    assert issues["issue"].tolist() == ["duplicate_code", "duplicate_code"]
    assert issues["row"].tolist() == [1, 2]
    straddling = pyogrio.read_dataframe(out, layer="straddling_buildings")
    planted = {s["building"] for s in tiny.defects["straddling_buildings"]}
    assert planted <= set(straddling["building_id"])


def test_check_refuses_household_assignments_without_households(tiny, tmp_path: Path) -> None:
    tiny.layers["grids"].to_file(tmp_path / "g.gpkg")
    tiny.layers["buildings"].to_file(tmp_path / "b.gpkg")
    a = tiny.layers["assignments"].copy()
    a["valid_from"] = a["valid_from"].dt.strftime("%Y-%m-%d")
    a["valid_to"] = a["valid_to"].dt.strftime("%Y-%m-%d")
    a.to_excel(tmp_path / "a.xlsx", index=False)
    code, text = gridgeo(
        "check",
        "--grids",
        tmp_path / "g.gpkg",
        "--buildings",
        tmp_path / "b.gpkg",
        "--assignments",
        tmp_path / "a.xlsx",
        "--out",
        tmp_path / "x.gpkg",
    )
    assert code == 1
    assert "a.xlsx" in text and "--households" in text


def test_check_needs_both_files(tmp_path: Path) -> None:
    p = tmp_path / "g.gpkg"
    gpd.GeoDataFrame({"code": ["G"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326).to_file(p)
    code, text = gridgeo("check", "--grids", p, "--out", tmp_path / "o.gpkg")
    assert code != 0 and "--buildings" in text


def test_summary_scores_areas_and_counts_findings(tiny, tmp_path: Path) -> None:
    from gridgeo.check import Inputs, run_check

    layers = dict(tiny.layers)
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)
    results = run_check(inputs, as_of=tiny.defects["period"]["end"])
    grids = results["summary_grids"].set_index("code")
    assert grids["buildings"].sum() == len(results["building_grid"].dropna(subset=["grid_id"]))
    assert grids["unassigned"].sum() == len(
        set(results["unassigned_buildings"]["building_id"])
        & set(results["building_grid"].dropna()["building_id"])
    )
    a, b = tiny.defects["overlap"]["grids"]
    assert grids.loc[a, "overlaps"] == 1 and grids.loc[b, "overlaps"] == 1
    issues = grids["unassigned"] + grids["multi_assigned"] + grids["straddling"]
    perfect = grids[(issues == 0) & (grids["buildings"] > 0)]
    assert (perfect["coverage_score"] == 100.0).all()
    district = results["summary_district"].iloc[0]
    assert 0 < district["coverage_score"] < 100
    # the district counts every building once, those outside every grid too
    outside = len(results["buildings_outside"])
    assert district["outside_grids"] == outside > 0
    assert district["buildings"] == grids["buildings"].sum() + outside
    assert district["gaps"] == len(results["gaps"]) and district["overlaps"] == 1
    assert district["unassigned"] == results["unassigned_buildings"]["building_id"].nunique()
    for name in ("visit_weeks", "meeting_months"):
        assert set(results[name]["rule"]) <= {"R8", "R9"}
    missed = {g for g, _ in tiny.defects["grids_missing_meetings"]}
    assert missed <= set(results["meeting_months"]["grid_id"])


def test_check_before_any_assignment_is_in_force(tiny) -> None:
    """At a date before every assignment, visit and meeting, every building is unassigned."""
    import datetime as dt

    from gridgeo.check import Inputs, run_check

    layers = dict(tiny.layers)
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)
    results = run_check(inputs, as_of=dt.date(2000, 1, 1))
    inside = set(results["building_grid"].dropna(subset=["grid_id"])["building_id"])
    assert set(results["unassigned_buildings"]["building_id"]) == set(
        tiny.layers["buildings"]["code"]
    )
    assert len(results["multi_assigned_buildings"]) == 0
    assert results["last_visits"]["never_visited"].all()
    assert len(inside) > 0 and len(results["visit_weeks"]) == 0


def test_a_grid_code_twice_in_the_files_is_reported_and_every_analysis_still_runs(
    tiny, tmp_path: Path
) -> None:
    """Files are read leniently: a duplicated grid code is a finding, not a traceback."""
    from gridgeo.check import read_inputs, run_check

    layers = tiny.layers
    grids = layers["grids"]
    twice = pd.concat([grids, grids.iloc[[0]]], ignore_index=True)
    twice.to_file(tmp_path / "grids.gpkg")
    layers["buildings"].to_file(tmp_path / "buildings.gpkg")
    extra = {}
    for name in ("communities", "assignments", "households", "visits", "meetings"):
        frame = layers[name]
        if not isinstance(frame, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame)
        frame.to_file(tmp_path / f"{name}.gpkg")
        extra[name] = tmp_path / f"{name}.gpkg"
    inputs = read_inputs(grids=tmp_path / "grids.gpkg", buildings=tmp_path / "buildings.gpkg",
                         extra=extra)  # fmt: skip
    results = run_check(inputs, as_of=tiny.defects["period"]["end"], timezone="Asia/Shanghai")
    assert results.not_computed == {}
    issues = results["input_issues"]
    assert issues["issue"].tolist() == ["duplicate_code"] * 2
    assert set(issues["code"]) == {grids["code"].iloc[0]}
    # the grid's first row gives its community, as for any code
    first = grids.iloc[0]
    unassigned = results["unassigned_buildings"]
    in_first = results["building_grid"].query("grid_id == @first.code")["building_id"]
    assert set(unassigned.loc[unassigned["building_id"].isin(in_first), "community"]) <= {
        first["community"]
    }
    assert set(results["meeting_months"]["grid_id"]) <= set(grids["code"])
