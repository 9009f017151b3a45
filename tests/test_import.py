"""`gridgeo import`: every supported format, and what bad input gets (on both stores)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from frames import district
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.layers import LAYER_ORDER
from gridgeo.store import open_store

runner = CliRunner()


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    store = open_store(url)
    try:
        return {name: store.read_layer(name, include_personal=True) for name in LAYER_ORDER}
    finally:
        store.close()


def assert_unchanged(url: str, before: dict[str, pd.DataFrame]) -> None:
    after = snapshot(url)
    for name in LAYER_ORDER:
        pd.testing.assert_frame_equal(
            pd.DataFrame(after[name]), pd.DataFrame(before[name]), check_dtype=False
        )


@pytest.fixture
def seeded(store_url: str, tmp_path: Path) -> str:
    """A store holding the hand-made district (communities through problems)."""
    store = open_store(store_url)
    store.write_layers(district())
    store.close()
    return store_url


def write_grids_gpkg(path: Path, **changes: object) -> Path:
    grids = district()["grids"]
    for key, value in changes.items():
        row, col = key.split("__")
        grids.loc[int(row), col] = value
    grids.to_file(path, layer="grids", driver="GPKG")
    return path


# -- formats --------------------------------------------------------------------------


def test_geopackage_geojson_and_shapefile_import(store_url: str, tmp_path: Path) -> None:
    frames = district()
    frames["communities"].to_file(tmp_path / "c.geojson", driver="GeoJSON")
    frames["grids"].to_file(tmp_path / "g.gpkg", layer="grids")
    frames["buildings"].to_file(tmp_path / "b.shp", encoding="utf-8")
    code, out = gridgeo("import", "communities", tmp_path / "c.geojson", "--db", store_url)
    assert code == 0, out
    assert "1 inserted" in out
    assert gridgeo("import", "grids", tmp_path / "g.gpkg", "--db", store_url)[0] == 0
    code, out = gridgeo("import", "buildings", tmp_path / "b.shp", "--db", store_url)
    assert code == 0, out
    store = open_store(store_url)
    grids = store.read_layer("grids")
    buildings = store.read_layer("buildings")
    store.close()
    assert grids["community"].tolist() == ["C1", "C1"]
    assert buildings["address"].fillna("-").tolist() == ["南京西路1号", "-"]
    assert buildings.geometry[0].equals(frames["buildings"].geometry[0])


def test_csv_with_lon_lat_and_local_times(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "visits.csv"
    csv.write_text(
        "visit_id,member_code,household_code,time,lng,lat,note\n"
        "V10,M1,B1-1-101,2026-04-01 10:30,121.4003,31.2003,走访\n"
        "V11,M1,B2-1-101,2026/04/02 09:00,,,\n",
        encoding="utf-8",
    )
    code, out = gridgeo("import", "visits", csv, "--db", seeded)
    assert code == 0, out
    store = open_store(seeded)
    visits = store.read_layer("visits").set_index("code")
    store.close()
    # local Shanghai time (UTC+8) stored as UTC
    assert visits.loc["V10", "visited_at"] == pd.Timestamp("2026-04-01 02:30", tz="UTC")
    assert visits.loc["V11", "visited_at"] == pd.Timestamp("2026-04-02 01:00", tz="UTC")
    assert visits.loc["V10", "geometry"].equals(shapely.Point(121.4003, 31.2003))
    assert visits.loc["V11", "geometry"] is None


def test_gb18030_csv_from_chinese_excel(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text("编号,姓名,角色,党组织\nM20,孙八,member,O1\n", encoding="gb18030")
    code, out = gridgeo("import", "members", csv, "--db", seeded)
    assert code == 0, out
    store = open_store(seeded)
    members = store.read_layer("members").set_index("code")
    store.close()
    assert members.loc["M20", "name"] == "孙八"
    assert members.loc["M20", "organisation"] == "O1"


def test_xlsx_assignments_with_excel_dates_and_kind_inferred(seeded: str, tmp_path: Path) -> None:
    xlsx = tmp_path / "assignments.xlsx"
    pd.DataFrame(
        {
            "code": ["A10", "A11"],
            "member": ["M1", None],
            "building": ["B2", None],
            "organisation": [None, "O1"],
            "grid": [None, "C1-G2"],
            "valid_from": [pd.Timestamp("2026-01-01"), "2026-02-01"],
            "valid_to": [None, "2026年12月31日"],
        }
    ).to_excel(xlsx, index=False, sheet_name="包保")
    code, out = gridgeo("import", "assignments", xlsx, "--db", seeded)
    assert code == 0, out
    store = open_store(seeded)
    got = store.read_layer("assignments").set_index("code")
    store.close()
    assert got.loc["A10", "kind"] == "member_building"
    assert got.loc["A11", "kind"] == "organisation_grid"
    assert got.loc["A11", "valid_to"] == pd.Timestamp("2026-12-31")


def test_csv_with_wkt_geometry_and_column_mapping(store_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "b.csv"
    csv.write_text(
        '楼栋编号,门牌,wkt\nX1,A路1号,"POLYGON((121.4 31.2,121.401 31.2,121.401 31.201,121.4 31.2))"\n',
        encoding="utf-8",
    )
    code, out = gridgeo(
        "import",
        "buildings",
        csv,
        "--map",
        "楼栋编号=code",
        "--map",
        "门牌=address",
        "--db",
        store_url,
    )
    assert code == 0, out
    store = open_store(store_url)
    b = store.read_layer("buildings")
    store.close()
    assert b["address"].tolist() == ["A路1号"]
    assert b.geometry[0].geom_type == "MultiPolygon"


def test_cgcs2000_gauss_kruger_is_reprojected(store_url: str, tmp_path: Path) -> None:
    # EPSG:4549: CGCS2000 3-degree Gauss-Kruger CM 120E (Shanghai); a 100 m square
    grids = gpd.GeoDataFrame(
        {"code": ["G1"]}, geometry=[shapely.box(633000, 3452000, 633100, 3452100)], crs=4549
    )
    grids.to_file(tmp_path / "gk.gpkg", layer="grids")
    code, out = gridgeo("import", "grids", tmp_path / "gk.gpkg", "--db", store_url)
    assert code == 0, out
    assert "reprojected from EPSG:4549" in out
    store = open_store(store_url)
    got = store.read_layer("grids")
    store.close()
    x, y = got.geometry[0].centroid.x, got.geometry[0].centroid.y
    assert 121.3 < x < 121.5 and 31.1 < y < 31.3
    area = got.to_crs(4549).area[0]
    assert area == pytest.approx(10_000, rel=1e-6)


def test_realdata_osm_pbf_import_with_where_and_two_id_columns(
    store_url: str, shared_data: Path
) -> None:
    pbf = shared_data / "liechtenstein_osm" / "liechtenstein-2013-08-03.osm.pbf"
    code, out = gridgeo(
        "import",
        "grids",
        pbf,
        "--layer",
        "multipolygons",
        "--where",
        "admin_level='8'",
        "--id-column",
        "osm_id,osm_way_id",
        "--db",
        store_url,
    )
    assert code == 0, out
    assert "11 inserted" in out


# -- what bad input gets ------------------------------------------------------------------


def test_shapefile_without_prj_asks_for_crs(seeded: str, tmp_path: Path) -> None:
    frames = district()
    path = tmp_path / "b.shp"
    frames["buildings"].to_file(path)
    path.with_suffix(".prj").unlink()
    before = snapshot(seeded)
    code, out = gridgeo("import", "buildings", path, "--db", seeded)
    assert code != 0
    assert "b.shp" in out and "no coordinate reference system" in out and "--crs 4326" in out
    assert_unchanged(seeded, before)
    code, out = gridgeo("import", "buildings", path, "--crs", "4326", "--db", seeded)
    assert code == 0, out


def test_invalid_polygon_is_reported_then_repaired(seeded: str, tmp_path: Path) -> None:
    bowtie = shapely.Polygon(
        [(121.40, 31.20), (121.401, 31.201), (121.401, 31.20), (121.40, 31.201)]
    )
    path = write_grids_gpkg(tmp_path / "g.gpkg", **{"1__geometry": bowtie})
    before = snapshot(seeded)
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code != 0
    assert (
        "g.gpkg layer 'grids' row 2 (C1-G2) column 'geometry': invalid polygon: Self-intersection"
        in out
    )
    assert "--repair" in out
    assert_unchanged(seeded, before)
    code, out = gridgeo("import", "grids", path, "--repair", "--db", seeded)
    assert code == 0, out
    assert "1 repaired" in out
    store = open_store(seeded)
    g = store.read_layer("grids").set_index("code").geometry["C1-G2"]
    store.close()
    assert g.is_valid and g.geom_type == "MultiPolygon" and len(g.geoms) == 2


def test_empty_and_wrong_type_geometries(seeded: str, tmp_path: Path) -> None:
    path = write_grids_gpkg(
        tmp_path / "g.gpkg",
        **{"0__geometry": shapely.Polygon(), "1__geometry": shapely.Point(121.4, 31.2)},
    )
    before = snapshot(seeded)
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code != 0
    assert "row 1 (C1-G1) column 'geometry': empty geometry" in out
    assert "row 2 (C1-G2) column 'geometry': wrong geometry type Point, expected a polygon" in out
    assert_unchanged(seeded, before)


def test_duplicate_codes_are_named_with_their_rows(seeded: str, tmp_path: Path) -> None:
    path = write_grids_gpkg(tmp_path / "g.gpkg", **{"1__code": "C1-G1"})
    before = snapshot(seeded)
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code != 0
    assert "duplicate code 'C1-G1' in rows 1, 2" in out
    assert_unchanged(seeded, before)


def test_unknown_references_are_named(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "households.csv"
    csv.write_text("code,building,unit\nH1,B1,1\nH2,B999,1\nH3,B998,2\n", encoding="utf-8")
    before = snapshot(seeded)
    code, out = gridgeo("import", "households", csv, "--db", seeded)
    assert code != 0
    assert (
        "households.csv layer 'households' row 3 (H2) column 'building': unknown building 'B999'"
        in out
    )
    assert "row 4 (H3)" in out
    assert_unchanged(seeded, before)


def test_unparseable_dates_name_the_rows(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "meetings.csv"
    csv.write_text(
        "code,grid,held_on\nMT5,C1-G1,2026-03-01\nMT6,C1-G1,next tuesday\nMT7,C1-G2,2026-13-45\n"
    )
    before = snapshot(seeded)
    code, out = gridgeo("import", "meetings", csv, "--db", seeded)
    assert code != 0
    assert (
        "row 3 (MT6) column 'held_on': unparseable date (value 'next tuesday'); write it like 2026-03-09"
        in out
    )
    assert "row 4 (MT7) column 'held_on': unparseable date (value '2026-13-45')" in out
    assert_unchanged(seeded, before)


def test_bad_values_in_choice_and_number_columns(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("code,role\nM30,boss\n")
    code, out = gridgeo("import", "members", csv, "--db", seeded)
    assert code != 0
    assert (
        "column 'role': unknown value (value 'boss'); use one of leader, member, cadre, grid_worker"
        in out
    )
    csv = tmp_path / "b.csv"
    csv.write_text("code,households,lon,lat\nB40,many,121.4,31.2\nB41,-2,121.4,31.2\n")
    code, out = gridgeo("import", "buildings", csv, "--db", seeded)
    assert code != 0
    assert "row 2 (B40) column 'households': not a whole number (value 'many')" in out
    assert "row 3 (B41) column 'households': must not be negative" in out


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("grids.gpkg", b"code,name\nG1,x\n", "is not a GeoPackage: its content looks like CSV"),
        (
            "grids.shp",
            b"PK\x03\x04" + b"\x00" * 100,
            "is not a Shapefile: its content looks like ZIP",
        ),
        ("grids.xlsx", b"SQLite format 3\x00" + b"\x00" * 100, "is not a Excel workbook"),
        ("grids.geojson", b"", "the file is empty"),
        ("grids.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "save it as .xlsx"),
    ],
)
def test_a_file_that_is_not_what_its_extension_says(
    seeded: str, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(seeded)
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code != 0
    assert name in out and expected in out
    assert_unchanged(seeded, before)


def test_malformed_geojson_points_at_the_line(seeded: str, tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [\n {"type": "Feature", }\n]}\n')
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code != 0
    assert "grids.geojson: cannot read it as GeoJSON: malformed JSON at line 3 column" in out


def test_reimport_is_idempotent_and_updates_in_place(seeded: str, tmp_path: Path) -> None:
    path = write_grids_gpkg(tmp_path / "g.gpkg")
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code == 0 and "0 inserted, 0 updated, 2 unchanged" in out
    path = write_grids_gpkg(tmp_path / "g2.gpkg", **{"0__name": "改名"})
    code, out = gridgeo("import", "grids", path, "--db", seeded)
    assert code == 0 and "0 inserted, 1 updated, 1 unchanged" in out
    assert snapshot(seeded)["grids"]["name"].tolist() == ["改名", "第二网格"]


def test_failed_import_leaves_the_store_exactly_as_before(seeded: str, tmp_path: Path) -> None:
    # 2 good rows (one of them an update) and a third that the database refuses
    csv = tmp_path / "p.csv"
    csv.write_text(
        "code,category,reported_at,status,resolved_at,closed_at\n"
        "P1,停车,2026-03-02 10:31,open,,\n"
        "P9,噪音,2026-03-02 10:31,open,,\n"
        "P10,噪音,2026-03-02 10:31,closed,2026-03-01 10:00,2026-03-03 10:00\n"
    )
    before = snapshot(seeded)
    code, out = gridgeo("import", "problems", csv, "--db", seeded)
    assert code != 0
    assert "row 4 (P10) column 'resolved_at': resolved_at is before reported_at" in out
    assert_unchanged(seeded, before)


def test_load_a_whole_geopackage_in_one_transaction(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    frames = district()
    for name, frame in frames.items():
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_file(path, layer=name)
        else:
            pyogrio.write_dataframe(frame, path, layer=name)
    code, out = gridgeo("load", path, "--db", store_url)
    assert code == 0, out
    store = open_store(store_url)
    assert store.counts() == {k: len(f) for k, f in frames.items()}
    store.close()
    code, out = gridgeo("info", "--db", store_url)
    assert code == 0 and "problems" in out


def test_export_leaves_out_personal_data(seeded: str, tmp_path: Path) -> None:
    for ext in ("gpkg", "csv", "xlsx", "geojson"):
        path = tmp_path / f"households.{ext}"
        code, out = gridgeo("export", "households", path, "--db", seeded)
        assert code == 0, out
        raw = path.read_bytes()
        if ext != "xlsx":
            assert "张三".encode() not in raw and b"13800000001" not in raw
        frame = (
            pd.read_excel(path)
            if ext == "xlsx"
            else gpd.read_file(path)
            if ext != "csv"
            else pd.read_csv(path)
        )
        assert "name" not in frame.columns and "phone" not in frame.columns
        assert len(frame) == 3
    code, _ = gridgeo(
        "export", "households", tmp_path / "all.csv", "--include-personal", "--db", seeded
    )
    assert code == 0 and "张三" in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")


def test_zipped_shapefile(store_url: str, tmp_path: Path) -> None:
    district()["communities"].to_file(tmp_path / "c.shp", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as zf:
        for p in tmp_path.glob("c.*"):
            if p.suffix != ".zip":
                zf.write(p, p.name)
    code, out = gridgeo("import", "communities", tmp_path / "c.zip", "--db", store_url)
    assert code == 0, out


def test_refused_import_exits_non_zero_from_the_shell(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "x.gpkg"
    bad.write_text("not a geopackage")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridgeo",
            "import",
            "grids",
            str(bad),
            "--db",
            f"sqlite:///{tmp_path}/s.sqlite",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "x.gpkg: the file is not a GeoPackage" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- real data (../shared/data) ------------------------------------------------------------


def test_realdata_capetown_shapefile_without_shx_or_prj(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    shp = shared_data / "capetown_buildings" / "buildings-capetown.shp"
    code, out = gridgeo("import", "buildings", shp, "--db", store_url)
    assert code != 0 and "no coordinate reference system" in out and "--crs 4326" in out
    code, out = gridgeo("import", "buildings", shp, "--crs", "4326", "--db", store_url)
    assert code != 0 and "--generate-ids" in out
    code, out = gridgeo(
        "import", "buildings", shp, "--crs", "4326", "--generate-ids", "CT-", "--db", store_url
    )
    assert code != 0
    assert out.count("invalid polygon: Ring Self-intersection") == 3
    assert "row 8006 (CT-8006)" in out
    store = open_store(store_url)
    assert store.counts()["buildings"] == 0
    store.close()
    args = (
        "import",
        "buildings",
        shp,
        "--crs",
        "4326",
        "--generate-ids",
        "CT-",
        "--repair",
        "--db",
        store_url,
    )
    code, out = gridgeo(*args)
    assert code == 0, out
    assert "11,053 inserted" in out and "3 repaired" in out and "no .shx" in out
    code, out = gridgeo(*args)
    assert code == 0 and "11,053 unchanged" in out
    store = open_store(store_url)
    b = store.read_layer("buildings")
    store.close()
    assert len(b) == 11_053 and b.is_valid.all()
    assert not shp.with_suffix(
        ".shx"
    ).exists()  # the .shx was rebuilt in a copy, not beside the data


def test_realdata_liechtenstein_municipalities_and_buildings(
    store_url: str, shared_data: Path
) -> None:
    pbf = shared_data / "liechtenstein_osm" / "liechtenstein-2013-08-03.osm.pbf"
    ids = ("--layer", "multipolygons", "--id-column", "osm_id,osm_way_id", "--db", store_url)
    assert gridgeo("import", "grids", pbf, "--where", "admin_level='8'", *ids)[0] == 0
    code, out = gridgeo("import", "buildings", pbf, "--where", "building IS NOT NULL", *ids)
    assert code == 0, out
    store = open_store(store_url)
    grids, buildings = store.read_layer("grids"), store.read_layer("buildings")
    store.close()
    assert len(grids) == 11 and len(buildings) == 3_723
    vaduz = grids.set_index("name").geometry["Vaduz"]
    assert len(vaduz.geoms) == 7
    inside = gpd.sjoin(buildings, grids, predicate="intersects", how="left")
    assert inside.loc[inside["index_right"].isna(), "code_left"].nunique() == 4


def test_realdata_shanghai_duplicate_osm_ids_are_refused_then_numbered(
    store_url: str, shared_data: Path
) -> None:
    geojson = shared_data / "shanghai_osm" / "shanghai_buildings.geojson"
    code, out = gridgeo("import", "buildings", geojson, "--db", store_url)
    assert code != 0
    assert "duplicate code '40778072' in rows 1, 19, 236" in out
    store = open_store(store_url)
    assert store.counts()["buildings"] == 0
    store.close()
    code, out = gridgeo("import", "buildings", geojson, "--generate-ids", "SH-", "--db", store_url)
    assert code == 0, out
    assert "1,572 inserted" in out


def test_a_point_with_only_one_coordinate_is_named(seeded: str, tmp_path: Path) -> None:
    csv = tmp_path / "visits.csv"
    csv.write_text(
        "code,member,household,visited_at,lon,lat\n"
        "V20,M1,B1-1-101,2026-04-01 10:30,121.4003,\n"
        "V21,M1,B1-1-101,2026-04-01 10:30,,\n"
    )
    code, out = gridgeo("import", "visits", csv, "--db", seeded)
    assert code != 0
    assert "row 2 column 'lat': only one of the two coordinates is given" in out
    assert "row 3" not in out


def test_column_names_a_shapefile_cut_to_ten_characters_are_read_back() -> None:
    from gridgeo.layers import get_layer
    from gridgeo.validate.columns import map_columns

    cut = ["code", "category", "descriptio", "reported_a", "responsibl", "escalated_"]
    mapped, unused = map_columns(cut, get_layer("problems"), {}, ())
    assert mapped["descriptio"] == "description" and mapped["reported_a"] == "reported_at"
    assert mapped["responsibl"] == "responsible" and mapped["escalated_"] == "escalated_at"
    assert unused == []


def test_required_columns_with_a_default_need_not_be_given(store_url: str, tmp_path: Path) -> None:
    """A members file without roles, an organisations file without kinds: new rows take the
    default, a re-import without the column keeps what is stored, an empty cell the default."""
    (tmp_path / "o.csv").write_text("编号,名称\nO1,第一党支部\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("编号,姓名\nM1,张三\nM2,李四\n", encoding="utf-8")
    assert gridgeo("import", "organisations", tmp_path / "o.csv", "--db", store_url)[0] == 0
    code, out = gridgeo("import", "members", tmp_path / "m.csv", "--db", store_url)
    assert code == 0, out
    (tmp_path / "r.csv").write_text("code,role\nM1,grid_worker\n", encoding="utf-8")
    assert gridgeo("import", "members", tmp_path / "r.csv", "--db", store_url)[0] == 0
    code, out = gridgeo("import", "members", tmp_path / "m.csv", "--db", store_url)
    assert code == 0 and "0 inserted, 0 updated, 2 unchanged" in out, out
    roles = snapshot(store_url)["members"].set_index("code")["role"].to_dict()
    assert roles == {"M1": "grid_worker", "M2": "member"}
    assert snapshot(store_url)["organisations"]["kind"].tolist() == ["partner_unit"]
    (tmp_path / "e.csv").write_text("code,role\nM1,\n", encoding="utf-8")
    assert gridgeo("import", "members", tmp_path / "e.csv", "--db", store_url)[0] == 0
    assert snapshot(store_url)["members"].set_index("code")["role"]["M1"] == "member"
