"""The library side of the thin commands: input selection of check, hotspots and lifecycle."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridgeo.check.run import check_inputs
from gridgeo.errors import ValidationError
from gridgeo.hotspot_run import HotspotSource, hotspot_inputs
from gridgeo.lifecycle_run import check_lifecycle_out, lifecycle_inputs
from gridgeo.store.areas import study_area

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"


class Layers:
    """A stand-in store: ``read_layer`` returns the frames it was given."""

    def __init__(self, **frames: gpd.GeoDataFrame) -> None:
        self.frames = frames
        self.read: list[str] = []

    def read_layer(self, layer: str, columns=None) -> gpd.GeoDataFrame:
        self.read.append(layer)
        return self.frames[layer]


def polygons(*geoms: shapely.Geometry | None) -> gpd.GeoDataFrame:
    codes = [f"X{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs=4326)


GRIDS = polygons(shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1))


def test_the_study_area_is_the_communities_that_have_a_polygon() -> None:
    store = Layers(communities=polygons(shapely.box(0, 0, 2, 1), None), grids=GRIDS)
    area = study_area(store)  # type: ignore[arg-type]
    assert area["code"].tolist() == ["X0"] and store.read == ["communities"]


def test_the_study_area_is_the_grids_when_no_community_has_a_polygon() -> None:
    store = Layers(communities=polygons(None), grids=GRIDS)
    assert study_area(store)["code"].tolist() == ["X0", "X1"]  # type: ignore[arg-type]


def test_a_problems_file_cannot_take_the_stores_grids_as_cells() -> None:
    source = HotspotSource(problems=SAMPLE, cells="grids")
    with pytest.raises(ValidationError, match="grids:FILE"):
        hotspot_inputs(source, timezone="Asia/Shanghai")


def test_grids_from_a_file_as_cells_are_read_and_no_area_is_guessed() -> None:
    source = HotspotSource(problems=SAMPLE, layer="problems", cells=f"grids:{SAMPLE}")
    inputs = hotspot_inputs(source, timezone="Asia/Shanghai")
    assert inputs.area is None and len(inputs.grids) and "code" in inputs.grids.columns
    assert len(inputs.points)


def test_check_needs_both_files_or_none() -> None:
    with pytest.raises(ValidationError, match="both"):
        check_inputs("sqlite:///:memory:", grids=SAMPLE)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"grids": SAMPLE, "problems": SAMPLE}, "both --grids and --buildings"),
        ({"grids": SAMPLE, "buildings": SAMPLE}, "give --problems"),
    ],
)
def test_lifecycle_files_go_together(files: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        lifecycle_inputs(**files)


def test_a_problems_file_alone_gives_the_district_level_only() -> None:
    inputs = lifecycle_inputs(problems=SAMPLE)
    assert inputs.grids is None and inputs.buildings is None and len(inputs.problems)


@pytest.mark.parametrize("name", ["list.xlsx", "list.GPKG", "list.csv"])
def test_lifecycle_writes_workbooks_geopackages_and_csv(name: str) -> None:
    check_lifecycle_out(Path(name))


def test_lifecycle_refuses_other_files() -> None:
    with pytest.raises(ValidationError, match=r"give a \.xlsx, \.gpkg or \.csv path"):
        check_lifecycle_out(Path("list.json"))
