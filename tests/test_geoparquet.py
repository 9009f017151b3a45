"""The partitioned GeoParquet exchange format: each row once, in the partition the rule gives.

The rule (``gridgeo.io.geoparquet.RULE``, also in the manifest and the README): a grid
goes to its community; a building where the check's building → grid step puts it (the
grid holding most of its area), else to the nearest grid; households follow their
building, visits their household, meetings their grid, assignments and problems the
object they name, else their location; ties between grids go to the smaller
community code; the rest to ``__none__``.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from roundtrip_helpers import gridgeo, store_frames

from gridgeo.analysis.coverage import building_grid, metric_crs
from gridgeo.io.geoparquet import (
    MANIFEST,
    NONE,
    PARTITIONED,
    RULE,
    folder_name,
    partition_keys,
    read_layer_file,
)
from gridgeo.layers import LAYER_ORDER
from gridgeo.store import open_store
from gridgeo.synth import generate

A, B = "C01-G004", "C02-G003"  # two grids of the tiny district along the C01/C02 border


def _multi(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Valid polygons as one MultiPolygon (a cut reprojected can cross itself by 1e-15)."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    polys = [p for part in parts for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon([p for poly in polys for p in shapely.get_parts(poly)])


def _bordered() -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The tiny district with objects planted on the C01/C02 border.

    Along the border: an overlap 10 m deep (grid B reaching into grid A), further along
    a gap 10 m deep (grid A cut back), a building across the border (about 70 % in B), a
    building inside the overlap, one inside the gap, and a problem, a visit and an
    assignment known only by their location, their building or their community.
    """
    frames = {name: frame.copy() for name, frame in generate("tiny", seed=0).layers.items()}
    grids = frames["grids"]
    crs = metric_crs(grids)
    metric = grids.to_crs(crs).set_index("code").geometry
    a, b = metric[A], metric[B]
    border = a.boundary.intersection(b.boundary)
    assert border.length > 100, "the tiny district's C01/C02 border moved"
    middle = border.interpolate(0.5, normalized=True)
    strip = b.buffer(10).intersection(a).intersection(middle.buffer(40))
    far = border.interpolate(0.85, normalized=True)
    gap = b.buffer(10).intersection(far.buffer(30))  # reaching into B: no sliver left of A
    step = next((dx, dy) for dx, dy in ((3, 0), (-3, 0), (0, 3), (0, -3))
                if a.contains(shapely.Point(far.x + dx, far.y + dy)))  # fmt: skip
    in_gap = (
        shapely.Point(far.x + step[0], far.y + step[1]).buffer(1.5).intersection(gap.buffer(-0.5))
    )
    assert in_gap.area > 3
    # a 20 m square centred 4 m inside B, far from the overlap strip (built further along)
    along = border.interpolate(0.2, normalized=True)
    square = along.buffer(10, cap_style="square")
    shift = next((dx, dy) for dx, dy in ((4, 0), (-4, 0), (0, 4), (0, -4))
                 if b.contains(shapely.Point(along.x + dx, along.y + dy)))  # fmt: skip
    across = shapely.affinity.translate(square, *shift)
    inside_overlap = middle.buffer(3).intersection(strip.buffer(-0.5))
    assert inside_overlap.area > 5
    new_a, new_b = a.difference(gap), b.union(strip)
    to_4326 = lambda g: gpd.GeoSeries([g], crs=crs).to_crs(4326).iloc[0]  # noqa: E731
    at = grids.index[grids["code"] == B][0]
    grids.loc[at, "geometry"] = _multi(to_4326(new_b))
    at = grids.index[grids["code"] == A][0]
    grids.loc[at, "geometry"] = _multi(to_4326(new_a))
    buildings = frames["buildings"]
    planted = gpd.GeoDataFrame(
        {"code": ["BX-ACROSS", "BX-OVERLAP", "BX-GAP"], "address": ["across", "overlap", "gap"]},
        geometry=[_multi(to_4326(g)) for g in (across, inside_overlap, in_gap)],
        crs=4326,
    )
    frames["buildings"] = pd.concat([buildings, planted], ignore_index=True)
    where = to_4326(strip.representative_point())
    problems = frames["problems"]
    extra = problems.iloc[[0]].copy()
    extra["code"] = "PX-OVERLAP"
    for column in ("building", "household", "visit"):
        extra[column] = None
    extra["geometry"] = [where]
    frames["problems"] = pd.concat([problems, extra], ignore_index=True)
    visits = frames["visits"]
    extra = visits.iloc[[0]].copy()
    extra["code"] = "VX-B"
    extra["household"], extra["building"] = None, "BX-ACROSS"  # a building, no household
    frames["visits"] = pd.concat([visits, extra], ignore_index=True)
    assignments = frames["assignments"]
    extra = assignments.iloc[[0]].copy()
    extra["code"] = "AX-COMMUNITY"
    extra["kind"] = "cadre_community"
    for column in ("grid", "building", "household"):
        extra[column] = None
    extra["community"] = "C02"
    frames["assignments"] = pd.concat([assignments, extra], ignore_index=True)
    expected = {
        "BX-ACROSS": "C02" if b.intersection(across).area > 0.5 * across.area else "C01",
        "PX-OVERLAP": "C01",  # in both grids, distance 0: the smaller community code
        "VX-B": "C02",
        "BX-GAP": "C02",  # in no grid, nearest B (about 1.5 m; A is 5 m away or more)
        "AX-COMMUNITY": "C02",
    }
    assert b.intersection(across).area > 0.6 * across.area  # really across, mostly in B
    assert a.intersection(across).area > 0.2 * across.area
    return frames, expected


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("gp")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    frames, expected = _bordered()
    store_frames(url, frames)
    code, out = gridgeo(
        "export", "--format", "geoparquet", folder / "out", "--include-personal", "--db", url
    )
    assert code == 0, out
    return folder / "out", url, expected


