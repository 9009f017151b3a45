"""The demo path and the generator through the command line, on both stores."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.layers import LAYER_ORDER
from gridgeo.settings import get_settings
from gridgeo.store import SQLiteStore, Store, open_store
from gridgeo.synth import generate

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
runner = CliRunner()


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_the_sample_district_loads_completely(store_url: str) -> None:
    code, out = gridgeo("load", SAMPLE, "--db", store_url)
    assert code == 0, out
    expected = {name: pyogrio.read_info(SAMPLE, layer=name)["features"] for name in LAYER_ORDER}
    store = open_store(store_url)
    try:
        assert store.counts() == expected
        problems = store.read_layer("problems")
        assert set(problems["status"]) == {"open", "resolved_on_site", "escalated", "closed"}
    finally:
        store.close()
    code, out = gridgeo("load", SAMPLE, "--db", store_url)
    assert code == 0
    assert f"{expected['visits']:,}" in out and "│        0 │       0 │" in out  # all unchanged


def test_synth_loads_a_district_into_the_store(store_url: str) -> None:
    code, out = gridgeo("synth", "--scale", "tiny", "--seed", "3", "--db", store_url)
    assert code == 0, out
    district = generate("tiny", seed=3)
    store = open_store(store_url)
    try:
        assert store.counts() == {name: len(f) for name, f in district.layers.items()}
        grids = store.read_layer("grids").set_index("code")
        want = district.layers["grids"].set_index("code")
        assert grids.geometry.geom_equals_exact(want.geometry, 1e-12).all()
    finally:
        store.close()


def test_synth_writes_a_geopackage_that_loads(tmp_path: Path) -> None:
    out_file = tmp_path / "tiny.gpkg"
    code, out = gridgeo("synth", "--scale", "tiny", "--out", out_file)
    assert code == 0, out
    assert {name for name, _ in pyogrio.list_layers(out_file)} == set(LAYER_ORDER)
    code, out = gridgeo("load", out_file, "--db", f"sqlite:///{tmp_path / 's.sqlite'}")
    assert code == 0, out


def test_synth_needs_an_output() -> None:
    code, out = gridgeo("synth", "--scale", "tiny")
    assert code != 0 and "--out" in out


def test_the_default_store_is_the_embedded_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRIDGEO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        store = open_store()
        assert isinstance(store, SQLiteStore)
        store.close()
        assert (tmp_path / "gridgeo.sqlite").exists()
        monkeypatch.setenv("GRIDGEO_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite'}")
        get_settings.cache_clear()
        code, out = gridgeo("info")
        assert code == 0 and "other.sqlite" in out
    finally:
        get_settings.cache_clear()


def test_db_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    head = Store.head()
    code, out = gridgeo("db", "upgrade", "--db", url)
    assert code == 0 and f"(empty) → {head}" in out
    code, out = gridgeo("db", "current", "--db", url)
    assert code == 0 and f"schema {head}, head {head}" in out


def test_unknown_layer_is_named() -> None:
    code, out = gridgeo("import", "roads", SAMPLE, "--db", "sqlite:///:memory:")
    assert code == 1 and "unknown layer 'roads'" in out and "grids" in out


def test_help_short_option_version_and_flags_without_a_value() -> None:
    code, text = gridgeo("--version")
    assert code == 0 and text.startswith("gridgeo ")
    for args in (["-h"], ["import", "-h"], ["fix", "grids", "-h"], ["token", "create", "-h"]):
        code, text = gridgeo(*args)
        assert code == 0 and "Usage:" in text, args
        assert "<bool>" not in text, args
    code, text = gridgeo("check", "-h")
    assert "default today" in " ".join(text.split())
