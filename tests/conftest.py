"""Shared fixtures: both stores, a real PostGIS, and the real data in ../shared/data."""

from __future__ import annotations

import os
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
