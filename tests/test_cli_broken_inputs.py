"""Every command fed broken inputs answers with a named error, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.synth import generate

runner = CliRunner()

RING = '{"type":"Polygon","coordinates":[[[121,31],[121.01,31],[121.01,31.01],[121,31.01]]]}'


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> dict[str, Path]:
    """One file per way a planner's file can be broken, and good grids and buildings."""
    d = tmp_path_factory.mktemp("broken")
    t = generate("tiny", seed=0)
    t.layers["grids"].to_file(d / "grids.gpkg")
    t.layers["buildings"].to_file(d / "buildings.gpkg")
    t.layers["grids"].to_file(d / "noprj.shp")
    os.remove(d / "noprj.prj")
    t.layers["grids"].to_file(d / "two.gpkg", layer="a")
    t.layers["buildings"].to_file(d / "two.gpkg", layer="b")
    nulls = t.layers["grids"].copy()
    nulls.loc[[0], "geometry"] = None
    nulls.to_file(d / "nulls.gpkg")
    t.layers["grids"].drop(columns="community").to_file(d / "nocommunity.gpkg")
    a = t.layers["assignments"].rename(columns={"kind": "knd", "member": "membr"})
    a.to_excel(d / "misspelt.xlsx", index=False)
    (d / "empty.gpkg").write_bytes(b"")
    (d / "zip.gpkg").write_bytes(b"PK\x03\x04 not really")
    (d / "text.geojson").write_text("this is not json", encoding="utf-8")
    (d / "ring.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"G1"},'
        f'"geometry":{RING}}}]}}',
        encoding="utf-8",
    )
    (d / "table.csv").write_text("code,name\nG1,one\n", encoding="utf-8")
    (d / "folder").mkdir()
    assert shapely.is_valid(t.layers["grids"].geometry.iloc[0])
    files = {p.stem: p for p in d.iterdir() if p.suffix in (".gpkg", ".shp", ".geojson", ".xlsx")}
    extra = {"table": d / "table.csv", "folder": d / "folder", "cpg": d / "noprj.cpg"}
    return files | extra | {"missing": d / "missing.gpkg", "dir": d}


BAD_POLYGONS = ["noprj", "two", "nulls", "nocommunity", "empty", "zip", "text", "ring", "table",
                "folder", "missing", "cpg"]  # fmt: skip


def _commands(f: dict[str, Path], bad: str) -> list[list[str | Path]]:
    out = f["dir"] / "out.gpkg"
    db = f"sqlite:///{f['dir'] / 'nosuch' / 'store.sqlite'}"
    return [
        ["check", "--grids", f[bad], "--buildings", f["buildings"], "--out", out],
        ["check", "--grids", f["grids"], "--buildings", f[bad], "--out", out],
        ["check", "--grids", f[bad], "--buildings", f["buildings"],
         "--assignments", f["misspelt"], "--out", out],
        ["import", "grids", f[bad], "--db", db],
        ["import", f[bad], "--db", db],  # alone: a geoparquet exchange folder
        ["fix", "grids", "--grids", f[bad], "--buildings", f["buildings"], "--out", out],
        ["lifecycle", "--problems", f[bad], "--grids", f["grids"], "--buildings", f["buildings"],
         "--out", f["dir"] / "l.xlsx"],
        ["hotspots", "--problems", f[bad], "--out", out],
        ["load", f[bad], "--db", db],
        ["apply", f[bad], "--db", db],
    ]  # fmt: skip


@pytest.mark.parametrize("bad", BAD_POLYGONS)
def test_no_command_answers_a_broken_file_with_a_traceback(broken, bad: str) -> None:
    for args in _commands(broken, bad):
        result = runner.invoke(app, [str(a) for a in args])
        shown = " ".join(map(str, args))
        unexpected = result.exception and not isinstance(result.exception, SystemExit)
        assert not unexpected, f"{shown}: {result.exception!r}"
        assert "Traceback" not in result.output, f"{shown}:\n{result.output}"
        if bad not in ("nulls", "nocommunity"):
            assert result.exit_code != 0, f"{shown}: accepted\n{result.output}"
        if result.exit_code != 0:
            assert "error" in result.output.lower(), f"{shown}:\n{result.output}"


def test_commands_without_their_inputs_name_what_is_missing(broken, monkeypatch) -> None:
    monkeypatch.chdir(broken["dir"])
    for args in (["check", "--out", "o.gpkg"], ["check", "--grids", broken["grids"], "--out",
                 "o.gpkg"], ["report", "--out", "r"], ["hotspots", "--out", "o.gpkg"]):  # fmt: skip
        result = runner.invoke(app, [str(a) for a in args],
                               env={"GRIDGEO_DATABASE_URL": f"sqlite:///{broken['dir']}/none.sqlite"})  # fmt: skip
        assert not (result.exception and not isinstance(result.exception, SystemExit)), args
        assert "Traceback" not in result.output and result.exit_code != 0, result.output


def _crs_commands(f: dict[str, Path]) -> list[list[str | Path]]:
    """Every command that reads files (or writes them, for export), with its file options."""
    out = f["dir"] / "out.gpkg"
    db = f"sqlite:///{f['dir'] / 'crs.sqlite'}"
    return [
        ["check", "--grids", f["grids"], "--buildings", f["buildings"], "--out", out],
        ["import", "grids", f["grids"], "--db", db],
        ["fix", "grids", "--grids", f["grids"], "--buildings", f["buildings"], "--out", out],
        ["lifecycle", "--problems", f["grids"], "--grids", f["grids"], "--buildings", f["buildings"],
         "--out", f["dir"] / "l.xlsx"],
        ["hotspots", "--problems", f["grids"], "--out", out],
        ["export", "grids", f["dir"] / "export.gpkg", "--db", db],
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["mars", "EPSG:999999", "gcj03", "+proj=nonsense"])
def test_an_unknown_crs_is_named_by_every_command(broken, bad: str) -> None:
    for args in _crs_commands(broken):
        result = runner.invoke(app, [*map(str, args), "--crs", bad])
        shown = " ".join(map(str, args))
        assert not (result.exception and not isinstance(result.exception, SystemExit)), shown
        text = " ".join(result.output.replace("│", " ").split())  # Rich's box, unwrapped
        assert result.exit_code == 2, f"{shown}: {text}"
        assert f"unknown coordinate reference system '{bad}'" in text, f"{shown}: {text}"
        assert "gcj02" in text and "Traceback" not in text


def test_gcj02_for_projected_files_is_refused_by_every_command(broken, tmp_path) -> None:
    utm = {"dir": tmp_path}
    for name in ("grids", "buildings"):
        utm[name] = tmp_path / f"{name}-utm.gpkg"
        gpd.read_file(broken[name]).to_crs(32651).to_file(utm[name])
    for args in _crs_commands(utm)[:5]:
        result = runner.invoke(app, [*map(str, args), "--crs", "gcj02"])
        shown = " ".join(map(str, args))
        assert not (result.exception and not isinstance(result.exception, SystemExit)), shown
        text = " ".join(result.output.split())
        assert result.exit_code == 1, f"{shown}: {text}"
        assert "declares the projected EPSG:32651" in text, f"{shown}: {text}"
