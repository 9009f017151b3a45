"""The coverage and hotspot map pages, their offline assets and the shared check cache."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import need
from fastapi.testclient import TestClient

from api import maps
from api.analysis_cache import check_results
from api.main import create_app
from api.maps.cache import page_cache
from gridgeo.settings import Settings
from gridgeo.store import open_store

AS_OF = dt.date(2025, 6, 1)
MAX_PAGE = 2 * 1024 * 1024
#: any absolute http(s) URL, or a protocol-relative one, in an attribute or CSS url()
EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[/"'\s)]""")
ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")

# The page tests need one store only: the embedded one (the tiles are tested on both).
embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def vendored() -> None:
    if not (maps.STATIC_DIR / "vendor" / "leaflet" / "dist" / "leaflet.js").is_file():
        need("api/static/vendor", "run scripts/vendor.sh (scripts/setup.sh does)")


@pytest.fixture(scope="module")
def client(sample_store_url: str) -> Iterator[TestClient]:
    # the open read-only demo; tokens and areas: tests/test_api_auth_maps.py
    app = create_app(Settings(database_url=sample_store_url, auth="off"))
    with TestClient(app) as c:
        yield c


def _page(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert len(r.content) < MAX_PAGE
    return r.text


def _assert_offline(client: TestClient, html: str) -> None:
    """Nothing from outside the service; every asset the page names is served by it."""
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)[:5]
    assets = ASSET.findall(html)
    assert any("leaflet.js" in a for a in assets)
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        css_urls = re.findall(r"url\(([^)]+)\)", r.text) if asset.endswith(".css") else []
        assert not [u for u in css_urls if EXTERNAL.match(u.strip("'\""))], asset


@embedded
def test_coverage_map_in_chinese_by_default(client: TestClient, vendored: None) -> None:
    html = _page(client, f"/maps/coverage?as_of={AS_OF}")
    _assert_offline(client, html)
    assert '<html lang="zh-CN">' in html
    for label in (
        "网格覆盖图",
        "网格覆盖率",
        "网格缝隙",
        "网格重叠",
        "跨网格楼栋",
        "无责任党员楼栋",
    ):
        assert label in html
    assert "多人负责楼栋" in html and "楼栋最近走访" in html and "图例" in html
    results = check_results(client.app.state.store, as_of=AS_OF)
    score = float(results["summary_district"]["coverage_score"].iloc[0])
    assert f"覆盖率 {score:.1f}%" in html
    # the finding's explanation is in the page for the popups, the grids' scores too
    gap = results["gaps"]["explanation_zh"].iloc[0]
    assert gap in html
    assert '"coverage_score":' in html
    # the service's own basemap, from its vector tiles, is the default
    assert "/tiles/basemap/{z}/{x}/{y}.mvt" in html
    # buildings' last-visit age (3,017 buildings) is too big to inline: it comes from tiles
    assert "/tiles/last_visits/{z}/{x}/{y}.mvt?v=" in html and f"as_of={AS_OF}" in html
    assert f'value="{AS_OF}"' in html  # the as-of filter


@embedded
def test_coverage_map_in_english(client: TestClient) -> None:
    html = _page(client, f"/maps/coverage?as_of={AS_OF}&lang=en")
    assert '<html lang="en">' in html
    for label in ("Grid coverage", "Gaps between grids", "Buildings without a member", "Legend"):
        assert label in html
    assert "网格缝隙" not in html and "无责任党员楼栋" not in html
    results = check_results(client.app.state.store, as_of=AS_OF)
    assert results["gaps"]["explanation_en"].iloc[0] in html
    assert client.get("/maps/coverage?lang=fr").status_code == 422


@embedded
def test_coverage_map_of_one_community_and_one_grid(client: TestClient) -> None:
    store = client.app.state.store
    names = dict(store.read_layer("communities")[["code", "name"]].to_numpy())
    html = _page(client, f"/maps/coverage?as_of={AS_OF}&community=C02")
    assert names["C02"] in html
    assert '<option value="C02" selected>' in html
    results = check_results(store, as_of=AS_OF)
    grids = results["summary_grids"]
    theirs = set(grids.loc[grids["community"] == "C02", "code"])
    others = set(grids.loc[grids["community"] != "C02", "code"])
    inline = set(re.findall(r'"code":"(C\d\d-G\d+)"', html))
    assert theirs <= inline and not (others & inline)
    grid = sorted(theirs)[0]
    html = _page(client, f"/maps/coverage?as_of={AS_OF}&community=C02&grid={grid}")
    assert grid in html
    assert client.get("/maps/coverage?community=NOPE").status_code == 404
    assert client.get("/maps/coverage?community=C02&grid=C01-G001").status_code == 404


