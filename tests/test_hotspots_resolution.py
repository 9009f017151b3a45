"""The default cells, chosen from the problems: the sample's planted hot spots show by default."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import shapely
from hotspot_frames import SAMPLE, sample_district
from typer.testing import CliRunner

from gridgeo.analysis.hotspots import hotspot_layers
from gridgeo.analysis.hotspots.resolution import auto_cells, cell_size_m
from gridgeo.cli import app
from gridgeo.synth import generate


def planted_bins(cells: gpd.GeoDataFrame, hotspots: list[dict]) -> list[int]:
    """The Gi* bin of the cell holding each planted hot spot's centre."""
    bins = []
    for spot in hotspots:
        inside = cells[shapely.contains(cells.geometry.array, shapely.Point(spot["center"]))]
        assert len(inside) == 1
        bins.append(int(inside["gi_bin"].iloc[0]))
    return bins


def test_the_default_cells_show_the_sample_s_three_planted_hotspots() -> None:
    problems, _, hotspots = sample_district()
    communities = gpd.read_file(SAMPLE, layer="communities")
    assert len(hotspots) == 3
    layers = hotspot_layers(problems, area=communities, permutations=99, timezone="Asia/Shanghai")
    cells = layers["cells"]
    assert cells.attrs["cells"] == "h3:10" and cells.attrs["cells_chosen"] is True
    assert planted_bins(cells, hotspots) == [3, 3, 3]  # hot spots at 99 % confidence


def test_h3_9_was_too_coarse_for_the_sample() -> None:
    """What the default was: two of three planted hot spots pale (90 %), one not at all."""
    problems, _, hotspots = sample_district()
    communities = gpd.read_file(SAMPLE, layer="communities")
    layers = hotspot_layers(
        problems, area=communities, cells="h3:9", permutations=99, timezone="Asia/Shanghai"
    )
    assert layers["cells"].attrs["cells_chosen"] is False
    assert max(planted_bins(layers["cells"], hotspots)) < 3


def test_a_small_town_gets_finer_cells_and_its_hot_spots_show() -> None:
    """200 problems: at h3:10 they occupy fewer than 30 cells, so the cells are finer."""
    town = generate("tiny", seed=1)
    problems, communities = town.layers["problems"], town.layers["communities"]
    assert auto_cells(problems) == "h3:11"
    layers = hotspot_layers(problems, area=communities, permutations=99, timezone="Asia/Shanghai")
    assert planted_bins(layers["cells"], town.defects["hotspots"]) == [3, 3]
    assert auto_cells(problems.iloc[:0]) == "h3:9"


def test_cell_sizes_in_metres() -> None:
    assert 170 < cell_size_m("h3:9", 121.44, 31.22) < 182  # H3's global average: 201 m
    assert 62 < cell_size_m("h3:10", 121.44, 31.22) < 70
    assert cell_size_m("square:250", 121.44, 31.22) == 250.0
    assert cell_size_m("grids", 121.44, 31.22) is None


def test_the_cli_chooses_the_cells_from_the_data_and_says_so(tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["hotspots", "--problems", str(SAMPLE), "--layer", "problems", "--area", str(SAMPLE)]
    out = tmp_path / "auto.gpkg"
    result = runner.invoke(app, [*common, "--permutations", "9", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: cells h3:10, hexagons with a side of about 66 m" in result.output
    assert len(gpd.read_file(out, layer="cells")) == 185  # the h3:10 cells of the sample
    assert "hot spots (99 % confidence)" in result.output and "not significant" in result.output
    given = runner.invoke(
        app, [*common, "--cells", "h3:9", "--permutations", "9", "--out", str(out)]
    )
    assert given.exit_code == 0 and "note: cells" not in given.output
    helped = runner.invoke(app, ["hotspots", "--help"], terminal_width=200)
    text = re.sub(r"[│\s]+", " ", helped.output)
    assert "auto (default): the coarsest H3 resolution 7–11 at which the selected" in text
