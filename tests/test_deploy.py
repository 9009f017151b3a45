"""Deployment: docker-compose.yml validates, and the API's /health answers on both stores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette >= 1.10 wants httpx2 for its TestClient and warns when only httpx is
    # installed; both work. (Adding httpx2 to the test extras removes the warning.)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

import gridgeo
from api.main import create_app
from gridgeo.errors import NotFound
from gridgeo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _need(what: str, why: str) -> None:
    """Fail under CI=true, skip elsewhere: a missing tool is never silently skipped in CI."""
    if _in_ci():
        pytest.fail(f"{what} is required under CI=true: {why}")
    pytest.skip(f"{what} missing: {why}")


@pytest.fixture(scope="module")
def docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        _need("docker-compose", "install it with scripts/setup.sh (Debian package docker-compose)")
    assert exe is not None
    return exe


def _compose(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, "-f", "docker-compose.yml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_docker_compose_config_is_valid(docker_compose: str) -> None:
    result = _compose(docker_compose, "config")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "GRIDGEO_DATABASE_URL: postgresql+psycopg://gridgeo:gridgeo@db:5432/gridgeo" in out
    assert "image: postgis/postgis:15-3.4" in out
    assert "condition: service_healthy" in out

    services = _compose(docker_compose, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert set(services.stdout.split()) == {"db", "api"}


def _health(url: str) -> tuple[int, dict[str, object]]:
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        response = client.get("/health")
        status, body = response.status_code, response.json()
    assert not hasattr(app.state, "engine"), "the engine must be disposed at shutdown"
    return status, body


def test_health_sqlite(tmp_path: Path) -> None:
    status, body = _health(f"sqlite:///{tmp_path}/x.sqlite")
    assert status == 200
    assert body == {"status": "ok", "database": "sqlite", "version": gridgeo.__version__}


@pytest.mark.postgis
def test_health_postgis() -> None:
    url = os.environ.get("GRIDGEO_TEST_POSTGIS_URL")
    if not url:
        _need("GRIDGEO_TEST_POSTGIS_URL", "run the tests with scripts/test.sh")
    assert url is not None
    status, body = _health(url)
    assert status == 200, body
    assert body.pop("versions") in {"notified", "read"}  # the listener may still connect
    assert body == {"status": "ok", "database": "postgresql", "version": gridgeo.__version__}


def test_health_unreachable_database_is_503() -> None:
    status, body = _health(UNREACHABLE_URL)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "postgresql"
    assert isinstance(body["reason"], str) and body["reason"]


def test_gridgeo_errors_map_to_http_statuses(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite"))

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("grid 'G-404' does not exist")

    with TestClient(app) as client:
        response = client.get("/missing")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "grid 'G-404' does not exist"}


def test_import_does_not_connect() -> None:
    # Importing the module builds `app` from the environment; with an unreachable database
    # that must still succeed, because nothing connects before the app starts.
    env = {**os.environ, "GRIDGEO_DATABASE_URL": UNREACHABLE_URL}
    result = subprocess.run(
        [sys.executable, "-c", "import api.main as m; print(m.app.title)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gridgeo"
