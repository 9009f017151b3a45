"""Planner files name what they refer to, and QGIS shows what each field means.

The sample district is put in a SQLite store and checked with ``gridgeo check``
(Chinese, then English); the workbook must carry names beside codes, and every layer
of the GeoPackage a title and description for each field (``gpkg_data_columns``),
and the shape of the place it is about. ``gridgeo export`` GeoPackages too.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from pyogrio.raw import open_arrow
from typer.testing import CliRunner

from gridgeo.cli import app as cli
from gridgeo.store import open_store

pytestmark = [pytest.mark.slow]

AS_OF = dt.date(2026, 3, 9)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, sample_frames: dict) -> dict:
    folder = tmp_path_factory.mktemp("named")
    url = f"sqlite:///{folder / 'sample.sqlite'}"
    store = open_store(url)
    try:
        store.write_layers(sample_frames, source="sample_district.gpkg")
    finally:
        store.close()
    outs = {}
    for lang in ("zh", "en"):
        out = folder / lang / "check.gpkg"
        result = CliRunner().invoke(
            cli, ["check", "--db", url, "--as-of", str(AS_OF), "--lang", lang, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        outs[lang] = out
    return {"url": url, "out": outs, "folder": folder, "frames": sample_frames}


def _by_code(frame: pd.DataFrame, column: str) -> dict[str, str]:
    return dict(zip(frame["code"].astype(str), frame[column].astype(str), strict=True))


def _names_of(codes: object, by_code: dict[str, str]) -> str | None:
    if not isinstance(codes, str):
        return None
    return ",".join(by_code[c] for c in codes.split(","))


def _same(shown: pd.Series, expected: pd.Series) -> bool:
    return bool((shown.fillna("-") == expected.fillna("-")).all())


def test_the_workbook_has_names_beside_codes(checked: dict) -> None:
    frames = checked["frames"]
    grids, members = _by_code(frames["grids"], "name"), _by_code(frames["members"], "name")
    addresses = _by_code(frames["buildings"], "address")
    communities = _by_code(frames["communities"], "name")
    book = pd.read_excel(checked["out"]["zh"].with_suffix(".xlsx"), sheet_name=None, dtype=str)
    straddling = book["跨网格楼栋"]
    assert len(straddling)
    assert _same(straddling["楼栋地址"], straddling["楼栋编号"].map(addresses))
    assert _same(straddling["网格名称"], straddling["网格编号"].map(lambda v: _names_of(v, grids)))
    multi = book["多人负责楼栋"]
    assert len(multi) and _same(
        multi["党员姓名"], multi["党员"].map(lambda v: _names_of(v, members))
    )
    unassigned = book["无人负责楼栋"]
    assert _same(
        unassigned["兜底党员姓名"], unassigned["兜底"].map(lambda v: _names_of(v, members))
    )
    gaps = book["网格缝隙"]
    assert _same(gaps["相关网格名称"], gaps["相关网格"].map(lambda v: _names_of(v, grids)))
    leaders = book["无挂点领导社区"]
    assert len(leaders) and _same(leaders["社区名称"], leaders["社区编号"].map(communities))
    shares = book["网格走访率"]
    assert _same(shares["名称"], shares["编号"].map(grids))
    organisations = book["未包保网格的组织"]
    names = _by_code(frames["organisations"], "name")
    assert _same(organisations["组织名称"], organisations["组织编号"].map(names))


def _data_columns(path: Path) -> tuple[dict[str, dict[str, tuple[str, str]]], list[tuple]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, name, title, description FROM gpkg_data_columns"
        ).fetchall()
        extensions = conn.execute(
            "SELECT table_name, extension_name, scope FROM gpkg_extensions "
            "WHERE extension_name = 'gpkg_schema' ORDER BY table_name"
        ).fetchall()
    described: dict[str, dict[str, tuple[str, str]]] = {}
    for table, column, name, title, description in rows:
        assert name in (title, column)  # the alias, unless another column has the title
        described.setdefault(table, {})[column] = (title, description)
    return described, extensions


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_geopackage_field_has_a_title_and_description(checked: dict, lang: str) -> None:
    path = checked["out"][lang]
    described, extensions = _data_columns(path)
    assert extensions == [
        ("gpkg_data_column_constraints", "gpkg_schema", "read-write"),
        ("gpkg_data_columns", "gpkg_schema", "read-write"),
    ]
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    assert sorted(described) == sorted(layers)
    for layer in layers:
        fields = list(pyogrio.read_info(path, layer=layer)["fields"])
        assert sorted(described[layer]) == sorted(fields), layer
        for column, (title, description) in described[layer].items():
            assert title and description, (layer, column)
            if lang == "zh":
                assert CJK.search(title) and CJK.search(description), (layer, column, title)
            else:
                assert not CJK.search(title + description), (layer, column, title)
    assert described["overlaps"]["grid_a_name"][0] == (
        "网格甲名称" if lang == "zh" else "Grid A name"
    )
    # what GDAL, and so QGIS, reads: the title as the alias, the description as the comment
    for layer in layers:
        with open_arrow(path, layer=layer, use_pyarrow=True) as (_, reader):
            seen = {f.name: f.metadata or {} for f in reader.schema}
        for column, (title, description) in described[layer].items():
            meta = seen[column]
            assert meta[b"GDAL:OGR:comment"].decode() == description, (layer, column)
            assert meta.get(b"GDAL:OGR:alternative_name", b"").decode() in (title, ""), column
        with sqlite3.connect(path) as conn:
            names = dict(
                conn.execute(
                    "SELECT column_name, name FROM gpkg_data_columns WHERE table_name = ?",
                    (layer,),
                ).fetchall()
            )
        for column, name in names.items():
            alias = seen[column].get(b"GDAL:OGR:alternative_name")
            assert (alias or b"").decode() == ("" if name.lower() == column.lower() else name)
    with open_arrow(path, layer="unassigned_buildings", use_pyarrow=True) as (_, reader):
        alias = reader.schema.field("building_id").metadata[b"GDAL:OGR:alternative_name"]
    assert alias.decode() == ("楼栋编号" if lang == "zh" else "Building")


def test_geopackage_results_about_places_have_their_shapes(checked: dict) -> None:
    path = checked["out"]["zh"]
    frames = checked["frames"]
    summary = gpd.read_file(path, layer="summary_communities")
    assert summary.geometry.notna().all() and len(summary) == len(frames["communities"])
    polygons = frames["communities"].set_index("code").geometry
    for row in summary.itertuples():
        assert row.geometry.equals_exact(polygons[row.community], 1e-9), row.community
    for layer, key in (("visit_share_grids", "group"), ("visit_share_communities", "group"),
                       ("building_grid", "building_id")):  # fmt: skip
        frame = gpd.read_file(path, layer=layer)
        assert frame.geometry.notna().all() and len(frame), layer
        assert frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all(), layer
        assert frame[key].notna().all()


def test_export_geopackage_fields_are_titled_and_read_back(checked: dict) -> None:
    out = checked["folder"] / "export.gpkg"
    runner = CliRunner()
    for layer, lang in (("grids", "zh"), ("buildings", "en")):
        result = runner.invoke(
            cli, ["export", layer, str(out), "--lang", lang, "--db", checked["url"]]
        )
        assert result.exit_code == 0, result.output
    described, extensions = _data_columns(out)
    assert len(extensions) == 2
    assert described["grids"] == {
        "code": ("网格编号", "网格编号（社区编号在前）"),
        "name": ("网格名称", "网格名称"),
        "community": ("所属社区", "网格所属社区的编号"),
    }
    assert described["buildings"]["address"] == ("Address", "the building's address")
    fresh = f"sqlite:///{checked['folder'] / 'again.sqlite'}"
    result = runner.invoke(
        cli, ["import", "buildings", str(out), "--layer", "buildings", "--db", fresh]
    )
    assert result.exit_code == 0, result.output
    store = open_store(fresh)
    try:
        buildings = store.read_layer("buildings", geometry=False)
    finally:
        store.close()
    expected = checked["frames"]["buildings"]
    assert sorted(buildings["code"]) == sorted(expected["code"])
    assert _by_code(buildings, "address") == _by_code(expected, "address")


def test_each_layer_opens_in_qgis_as_one_map_layer_or_a_table(checked: dict) -> None:
    """Mixed polygons and multipolygons are written as multipolygons; finding layers about
    places are map layers even without rows; layers about people are attribute tables."""
    from gridgeo.check.output import MAP_LAYERS

    out = checked["out"]["zh"]
    kinds = dict(pyogrio.list_layers(out).tolist())
    assert kinds["summary_grids"] == "MultiPolygon"
    for name, kind in kinds.items():
        frame = pyogrio.read_dataframe(out, layer=name, read_geometry=kind is not None)
        if kind is None:
            assert name not in MAP_LAYERS or len(frame), name
            continue
        assert kind in ("Polygon", "MultiPolygon") or (kind == "Unknown" and frame.empty), name
        assert name in MAP_LAYERS or len(frame), name
    assert kinds["member_quota"] is None
