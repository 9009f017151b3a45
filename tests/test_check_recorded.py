"""Every result layer of the check and of the problem list on the sample, as recorded.

``tests/data/check_recorded.json`` holds, for each case and result layer, its columns,
dtypes, index, number of rows and a digest of its values (floats to 9 significant
digits, geometries as normalised WKT to 7 decimals). It was recorded from the check as
it stood before its steps were declared one by one, so a restructuring that changes a
layer, a column, a dtype or a value fails here and names the layer.

After a change of the outputs that is meant, record again::

    GRIDGEO_RECORD=1 .venv/bin/python -m pytest tests/test_check_recorded.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

RECORDED = Path(__file__).parent / "data" / "check_recorded.json"
SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
AS_OF = dt.date(2025, 5, 26)


def _cell(value: Any) -> str:
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkt(shapely.normalize(value), rounding_precision=7)
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return "<NA>"
    if isinstance(value, float | np.floating):
        return f"{float(value):.9g}"
    return str(value)


def digest(frame: pd.DataFrame) -> dict[str, Any]:
    """The shape of a frame and a digest of its values, to compare with a recorded one."""
    values = [[_cell(v) for v in frame[col].to_numpy(dtype=object)] for col in frame.columns]
    index = [_cell(v) for v in frame.index.to_numpy(dtype=object)]
    text = json.dumps([index, values], ensure_ascii=False)
    return {
        "type": type(frame).__name__,
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "rows": len(frame),
        "crs": str(frame.crs) if isinstance(frame, gpd.GeoDataFrame) else None,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def write_files(folder: Path) -> Path:
    """The sample's layers as one file each, as a planner has them, plus a faulty grids file."""
    for name, _ in pyogrio.list_layers(SAMPLE):
        frame = pyogrio.read_dataframe(SAMPLE, layer=name)
        pyogrio.write_dataframe(frame, folder / f"{name}.gpkg", layer=name)
    assignments = pyogrio.read_dataframe(folder / "assignments.gpkg")
    by_building = assignments[assignments["kind"] != "member_household"]
    pyogrio.write_dataframe(by_building, folder / "by_building.gpkg", layer="assignments")
    grids = pyogrio.read_dataframe(folder / "grids.gpkg")
    grids = pd.concat([grids, grids.iloc[[3]]], ignore_index=True)  # a code twice
    x0, y0, x1, y1 = grids.geometry.iloc[5].bounds
    grids.loc[5, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    pyogrio.write_dataframe(gpd.GeoDataFrame(grids, crs=4326), folder / "faulty.gpkg")
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("files"))


def cases(sample_frames: dict, files: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """The results of every recorded case."""
    from gridgeo.analysis.coverage import building_grid
    from gridgeo.analysis.lifecycle import lifecycle_results
    from gridgeo.check import Inputs, read_inputs, run_check

    layers = {k: v.drop(columns="_row", errors="ignore") for k, v in sample_frames.items()}
    problems = layers.pop("problems")
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)

    def from_files(grids: str, **extra: str) -> dict[str, pd.DataFrame]:
        read = read_inputs(
            grids=files / grids,
            buildings=files / "buildings.gpkg",
            extra={name: files / f"{file}.gpkg" for name, file in extra.items()},
        )
        return run_check(read, as_of=AS_OF, timezone="Asia/Shanghai")

    tz = "Asia/Shanghai"
    grids = inputs.grids
    placed = building_grid(inputs.buildings, grids)
    return {
        "sample": run_check(inputs, as_of=AS_OF, timezone=tz),
        "sample_new_york": run_check(inputs, as_of=AS_OF, timezone="America/New_York"),
        "files": from_files(
            "grids.gpkg",
            communities="communities",
            assignments="assignments",
            households="households",
            visits="visits",
        ),
        "files_households_from_counts": from_files("grids.gpkg", assignments="by_building"),
        "files_faulty_grids": from_files("faulty.gpkg", communities="communities"),
        "lifecycle": lifecycle_results(
            problems, grids=grids, building_grid=placed, as_of=AS_OF, timezone=tz
        ),
        "lifecycle_quarters": lifecycle_results(
            problems, grids=grids, building_grid=placed, as_of=AS_OF, freq="Q", timezone=tz
        ),
        "lifecycle_district_weeks": lifecycle_results(
            problems, as_of=AS_OF, freq="W", timezone="America/New_York"
        ),
    }


def test_every_result_layer_is_as_recorded(sample_frames: dict, files: Path) -> None:
    found = {
        case: {name: digest(frame) for name, frame in results.items()}
        for case, results in cases(sample_frames, files).items()
    }
    if os.environ.get("GRIDGEO_RECORD") == "1":
        RECORDED.parent.mkdir(exist_ok=True)
        RECORDED.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
        pytest.fail(f"recorded {RECORDED}; run again without GRIDGEO_RECORD")
    recorded = json.loads(RECORDED.read_text())
    assert list(found) == list(recorded)
    for case, layers in recorded.items():
        assert list(found[case]) == list(layers), case
        differ = [name for name, want in layers.items() if found[case][name] != want]
        details = {n: (found[case][n], layers[n]) for n in differ}
        assert not differ, f"{case}: {differ} differ from the recorded layers: {details}"
