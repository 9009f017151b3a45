"""``gridgeo check --folder``: a partitioned folder finds what its store finds.

The sample district in a store (SQLite and PostGIS), exported with ``gridgeo export
--format geoparquet``, is checked from the store and from the folder: every result
layer is equal (rows, values, geometries), and the CLI's workbook too. A folder with
files or a store, a folder that is not an export and one without buildings are
refused by name, without a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from roundtrip_helpers import gridgeo

from gridgeo.check import run_check
from gridgeo.check.inputs import inputs_from_folder, inputs_from_store
from gridgeo.store import open_store

AS_OF = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def exported(sample_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("check-folder") / "district"
    code, text = gridgeo("export", "--format", "geoparquet", out, "--db", sample_store_url)
    assert code == 0, text
    return out


def _equal(a: pd.DataFrame, b: pd.DataFrame, name: str) -> None:
    assert list(a.columns) == list(b.columns), name
    if hasattr(a, "geometry") and "geometry" in a.columns:
        assert_geodataframe_equal(a, b, check_less_precise=False)
    else:
        pd.testing.assert_frame_equal(a, b, obj=name)


def test_the_folder_finds_what_the_store_finds(sample_store_url: str, exported: Path) -> None:
    store = open_store(sample_store_url)
    try:
        from_store = run_check(inputs_from_store(store), as_of=AS_OF, timezone="Asia/Shanghai")
    finally:
        store.close()
    from_folder = run_check(inputs_from_folder(exported), as_of=AS_OF, timezone="Asia/Shanghai")
    assert set(from_store) == set(from_folder)
    assert len(from_store) >= 20
    for name in from_store:
        _equal(from_store[name], from_folder[name], name)
    assert from_store.skipped == from_folder.skipped
    assert len(from_store["visit_weeks"]) > 0 and len(from_store["unassigned_buildings"]) > 0


def test_the_cli_checks_a_folder_like_its_store(
    sample_store_url: str, exported: Path, tmp_path: Path
) -> None:
    args = ["check", "--as-of", AS_OF.isoformat(), "--lang", "en"]
    code, text = gridgeo(*args, "--folder", exported, "--out", tmp_path / "folder.gpkg")
    assert code == 0, text
    code, stored = gridgeo(*args, "--db", sample_store_url, "--out", tmp_path / "store.gpkg")
    assert code == 0, stored
    score = [line for line in text.splitlines() if "coverage score" in line]
    assert score and score == [line for line in stored.splitlines() if "coverage score" in line]
    a = pd.read_excel(tmp_path / "folder.xlsx", sheet_name=None)
    b = pd.read_excel(tmp_path / "store.xlsx", sheet_name=None)
    assert a.keys() == b.keys()
    for sheet in a:
        pd.testing.assert_frame_equal(a[sheet], b[sheet], obj=sheet)


def test_folders_that_cannot_be_checked_are_named(exported: Path, tmp_path: Path) -> None:
    out = ["--out", tmp_path / "x.gpkg"]
    code, text = gridgeo("check", "--folder", exported, "--db", "sqlite:///x.sqlite", *out)
    assert code == 1 and "--folder holds every layer" in text, text
    code, text = gridgeo("check", "--folder", exported, "--grids", exported, *out)
    assert code != 0 and "Traceback" not in text
    code, text = gridgeo("check", "--folder", tmp_path, *out)
    assert code == 1 and "gridgeo-parquet.json" in text, text
    partial = tmp_path / "partial"
    shutil.copytree(exported, partial)
    manifest = partial / "gridgeo-parquet.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    del data["layers"]["buildings"]
    manifest.write_text(json.dumps(data), encoding="utf-8")
    code, text = gridgeo("check", "--folder", partial, *out)
    assert code == 1 and "no buildings" in text, text
    assert "Traceback" not in text
    assert not (tmp_path / "x.gpkg").exists()
