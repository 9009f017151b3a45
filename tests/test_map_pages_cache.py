"""Map pages kept in memory (api/maps/cache.py): per area and data version, own tile key.

On PostGIS (the shared server's store) and the embedded store: a repeated page comes
from memory, a write makes a new one, two areas never share a page, and a page served
from memory carries neither another caller's token nor its tile key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator

import geopandas as gpd
import pytest
import shapely
from fastapi import Request
from fastapi.testclient import TestClient

from api.main import create_app
from api.maps.cache import cached_page, page_cache
from gridgeo.principal import Principal
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import authenticate, create_token

AS_OF = dt.date(2025, 6, 1)
COVERAGE = f"/maps/coverage?as_of={AS_OF}"
TILE_KEY = re.compile(r"tile_key=([0-9]+\.[0-9]+\.[A-Za-z0-9_-]{24})")
GRID_OPTION = re.compile(r'<option value="(C\d\d-G\d+)"')


@pytest.fixture(scope="module")
def tokens(sample_store_url: str) -> dict[str, str]:
    """Two planners (the district), a leader of C01 and a leader of C02."""
    store = open_store(sample_store_url)
    try:
        return {
            "planner": create_token(store, "planner")[0],
            "planner2": create_token(store, "planner")[0],
            "c01": create_token(store, "leader", communities=["C01"])[0],
            "c02": create_token(store, "leader", communities=["C02"])[0],
        }
    finally:
        store.close()


@pytest.fixture(scope="module")
def client(sample_store_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sample_store_url, auth="on"))) as c:
        yield c


def _get(client: TestClient, token: str, path: str = COVERAGE, how: str = "header") -> tuple:
    client.cookies.clear()
    if how == "header":
        r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    else:
        r = client.get(f"{path}&token={token}")
    assert r.status_code == 200, r.text
    return r.headers.get("x-cache"), r.text


def test_a_repeated_page_comes_from_memory(client: TestClient, tokens: dict[str, str]) -> None:
    path = f"{COVERAGE}&lang=en"
    first, html = _get(client, tokens["planner"], path)
    cache = page_cache(client.app.state.store)  # the store opens with the first request
    hits = cache.hits
    second, again = _get(client, tokens["planner"], path)
    assert (first, second) == ("MISS", "HIT")
    assert cache.hits == hits + 1
    assert again == html
    _, zh = _get(client, tokens["planner"], COVERAGE)
    assert zh != html and 'lang="zh-CN"' in zh


def test_a_write_makes_a_new_page(
    client: TestClient, tokens: dict[str, str], sample_store_url: str
) -> None:
    path = f"{COVERAGE}&grid=C01-G001"
    _get(client, tokens["planner"], path)
    cached, before = _get(client, tokens["planner"], path)
    assert cached == "HIT" and "B-PAGE-TEST" not in before
    grids = client.app.state.store.read_layer("grids")
    grid = grids[grids["code"] == "C01-G001"].geometry.iloc[0]
    x, y = grid.representative_point().coords[0]
    building = gpd.GeoDataFrame(
        {"code": ["B-PAGE-TEST"], "households": [2]},
        geometry=[shapely.MultiPolygon([shapely.box(x, y, x + 0.00005, y + 0.00005)])],
        crs=4326,
    )
    writer = open_store(sample_store_url)  # another connection: the app learns it from the store
    try:
        writer.write_layers({"buildings": building})
    finally:
        writer.close()
    made, after = _get(client, tokens["planner"], path)
    assert made == "MISS"
    assert "B-PAGE-TEST" in after  # a building without a responsible member, inline


def test_two_areas_never_share_a_page(client: TestClient, tokens: dict[str, str]) -> None:
    """Each leader gets a page of its own community: the grids its filter form offers."""
    path = "/maps/coverage?as_of=2025-05-30&lang=en"
    c01_made, c01 = _get(client, tokens["c01"], path)
    c02_made, c02 = _get(client, tokens["c02"], path)
    assert (c01_made, c02_made) == ("MISS", "MISS")
    c01_grids, c02_grids = set(GRID_OPTION.findall(c01)), set(GRID_OPTION.findall(c02))
    assert c01_grids and all(g.startswith("C01-") for g in c01_grids), c01_grids
    assert c02_grids and all(g.startswith("C02-") for g in c02_grids), c02_grids
    again, c01_again = _get(client, tokens["c01"], path)
    assert again == "HIT" and set(GRID_OPTION.findall(c01_again)) == c01_grids


def test_a_kept_page_holds_only_its_callers_credentials(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """The first caller's token (as ``?token=``) and tile key never reach the second."""
    path = f"{COVERAGE}&grid=C01-G002"
    made, first = _get(client, tokens["planner"], path, how="query")
    served, second = _get(client, tokens["planner2"], path)
    assert (made, served) == ("MISS", "HIT")
    first_keys, second_keys = set(TILE_KEY.findall(first)), set(TILE_KEY.findall(second))
    assert len(first_keys) == 1 and len(second_keys) == 1 and first_keys != second_keys
    assert tokens["planner"] not in first and tokens["planner"] not in second
    assert not first_keys & set(TILE_KEY.findall(second.replace("&amp;", "&")))
    (key,) = second_keys
    client.cookies.clear()
    tile = client.get(f"/tiles/basemap/14/13722/6696.mvt?tile_key={key}")
    assert tile.status_code in (200, 204), tile.text  # the second caller's own key opens tiles
    mismatched = client.get(
        f"/tiles/basemap/14/13722/6696.mvt?tile_key={key}",
        headers={"Authorization": f"Bearer {tokens['planner']}"},
    )
    assert mismatched.status_code in (400, 401, 403)  # it is the second token's, not the first's


def test_the_hotspot_page_is_kept_too(client: TestClient, tokens: dict[str, str]) -> None:
    first, html = _get(client, tokens["c01"], "/maps/hotspots?lang=en")
    second, again = _get(client, tokens["c01"], "/maps/hotspots?lang=en")
    third, other = _get(client, tokens["c02"], "/maps/hotspots?lang=en")
    assert (first, second, third) == ("MISS", "HIT", "MISS")
    assert again == html and other != html


def _request(client: TestClient, token: str) -> Request:
    return Request(
        {
            "type": "http",
            "app": client.app,
            "method": "GET",
            "path": "/maps/coverage",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
    )


def test_a_page_holding_its_callers_token_is_never_kept(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """Should a page ever hold the token it was asked with, no other caller gets it."""
    _get(client, tokens["planner"])  # opens the store
    store = client.app.state.store
    first, second = (authenticate(store, tokens[k]) for k in ("planner", "planner2"))
    assert first is not None and second is not None

    def answer(token: str, user: Principal) -> tuple[str, bool]:
        request = _request(client, token)
        return asyncio.run(cached_page(request, store, user, "test", {}, lambda: f"<p>{token}</p>"))

    made, hit = answer(tokens["planner"], first)
    assert made == f"<p>{tokens['planner']}</p>" and not hit
    again, hit = answer(tokens["planner2"], second)
    assert again == f"<p>{tokens['planner2']}</p>" and not hit
