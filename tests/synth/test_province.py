"""A province of generated cities, written to partitioned GeoParquet by ``gridgeo synth``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.synth.province import MANIFEST, PARTITIONED, RULE, city_seed, write_province

runner = CliRunner()
SPATIAL = [name for name in LAYER_ORDER if LAYERS[name].geometry]


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    code, output = gridgeo(
        "synth", "--cities", "2", "--city-scale", "tiny", "--seed", "5", "--out", out
    )
    assert code == 0, output
    assert "province of 2 cities at tiny scale (seed 5), 4 partitions" in output
    return out


def _words(output: str) -> str:
    """The output's words, without the error panel's frame and line breaks."""
    return " ".join(output.replace("│", " ").split())


def _manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))


def _table(directory: Path, layer: str):
    partitioning = "hive" if layer in PARTITIONED else None
    return ds.dataset(directory / layer, format="parquet", partitioning=partitioning).to_table()


def test_the_manifest_states_the_format(province: Path) -> None:
    manifest = _manifest(province)
    assert manifest["format"] == "gridgeo-geoparquet"
    assert manifest["version"] == 1
    assert manifest["partition_key"] == "part"
    assert manifest["crs"] == "EPSG:4326"
    assert manifest["rule"] == RULE
    assert list(manifest["layers"]) == list(LAYER_ORDER)
    for name, layer in manifest["layers"].items():
        assert layer["partitioned"] is (name in PARTITIONED)
    communities = _table(province, "communities").column("code").to_pylist()
    assert manifest["partitions"] == sorted(communities)
    assert [code[:4] for code in manifest["partitions"]] == ["S01-", "S01-", "S02-", "S02-"]


def test_every_row_is_written_once_under_the_partition_the_rule_gives(province: Path) -> None:
    manifest = _manifest(province)
    tables = {name: _table(province, name) for name in LAYER_ORDER}
    codes = {}
    for name, table in tables.items():
        assert table.num_rows == manifest["layers"][name]["rows"] > 0, name
        assert table.column_names[: len(LAYERS[name].fields)] == LAYERS[name].field_names
        code = table.column("code").to_pylist()
        assert len(set(code)) == len(code), f"{name}: a code twice"
        codes[name] = set(code)
        if name in PARTITIONED:
            parts = set(table.column("part").to_pylist())
            assert parts <= set(manifest["partitions"]), name
            for fragment in ds.dataset(province / name, format="parquet").get_fragments():
                assert "part" not in fragment.physical_schema.names
    # every reference resolves inside the province
    for name, table in tables.items():
        for ref in LAYERS[name].refs:
            values = {v for v in table.column(ref.name).to_pylist() if v is not None}
            assert values <= codes[ref.ref], f"{name}.{ref.name}"
    part = {
        name: dict(zip(t.column("code").to_pylist(), t.column("part").to_pylist(), strict=True))
        for name, t in tables.items()
        if name in PARTITIONED
    }
    grids = tables["grids"]
    assert grids.column("part").to_pylist() == grids.column("community").to_pylist()
    households = tables["households"].to_pydict()
    for code, building in zip(households["code"], households["building"], strict=True):
        assert part["households"][code] == part["buildings"][building]
    meetings = tables["meetings"].to_pydict()
    for grid, where in zip(meetings["grid"], meetings["part"], strict=True):
        assert where == part["grids"][grid]
    visits = tables["visits"].to_pydict()
    for household, building, where in zip(
        visits["household"], visits["building"], visits["part"], strict=True
    ):
        assert where == (
            part["households"][household] if household else part["buildings"][building]
        )


def test_buildings_go_to_the_partition_of_their_grid(province: Path) -> None:
    from gridgeo.analysis.coverage.buildings import building_grid

    buildings = gpd.read_parquet(province / "buildings")
    grids = gpd.read_parquet(province / "grids")
    assigned = building_grid(buildings, grids)
    community = dict(zip(grids["code"], grids["community"], strict=True))
    inside = assigned["grid_id"].notna()
    assert inside.sum() >= len(buildings) - 2  # the building planted in each city's gap
    expected = assigned.loc[inside, "grid_id"].map(community)
    assert (buildings.loc[inside, "part"].astype(str) == expected).all()
    # a building in no grid goes to the nearest grid's community
    metric = grids.to_crs(32651)
    for row in buildings[~inside].to_crs(32651).itertuples():
        nearest = metric.geometry.distance(row.geometry).idxmin()
        assert row.part == grids.loc[nearest, "community"]


def test_spatial_files_are_geoparquet_1_1_with_a_bbox_covering(province: Path) -> None:
    for name in SPATIAL:
        files = sorted((province / name).rglob("*.parquet"))
        assert files, name
        for file in files:
            schema = pq.read_schema(file)
            geo = json.loads(schema.metadata[b"geo"])
            assert geo["version"] == "1.1.0"
            column = geo["columns"]["geometry"]
            assert column["encoding"] == "WKB"
            assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
            assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
            assert schema.field("geometry").type == "binary"
    for name in set(LAYER_ORDER) - set(SPATIAL):
        for file in (province / name).rglob("*.parquet"):
            assert b"geo" not in (pq.read_schema(file).metadata or {}), name


def test_the_cities_lie_apart(province: Path) -> None:
    hulls = []
    for prefix in ("S01-", "S02-"):
        geometries = []
        for name in SPATIAL:
            frame = gpd.read_parquet(province / name)
            mine = frame[frame["code"].astype(str).str.startswith(prefix)]
            assert len(mine), (name, prefix)
            geometries.append(mine.geometry.dropna().to_numpy())
        hulls.append(shapely.convex_hull(shapely.union_all(np.concatenate(geometries))))
    first, second = gpd.GeoSeries(hulls, crs=4326).to_crs(32651)
    assert first.distance(second) > 1000  # metres: the margin between cities
    assert len(set(gpd.read_parquet(province / "communities")["district"])) == 2


def test_the_same_seed_writes_the_same_province(province: Path, tmp_path: Path) -> None:
    again = write_province(tmp_path / "again", cities=2, city_scale="tiny", seed=5)
    assert again.rows == {n: layer["rows"] for n, layer in _manifest(province)["layers"].items()}
    for name in LAYER_ORDER:
        first = _table(province, name).sort_by("code")
        second = _table(tmp_path / "again", name).sort_by("code")
        assert first.equals(second), name
    # the first city does not depend on how many follow it
    write_province(tmp_path / "first", cities=1, city_scale="tiny", seed=5)
    for name in LAYER_ORDER:
        alone = _table(tmp_path / "first", name).sort_by("code")
        within = _table(province, name).sort_by("code")
        first_city = pc.starts_with(within.column("code"), "S01-")
        assert alone.equals(within.filter(first_city)), name
    other = write_province(tmp_path / "other", cities=1, city_scale="tiny", seed=6)
    first = _table(province, "buildings").filter(ds.field("code").isin(["S01-B000001"]))
    second = _table(tmp_path / "other", "buildings").filter(ds.field("code").isin(["S01-B000001"]))
    assert other.cities == 1
    assert first.column("geometry") != second.column("geometry")
    assert city_seed(5, 0) != city_seed(6, 0)


def test_a_second_run_replaces_an_earlier_province(tmp_path: Path) -> None:
    write_province(tmp_path, cities=2, city_scale="tiny", seed=1)
    smaller = write_province(tmp_path, cities=1, city_scale="tiny", seed=1)
    assert _table(tmp_path, "grids").num_rows == smaller.rows["grids"]
    assert sorted(p.name for p in (tmp_path / "communities").iterdir()) == ["part-0.parquet"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--cities", "0"], "a province has at least 1 city"),
        (["--scale", "province"], "give --out DIR"),
        (["--cities", "2", "--city-scale", "huge"], "'huge': one of tiny, sample, city"),
        (["--scale", "tiny", "--cities", "2"], "--cities is for a province"),
        (["--cities", "2", "--db", "sqlite:///x.sqlite"], "a province is not loaded"),
    ],
)
def test_bad_options_are_named_errors(tmp_path: Path, args: list[str], words: str) -> None:
    out = [] if "--scale" in args and "--cities" not in args else ["--out", tmp_path / "p"]
    code, output = gridgeo("synth", *args, *out)
    assert code == 2, output
    assert words in _words(output), output
    assert "Traceback" not in output
    assert not (tmp_path / "p").exists()


def test_a_directory_that_is_not_a_province_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    code, output = gridgeo("synth", "--cities", "1", "--city-scale", "tiny", "--out", tmp_path)
    assert code == 1, output
    assert "not empty and holds no gridgeo-parquet.json" in _words(output)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_library_names_bad_arguments(tmp_path: Path) -> None:
    from gridgeo.errors import ValidationError

    with pytest.raises(ValidationError, match="cities must be at least 1, got 0"):
        write_province(tmp_path, cities=0, city_scale="tiny")
    with pytest.raises(ValidationError, match="unknown city scale 'province'"):
        write_province(tmp_path, cities=1, city_scale="province")
    assert not any(tmp_path.iterdir())


def test_a_visit_that_references_nothing_goes_to_the_grid_nearest_its_point() -> None:
    import pyarrow as pa

    from gridgeo.errors import ValidationError
    from gridgeo.synth.province import _CityWriter
    from gridgeo.synth.province_parts import following

    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(200, 0, 300, 100)],
        crs=32651,
    ).to_crs(4326)
    writer = _CityWriter(Path("unused"), 0, None, grids=grids, parts={"grids": np.array([3, 7])})
    codes = {"households": pa.array(["H1"]), "buildings": pa.array(["B1"])}
    parts = {"households": np.array([5]), "buildings": np.array([6]), **writer.parts}
    points = [shapely.Point(50, 50), shapely.Point(290, 150), shapely.Point(160, 50), None]
    visits = gpd.GeoDataFrame(
        {
            "code": ["V1", "V2", "V3", "V4"],
            "household": [None, None, "H1", None],
            "building": [None, None, None, "B1"],
        },
        geometry=points,
        crs=32651,
    ).to_crs(4326)
    found = following("visits", visits, codes, parts, writer._located)
    assert found.tolist() == [3, 7, 5, 6]  # inside G1, nearest G2, its household, its building
    lost = visits.iloc[[0, 3]].assign(building=[None, None])
    with pytest.raises(ValidationError, match=r"visits: 1 rows reference nothing .*'V4'"):
        following("visits", lost, codes, parts, writer._located)


def test_the_importer_reads_a_province_and_puts_every_row_where_the_generator_did(
    province: Path, tmp_path: Path
) -> None:
    """One rule: the exchange format's own partition function agrees row by row."""
    from gridgeo.io.geoparquet import read_geoparquet
    from gridgeo.io.partitions import partition_keys

    read = read_geoparquet(province)
    keys = partition_keys(read.frames)
    for name in PARTITIONED:
        table = _table(province, name)
        codes, parts = table.column("code").to_pylist(), table.column("part").to_pylist()
        written = dict(zip(codes, parts, strict=True))
        frame = read.frames[name]
        ruled = dict(zip(frame["code"], keys[name], strict=True))
        assert ruled == written, name
    db = f"sqlite:///{tmp_path / 'province.sqlite'}"
    code, output = gridgeo("import", province, "--db", db)
    assert code == 0, output
    from gridgeo.store import open_store

    with open_store(db) as store:
        counts = store.counts()
    assert {name: counts[name] for name in LAYER_ORDER} == {
        name: layer["rows"] for name, layer in _manifest(province)["layers"].items()
    }
