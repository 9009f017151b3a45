"""Smoke run of benchmarks/read_layer.py on a small table: it runs, checks and reports.

Timings are not asserted: the machine is shared and noisy. The full-scale figures
come from running the script itself (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "read_layer.py"

pytestmark = [pytest.mark.postgis, pytest.mark.slow]


@pytest.fixture
def bench_db() -> Iterator[str]:
    """A database of its own (the shared test database is dropped and refilled by others)."""
    url = os.environ.get("GRIDGEO_TEST_POSTGIS_URL")
    if not url:
        why = "set GRIDGEO_TEST_POSTGIS_URL (scripts/test.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostGIS is required under CI=true: {why}")
        pytest.skip(f"PostGIS missing: {why}")
    base = sa.make_url(url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"gridgeo_bench_smoke_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        db_url = base.set(database=name)
        engine = sa.create_engine(db_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        finally:
            engine.dispose()
        yield db_url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_read_layer_benchmark_runs(bench_db: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--n",
            "20000",
            "--runs",
            "1",
            "--db",
            bench_db,
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "ratio read_postgis / gridgeo" in output, output
    assert "attributes and WKB agree" in output, output
    assert figures.is_file()
