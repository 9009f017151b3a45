"""The storage suite: every test runs on the embedded SQLite store and on PostGIS."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from frames import district, mp
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from sqlalchemy.orm import Session

from gridgeo.errors import StoreError, ValidationError
from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.schema import Base, Grid
from gridgeo.store import PostGISStore, SQLiteStore, Store, make_engine, open_store


def assert_layer_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    if isinstance(want, gpd.GeoDataFrame):
        assert_geodataframe_equal(got, want, check_dtype=True, check_index_type=False)
    else:
        assert_frame_equal(got, want, check_dtype=True, check_index_type=False)


def test_new_store_is_empty_and_at_head(store: Store) -> None:
    assert store.revision() == Store.head()
    assert store.counts() == dict.fromkeys(LAYER_ORDER, 0)


def test_every_layer_round_trips_unchanged(store: Store) -> None:
    frames = district()
    results = store.write_layers(frames)
    assert {k: r.inserted for k, r in results.items()} == {k: len(f) for k, f in frames.items()}
    for name, want in frames.items():
        got = store.read_layer(name, include_personal=True)
        assert_layer_equal(got, want)


def test_writing_the_same_data_twice_changes_nothing(store: Store) -> None:
    frames = district()
    store.write_layers(frames)
    again = store.write_layers(frames)
    assert all(r.inserted == 0 and r.updated == 0 for r in again.values())
    assert {k: r.unchanged for k, r in again.items()} == {k: len(f) for k, f in frames.items()}
    assert store.counts() == {k: len(f) for k, f in frames.items()}


def test_data_version_counts_committed_changes_only(store: Store) -> None:
    assert store.data_version() == 0
    frames = district()
    store.write_layers(frames)
    assert store.data_version("grids") == 1
    assert store.data_version() == len(frames)
    store.write_layers(frames)  # nothing changed: no new version
    assert store.data_version() == len(frames)
    grids = frames["grids"].copy()
    grids.loc[1, "name"] = "新名字"
    store.write_layer("grids", grids)
    assert store.data_version("grids") == 2
    assert store.data_version("buildings") == 1
    bad = frames["grids"].copy()
    bad.loc[0, "community"] = "NO-SUCH-COMMUNITY"
    with pytest.raises(ValidationError):
        store.write_layer("grids", bad)
    assert store.data_version("grids") == 2  # a refused write counts nothing


def test_a_changed_row_is_updated_in_place(store: Store) -> None:
    frames = district()
    store.write_layers(frames)
    grids = frames["grids"].copy()
    grids.loc[1, "name"] = "新名字"
    grids.loc[1, "geometry"] = mp((121.401, 31.2, 121.4025, 31.201))
    result = store.write_layer("grids", grids)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    got = store.read_layer("grids")
    assert got.loc[1, "name"] == "新名字"
    assert got.geometry[1].equals(grids.geometry[1])
    assert len(got) == 2


def test_personal_data_stays_out_unless_asked_for(store: Store) -> None:
    store.write_layers(district())
    households = store.read_layer("households")
    assert "name" not in households and "phone" not in households
    members = store.read_layer("members")
    assert "phone" not in members and "name" in members  # member names are not personal data here
    full = store.read_layer("households", include_personal=True)
    assert full["name"].fillna("-").tolist() == ["张三", "李四", "-"]


def test_bbox_returns_only_intersecting_features(store: Store) -> None:
    store.write_layers(district())
    west = store.read_layer("grids", bbox=(121.4001, 31.2001, 121.4005, 31.2005))
    assert west["code"].tolist() == ["C1-G1"]
    both = store.read_layer("buildings", bbox=(121.39, 31.19, 121.41, 31.21))
    assert both["code"].tolist() == ["B1", "B2"]
    assert len(store.read_layer("grids", bbox=(0, 0, 1, 1))) == 0
    with pytest.raises(ValidationError, match="has no geometry"):
        store.read_layer("members", bbox=(0, 0, 1, 1))


def test_unknown_reference_names_row_and_column_and_writes_nothing(store: Store) -> None:
    frames = district()
    store.write_layers({k: frames[k] for k in ("communities", "grids")})
    bad = frames["buildings"].copy()
    households = frames["households"].copy()
    households.loc[2, "building"] = "B404"
    with pytest.raises(ValidationError) as info:
        store.write_layers({"buildings": bad, "households": households}, source="hh.csv")
    issue = info.value.issues[0]
    assert (issue.file, issue.row, issue.column, issue.key) == ("hh.csv", 3, "building", "B2-1-101")
    assert "unknown building 'B404'" in str(info.value)
    # all or nothing: the buildings of the same call were not written either
    assert store.counts()["buildings"] == 0
    assert store.counts()["grids"] == 2


def test_a_refused_row_rolls_back_the_whole_write(store: Store) -> None:
    frames = district()
    store.write_layers(frames)
    before = {name: store.read_layer(name, include_personal=True) for name in LAYER_ORDER}
    problems = frames["problems"].copy()
    problems.loc[1, "status"] = "closed"  # closed without closed_at: a CHECK refuses it
    grids = frames["grids"].copy()
    grids.loc[0, "name"] = "changed"
    with pytest.raises(ValidationError, match="refused"):
        store.write_layers({"grids": grids, "problems": problems})
    for name in LAYER_ORDER:
        assert_layer_equal(store.read_layer(name, include_personal=True), before[name])


def test_duplicate_codes_in_one_write_are_refused(store: Store) -> None:
    grids = district()["grids"]
    grids.loc[1, "code"] = "C1-G1"
    with pytest.raises(ValidationError, match=r"code 'C1-G1' appears in rows 1, 2"):
        store.write_layers({"communities": district()["communities"], "grids": grids})
    assert store.counts()["communities"] == 0


@pytest.mark.parametrize(
    ("layer", "column", "value"),
    [
        ("members", "role", "boss"),
        ("buildings", "households", -1),
        ("assignments", "valid_to", pd.Timestamp("2025-01-01")),
        ("assignments", "grid", "C1-G2"),  # a member_building assignment with a grid too
    ],
)
def test_database_constraints_hold_the_rules(
    store: Store, layer: str, column: str, value: object
) -> None:
    frames = district()
    frame = frames[layer].copy()
    row = 1 if layer == "assignments" else 0
    frame.loc[row, column] = value
    frames[layer] = frame
    with pytest.raises(ValidationError, match="refused"):
        store.write_layers(frames)
    assert sum(store.counts().values()) == 0


def test_orm_reads_and_writes_shapely_geometries(store: Store) -> None:
    with Session(store.engine) as session:
        session.add(Grid(code="G9", name="orm", geom=mp((1, 1, 2, 2))))
        session.commit()
    with Session(store.engine) as session:
        grid = session.scalars(sa.select(Grid).where(Grid.code == "G9")).one()
        assert isinstance(grid.geom, shapely.MultiPolygon)
        assert grid.geom.equals(mp((1, 1, 2, 2)))
    assert store.read_layer("grids")["code"].tolist() == ["G9"]


def test_times_are_stored_in_utc_and_read_back_aware(store: Store) -> None:
    frames = district()
    store.write_layers(frames)
    visits = store.read_layer("visits")
    assert str(visits["visited_at"].dt.tz) == "UTC"
    assert visits["visited_at"][0] == pd.Timestamp("2026-03-02 02:30", tz="UTC")
    assert visits["visited_at"][1] == pd.Timestamp("2026-03-09 06:00:00.250", tz="UTC")
    assignments = store.read_layer("assignments")
    assert assignments["valid_from"][0] == pd.Timestamp("2026-01-01")
    with Session(store.engine) as session:
        from gridgeo.schema import Visit

        v = session.scalars(sa.select(Visit).where(Visit.code == "V1")).one()
        assert v.visited_at == dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC)


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": False,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (type_ == "table" and reflected and compare_to is None)
                ),
            },
        )
        diff = compare_metadata(context, Base.metadata)
    if store.dialect == "sqlite":  # GiST indexes exist only on PostGIS
        diff = [d for d in diff if not (d[0] == "add_index" and d[1].name.endswith("_geom"))]
    assert diff == []


def test_the_right_store_class_for_each_url(store: Store, store_url: str) -> None:
    assert isinstance(store, SQLiteStore if store_url.startswith("sqlite") else PostGISStore)


# -- PostGIS specifics ------------------------------------------------------------------


@pytest.mark.postgis
def test_postgis_has_typed_geometry_columns_and_gist_indexes(
    postgis_url: str, fresh_postgis: str
) -> None:
    store = open_store(fresh_postgis)
    with store.engine.connect() as conn:
        cols = dict(
            conn.execute(
                sa.text("SELECT f_table_name, type || ',' || srid FROM geometry_columns")
            ).all()
        )
        indexes = set(
            conn.execute(
                sa.text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")
            ).scalars()
        )
    store.close()
    assert cols == {
        "communities": "MULTIPOLYGON,4326",
        "grids": "MULTIPOLYGON,4326",
        "buildings": "MULTIPOLYGON,4326",
        "households": "POINT,4326",
        "visits": "POINT,4326",
        "problems": "POINT,4326",
    }
    assert {f"ix_{t}_geom" for t in cols} <= indexes


@pytest.mark.postgis
def test_postgis_enforces_the_srid(fresh_postgis: str) -> None:
    store = open_store(fresh_postgis)
    with pytest.raises(sa.exc.DataError, match="SRID"), store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO grids (code, geom) VALUES "
                "('X', ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 3857)))"
            )
        )
    store.close()


@pytest.mark.postgis
def test_migrations_go_down_and_up_again(fresh_postgis: str, tmp_path) -> None:
    for url in (fresh_postgis, f"sqlite:///{tmp_path / 'm.sqlite'}"):
        store = open_store(url)
        store.write_layers({"communities": district()["communities"]})
        store.downgrade("base")
        assert store.revision() is None
        with store.engine.connect() as conn:
            assert "communities" not in sa.inspect(conn).get_table_names()
        store.upgrade()
        assert store.counts()["communities"] == 0
        store.close()


@pytest.mark.postgis
def test_an_upgrade_gives_the_versions_counted_before_a_time(fresh_postgis: str, tmp_path) -> None:
    for url in (fresh_postgis, f"sqlite:///{tmp_path / 'v.sqlite'}"):
        store = open_store(url)
        store.write_layers({"communities": district()["communities"]})
        store.downgrade("0004")
        with store.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("data_versions")}
        assert "changed_at" not in columns
        before = dt.datetime.now(dt.UTC)
        store.upgrade()
        stamp = store.data_stamp()
        assert stamp.version == 1
        assert before <= stamp.changed_at <= dt.datetime.now(dt.UTC)
        store.write_layers({"grids": district()["grids"]})
        assert store.data_stamp().version == 2
        assert store.data_stamp().changed_at > stamp.changed_at
        store.close()


@pytest.mark.postgis
def test_postgis_store_at_an_older_revision_is_not_touched(fresh_postgis: str) -> None:
    store = open_store(fresh_postgis)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    store.close()
    with pytest.raises(StoreError, match="gridgeo db upgrade"):
        open_store(fresh_postgis)


@pytest.mark.postgis
def test_a_store_a_newer_gridgeo_wrote_is_refused_by_name(fresh_postgis: str, tmp_path) -> None:
    for url in (fresh_postgis, f"sqlite:///{tmp_path / 'n.sqlite'}"):
        store = open_store(url)
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff9999'"))
        with pytest.raises(StoreError, match=r"cannot migrate .* to head: Can.t locate"):
            store.upgrade()
        store.close()
        with pytest.raises(
            StoreError, match=r"revision ffff9999, which this gridgeo .* does not know"
        ):
            open_store(url)
        engine = make_engine(url)
        with engine.connect() as c:
            assert (
                c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "ffff9999"
            )
        engine.dispose()


def test_unsupported_url_is_a_clear_error() -> None:
    from gridgeo.errors import ConfigError

    with pytest.raises(ConfigError, match="unsupported database URL"):
        open_store("mysql://x@localhost/db")


def test_layer_specs_match_the_tables() -> None:
    for spec in LAYERS.values():
        table = Base.metadata.tables[spec.table]
        for f in spec.fields:
            assert f.db_column in table.columns, (spec.name, f.name)
        assert ("geom" in table.columns) == (spec.geometry is not None)


def _schema_objects(store: Store) -> tuple[set[str], set[str]]:
    with store.engine.connect() as conn:
        indexes = set(
            conn.execute(
                sa.text(
                    "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'"
                )
            ).scalars()
        )
        fkeys = set(
            conn.execute(
                sa.text(
                    "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
                )
            ).scalars()
        )
    return indexes, fkeys


@pytest.mark.postgis
def test_postgis_bulk_load_rebuilds_indexes_and_foreign_keys(fresh_postgis: str) -> None:
    store = open_store(fresh_postgis)
    assert isinstance(store, PostGISStore)
    before = _schema_objects(store)
    assert len(before[0]) > 20 and len(before[1]) > 15
    store.bulk_rows = 1  # every first load of a table takes the bulk path
    frames = district()
    # a refused bulk load rolls back the dropped indexes and keys too
    bad = frames["problems"].copy()
    bad.loc[1, "status"] = "closed"
    with pytest.raises(ValidationError, match="refused"):
        store.write_layers({**frames, "problems": bad})
    assert _schema_objects(store) == before
    assert sum(store.counts().values()) == 0
    store.write_layers(frames)
    assert _schema_objects(store) == before
    with store.engine.connect() as conn:
        analyzed = conn.execute(
            sa.text("SELECT count(*) FROM pg_stats WHERE tablename = 'households'")
        ).scalar_one()
    assert analyzed > 0  # column statistics exist right after a bulk load
    for name, want in frames.items():
        assert_layer_equal(store.read_layer(name, include_personal=True), want)
    store.close()


def test_a_layer_can_be_read_without_its_geometry(store: Store) -> None:
    store.write_layers(district())
    full = store.read_layer("buildings")
    plain = store.read_layer("buildings", columns=["address"], geometry=False)
    assert not isinstance(plain, gpd.GeoDataFrame) and list(plain.columns) == ["code", "address"]
    assert_frame_equal(plain, pd.DataFrame(full[["code", "address"]]))
    near = store.read_layer("buildings", bbox=(121.39, 31.19, 121.41, 31.21), geometry=False)
    assert near["code"].tolist() == ["B1", "B2"] and "geometry" not in near


def test_postgis_reads_the_same_without_psql(fresh_postgis: str, monkeypatch) -> None:
    """Whole layers stream through psql when it is installed, else through psycopg."""
    import gridgeo.store.postgis as pg

    assert pg.shutil.which("psql"), "the PostGIS set-up installs the psql client"
    store = open_store(fresh_postgis)
    try:
        store.write_layers(district())
        via_psql = {name: store.read_layer(name) for name in LAYER_ORDER}
        monkeypatch.setattr(pg.shutil, "which", lambda name: None)
        for name, want in via_psql.items():
            assert_layer_equal(store.read_layer(name), want)
    finally:
        store.close()


def test_read_layer_selects_column_values_and_pages_as_pandas_would(sample_store_url: str) -> None:
    """``where``, ``limit``/``offset`` and ``count_layer`` in the store equal doing it in pandas."""
    store = open_store(sample_store_url)
    try:
        visits = store.read_layer("visits")
        households = visits["household"].dropna().unique()[:3].tolist()
        got = store.read_layer("visits", where={"household": households, "member": []})
        assert len(got) == 0  # every named column must hold one of its values
        got = store.read_layer("visits", where={"household": households}, limit=4, offset=1)
        expected = visits[visits["household"].isin(households)].iloc[1:5].reset_index(drop=True)
        assert list(got["code"]) == list(expected["code"]) and len(got) == 4
        assert store.count_layer("visits", where={"household": households}) == int(
            visits["household"].isin(households).sum()
        )
        buildings = store.read_layer("buildings")
        box = tuple(buildings.geometry.iloc[:50].total_bounds)
        inside = buildings[buildings.intersects(shapely.box(*box))]
        page = store.read_layer("buildings", bbox=box, where={"units": [2, 3]}, limit=5)
        wanted = inside[inside["units"].isin([2, 3])]
        assert list(page["code"]) == list(wanted["code"].iloc[:5])
        assert store.count_layer("buildings", bbox=box, where={"units": [2, 3]}) == len(wanted)
        assert store.count_layer("buildings") == len(buildings)
        with pytest.raises(ValidationError, match="no column 'colour'"):
            store.read_layer("buildings", where={"colour": ["red"]})
    finally:
        store.close()