def _dataset(folder: Path, layer: str) -> pd.DataFrame:
    """A layer read as Dask and pyarrow read it: Hive partitions, ``part`` from the folder."""
    data = ds.dataset(folder / layer, format="parquet", partitioning="hive")
    return data.to_table(columns=["code", "part"]).to_pandas()


def _store(url: str) -> dict[str, pd.DataFrame]:
    store = open_store(url)
    try:
        return {name: store.read_layer(name, include_personal=True) for name in LAYER_ORDER}
    finally:
        store.close()


def test_every_row_is_written_exactly_once(exported) -> None:
    folder, url, _ = exported
    stored = _store(url)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["rule"] == RULE and manifest["crs"] == "EPSG:4326"
    assert set(manifest["partitions"]) == {"C01", "C02"}
    for name in LAYER_ORDER:
        want = sorted(stored[name]["code"])
        assert manifest["layers"][name]["rows"] == len(want)
        if name in PARTITIONED:
            got = _dataset(folder, name)
            assert set(got["part"]) <= set(manifest["partitions"])
            files = sorted(folder.glob(f"{name}/part=*/part-0.parquet"))
            schemas = {pq.read_schema(p).remove_metadata() for p in files}
            assert len(files) >= 2 and len(schemas) == 1, name  # one dataset, one schema
        else:
            assert manifest["layers"][name]["partitioned"] is False
            got = pq.read_table(folder / name / "part-0.parquet").to_pandas()
        assert sorted(got["code"]) == want, name  # none lost, none twice


def test_the_files_are_geoparquet_1_1_with_a_bbox_covering(exported) -> None:
    folder, _, _ = exported
    for path in sorted(folder.glob("buildings/part=*/part-0.parquet")):
        schema = pq.read_schema(path)
        geo = json.loads(schema.metadata[b"geo"])
        assert geo["version"] == "1.1.0"
        column = geo["columns"]["geometry"]
        assert column["encoding"] == "WKB" and "bbox" in column["covering"]
        assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
        assert "part" not in schema.names  # the partition is the folder, not a column


def _parts(folder: Path, layer: str) -> dict[str, str]:
    got = _dataset(folder, layer)
    return dict(zip(got["code"], got["part"], strict=True))


