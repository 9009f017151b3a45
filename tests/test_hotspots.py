"""Problem hotspots end to end: all layers of the sample, as stored, and the CLI.

The statistics have their own test modules (``test_hotspots_<module>.py``, one per module
of ``gridgeo.analysis.hotspots``); this one runs :func:`hotspot_layers` as the CLI, the
service and the notebooks do.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from hotspot_frames import SAMPLE, sample_district
from typer.testing import CliRunner

from gridgeo.analysis.hotspots import hotspot_layers, select_problems
from gridgeo.cli import app
from gridgeo.settings import get_settings

runner = CliRunner()
#: the layers of :data:`CASES` on the sample, as the hotspot analysis wrote them before
#: its modules were split into a package (the split changed no value, no geometry)
EXPECTED = Path(__file__).resolve().parent / "data" / "hotspots_sample.gpkg"


def cases() -> dict[str, dict]:
    """Selections of the sample covering the options: H3 over the communities (as the
    service runs it), squares with a selection, and the grids as cells."""
    communities = gpd.read_file(SAMPLE, layer="communities")
    grids = gpd.read_file(SAMPLE, layer="grids")
    return {
        "district": {"area": communities, "cells": "h3:9"},
        "selection": {
            "area": communities,
            "cells": "square:300",
            "weights": "distance:500",
            "category": ["停车", "安全隐患"],
            "start": "2025-03-10",
            "end": "2025-05-20",
            "permutations": 199,
            "seed": 5,
            "inference": "permutation",
            "ties": "both",
            "bandwidth": "scott",
            "interval": "week",
        },
        "grids": {
            "cells": grids,
            "weights": "knn:4",
            "permutations": 99,
            "fdr": False,
            "bandwidth": 150.0,
            "interval": "day",
        },
    }


def sample_layers(case: str) -> dict[str, gpd.GeoDataFrame]:
    problems = gpd.read_file(SAMPLE, layer="problems")
    return hotspot_layers(problems, timezone="Asia/Shanghai", **cases()[case])


def write_layers(path: Path, case: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write the layers as ``{case}_{layer}`` into a GeoPackage, compactly."""
    for name, frame in layers.items():
        pyogrio.write_dataframe(
            frame, path, layer=f"{case}_{name}", layer_options={"SPATIAL_INDEX": "NO"}
        )
    with closing(sqlite3.connect(path)) as db:
        db.execute("VACUUM")


def write_expected(path: Path = EXPECTED) -> None:
    """Store the layers of every case anew (only where a change of results is meant)."""
    path.unlink(missing_ok=True)
    for case in cases():
        write_layers(path, case, sample_layers(case))


@pytest.mark.parametrize("case", ["district", "selection", "grids"])
def test_hotspot_layers_of_the_sample_are_the_stored_ones(case: str, tmp_path: Path) -> None:
    got_path = tmp_path / "got.gpkg"
    layers = sample_layers(case)
    assert list(layers) == ["cells", "lisa", "density", "emerging"]
    write_layers(got_path, case, layers)  # the same writer, so the same column types
    for name in layers:
        got = gpd.read_file(got_path, layer=f"{case}_{name}")
        want = gpd.read_file(EXPECTED, layer=f"{case}_{name}")
        # counts, classes, labels exactly; floats to 1e-5; vertices to 5e-7 degrees
        assert_geodataframe_equal(got, want, check_less_precise=True)
        text = [c for c in want.columns if want[c].dtype.kind in "iuOSTb" and c != "geometry"]
        pd.testing.assert_frame_equal(got[text], want[text], check_exact=True)


def test_hotspot_layers_on_the_sample() -> None:
    problems, grids, _ = sample_district()
    layers = hotspot_layers(
        problems, area=grids, cells="h3:10", category="安全隐患", permutations=99, interval="week"
    )
    assert list(layers) == ["cells", "lisa", "density", "emerging"]
    assert layers["cells"]["count"].sum() == (problems["category"] == "安全隐患").sum()
    for frame in layers.values():
        assert frame.crs.to_epsg() == 4326 and len(frame)
    cols = {"cell_id", "geometry", "count", "gi_z", "gi_p", "gi_p_sim", "gi_bin", "n_neighbors"}
    assert cols <= set(layers["cells"].columns)


# ------------------------------------------------------------------ CLI ----------------


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


LAYER_COLUMNS = {
    "cells": {"cell_id", "count", "gi_z", "gi_p", "gi_p_sim", "gi_bin", "n_neighbors"},
    "lisa": {"cell_id", "count", "lisa_i", "lisa_q", "lisa_p_sim", "lisa_cluster"},
    "density": {"level", "density_from", "density_to"},
    "emerging": {"cell_id", "count", "pattern", "label", "trend_z", "trend_p"},
}


def check_output(path: Path, *, from_file: bool = True) -> None:
    """The layers of a hotspots GeoPackage; from a problems file also ``problems``."""
    expected = {**LAYER_COLUMNS, **({"problems": {"code"}} if from_file else {})}
    assert {name for name, _ in pyogrio.list_layers(path)} == set(expected)
    for name, columns in expected.items():
        info = pyogrio.read_info(path, layer=name)
        assert columns <= set(info["fields"]), name
        assert info["crs"] == "EPSG:4326"


