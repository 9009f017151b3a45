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
    # the problem points have a legend row, in the points' colour
    assert re.search(r'background:#e6550d"></i>一条问题（缩小地图时合并为标有条数的圆圈）', html)
    html = _page(client, "/maps/hotspots?lang=en&category=停车&from=2025-03-01&to=2025-05-31")
    assert "Problem hotspots · 停车 · 2025-03-01 – 2025-05-31" in html
    assert "Hot spots (Gi*)" in html and "热点（Gi*）" not in html
    assert '<option value="停车" selected>' in html
    # the form submits, and the language link keeps the selection
    assert '<button type="submit">Apply</button>' in html
    assert "category=%E5%81%9C%E8%BD%A6&amp;from=2025-03-01&amp;to=2025-05-31" in html
    assert 'lang=zh">中文</a>' in html
    monkeypatch.setattr(maps.inline, "INLINE_MAX_FEATURES", 0)
    page_cache(client.app.state.store).clear()  # a kept page was made with the old limit
    html = _page(client, "/maps/hotspots?cells=square:250")
    assert "/tiles/hotspot_cells/{z}/{x}/{y}.mvt?v=" in html and "cells=square%3A250" in html
    r = client.get("/maps/hotspots?cells=nonsense")
    assert r.status_code == 422 and "cells" in r.json()["detail"]


def _popup(html: str, layer: str) -> list:
    """The popup rows of a layer put in the page."""
    start = html.index(f'gridgeo.geojson("{layer}"')
    spec = html[start:].split("\n", 1)[0]
    return json.loads(re.search(r'"popup":(\[\[.*?\]\]),"title"', spec).group(1))


@embedded
def test_the_hotspot_map_speaks_plain_words(client: TestClient, vendored: None) -> None:
    """Bins, clusters and cell sizes in words, places by name; no bare codes as labels."""
    html = _page(client, "/maps/hotspots")
    for words in (
        "热点（99% 置信）",
        "冷点（95% 置信）",
        "不显著",
        "高-高聚集（热点区）",
        "高值被低值包围（异常高）",
        "低值被高值包围（异常低）",
    ):
        assert f"{words}</div>" in html  # in the legend
    assert "<h4>热点（Gi*） · 六边形格网，边长约 66 米</h4>" in html  # the default: h3:10
    assert ">HH<" not in html and ">h3:9<" not in html and ">h3:10<" not in html
    assert '<option value="h3:9">六边形格网，边长约 176 米</option>' in html
    rows = {row[0]: row for row in _popup(html, "hotspot_cells")}
    assert rows["gi_bin"][2]["values"]["3"] == "热点（99% 置信）"
    assert rows["gi_bin"][2]["values"]["0"] == "不显著"
    assert rows["cell_size"][2] == {"text": "六边形格网，边长约 66 米"}
    assert rows["cell_id"][2] == {"small": True} and rows["count"][1] == "问题数"
    assert rows["grid_name"][2] == {"title": True}
    lisa = {row[0]: row for row in _popup(html, "hotspot_lisa")}
    assert lisa["lisa_cluster"][2]["values"]["LH"] == "低值被高值包围（异常低）"
    # every cell is named by the grid and community it lies in
    named = re.findall(r'"grid_name":"(第\d+网格)","community_name":"([^"]+社区)"', html)
    assert len(named) > 100
    html = _page(client, "/maps/hotspots?lang=en&cells=h3:9")
    assert "hot spot (99 % confidence)</div>" in html
    assert "high among low (unusually high)</div>" in html
    assert "<h4>Hot spots (Gi*) · hexagons, side about 176 m</h4>" in html
    assert _popup(html, "hotspot_cells")[0][:2] == ["grid_name", "Grid"]


@embedded
def test_the_hotspot_map_shows_the_problems_counted(client: TestClient, vendored: None) -> None:
    html = _page(client, "/maps/hotspots?category=停车")
    _assert_offline(client, html)
    assert "vendor/leaflet.markercluster/dist/leaflet.markercluster.js" in html
    assert "vendor/leaflet.markercluster/dist/MarkerCluster.Default.css" in html
    start = html.index('gridgeo.geojson("hotspot_problems", ')
    data = json.JSONDecoder().raw_decode(html, start + len('gridgeo.geojson("hotspot_problems", '))
    features = data[0]["features"]
    s = open_store(client.app.state.settings.database_url)
    try:
        parking = s.read_layer("problems")
    finally:
        s.close()
    parking = parking[parking["category"] == "停车"]
    assert sorted(f["properties"]["code"] for f in features) == sorted(parking["code"])
    first = features[0]["properties"]
    assert set(first) == {"code", "category", "reported_on", "status", "grid_name"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", first["reported_on"])
    assert re.fullmatch(r"第\d+网格", first["grid_name"])
    rows = {row[0]: row for row in _popup(html, "hotspot_problems")}
    assert rows["status"][2]["values"]["closed"] == "已办结"
    assert '"cluster":{"until":17}' in html


@embedded
def test_the_problem_points_come_from_tiles_on_a_large_map(
    client: TestClient, vendored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapbox_vector_tile
    import mercantile

    monkeypatch.setattr(maps.inline, "INLINE_MAX_FEATURES", 0)
    page_cache(client.app.state.store).clear()  # a kept page was made with the old limit
    html = _page(client, "/maps/hotspots?category=停车")
    assert "/tiles/hotspot_problems/{z}/{x}/{y}.mvt?v=" in html
    point = shapely.Point(121.4352, 31.2166)  # P0000001, 停车
    tile = mercantile.tile(point.x, point.y, 16)
    r = client.get(f"/tiles/hotspot_problems/16/{tile.x}/{tile.y}.mvt?category=%E5%81%9C%E8%BD%A6")
    assert r.status_code == 200
    features = mapbox_vector_tile.decode(r.content)["hotspot_problems"]["features"]
    props = {f["properties"]["code"]: f["properties"] for f in features}
    assert props["P0000001"]["category"] == "停车"
    assert set(props["P0000001"]) == {"code", "category", "reported_on", "status", "grid_name"}
    assert {p["category"] for p in props.values()} == {"停车"}


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
