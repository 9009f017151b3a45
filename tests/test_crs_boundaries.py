"""GCJ-02 and BD-09 at every file boundary: import, check, hotspots, lifecycle, export.

Each test takes known WGS-84 geometries (a synthetic district in Shanghai), shifts them
to GCJ-02/BD-09 with the library's forward functions, feeds them through the boundary
with ``--crs`` and finds the stored or written geometries within 1e-6 degrees of the
originals; without ``--crs`` the same files land hundreds of metres off.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.chinacrs import from_wgs84, wgs84_to_gcj02
from gridgeo.cli import app
from gridgeo.io import read_file, write_file
from gridgeo.store import open_store
from gridgeo.synth import generate

runner = CliRunner()

#: what "the same place" means here (degrees; 1e-6° is about 0.1 m)
SAME = 1e-6
#: what "not converted" looks like: at least 100 m off (0.001° is about 100 m)
OFF = 0.001


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def distances(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> np.ndarray:
    """Per code, the Hausdorff distance (degrees) between ``got`` and ``want``."""
    a = got.set_index(got["code"].astype(str)).geometry
    b = want.set_index(want["code"].astype(str)).geometry
    assert sorted(a.index) == sorted(b.index)
    return shapely.hausdorff_distance(a.loc[b.index].to_numpy(), b.to_numpy())


@pytest.fixture(scope="module")
def tiny() -> dict[str, gpd.GeoDataFrame]:
    return generate("tiny", seed=0).layers


@pytest.fixture(scope="module")
def files(tiny, tmp_path_factory) -> dict[str, Path]:
    """The grids, buildings and problems as WGS-84, GCJ-02 and BD-09 files (labelled 4326)."""
    d = tmp_path_factory.mktemp("shifted")
    out = {"dir": d}
    for crs in ("wgs84", "gcj02", "bd09"):
        for layer in ("communities", "grids", "buildings"):
            frame = from_wgs84(tiny[layer], crs)
            assert frame.crs.to_epsg() == 4326  # what AMap/Baidu exports say of themselves
            out[f"{layer}_{crs}"] = write_file(frame, d / f"{layer}_{crs}.gpkg", layer=layer)
        out[f"problems_{crs}"] = write_file(
            from_wgs84(tiny["problems"], crs), d / f"problems_{crs}.csv"
        )
    return out


def _store(tmp_path: Path, tiny: dict, *skip: str) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    s = open_store(url)
    s.write_layers({k: v for k, v in tiny.items() if k not in skip})
    s.close()
    return url


def _read(url: str, layer: str) -> gpd.GeoDataFrame:
    s = open_store(url)
    try:
        return s.read_layer(layer)
    finally:
        s.close()


# -- import --------------------------------------------------------------------------------


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_import_polygons_converts_them_vertex_by_vertex(store_url, files, tiny, crs) -> None:
    for layer in ("communities", "grids", "buildings"):
        code, output = gridgeo("import", layer, files[f"{layer}_{crs}"], "--crs", crs,
                               "--db", store_url)  # fmt: skip
        assert code == 0, output
    assert "converted from" in output and ("GCJ-02" if crs == "gcj02" else "BD-09") in output
    stored = _read(store_url, "buildings")
    assert distances(stored, tiny["buildings"]).max() < SAME
    assert distances(_read(store_url, "grids"), tiny["grids"]).max() < SAME


def test_import_without_crs_lands_hundreds_of_metres_off(tmp_path, files, tiny) -> None:
    url = f"sqlite:///{tmp_path / 'raw.sqlite'}"
    code, output = gridgeo("import", "buildings", files["buildings_gcj02"], "--db", url)
    assert code == 0, output
    assert distances(_read(url, "buildings"), tiny["buildings"]).min() > OFF


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_import_a_csv_of_points_converts_whole_columns(tmp_path, files, tiny, crs) -> None:
    url = _store(tmp_path, tiny, "problems")
    code, output = gridgeo("import", "problems", files[f"problems_{crs}"], "--crs", crs,
                           "--db", url)  # fmt: skip
    assert code == 0, output
    assert distances(_read(url, "problems"), tiny["problems"]).max() < SAME


def test_read_file_takes_gcj02_for_a_table_with_lon_lat(files, tiny) -> None:
    read = read_file(files["problems_gcj02"], crs="GCJ-02")
    assert read.source_crs == "GCJ-02"
    assert read.frame.crs.to_epsg() == 4326
    assert distances(read.frame, tiny["problems"]).max() < SAME


def test_gcj02_for_a_projected_file_is_refused_by_name(tmp_path, tiny) -> None:
    path = tmp_path / "utm.gpkg"
    tiny["grids"].to_crs(32651).to_file(path)
    code, output = gridgeo("import", "grids", path, "--crs", "gcj02",
                           "--db", f"sqlite:///{tmp_path / 's.sqlite'}")  # fmt: skip
    assert code == 1
    assert "declares the projected EPSG:32651" in output and "GCJ-02" in output
    assert "Traceback" not in output


def test_an_epsg_code_other_than_the_files_own_is_refused(tmp_path, files) -> None:
    code, output = gridgeo("import", "grids", files["grids_wgs84"], "--crs", "4547",
                           "--db", f"sqlite:///{tmp_path / 's.sqlite'}")  # fmt: skip
    assert code == 1
    assert "declares EPSG:4326 but --crs says EPSG:4547" in output


def test_cgcs2000_gauss_kruger_works_like_any_epsg_code(tmp_path, tiny) -> None:
    path = tmp_path / "gk.shp"
    tiny["grids"].to_crs(4549).to_file(path)  # CGCS2000 3-degree Gauss-Kruger CM 120E
    path.with_suffix(".prj").unlink()
    read = read_file(path, crs="4549")
    assert distances(read.frame, tiny["grids"]).max() < SAME


# -- check, hotspots, lifecycle ------------------------------------------------------------


def test_check_converts_its_file_inputs(tmp_path, files, tiny) -> None:
    out = tmp_path / "check.gpkg"
    for crs, close in (("gcj02", True), (None, False)):
        args = ["check", "--grids", files[f"grids_{crs or 'gcj02'}"],
                "--buildings", files[f"buildings_{crs or 'gcj02'}"], "--out", out]  # fmt: skip
        code, output = gridgeo(*args, *(["--crs", crs] if crs else []))
        assert code == 0, output
        grids = gpd.read_file(out, layer="summary_grids")
        d = distances(grids, tiny["grids"])
        assert (d.max() < SAME) if close else (d.min() > OFF)


def test_fix_converts_its_file_inputs(tmp_path, files, tiny) -> None:
    out = tmp_path / "fix.gpkg"
    for crs in ("gcj02", None):
        args = ["fix", "grids", "--grids", files["grids_gcj02"], "--buildings",
                files["buildings_gcj02"], "--out", out]  # fmt: skip
        code, output = gridgeo(*args, *(["--crs", crs] if crs else []))
        assert code == 0, output
        d = distances(gpd.read_file(out, layer="grids"), tiny["grids"])
        if crs:  # the grids fix leaves alone are where they were; those it edits, near
            assert np.median(d) < SAME and d.max() < 0.001, d
        else:
            assert d.min() > OFF


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_hotspots_write_the_counted_problems_in_wgs84(tmp_path, files, tiny, crs) -> None:
    out = tmp_path / "hot.gpkg"
    code, output = gridgeo("hotspots", "--problems", files[f"problems_{crs}"], "--crs", crs,
                           "--out", out, "--permutations", "9")  # fmt: skip
    assert code == 0, output
    assert "problems" in {str(n) for n, _ in pyogrio.list_layers(out)}
    problems = gpd.read_file(out, layer="problems")
    assert problems.crs.to_epsg() == 4326
    assert set(problems.columns) >= {"code", "category", "status", "reported_at"}
    assert distances(problems, tiny["problems"]).max() < SAME
    cells = gpd.read_file(out, layer="cells")
    assert int(cells["count"].sum()) == len(tiny["problems"])


def test_hotspots_problems_are_the_selection_and_off_without_crs(tmp_path, files, tiny) -> None:
    out = tmp_path / "hot.gpkg"
    category = str(tiny["problems"]["category"].iloc[0])
    code, output = gridgeo("hotspots", "--problems", files["problems_gcj02"], "--out", out,
                           "--category", category, "--permutations", "9")  # fmt: skip
    assert code == 0, output
    problems = gpd.read_file(out, layer="problems")
    assert set(problems["category"]) == {category}
    want = tiny["problems"][tiny["problems"]["category"] == category]
    assert distances(problems, want).min() > OFF


@pytest.mark.parametrize("crs", ["bd09", None])
def test_lifecycle_converts_its_file_inputs(tmp_path, files, tiny, crs) -> None:
    out = tmp_path / "life.gpkg"
    code, output = gridgeo("lifecycle", "--problems", files["problems_bd09"],
                           "--grids", files["grids_bd09"], "--buildings", files["buildings_bd09"],
                           "--out", out, *(["--crs", crs] if crs else []))  # fmt: skip
    assert code == 0, output
    overdue = gpd.read_file(out, layer="overdue_problems")
    assert len(overdue) > 0
    want = tiny["problems"][tiny["problems"]["code"].isin(overdue["code"])]
    d = distances(overdue, want)
    assert (d.max() < SAME) if crs else (d.min() > OFF)


# -- export --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".csv", ".xlsx"])
def test_export_gcj02_writes_the_forward_conversion(tmp_path, tiny, suffix) -> None:
    url = _store(tmp_path, tiny)
    stored = _read(url, "buildings")
    path = tmp_path / f"buildings{suffix}"
    code, output = gridgeo("export", "buildings", path, "--crs", "gcj02", "--db", url)
    assert code == 0, output
    written = read_file(path).frame
    want = stored.assign(
        geometry=shapely.transform(stored.geometry.to_numpy(),
                                   lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))))  # fmt: skip
    assert distances(written, want).max() < 1e-9
    assert distances(written, stored).min() > OFF


@pytest.mark.parametrize("suffix", [".gpkg", ".csv"])
def test_export_gcj02_then_import_gcj02_gives_the_stored_geometries(tmp_path, tiny, suffix):
    url = _store(tmp_path, tiny)
    for layer in ("buildings", "problems"):
        code, output = gridgeo("export", layer, tmp_path / f"{layer}{suffix}", "--crs", "gcj02",
                               "--db", url)  # fmt: skip
        assert code == 0, output
    # another store whose buildings and problems lie elsewhere: the import must move them back
    moved = {k: v.assign(geometry=v.geometry.translate(0.01, 0.01)) if k in ("buildings",
             "problems") else v for k, v in tiny.items()}  # fmt: skip
    (tmp_path / "again").mkdir()
    again = _store(tmp_path / "again", moved)
    for layer in ("buildings", "problems"):
        code, output = gridgeo("import", layer, tmp_path / f"{layer}{suffix}", "--crs", "gcj02",
                               "--db", again)  # fmt: skip
        assert code == 0, output
        assert f"{len(tiny[layer]):,} updated" in output
        mm = 1e-8  # degrees: about a millimetre
        assert distances(_read(again, layer), _read(url, layer)).max() < mm


def test_export_of_a_layer_without_geometry_ignores_crs(tmp_path, tiny) -> None:
    url = _store(tmp_path, tiny)
    code, output = gridgeo("export", "members", tmp_path / "m.csv", "--crs", "bd09", "--db", url)
    assert code == 0, output
    assert len(pd.read_csv(tmp_path / "m.csv")) == len(tiny["members"])
