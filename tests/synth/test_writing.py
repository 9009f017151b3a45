"""Writing a district to a GeoPackage, and the committed sample district."""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3

import pyogrio
import pytest

from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.synth import District, write_gpkg, writing

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shapes" / "sample_district.gpkg"


def test_write_gpkg_round_trip(
    tiny: District, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "ROWS_PER_BATCH", 1000)  # several batches for the big layers
    path = tmp_path / "out" / "tiny.gpkg"
    path.parent.mkdir()
    path.write_bytes(b"not a geopackage")  # overwritten
    calls = []
    out = write_gpkg(tiny, path, progress=lambda *a: calls.append(a))
    assert out == path
    finished = {s: d for s, d, t in calls if d == t}
    assert finished == {f"writing {n}": len(tiny.layers[n]) for n in LAYER_ORDER}
    assert len([c for c in calls if c[0] == "writing visits"]) > 2  # batches
    layers = dict(pyogrio.list_layers(path).tolist())
    assert set(layers) == set(LAYER_ORDER)
    for name in LAYER_ORDER:
        assert (layers[name] or None) == LAYERS[name].geometry, name
        info = pyogrio.read_info(path, layer=name)
        assert info["features"] == len(tiny.layers[name])
        assert list(info["fields"]) == LAYERS[name].field_names
    with contextlib.closing(sqlite3.connect(path)) as con:
        sql = dict(con.execute("select name, sql from sqlite_master where type = 'table'"))
    assert '"held_on" DATE' in sql["meetings"]
    assert '"valid_to" DATE' in sql["assignments"]
    assert '"visited_at" DATETIME' in sql["visits"]
    back = pyogrio.read_dataframe(path, layer="problems")
    assert back.crs.to_epsg() == 4326
    assert back["code"].tolist() == tiny.layers["problems"]["code"].tolist()
    assert (back["reported_at"] == tiny.layers["problems"]["reported_at"]).all()
    assert back["closed_at"].isna().sum() == tiny.layers["problems"]["closed_at"].isna().sum()
    visits = pyogrio.read_dataframe(path, layer="visits")
    assert visits["code"].tolist() == tiny.layers["visits"]["code"].tolist()  # all batches
    assert visits.geometry.isna().sum() == tiny.layers["visits"].geometry.isna().sum()
    hh = pyogrio.read_dataframe(path, layer="households")
    assert hh.geometry.geom_equals_exact(tiny.layers["households"].geometry, 1e-9).all()


def test_bundled_sample_district() -> None:
    assert SAMPLE.exists(), (
        "run: write_gpkg(generate('sample', seed=42), 'shapes/sample_district.gpkg')"
    )
    assert SAMPLE.stat().st_size < 10 * 1024 * 1024
    layers = dict(pyogrio.list_layers(SAMPLE).tolist())
    assert set(layers) == set(LAYER_ORDER)
    for name in LAYER_ORDER:
        info = pyogrio.read_info(SAMPLE, layer=name)
        assert list(info["fields"]) == LAYERS[name].field_names, name
        assert info["features"] > 0
    assert 2500 <= pyogrio.read_info(SAMPLE, layer="buildings")["features"] <= 3500
    assert 30 <= pyogrio.read_info(SAMPLE, layer="grids")["features"] <= 40
