"""Shapefile column names cut by the .dbf's 10-byte limit in the middle of a Chinese character.

``网格编号`` is 12 bytes in UTF-8: desktop GIS and GDAL keep ``网格编`` and one byte of
``号`` in the .dbf, which no longer decodes. Such files are read, and the cut names are
understood as the names they were cut from.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from frames import district
from roundtrip_helpers import gridgeo, snapshot, store_frames

from gridgeo.io.dbf import cut_name, repair_names

# GDAL's own warning on writing such a name does not decode either
pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _chinese_grids(tmp: Path, encoding: str = "UTF-8") -> Path:
    grids = district()["grids"]
    frame = gpd.GeoDataFrame(
        {
            "网格编号": grids["code"].astype(str),
            "名称": grids["name"].astype(str),
            "社区编号": grids["community"].astype(str),
        },
        geometry=grids.geometry.values,
        crs=grids.crs,
    )
    path = tmp / "网格.shp"
    frame.to_file(path, encoding=encoding)
    return path


def test_gdal_cuts_the_name_mid_character_and_cannot_read_it_back(tmp_path: Path) -> None:
    path = _chinese_grids(tmp_path)
    with pytest.raises(UnicodeDecodeError):
        pyogrio.read_info(path)


def test_cut_names_are_read_and_mapped_on_import(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    frames = district()
    store_frames(url, {"communities": frames["communities"]})
    path = _chinese_grids(tmp_path)
    code, out = gridgeo("import", "grids", path, "--db", url)
    assert code == 0, out
    assert "column names cut by the .dbf's 10-byte limit" in out
    assert "网格编\\xe5 as 网格编" in out
    stored = snapshot(url)["grids"].sort_values("code")
    assert stored["code"].tolist() == sorted(frames["grids"]["code"].astype(str))
    assert stored["name"].tolist() == ["第一网格", "第二网格"]


def test_cut_names_are_mapped_in_the_file_check(tmp_path: Path) -> None:
    path = _chinese_grids(tmp_path)
    buildings = district()["buildings"]
    gpd.GeoDataFrame(
        {"楼栋编号": buildings["code"].astype(str)},
        geometry=buildings.geometry.values,
        crs=buildings.crs,
    ).to_file(tmp_path / "楼栋.shp", encoding="UTF-8")
    out_path = tmp_path / "out.gpkg"
    code, out = gridgeo(
        "check",
        "--grids",
        path,
        "--buildings",
        tmp_path / "楼栋.shp",
        "--out",
        out_path,
        "--db",
        f"sqlite:///{tmp_path / 'w.sqlite'}",
    )
    assert code == 0, out
    assert "网格编 → code" in out and "楼栋编 → code" in out
    grids = pyogrio.read_dataframe(out_path, layer="building_grid")
    assert set(grids["building_id"]) == set(buildings["code"].astype(str))
    assert set(grids["grid_id"]) <= set(district()["grids"]["code"].astype(str))


def test_gbk_names_cut_mid_character_are_repaired(tmp_path: Path) -> None:
    src = tmp_path / "a.dbf"
    header = bytearray(32 + 32 * 2 + 1)
    header[8:10] = len(header).to_bytes(2, "little")
    name = "A网格编号号".encode("gbk")[:10]  # the last byte is half of 号
    header[32 : 32 + 10] = name
    header[64 : 64 + 4] = b"name"
    header[-1] = 0x0D
    src.write_bytes(bytes(header) + b"\x1a")
    fixed = repair_names(src, tmp_path / "b.dbf", "gbk")
    assert fixed == [(f"A网格编号\\x{name[-1]:02x}", "A网格编号")]
    assert (tmp_path / "b.dbf").read_bytes()[32:43] == "A网格编号".encode("gbk").ljust(11, b"\0")
    assert repair_names(tmp_path / "b.dbf", tmp_path / "c.dbf", "gbk") == []
    assert not (tmp_path / "c.dbf").exists()


@pytest.mark.parametrize(
    ("name", "encoding", "kept"),
    [
        ("网格编号", "utf-8", "网格编"),
        ("网格编号", "gbk", "网格编号"),
        ("所属社区编号", "gbk", "所属社区编"),
    ],
)
def test_cut_name(name: str, encoding: str, kept: str) -> None:
    assert cut_name(name, encoding) == kept