def test_straddling_objects_land_where_the_rule_says(exported) -> None:
    folder, url, expected = exported
    stored = _store(url)
    parts = {name: _parts(folder, name) for name in PARTITIONED}
    assert parts["buildings"]["BX-ACROSS"] == expected["BX-ACROSS"] == "C02"
    assert parts["problems"]["PX-OVERLAP"] == "C01"
    assert parts["visits"]["VX-B"] == "C02"
    assert parts["assignments"]["AX-COMMUNITY"] == "C02"
    # every building where the check's building → grid step puts it
    grids = stored["grids"].set_index("code")
    placed = building_grid(stored["buildings"], stored["grids"])
    inside = placed.dropna(subset=["grid_id"])
    for code, grid in zip(inside["building_id"], inside["grid_id"], strict=True):
        assert parts["buildings"][code] == grids.loc[grid, "community"], code
    assert parts["buildings"]["BX-OVERLAP"] in ("C01", "C02")
    # a building in no grid: the nearest grid's community, measured here in metres
    outside = placed[placed["grid_id"].isna()]["building_id"].tolist()
    assert {"B000316", "BX-GAP"} <= set(outside)
    assert parts["buildings"]["BX-GAP"] == expected["BX-GAP"]
    crs = metric_crs(stored["grids"])
    metric = stored["grids"].to_crs(crs)
    for code in outside:
        geom = stored["buildings"].set_index("code").to_crs(crs).geometry[code]
        nearest = metric.iloc[metric.distance(geom).argmin()]
        assert parts["buildings"][code] == nearest["community"], code
    # households follow their building, visits their household, meetings their grid
    households = stored["households"]
    for code, building in zip(households["code"], households["building"], strict=True):
        assert parts["households"][code] == parts["buildings"][building]
    visits = stored["visits"].dropna(subset=["household"])
    for code, household in zip(visits["code"], visits["household"], strict=True):
        assert parts["visits"][code] == parts["households"][household]
    meetings = stored["meetings"]
    for code, grid in zip(meetings["code"], meetings["grid"], strict=True):
        assert parts["meetings"][code] == grids.loc[grid, "community"]
    problems = stored["problems"].dropna(subset=["building"])
    for code, building in zip(problems["code"], problems["building"], strict=True):
        assert parts["problems"][code] == parts["buildings"][building]


def test_ties_and_orphans_follow_the_rule() -> None:
    """Two grids of the same shape (a total overlap): the smaller community code wins."""
    square = shapely.MultiPolygon([shapely.box(121.40, 31.20, 121.401, 31.201)])
    grids = gpd.GeoDataFrame(
        {"code": ["G-B", "G-A", "G-X"], "community": ["C2", "C1", None]},
        geometry=[
            square,
            square,
            shapely.MultiPolygon([shapely.box(121.5, 31.2, 121.501, 31.201)]),
        ],
        crs=4326,
    )
    away = shapely.MultiPolygon([shapely.box(121.4012, 31.2002, 121.4013, 31.2003)])
    buildings = gpd.GeoDataFrame(
        {"code": ["B-IN", "B-AWAY", "B-FAR"]},
        geometry=[
            shapely.MultiPolygon([shapely.box(121.4002, 31.2002, 121.4003, 31.2003)]),
            away,
            shapely.MultiPolygon([shapely.box(121.5002, 31.2002, 121.5003, 31.2003)]),
        ],
        crs=4326,
    )
    households = pd.DataFrame({"code": ["H1", "H2"], "building": ["B-AWAY", "B-FAR"]})
    visits = gpd.GeoDataFrame(
        {
            "code": ["V1", "V2", "V3"],
            "household": ["H1", None, None],
            "building": [None, None, None],
        },
        geometry=[None, shapely.Point(121.4005, 31.2005), None],
        crs=4326,
    )
    problems = gpd.GeoDataFrame(
        {"code": ["P1", "P2"], "building": [None, None], "household": [None, None],
         "visit": ["V2", None]},
        geometry=[None, None],
        crs=4326,
    )  # fmt: skip
    meetings = pd.DataFrame({"code": ["M1"], "grid": ["G-X"]})
    keys = partition_keys(
        {"grids": grids, "buildings": buildings, "households": households, "visits": visits,
         "problems": problems, "meetings": meetings}
    )  # fmt: skip
    assert keys["grids"].tolist() == ["C2", "C1", NONE]
    # B-IN: in both grids, where the check's step puts it; B-AWAY: in none, equally near
    # both, the smaller code; B-FAR: in a grid of no community
    chosen = building_grid(buildings, grids)["grid_id"].iloc[0]
    assert keys["buildings"].tolist() == [{"G-A": "C1", "G-B": "C2"}[chosen], "C1", NONE]
    assert keys["households"].tolist() == ["C1", NONE]
    assert keys["visits"].tolist() == ["C1", "C1", NONE]  # V3: no reference, no location
    assert keys["problems"].tolist() == ["C1", NONE]
    assert keys["meetings"].tolist() == [NONE]


