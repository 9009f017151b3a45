"""Shared fixtures: both stores, a real PostGIS, and the real data in ../shared/data."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridgeo.store import Store, make_engine, open_store

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(what: str, why: str) -> None:
    """Fail under CI=true, skip elsewhere: nothing is silently skipped in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {why}")
    pytest.skip(f"{what} missing: {why}")


@pytest.fixture(scope="session")
def postgis_url() -> str:
    """URL of the test PostGIS database made by scripts/test.sh."""
    url = os.environ.get("GRIDGEO_TEST_POSTGIS_URL")
    if not url:
        need("PostGIS", "set GRIDGEO_TEST_POSTGIS_URL (scripts/test.sh does)")
    assert url is not None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT postgis_version()"))
    except sa.exc.SQLAlchemyError as exc:
        need("PostGIS", f"cannot use {url}: {exc}")
    finally:
        engine.dispose()
    return url


def _drop_all(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'spatial_ref_sys'"
            )
        ).scalars()
        for table in list(tables):
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


@pytest.fixture
def fresh_postgis(postgis_url: str) -> Iterator[str]:
    """A new, empty PostGIS database (with the extension) for one test."""
    admin = make_engine(postgis_url)
    name = f"gridgeo_t_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = str(sa.make_url(postgis_url).set(database=name).render_as_string(hide_password=False))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each kind: the storage suite runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url = request.getfixturevalue("postgis_url")
    _drop_all(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real third-party files); its absence fails under CI."""
    if not SHARED_DATA.is_dir():
        need("../shared/data", f"expected at {SHARED_DATA}")
    return SHARED_DATA


# -- the sample district in a store (API tests) ------------------------------------------


@pytest.fixture(scope="session")
def sample_frames() -> dict:
    """Every layer of shapes/sample_district.gpkg, checked as `gridgeo load` checks it."""
    import pyogrio

    from gridgeo.io import read_file
    from gridgeo.layers import LAYER_ORDER
    from gridgeo.validate import prepare_layer

    available = {str(name) for name, _ in pyogrio.list_layers(SAMPLE)}
    frames = {}
    for name in LAYER_ORDER:
        if name in available:
            read = read_file(SAMPLE, layer=name)
            frames[name] = prepare_layer(read.frame, name, source=read.name, rows=read.rows).frame
    return frames


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def sample_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_frames: dict
) -> Iterator[str]:
    """A store of each kind holding the sample district, shared by one test module.

    The PostGIS one is a database of its own, dropped afterwards, so modules and
    other test runs on the same server do not see each other's writes.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sample') / 'sample.sqlite'}"
        admin = None
    else:
        base = request.getfixturevalue("postgis_url")
        admin = make_engine(base)
        name = f"gridgeo_s_{uuid.uuid4().hex[:10]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = str(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        s = open_store(url)
        try:
            s.write_layers(sample_frames, source=SAMPLE.name)
        finally:
            s.close()
        yield url
    finally:
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="module")
def people(sample_store_url: str) -> dict:
    """Tokens of every role in the sample district, and places inside and outside each area.

    ``tokens[role]``: leader (community C01), planner and analyst (district), a grid
    worker and a member of C01. ``own[role]`` / ``other[role]``: a household the role
    may write for, and one in community C02 (outside every C01 area). ``stranger``: a
    household in the member's grid that the member is not responsible for. ``grid``:
    the grid worker's grid; ``other_grid``: a grid of C02.
    """
    import datetime as dt

    from gridgeo.access import area_for, create_token, geography
    from gridgeo.fieldwork import member_responsibility

    s = open_store(sample_store_url)
    try:
        today = dt.date.today()
        a = s.read_layer("assignments")
        open_ended = a[a["valid_to"].isna()]
        geo = geography(s)

        def community_of_household(h: str) -> str | None:
            grid = geo.grid_of_building.get(geo.building_of_household.get(h, ""))
            return geo.grid_of_code.get(grid) if grid else None

        worker_rows = open_ended[open_ended["kind"] == "worker_grid"]
        worker_rows = worker_rows[worker_rows["grid"].str.startswith("C01-")]
        worker, grid = worker_rows.iloc[0][["member", "grid"]]
        member_rows = open_ended[open_ended["kind"] == "member_household"]
        member_rows = member_rows[member_rows["household"].map(community_of_household) == "C01"]
        member, own_household = member_rows.iloc[0][["member", "household"]]
        tokens, principals = {}, {}
        for role, kwargs in {
            "leader": {"communities": ["C01"]},
            "planner": {},
            "analyst": {},
            "grid_worker": {"member": worker, "grids": [grid]},
            "member": {"member": member},
        }.items():
            tokens[role], principals[role] = create_token(s, role, **kwargs)
        member_area = area_for(s, principals["member"])
        stranger = next(
            h
            for h in sorted(member_area.households)
            if member_responsibility(s, member, household=h, building=None, day=today)
        )
        in_grid = sorted(
            h for h, b in geo.building_of_household.items() if geo.grid_of_building.get(b) == grid
        )
        other = sorted(h for h in geo.building_of_household if community_of_household(h) == "C02")[
            0
        ]
        other_grid = sorted(g for g, c in geo.grid_of_code.items() if c == "C02")[0]
    finally:
        s.close()
    return {
        "url": sample_store_url,
        "tokens": tokens,
        "principals": principals,
        "member": member,
        "worker": worker,
        "grid": grid,
        "other_grid": other_grid,
        "own": {"member": own_household, "grid_worker": in_grid[0]},
        "other": {"member": other, "grid_worker": other},
        "stranger": stranger,
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright, for the browser tests (tests/test_browser*.py)."""
    from test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        need("chromium", "install Debian's chromium and fonts-noto-cjk (scripts/setup.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        try:
            yield b
        finally:
            b.close()
