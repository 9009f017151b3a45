"""Deployment: docker-compose.yml validates (with its Dask cluster profile), and the API's
/health answers on both stores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    # Compose 1.29 lists every service; the profile decides which ones `up` starts
    assert set(services.stdout.split()) == {"db", "api", "scheduler", "worker"}


def _config(exe: str, **environment: str) -> dict[str, Any]:
    """The compose file as ``docker-compose config`` resolves it (variables substituted)."""
    result = subprocess.run(
        [exe, "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_cluster_profile_is_a_dask_scheduler_and_workers(docker_compose: str) -> None:
    services = _config(docker_compose)["services"]
    assert "profiles" not in services["db"] and "profiles" not in services["api"]
    scheduler, worker = services["scheduler"], services["worker"]
    for service in (scheduler, worker):
        assert service["profiles"] == ["cluster"]
        assert service["build"]["args"] == {"GRIDGEO_EXTRAS": "cluster"}
        assert service["image"] == "gridgeo-cluster"
        assert service["volumes"][0].split(":")[:2] == ["province", "/province"]
    assert scheduler["command"][:2] == ["dask", "scheduler"]
    assert {(p["published"], p["target"]) for p in scheduler["ports"]} == {
        (8786, 8786),
        (8787, 8787),
    }
    assert "8787/health" in " ".join(scheduler["healthcheck"]["test"])
    command = worker["command"]
    assert command[:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert command[command.index("--memory-limit") + 1] == "4g"
    assert worker["depends_on"] == {"scheduler": {"condition": "service_healthy"}}
    assert worker["deploy"] == {"replicas": 2, "resources": {"limits": {"memory": "4g"}}}

    sized = _config(docker_compose, GRIDGEO_WORKERS="5", GRIDGEO_WORKER_MEMORY="6g")
    worker = sized["services"]["worker"]
    assert worker["deploy"] == {"replicas": 5, "resources": {"limits": {"memory": "6g"}}}
    assert worker["command"][worker["command"].index("--memory-limit") + 1] == "6g"


def test_the_cluster_image_installs_dask() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    cluster = extras["project"]["optional-dependencies"]["cluster"]
    assert any(requirement.startswith("dask[distributed") for requirement in cluster)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'pip install "/app${GRIDGEO_EXTRAS:+[$GRIDGEO_EXTRAS]}"' in dockerfile
    assert "chown gridgeo /data /province" in dockerfile


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