@embedded
def test_large_layers_go_to_vector_tiles(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At city size no layer is inlined: the page stays small and draws from tiles."""
    small = len(_page(client, f"/maps/coverage?as_of={AS_OF}"))
    monkeypatch.setattr(maps.inline, "INLINE_MAX_FEATURES", 0)
    page_cache(client.app.state.store).clear()  # the kept page was made with the old limit
    html = _page(client, f"/maps/coverage?as_of={AS_OF}")
    assert len(html) < small and len(html) < 200_000
    for layer in ("grid_coverage", "gaps", "unassigned_buildings", "multi_assigned_buildings"):
        assert f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt" in html
    assert '"type":"FeatureCollection"' not in html


@embedded
def test_external_basemap_is_an_option(client: TestClient, sample_store_url: str) -> None:
    label = json.dumps("外部底图")  # the layer switcher's names are JSON in the script
    html = _page(client, f"/maps/coverage?as_of={AS_OF}")
    assert label not in html
    url = "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}"
    settings = Settings(
        database_url=sample_store_url,
        auth="off",
        basemap_url=url,
        basemap_attribution="天地图 GS(2024)0568号",
    )
    with TestClient(create_app(settings)) as other:
        html = _page(other, f"/maps/coverage?as_of={AS_OF}")
    assert label in html and url in html and "天地图 GS(2024)0568号" in html


@embedded
def test_hotspot_map(client: TestClient, vendored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    html = _page(client, "/maps/hotspots")
    _assert_offline(client, html)
    for label in ("问题热点图", "热点（Gi*）", "聚集（LISA）", "问题密度", "新兴热点", "新增热点"):
        assert label in html
    assert re.search(r'"cell_id":"8[0-9a-f]{14}"', html)
    html = _page(client, "/maps/hotspots?lang=en&category=停车&from=2025-03-01&to=2025-05-31")
    assert "Problem hotspots · 停车 · 2025-03-01 – 2025-05-31" in html
    assert "Hot spots (Gi*)" in html and "热点（Gi*）" not in html
    assert '<option value="停车" selected>' in html
    # the form submits, and the language link keeps the selection
    assert '<button type="submit">Apply</button>' in html
    assert "category=%E5%81%9C%E8%BD%A6&amp;from=2025-03-01&amp;to=2025-05-31" in html
    assert 'lang=zh">中文</a>' in html
    monkeypatch.setattr(maps.inline, "INLINE_MAX_FEATURES", 0)
    html = _page(client, "/maps/hotspots?cells=square:250")
    assert "/tiles/hotspot_cells/{z}/{x}/{y}.mvt?v=" in html and "cells=square%3A250" in html
    r = client.get("/maps/hotspots?cells=nonsense")
    assert r.status_code == 422 and "cells" in r.json()["detail"]


@embedded
def test_static_files(client: TestClient, vendored: None) -> None:
    r = client.get("/static/gridgeo/map.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "max-age" in r.headers["cache-control"]
    assert (
        client.get(
            "/static/gridgeo/map.js", headers={"If-None-Match": r.headers["etag"]}
        ).status_code
        == 304
    )
    r = client.get("/static/vendor/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2")
    assert r.status_code == 200
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/../maps/__init__.py").status_code == 404
    assert client.get("/static/%2e%2e/maps/__init__.py").status_code == 404


@embedded
def test_check_results_are_shared_until_the_data_changes(
    client: TestClient, sample_store_url: str
) -> None:
    store = client.app.state.store
    first = check_results(store, as_of=AS_OF)
    assert check_results(store, as_of=AS_OF)["summary_grids"] is first["summary_grids"]
    assert (
        check_results(store, as_of=AS_OF + dt.timedelta(days=1))["summary_grids"]
        is not first["summary_grids"]
    )
    grids = store.read_layer("grids")
    maxx, maxy = grids.total_bounds[2:]
    outside = gpd.GeoDataFrame(
        {"code": ["B-MAP-TEST"], "households": [2]},
        geometry=[
            shapely.MultiPolygon(
                [shapely.box(maxx + 0.001, maxy + 0.001, maxx + 0.0012, maxy + 0.0012)]
            )
        ],
        crs=4326,
    )
    writer = open_store(sample_store_url)
    try:
        writer.write_layers({"buildings": outside})
    finally:
        writer.close()
    after = check_results(store, as_of=AS_OF)
    assert after["summary_grids"] is not first["summary_grids"]
    assert "B-MAP-TEST" in set(after["buildings_outside"]["building_id"])
    html = _page(client, f"/maps/coverage?as_of={AS_OF}")
    assert "B-MAP-TEST" in html


def test_no_template_or_vendor_code_is_committed() -> None:
    """Third-party assets come from scripts/vendor.sh into a git-ignored folder."""
    root = Path(__file__).resolve().parent.parent
    assert "/api/static/vendor/" in (root / ".gitignore").read_text().splitlines()
    script = (root / "scripts" / "vendor.sh").read_text()
    for package in ("leaflet@1.9.4", "leaflet.vectorgrid@1.3.0"):
        assert package in script