def test_codes_that_are_no_folder_names_are_encoded_and_read_back(tmp_path: Path) -> None:
    assert folder_name("C01") == "part=C01"
    frames, _ = _bordered()
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    frames["communities"].loc[0, "code"] = "C/01=零"
    for name in ("grids", "organisations", "members", "assignments"):
        frame = frames[name]
        frame.loc[frame["community"] == "C01", "community"] = "C/01=零"
    store_frames(url, frames)
    code, out = gridgeo("export", "--format", "geoparquet", tmp_path / "x", "--db", url)
    assert code == 0, out
    assert (tmp_path / "x" / "grids" / "part=C%2F01%3D零").is_dir()
    assert set(_dataset(tmp_path / "x", "grids")["part"]) == {"C/01=零", "C02"}
    other = f"sqlite:///{tmp_path / 't.sqlite'}"
    code, out = gridgeo("import", tmp_path / "x", "--db", other)
    assert code == 0, out
    assert "grids: 8 rows read" in out


def test_an_export_replaces_an_earlier_one_and_refuses_other_folders(
    exported, tmp_path: Path
) -> None:
    folder, url, _ = exported
    code, out = gridgeo("export", "--format", "geoparquet", folder, "--db", url)
    assert code == 0, out  # again into the same folder: replaced, nothing left over
    assert sorted(_dataset(folder, "buildings")["code"]) == sorted(_store(url)["buildings"]["code"])
    (folder / MANIFEST).unlink()  # an export stopped half-way: written over too
    code, out = gridgeo("export", "--format", "geoparquet", folder, "--db", url)
    assert code == 0 and (folder / MANIFEST).is_file(), out
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = gridgeo("export", "--format", "geoparquet", tmp_path, "--db", url)
    assert code == 1 and "holding other files" in out, out
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    code, out = gridgeo("export", "--format", "parquet", tmp_path / "y", "--db", url)
    assert code == 2 and "geoparquet" in out, out


def _text(out: str) -> str:
    """The output as one line, Rich's box left out."""
    return " ".join(out.replace("│", " ").split())


def test_options_of_one_file_are_refused_for_a_folder(exported) -> None:
    folder, url, _ = exported
    code, out = gridgeo("import", folder, "--where", "x=1", "--db", url)
    assert code == 2 and "applies to one file" in _text(out), out
    code, out = gridgeo("export", "--format", "geoparquet", folder, "--crs", "gcj02", "--db", url)
    assert code == 2 and "always in EPSG:4326" in _text(out), out
    code, out = gridgeo("export", "--format", "geoparquet", "grids", folder, "--db", url)
    assert code == 2 and "give only the folder" in _text(out), out
    code, out = gridgeo("export", "grids", "--db", url)
    assert code == 2 and "give the file to write" in _text(out), out


def test_a_folder_another_writer_made_reads_back(exported, tmp_path: Path) -> None:
    """Days as date32, times in another zone, a partition in two files: the same store."""
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc

    folder, url, _ = exported
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    for path in sorted(other.glob("meetings/part=*/part-0.parquet")):
        table = pq.read_table(path)
        i = table.schema.get_field_index("held_on")
        table = table.set_column(i, "held_on", pc.cast(table["held_on"], pa.date32()))
        pq.write_table(table.replace_schema_metadata(None), path)
    path = sorted(other.glob("visits/part=*/part-0.parquet"))[0]
    visits = gpd.read_parquet(path)
    visits["visited_at"] = visits["visited_at"].dt.tz_convert("Asia/Shanghai")
    half = len(visits) // 2
    visits.iloc[:half].to_parquet(path, schema_version="1.1.0", write_covering_bbox=True)
    visits.iloc[half:].to_parquet(path.with_name("part-1.parquet"), schema_version="1.1.0")
    code, out = gridgeo("import", other, "--db", url)
    assert code == 0, out
    lines = {line.split(":", 1)[0]: line for line in out.splitlines() if "rows read" in line}
    assert set(lines) == set(LAYER_ORDER), out
    for name in LAYER_ORDER:
        assert " 0 inserted, 0 updated," in lines[name], lines[name]


def test_files_read_as_geopandas_reads_them(exported) -> None:
    """The folder's reader decodes each GeoParquet file as ``geopandas.read_parquet`` does."""
    folder = exported[0]
    files = sorted(folder.glob("*/part=*/*.parquet")) + sorted(folder.glob("*/*.parquet"))
    geo = [p for p in files if b"geo" in (pq.read_schema(p).metadata or {})]
    assert len(geo) >= 10
    for path in geo:
        layer = path.relative_to(folder).parts[0]
        ours = read_layer_file(path, folder, layer)
        theirs = gpd.read_parquet(path)
        theirs = theirs.drop(columns=[c for c in ("part",) if c in theirs.columns])
        assert ours.crs == theirs.crs, path
        assert_geodataframe_equal(ours, theirs, check_less_precise=False)
