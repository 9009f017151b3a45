"""Malformed imports: each refused with a named error, never a traceback, the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from frames import district
from roundtrip_helpers import checksum, gridgeo, snapshot, store_frames

_BIG5 = "code,name,district\nC1,臺北社區,大安區\n"


def _cases(tmp: Path) -> list[tuple[str, str, Path, list[str], str]]:
    """(case, layer, file, extra options, text the error must contain)."""
    cases: list[tuple[str, str, Path, list[str], str]] = []

    def csv(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp / name
        path.write_bytes(text.encode(encoding))
        return path

    cases.append(
        (
            "long code",
            "members",
            csv("long.csv", f"code,name\n{'M' * 300},x\n"),
            [],
            "longer than 100",
        )
    )
    cases.append(
        (
            "huge int",
            "buildings",
            csv("huge.csv", "code,floors,wkt\nB1,9223372036854775808,\n"),
            [],
            "number outside",
        )
    )
    cases.append(
        (
            "int32 overflow",
            "meetings",
            csv("i32.csv", "code,grid,held_on,attendance\nMT1,C1-G1,2026-03-15,2147483648\n"),
            [],
            "number outside",
        )
    )
    cases.append(
        (
            "ambiguous date",
            "meetings",
            csv("amb.csv", "code,grid,held_on\nMT1,C1-G1,03/04/2025\n"),
            [],
            "ambiguous date",
        )
    )
    cases.append(
        (
            "bad date",
            "meetings",
            csv("bad.csv", "code,grid,held_on\nMT1,C1-G1,soon\n"),
            [],
            "unparseable date",
        )
    )
    cases.append(
        (
            "latitude 95",
            "households",
            csv("lat.csv", "code,building,lon,lat\nB1-1-101,B1,121.4,31.2\nB1-2-101,B1,121.4,95\n"),
            [],
            "row 3",
        )
    )
    cases.append(
        (
            "infinite lon",
            "households",
            csv("inf.csv", "code,building,lon,lat\nB1-1-101,B1,inf,31.2\n"),
            [],
            "not a number",
        )
    )
    cases.append(
        (
            "empty polygon",
            "communities",
            csv("emp.csv", "code,wkt\nC1,POLYGON EMPTY\n"),
            [],
            "empty geometry",
        )
    )
    cases.append(
        (
            "unclosed ring",
            "grids",
            csv("ring.csv", 'code,wkt\nC1-G1,"POLYGON((0 0,1 0,1 1))"\n'),
            [],
            "not a WKT geometry",
        )
    )
    cases.append(
        ("NUL in text", "members", csv("nul.csv", "code,name\nM1,a\x00b\n"), [], "not a CSV")
    )
    cases.append(
        (
            "bad forced encoding",
            "communities",
            csv("b5.csv", _BIG5, "big5"),
            ["--encoding", "utf-8"],
            "does not decode",
        )
    )
    cases.append(
        (
            "unknown encoding",
            "communities",
            csv("b5u.csv", _BIG5, "big5"),
            ["--encoding", "nope"],
            "unknown encoding",
        )
    )
    cases.append(("not text", "members", csv("bin.csv", "code\n\x00\x01\x02"), [], "not a CSV"))
    geo = tmp / "bad.geojson"
    geo.write_text('{"type": "FeatureCollection", "features": [')
    cases.append(("malformed GeoJSON", "grids", geo, [], "malformed JSON"))
    nested = tmp / "deep.geojson"
    nested.write_text("[" * 100_000)
    cases.append(("deep JSON", "grids", nested, [], "cannot read it as GeoJSON"))
    grids = district()["grids"]
    grids.to_file(tmp / "noprj.shp")
    (tmp / "noprj.prj").unlink()
    cases.append(("missing .prj", "grids", tmp / "noprj.shp", [], "no coordinate reference system"))
    nulls = grids.copy()
    nulls.loc[0, "geometry"] = None
    nulls.to_file(tmp / "null.gpkg")
    cases.append(("null geometry", "grids", tmp / "null.gpkg", [], "empty geometry"))
    mixed = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[shapely.Point(1, 1)], crs=4326)
    mixed.to_file(tmp / "pt.geojson", driver="GeoJSON")
    cases.append(("wrong type", "communities", tmp / "pt.geojson", [], "wrong geometry type"))
    (tmp / "fc.geojson").write_text(json.dumps({"type": "Feature"}))
    cases.append(("not a collection", "grids", tmp / "fc.geojson", [], "no code column"))
    return cases


def test_every_malformed_input_is_refused_by_name(store_url: str, tmp_path: Path) -> None:
    store_frames(store_url, district())
    before = checksum(snapshot(store_url))
    counts = {"tried": 0, "named": 0}
    for case, layer, path, options, expected in _cases(tmp_path):
        counts["tried"] += 1
        code, out = gridgeo(
            "import", layer, path, *options, "--db", store_url
        )  # raises on a traceback
        assert code != 0, f"{case}: accepted\n{out}"
        assert path.name in out or "error" in out, f"{case}: {out}"
        assert expected in out, f"{case}: {out}"
        counts["named"] += 1
        assert checksum(snapshot(store_url)) == before, f"{case}: the store changed"
    assert counts["named"] == counts["tried"] > 15


@pytest.mark.parametrize("encoding", ["gbk", "big5"])
def test_chinese_csv_encodings_are_detected_and_noted(
    store_url: str, tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "c.csv"
    text = (
        "code,name,district\nC1,臺北社區,大安區\n"
        if encoding == "big5"
        else "code,name,district\nC1,静安社区,静安区\n"
    )
    path.write_bytes(text.encode(encoding))
    code, out = gridgeo("import", "communities", path, "--db", store_url)
    assert code == 0, out
    assert (
        f"note: c.csv: text decoded as {'GBK' if encoding == 'gbk' else 'Big5'} (detected)" in out
    )
    name = snapshot(store_url)["communities"]["name"].iloc[0]
    assert name == text.splitlines()[1].split(",")[1]


def test_a_gbk_dbf_without_cpg_is_read(store_url: str, tmp_path: Path) -> None:
    frames = district()
    store_frames(store_url, {"communities": frames["communities"]})
    grids = frames["grids"]
    grids.to_file(tmp_path / "g.shp", encoding="gbk")
    for p in tmp_path.glob("g.cpg"):
        p.unlink()
    code, out = gridgeo("import", "grids", tmp_path / "g.shp", "--db", store_url)
    assert code == 0, out
    assert "text decoded as GBK" in out
    assert snapshot(store_url)["grids"]["name"].tolist() == ["第一网格", "第二网格"]


def test_a_day_month_order_can_be_given(store_url: str, tmp_path: Path) -> None:
    frames = district()
    store_frames(store_url, {k: frames[k] for k in ("communities", "grids")})
    path = tmp_path / "m.csv"
    path.write_text("code,grid,held_on\nMT1,C1-G1,03/04/2025\n")
    code, out = gridgeo("import", "meetings", path, "--date-format", "%d/%m/%Y", "--db", store_url)
    assert code == 0, out
    assert str(snapshot(store_url)["meetings"]["held_on"].iloc[0].date()) == "2025-04-03"


def _exchange_cases(good: Path, tmp: Path) -> list[tuple[str, Path, str]]:
    """(case, folder, text the error must contain): broken copies of a good export."""
    import shutil

    cases: list[tuple[str, Path, str]] = []

    def copy(name: str) -> Path:
        folder = tmp / name
        shutil.copytree(good, folder)
        return folder

    def manifest(folder: Path, change) -> None:
        path = folder / "gridgeo-parquet.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    folder = copy("nomanifest")
    (folder / "gridgeo-parquet.json").unlink()
    cases.append(("no manifest", folder, "no gridgeo-parquet.json"))
    folder = copy("notjson")
    (folder / "gridgeo-parquet.json").write_text("{", encoding="utf-8")
    cases.append(("manifest not JSON", folder, "the manifest is not JSON"))
    folder = copy("version")
    manifest(folder, lambda m: m.update(version=2))
    cases.append(("wrong version", folder, "format version 2 is not read"))
    folder = copy("format")
    manifest(folder, lambda m: m.update(format="something-else"))
    cases.append(("wrong format", folder, "not 'gridgeo-geoparquet'"))
    folder = copy("unknown")
    manifest(folder, lambda m: m["layers"].update(roads={"partitioned": False, "rows": 1}))
    cases.append(("unknown layer", folder, "unknown layer 'roads'"))
    folder = copy("missing")
    shutil.rmtree(folder / "visits")
    cases.append(("missing layer", folder, "layer 'visits' 2 rows, but it has no files"))
    folder = copy("rows")
    manifest(folder, lambda m: m["layers"]["buildings"].update(rows=3))
    cases.append(("row count", folder, "holds 2 rows, the manifest says 3"))
    folder = copy("corrupt")
    next((folder / "buildings").glob("part=*/part-0.parquet")).write_bytes(b"PAR1 garbage")
    cases.append(("corrupt parquet", folder, "cannot read it as Parquet"))
    folder = copy("truncated")
    path = next((folder / "households").glob("part=*/part-0.parquet"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    cases.append(("truncated parquet", folder, "cannot read it as Parquet"))
    folder = copy("crs")
    path = next((folder / "grids").glob("part=*/part-0.parquet"))
    gpd.read_parquet(path).to_crs(32651).to_parquet(path, schema_version="1.1.0")
    cases.append(("other CRS", folder, "not EPSG:4326"))
    folder = copy("badref")
    path = next((folder / "grids").glob("part=*/part-0.parquet"))
    grids = gpd.read_parquet(path)
    grids["community"] = "NOPE"
    grids.to_parquet(path, schema_version="1.1.0", write_covering_bbox=True)
    cases.append(("unknown reference", folder, "NOPE"))
    folder = copy("stray")
    (folder / "grids" / "part=C9").mkdir()
    shutil.copy(path, folder / "grids" / "part=C9" / "part-0.parquet")
    cases.append(("partition not in the manifest", folder, "partition 'C9' is not in the manifest"))
    (tmp / "empty").mkdir()
    cases.append(("empty folder", tmp / "empty", "no gridgeo-parquet.json"))
    cases.append(("a file alone", good / "communities" / "part-0.parquet", "is a file"))
    cases.append(("nothing there", tmp / "nosuch", "no such file or folder"))
    return cases


def test_every_malformed_exchange_folder_is_refused_by_name(store_url: str, tmp_path: Path) -> None:
    store_frames(store_url, district())
    good = tmp_path / "good"
    code, out = gridgeo("export", "--format", "geoparquet", good, "--db", store_url)
    assert code == 0, out
    before = checksum(snapshot(store_url))
    cases = _exchange_cases(good, tmp_path)
    for case, folder, expected in cases:
        code, out = gridgeo("import", folder, "--db", store_url)  # raises on a traceback
        text = " ".join(out.split())
        assert code != 0, f"{case}: accepted\n{out}"
        assert "error" in text, f"{case}: {out}"
        assert expected in text, f"{case}: {text}"
        assert checksum(snapshot(store_url)) == before, f"{case}: the store changed"
    code, out = gridgeo("import", good, "--db", store_url)
    assert code == 0 and "buildings: 2 rows read" in out, out
    assert len(cases) >= 15
