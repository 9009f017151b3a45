"""PNG tiles, static maps and the coverage report over HTTP, from a real PostGIS.

The sample district (shapes/sample_district.gpkg) is loaded once into a database of
this module's own with ``gridgeo load``; the app runs on it through TestClient.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api.main import create_app
from gridgeo.check import inputs_from_store, run_check
from gridgeo.cli import app as cli
from gridgeo.settings import Settings
from gridgeo.store import make_engine, open_store

pytestmark = [pytest.mark.postgis]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
AS_OF = dt.date(2026, 3, 9)
INSIDE = (121.440, 31.222)
OUTSIDE = (121.60, 31.10)


@pytest.fixture(scope="module")
def sample_url(postgis_url: str) -> Iterator[str]:
    """A database of this module's own holding the sample district."""
    admin = make_engine(postgis_url)
    name = f"gridgeo_reports_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgis_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    try:
        result = CliRunner().invoke(cli, ["load", str(SAMPLE), "--db", url])
        assert result.exit_code == 0, result.output
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def client(sample_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sample_url, auth="off"))) as c:
        yield c


def _rgba(content: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGBA"))


# -- PNG tiles ---------------------------------------------------------------------------


def test_png_tile_from_postgis(client: TestClient) -> None:
    t = mercantile.tile(*INSIDE, 16)
    r = client.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["etag"].startswith('"')
    assert "no-cache" in r.headers["cache-control"]
    rgba = _rgba(r.content)
    assert rgba.shape == (256, 256, 4)
    assert 0.05 < (rgba[:, :, 3] > 0).mean() < 0.95
    far = mercantile.tile(*OUTSIDE, 16)
    blank = client.get(f"/tiles/buildings/{far.z}/{far.x}/{far.y}.png")
    assert blank.status_code == 200
    assert (_rgba(blank.content)[:, :, 3] == 0).all()
    basemap = client.get(f"/tiles/basemap/{t.z}/{t.x}/{t.y}.png")
    assert (_rgba(basemap.content)[:, :, 3] == 255).all()
    far_basemap = f"/tiles/basemap/{far.z}/{far.x}/{far.y}.png"
    assert (_rgba(client.get(far_basemap).content)[:, :, 3] == 255).all()  # the background
    clear = client.get(f"{far_basemap}?transparent=true")
    assert (_rgba(clear.content)[:, :, 3] == 0).all()


def test_png_tile_etag_and_version_url(client: TestClient) -> None:
    t = mercantile.tile(*INSIDE, 15)
    url = f"/tiles/basemap/{t.z}/{t.x}/{t.y}.png"
    first = client.get(url)
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    version = first.headers["x-data-version"]
    pinned = client.get(f"{url}?v={version}")
    assert "max-age=86400" in pinned.headers["cache-control"]
    assert pinned.content == first.content


def test_png_tile_of_findings(client: TestClient) -> None:
    t = mercantile.tile(*INSIDE, 15)
    r = client.get(f"/tiles/grid_coverage/{t.z}/{t.x}/{t.y}.png?as_of={AS_OF}")
    assert r.status_code == 200, r.text
    assert (_rgba(r.content)[:, :, 3] > 0).mean() > 0.3


def test_png_tile_errors(client: TestClient) -> None:
    assert client.get("/tiles/roads/1/0/0.png").status_code == 404
    assert client.get("/tiles/basemap/2/4/0.png").status_code == 400


def _district(url: str, *, buildings: int) -> None:
    """One community, one grid and ``buildings`` buildings in a row (written in one go)."""
    box = shapely.box(121.430, 31.210, 121.450, 31.230)
    frames = {
        "communities": gpd.GeoDataFrame(
            {"code": ["C1"], "name": ["测试社区"], "district": ["测试区"]},
            geometry=[shapely.MultiPolygon([box])],
            crs=4326,
        ),
        "grids": gpd.GeoDataFrame(
            {"code": ["C1-G1"], "name": ["第1网格"], "community": ["C1"]},
            geometry=[shapely.MultiPolygon([box])],
            crs=4326,
        ),
        "buildings": gpd.GeoDataFrame(
            {
                "code": [f"B{i}" for i in range(buildings)],
                "address": [f"测试路{i}号" for i in range(buildings)],
            },
            geometry=[
                shapely.MultiPolygon(
                    [shapely.box(121.4380 + i * 0.001, 31.2200, 121.4386 + i * 0.001, 31.2204)]
                )
                for i in range(buildings)
            ],
            crs=4326,
        ),
    }
    store = open_store(url)
    try:
        store.write_layers(frames)
    finally:
        store.close()


def test_a_write_makes_new_tiles(fresh_postgis: str) -> None:
    _district(fresh_postgis, buildings=1)
    t = mercantile.tile(121.4395, 31.2202, 16)
    url = f"/tiles/buildings/{t.z}/{t.x}/{t.y}.png"
    with TestClient(create_app(Settings(database_url=fresh_postgis, auth="off"))) as c:
        before = c.get(url)
        assert before.status_code == 200
        assert c.get(url, headers={"If-None-Match": before.headers["etag"]}).status_code == 304
        _district(fresh_postgis, buildings=3)  # two more buildings, in the same tile
        after = c.get(url, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200, "a write must not leave the old tile valid"
        assert after.headers["etag"] != before.headers["etag"]
        covered_before = (_rgba(before.content)[:, :, 3] > 0).sum()
        covered_after = (_rgba(after.content)[:, :, 3] > 0).sum()
        assert covered_after > 2 * covered_before > 0


# -- static maps -------------------------------------------------------------------------


def test_static_map_route(client: TestClient) -> None:
    r = client.get(
        "/maps/static.png",
        params={
            "community": "C02",
            "layers": "communities,grid_coverage,buildings,grids,unassigned_buildings",
            "lang": "en",
            "width": 800,
            "height": 500,
            "as_of": AS_OF.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    rgb = _rgba(r.content)[:, :, :3].astype(int)
    assert rgb.shape == (500, 800, 3)
    legend = (rgb[:, -250:].sum(axis=2) < 200).sum()
    assert legend > 500
    assert (
        client.get("/maps/static.png", headers={"If-None-Match": r.headers["etag"]}).status_code
        == 200
    )
    same = client.get(
        "/maps/static.png",
        params={
            "community": "C02",
            "layers": "communities,grid_coverage,buildings,grids,unassigned_buildings",
            "lang": "en",
            "width": 800,
            "height": 500,
            "as_of": AS_OF.isoformat(),
        },
        headers={"If-None-Match": r.headers["etag"]},
    )
    assert same.status_code == 304


def test_static_map_route_errors(client: TestClient) -> None:
    assert client.get("/maps/static.png?community=C99").status_code == 404
    assert client.get("/maps/static.png?bbox=1,2,3").status_code == 422
    assert client.get("/maps/static.png?layers=roads").status_code == 422
    assert client.get("/maps/static.png?lang=fr").status_code == 422
    r = client.get("/maps/static.png?bbox=121.435,31.215,121.440,31.220&width=400&height=300")
    assert r.status_code == 200
    assert _rgba(r.content).shape[:2] == (300, 400)


# -- the report --------------------------------------------------------------------------


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


@pytest.mark.slow
def test_coverage_report_html_has_the_check_numbers(client: TestClient, sample_url: str) -> None:
    store = open_store(sample_url)
    try:
        results = run_check(inputs_from_store(store), as_of=AS_OF)
    finally:
        store.close()
    district = results["summary_district"].iloc[0]
    r = client.get(f"/reports/coverage?as_of={AS_OF}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "网格化管理覆盖情况报告" in html
    assert _text(html, "coverage-score") == f"{district['coverage_score']:.1f}%"
    for key in ("buildings", "unassigned", "multi_assigned", "straddling", "gaps", "overlaps"):
        assert _text(html, f"district-{key}") == f"{int(district[key]):,}", key
    communities = results["summary_communities"]
    for row in communities.itertuples():
        assert f"{row.coverage_score:.1f}%" in html
    assert "零陵花园社区" in html  # community names, not only codes
    assert html.count("data:image/png;base64,") == 1 + len(communities)
    assert "http://" not in html and "https://" not in html, "self-contained"
    english = client.get(f"/reports/coverage?as_of={AS_OF}&lang=en")
    assert "Coverage score" in english.text
    assert _text(english.text, "coverage-score") == f"{district['coverage_score']:.1f}%"
    assert (
        client.get(
            f"/reports/coverage?as_of={AS_OF}", headers={"If-None-Match": r.headers["etag"]}
        ).status_code
        == 304
    )


@pytest.mark.slow
def test_coverage_report_pdf(client: TestClient) -> None:
    r = client.get(f"/reports/coverage.pdf?as_of={AS_OF}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages >= 2, pages  # key figures and tables, then a page per community map
    fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([^\s/]+)", pdf))
    assert any(b"CJK" in f or b"Hei" in f for f in fonts), fonts  # Chinese text embedded


@pytest.mark.slow
def test_report_command_writes_html_and_maps(sample_url: str, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli, ["report", "--out", str(out), "--db", sample_url, "--as-of", str(AS_OF), "--no-pdf"]
    )
    assert result.exit_code == 0, result.output
    html = (out / "coverage-report.html").read_text(encoding="utf-8")
    assert "网格化管理覆盖情况报告" in html
    maps = sorted(p.name for p in (out / "maps").glob("*.png"))
    assert maps == ["C01.png", "C02.png", "C03.png", "C04.png", "district.png"]
    with Image.open(out / "maps" / "district.png") as image:
        assert image.size == (1100, 700)