def test_cli_from_a_csv_with_a_bad_coordinate_and_a_bad_date(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 200
    table = pd.DataFrame(
        {
            "经度": 121.44 + rng.uniform(-0.005, 0.005, n),
            "纬度": 31.22 + rng.uniform(-0.005, 0.005, n),
            "类别": rng.choice(["停车", "噪音"], n),
            "created": [f"2025-0{1 + k % 6}-{1 + k % 27:02d} 10:00" for k in range(n)],
        }
    )
    table.loc[5, "经度"] = 512.3  # out of range: dropped and reported (CSV row 7)
    table.loc[9, "纬度"] = None  # missing: dropped and reported (CSV row 11)
    good = tmp_path / "problems.csv"
    table.to_csv(good, index=False)
    out = tmp_path / "hot.gpkg"
    code, output = gridgeo(
        "hotspots", "--problems", good, "--cells", "square:150", "--out", out,
        "--category", "停车", "--permutations", "99",
    )  # fmt: skip
    assert code == 0, output
    assert "1 rows dropped, coordinates out of longitude/latitude range (rows 7)" in output
    assert "1 rows dropped, missing coordinates (rows 11)" in output
    check_output(out)
    cells = gpd.read_file(out, layer="cells")
    kept = table.drop(index=[5, 9])
    assert cells["count"].sum() == (kept["类别"] == "停车").sum()
    assert len(gpd.read_file(out, layer="problems")) == cells["count"].sum()  # what was counted
    # a date that cannot be read stops everything and names the row
    table.loc[3, "created"] = "2025-13-45"
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    code, output = gridgeo("hotspots", "--problems", bad, "--out", tmp_path / "x.gpkg")
    assert code == 1
    assert "row 5" in output and "created" in output and "2025-13-45" in output
    assert not (tmp_path / "x.gpkg").exists()


def test_cli_from_the_sample_geopackage_and_named_columns(tmp_path: Path) -> None:
    out = tmp_path / "sample.gpkg"
    code, output = gridgeo(
        "hotspots", "--problems", SAMPLE, "--layer", "problems", "--area", SAMPLE,
        "--cells", "h3:10", "--from", "2025-03-01", "--to", "2025-05-31",
        "--interval", "week", "--permutations", "99", "--out", out,
    )  # fmt: skip
    assert code == 0, output
    assert "hot spots (99 % confidence)" in output and "2,000 problems" in output
    check_output(out)
    assert (gpd.read_file(out, layer="cells")["gi_bin"] == 3).sum() >= 3
    # the same points as a CSV with unusual column names, named with options
    p = gpd.read_file(SAMPLE, layer="problems")
    table = pd.DataFrame(
        {"E": p.geometry.x, "N": p.geometry.y, "when": p["reported_at"], "kind": p["category"]}
    )
    csv = tmp_path / "odd.csv"
    table.to_csv(csv, index=False)
    code, output = gridgeo(
        "hotspots", "--problems", csv, "--x", "E", "--y", "N", "--time-column", "when",
        "--category-column", "kind", "--category", "停车", "--cells", "h3:10",
        "--permutations", "0", "--out", tmp_path / "odd.gpkg",
    )  # fmt: skip
    assert code == 0, output
    assert f"{(p['category'] == '停车').sum():,} problems" in output


@pytest.mark.slow
def test_cli_from_a_store_with_grids_as_cells(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, output = gridgeo("load", SAMPLE, "--db", url)
    assert code == 0, output
    out = tmp_path / "grids.gpkg"
    code, output = gridgeo(
        "hotspots", "--db", url, "--cells", "grids", "--permutations", "99", "--out", out
    )
    assert code == 0, output
    check_output(out, from_file=False)
    cells = gpd.read_file(out, layer="cells")
    assert len(cells) == pyogrio.read_info(SAMPLE, layer="grids")["features"]
    assert cells["count"].sum() == 2000


def test_the_analysis_reads_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("an analysis function read the settings")

    monkeypatch.setattr("gridgeo.settings.get_settings", refuse)
    problems = gpd.read_file(SAMPLE, layer="problems")
    chosen = select_problems(problems, start="2025-04-01", end="2025-04-30")
    assert len(chosen) == len(select_problems(problems, start="2025-04-01", end="2025-04-30",
                                              timezone="Asia/Shanghai"))  # fmt: skip
    layers = hotspot_layers(chosen, cells="h3:8", permutations=9, interval="week")
    assert int(layers["cells"]["count"].sum()) == len(chosen)


def test_the_cli_takes_the_time_zone_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two problems at 23:30 UTC on 31 March (1 April in Shanghai), three on 10 April
    times = ["2025-03-31T23:30:00+00:00"] * 2 + ["2025-04-10T12:00:00+00:00"] * 3
    table = pd.DataFrame(
        {"lon": 121.44 + np.arange(5) * 1e-3, "lat": 31.22 + np.arange(5) * 1e-3, "time": times}
    )
    csv = tmp_path / "april.csv"
    table.to_csv(csv, index=False)
    april = ("--from", "2025-04-01", "--to", "2025-04-30", "--permutations", "0")
    for timezone, problems in (("Asia/Shanghai", 5), ("UTC", 3)):
        monkeypatch.setenv("GRIDGEO_TIMEZONE", timezone)
        get_settings.cache_clear()
        try:
            code, output = gridgeo(
                "hotspots", "--problems", csv, *april, "--out", tmp_path / f"{problems}.gpkg"
            )
        finally:
            monkeypatch.delenv("GRIDGEO_TIMEZONE")
            get_settings.cache_clear()
        assert code == 0, output
        assert f"{problems:,} problems" in output, (timezone, output)
