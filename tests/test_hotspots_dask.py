"""Hotspots of a partitioned folder on a Dask cluster equal those of one process.

The sample district (4 communities) with a cluster of problems planted across the
C01/C02 border, so the hottest cell holds problems of two partitions, is exported as
partitioned GeoParquet. ``gridgeo hotspots --engine dask`` on a cluster of 2 worker
processes and the single-process run on the same folder give the same four layers
(rows, values, geometries), with and without a selection; Gi* finds the planted cell
in both. An engine it does not know, Dask without a folder and a scheduler that does
not answer are named errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from roundtrip_helpers import two_workers
from typer.testing import CliRunner

from gridgeo.analysis.coverage import metric_crs
from gridgeo.cli import app
from gridgeo.hotspot_run import HotspotSource, run_hotspots
from gridgeo.io.geoparquet import read_geoparquet, write_geoparquet
from gridgeo.synth import generate

distributed = pytest.importorskip("distributed")

TZ = "Asia/Shanghai"
PLANTED = 80


def _border(grids: gpd.GeoDataFrame) -> tuple[shapely.Point, str]:
    """The middle of the longest border between grids of C01 and C02 (metric), its CRS."""
    crs = metric_crs(grids)
    metric = grids.to_crs(crs)
    one, two = metric[metric["community"] == "C01"], metric[metric["community"] == "C02"]
    best = max(
        (a.boundary.intersection(b.boundary) for a in one.geometry for b in two.geometry),
        key=lambda line: line.length,
    )
    assert best.length > 100, "the sample's C01/C02 border moved"
    return best.interpolate(0.5, normalized=True), crs.to_string()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = {name: frame.copy() for name, frame in generate("sample", seed=42).layers.items()}
    middle, crs = _border(frames["grids"])
    rng = np.random.default_rng(7)
    xy = np.column_stack([middle.x, middle.y]) + rng.normal(0, 25, size=(PLANTED, 2))
    points = gpd.GeoSeries(shapely.points(xy), crs=crs).to_crs(4326)
    problems = frames["problems"]
    extra = problems.iloc[np.arange(PLANTED) % len(problems)].copy()
    extra["code"] = [f"PX-{i:03d}" for i in range(PLANTED)]
    for column in ("building", "household", "visit"):
        if column in extra.columns:
            extra[column] = None
    extra["geometry"] = points.to_numpy()
    frames["problems"] = pd.concat([problems, extra], ignore_index=True)
    out = tmp_path_factory.mktemp("hotspots-dask") / "district"
    write_geoparquet(frames, out)
    return out


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A cluster of 2 worker processes, one thread each, for the module."""
    with two_workers() as address:
        yield address


def _both(folder: Path, scheduler: str, tmp_path: Path, **options) -> tuple[dict, dict]:
    source = HotspotSource(problems=folder, cells="h3:10")
    common = {"permutations": 199, "seed": 3, "timezone": TZ, **options}
    one = run_hotspots(source, tmp_path / "one.gpkg", **common).layers
    dask = run_hotspots(
        source, tmp_path / "dask.gpkg", engine="dask", scheduler=scheduler, **common
    ).layers
    return one, dask


def test_the_planted_cluster_straddles_two_partitions(folder: Path) -> None:
    read = read_geoparquet(folder, layers=("problems",))
    assert len(read.frames["problems"]) == 2000 + PLANTED
    parts = {
        p.parent.name
        for p in (folder / "problems").glob("part=*/*.parquet")
        if pd.read_parquet(p, columns=["code"])["code"].str.startswith("PX-").any()
    }
    assert {"part=C01", "part=C02"} <= parts


def test_dask_equals_one_process_on_every_layer(
    folder: Path, scheduler: str, tmp_path: Path
) -> None:
    one, dask = _both(folder, scheduler, tmp_path)
    assert set(one) == set(dask) == {"cells", "lisa", "density", "emerging"}
    for name in one:
        assert len(one[name]) > 0, name
        assert_geodataframe_equal(one[name], dask[name], check_less_precise=False)
    assert one["cells"].attrs == dask["cells"].attrs
    assert one["cells"].attrs["problems"] == 2000 + PLANTED
    # the hottest cell is the planted one, on the border, at 99 % in both runs
    middle, crs = _border(generate("sample", seed=42).layers["grids"])
    at = gpd.GeoSeries([middle], crs=crs).to_crs(4326).iloc[0]
    hit = one["cells"][one["cells"].geometry.contains(at)]
    assert len(hit) == 1 and int(hit["gi_bin"].iloc[0]) == 3
    assert int(hit["count"].iloc[0]) >= PLANTED // 2
    assert (dask["cells"].loc[hit.index, "gi_bin"] == 3).all()


def test_a_selection_runs_on_the_workers_with_the_same_result(
    folder: Path, scheduler: str, tmp_path: Path
) -> None:
    frames = read_geoparquet(folder, layers=("problems",)).frames["problems"]
    category = frames["category"].value_counts().index[0]
    one, dask = _both(
        folder, scheduler, tmp_path, category=[category], start="2025-01-01", end="2025-12-31"
    )
    for name in one:
        assert_geodataframe_equal(one[name], dask[name], check_less_precise=False)
    chosen = one["cells"].attrs["problems"]
    assert 0 < chosen < len(frames)


def test_the_cli_runs_on_its_own_local_cluster(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.gpkg"
    args = ["hotspots", "--problems", str(folder), "--cells", "h3:10", "--permutations", "99"]
    r = CliRunner().invoke(app, [*args, "--engine", "dask", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "written to" in r.output and "problems" not in r.output.split("layers")[-1]
    local = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "local.gpkg")])
    assert local.exit_code == 0, local.output
    for layer in ("cells", "emerging"):
        a = gpd.read_file(out, layer=layer)
        b = gpd.read_file(tmp_path / "local.gpkg", layer=layer)
        assert_geodataframe_equal(a, b, check_less_precise=False)


def test_engines_and_schedulers_that_cannot_run_are_named(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    out = ["--out", str(tmp_path / "x.gpkg")]
    r = runner.invoke(app, ["hotspots", "--problems", str(folder), "--engine", "spark", *out])
    assert r.exit_code == 2 and "--engine" in r.output and "dask" in r.output
    r = runner.invoke(
        app, ["hotspots", "--problems", "shapes/sample_district.gpkg", "--engine", "dask", *out]
    )
    assert r.exit_code == 1 and "partitioned folder" in r.output, r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["hotspots", "--problems", str(folder), "--scheduler", "x", *out])
    assert r.exit_code == 2 and "--engine dask" in r.output
    monkeypatch.setattr("gridgeo.cluster.CONNECT_TIMEOUT", 2)
    r = runner.invoke(
        app,
        ["hotspots", "--problems", str(folder), "--engine", "dask",
         "--scheduler", "tcp://127.0.0.1:9", *out],
    )  # fmt: skip
    assert r.exit_code == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "x.gpkg").exists()
