"""Tokens and areas on the maps, tiles, static maps and reports (real PostGIS).

For every role × {own area, other area} × {coverage map, hotspot map, MVT tile, PNG
tile, TileJSON, static PNG, report HTML}: the status, no code of another area in what
comes back (beyond what ``/findings`` itself gives the same token: findings along the
area's edge name their neighbours), and never a household's name or phone number.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from PIL import Image

from api import auth, readers
from api.main import create_app
from gridgeo.areas import area_for, geography
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import create_token, revoke_token

ROLES = ("leader", "planner", "analyst", "grid_worker", "member")
DISTRICT_WIDE = {"planner", "analyst"}
ENDPOINTS = ("coverage", "hotspots", "mvt", "png", "tilejson", "static", "report")
#: endpoints that take a community or grid: another area's is refused
PLACED = {"coverage", "mvt", "tilejson", "static"}
AS_OF = dt.date(2025, 6, 1)
CODE = re.compile(r"(?<![\w-])(B\d{6}(?:-\d+-\d{4})?|C\d\d-G\d+|C\d\d)(?![\w-])")
PHONE = re.compile(r"(?<![\d.])1\d{10}(?![\d.])")
BASE64 = re.compile(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+")
FINDING_LAYERS = (
    "summary_grids",
    "gaps",
    "overlaps",
    "straddling_buildings",
    "buildings_outside",
    "unassigned_buildings",
    "multi_assigned_buildings",
    "last_visits",
)

on_postgis = pytest.mark.parametrize("sample_store_url", ["postgis"], indirect=True)
embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


def _auth(people: dict, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people['tokens'][role]}"}


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value, *(part.strip() for part in value.split(","))}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _tile_away_from(union: Any, candidates: list[Any], z: int) -> mercantile.Tile:
    """A tile of zoom ``z`` in one of ``candidates`` that does not touch ``union``."""
    for geom in candidates:
        point = geom.representative_point()
        tile = mercantile.tile(point.x, point.y, z)
        if not shapely.box(*mercantile.bounds(tile)).buffer(1e-4).intersects(union):
            return tile
    raise AssertionError("no tile away from the area")


@pytest.fixture(scope="module")
def world(client: TestClient, people: dict) -> dict:
    """Per role: its area, the codes it may see, its own and another area's places."""
    store = open_store(people["url"])
    try:
        geo = geography(store)
        grids = store.read_layer("grids")
        households = store.read_layer("households", include_personal=True)
        members = store.read_layer("members", include_personal=True)
        out: dict[str, Any] = {
            "names": {n for n in households["name"].dropna().astype(str) if len(n) == 3},
            "phones": set(households["phone"].dropna().astype(str))
            | set(members["phone"].dropna().astype(str)),
            "everything": set(geo.grid_of_code)
            | set(geo.grid_of_building)
            | set(geo.community_codes),
        }
        c02 = grids[grids["community"] == "C02"]
        c01_union = grids[grids["community"] == "C01"].geometry.union_all()
        out["other_tile"] = _tile_away_from(c01_union, list(c02.geometry), 16)
        for role in ROLES:
            principal = people["principals"][role]
            area = area_for(store, principal)
            headers = _auth(people, role)
            allowed: set[str] = set()
            for layer in ("communities", "grids", "buildings"):
                body = client.get(f"/layers/{layer}?limit=10000", headers=headers).json()
                allowed |= {f["properties"]["code"] for f in body["features"]}
            for name in FINDING_LAYERS:
                r = client.get(f"/findings/{name}?limit=10000&as_of={AS_OF}", headers=headers)
                assert r.status_code == 200, r.text
                allowed |= _strings([f["properties"] for f in r.json()["features"]])
            mine = grids if area is None else grids[grids["code"].isin(area.grids)]
            own_grid = sorted(mine["code"])[0] if area is not None else people["grid"]
            centre = mine[mine["code"] == own_grid].geometry.iloc[0].representative_point()
            if role in ("grid_worker", "member"):
                own, other = {"grid": own_grid}, {"grid": people["other_grid"]}
            else:
                own, other = {"community": "C01"}, {"community": "C02"}
            out[role] = {
                "area": area,
                "allowed": allowed,
                "own": own,
                "other": other,
                "own_tile": mercantile.tile(centre.x, centre.y, 15),
            }
    finally:
        store.close()
    return out


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def _url(endpoint: str, params: dict[str, str], tile: mercantile.Tile) -> str:
    q = _query(params)
    z, x, y = tile.z, tile.x, tile.y
    return {
        "coverage": f"/maps/coverage?as_of={AS_OF}&{q}",
        "hotspots": "/maps/hotspots",
        "mvt": f"/tiles/grid_coverage/{z}/{x}/{y}.mvt?as_of={AS_OF}&{q}",
        "png": f"/tiles/grids/{z}/{x}/{y}.png",
        "tilejson": f"/tiles/grid_coverage.json?as_of={AS_OF}&{q}",
        "static": f"/maps/static.png?{q}&layers=grids,grid_coverage&width=400&height=300",
        "report": f"/reports/coverage?as_of={AS_OF}",
    }[endpoint]


def _expected(role: str, endpoint: str, where: str) -> int:
    if where == "other" and role not in DISTRICT_WIDE and endpoint in PLACED:
        return 403
    return 200


def _no_personal_data(text: str, world: dict) -> None:
    assert not (set(PHONE.findall(text)) & world["phones"]), "a phone number is in the answer"
    runs = re.findall(r"[\u4e00-\u9fff]{3,}", BASE64.sub("", text))
    grams = {run[i : i + 3] for run in runs for i in range(len(run) - 2)}
    names = grams & world["names"]
    assert not names, f"household names in the answer: {sorted(names)[:3]}"


def _codes_in(text: str) -> set[str]:
    return set(CODE.findall(BASE64.sub("", text)))


def _mvt_strings(content: bytes) -> set[str]:
    if not content:
        return set()
    decoded = mapbox_vector_tile.decode(content)
    return _strings([f["properties"] for layer in decoded.values() for f in layer["features"]])


@on_postgis
@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_read_matrix(client, people, world, role, endpoint, where):
    mine = world[role]
    tile = mine["own_tile"] if where == "own" else world["other_tile"]
    r = client.get(_url(endpoint, mine[where], tile), headers=_auth(people, role))
    expected = _expected(role, endpoint, where)
    assert r.status_code == expected, r.text[:500]
    if expected == 403:
        body = r.json()
        assert body["error"] == "PermissionDenied"
        assert "not in your area" in body["detail"]
        assert "C02" in body["detail"]  # the refusal names what was refused...
        return
    restricted = role not in DISTRICT_WIDE
    if endpoint in ("coverage", "hotspots", "report"):
        assert r.headers["content-type"].startswith("text/html")
        _no_personal_data(r.text, world)
        if restricted:
            leaked = _codes_in(r.text) - mine["allowed"]
            assert not leaked, f"{role} sees codes of another area: {sorted(leaked)[:5]}"
            if endpoint == "coverage":
                assert "全区" not in r.text  # ...and no district totals
    elif endpoint == "mvt":
        seen = _mvt_strings(r.content)
        assert seen, "the tile of the caller's own area is empty"
        assert not (set(PHONE.findall(" ".join(seen))) & world["phones"])
        if restricted:
            leaked = (seen & world["everything"]) - mine["allowed"]
            assert not leaked, f"{role}'s tile holds another area: {sorted(leaked)[:5]}"
    elif endpoint == "png":
        alpha = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))[:, :, 3]
        if where == "other" and restricted:
            assert (alpha == 0).all(), "another area's grids are drawn"
        else:
            assert (alpha > 0).any()
    elif endpoint == "tilejson":
        body = r.json()
        assert body["tilejson"] == "3.0.0"
        assert "token=" not in body["tiles"][0]  # a header token never goes into URLs
    elif endpoint == "static":
        assert r.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(r.content)).size == (400, 300)


@on_postgis
@pytest.mark.parametrize("role", ["leader", "grid_worker", "member"])
def test_district_pages_of_an_area_show_only_the_area(client, people, world, role):
    """Without a community or grid, an area's caller gets a map of their area only."""
    mine = world[role]
    area = mine["area"]
    html = client.get(f"/maps/coverage?as_of={AS_OF}", headers=_auth(people, role)).text
    grids = set(re.findall(r'"code":"(C\d\d-G\d+)"', html))
    assert grids and grids <= area.grids
    everyone = client.get(f"/maps/coverage?as_of={AS_OF}", headers=_auth(people, "planner")).text
    assert set(re.findall(r'"code":"(C\d\d-G\d+)"', everyone)) > grids
    # the hotspot map counts only the area's problems
    counts = [int(c) for c in re.findall(r'"count":(\d+)', _hotspots(client, people, role))]
    district = [int(c) for c in re.findall(r'"count":(\d+)', _hotspots(client, people, "planner"))]
    assert sum(counts) < sum(district)
    # and shows only the area's problems as points
    s = open_store(people["url"])
    try:
        theirs = set(area.keep("problems", s.read_layer("problems"))["code"])
    finally:
        s.close()
    shown = set(re.findall(r'"code":"(P\d{7})"', _hotspots(client, people, role)))
    everyone = set(re.findall(r'"code":"(P\d{7})"', _hotspots(client, people, "planner")))
    assert shown and shown <= theirs and len(shown) < len(everyone)


def _hotspots(client: TestClient, people: dict, role: str) -> str:
    r = client.get("/maps/hotspots", headers=_auth(people, role))
    assert r.status_code == 200
    return r.text


@on_postgis
@pytest.mark.parametrize("role", ["leader", "grid_worker", "member"])
def test_basemap_tiles_hold_only_the_area(client, people, world, role):
    mine = world[role]
    area = mine["area"]
    t = mine["own_tile"]
    own = mapbox_vector_tile.decode(
        client.get(f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt", headers=_auth(people, role)).content
    )
    assert {f["properties"]["code"] for f in own["grids"]["features"]} <= area.grids
    assert {f["properties"]["code"] for f in own["buildings"]["features"]} <= area.buildings
    assert {f["properties"]["code"] for f in own["communities"]["features"]} <= (
        area.visible_communities
    )
    o = world["other_tile"]
    url = f"/tiles/basemap/{o.z}/{o.x}/{o.y}.mvt"
    planner = client.get(url, headers=_auth(people, "planner"))
    assert planner.status_code == 200 and planner.content  # the district sees C02 there
    theirs = client.get(url, headers=_auth(people, role))
    assert theirs.status_code == 200 and theirs.content == b""
    # one cache, one ETag per area: the planner's tile is never the area caller's
    assert theirs.headers["etag"] != planner.headers["etag"]
    assert "Authorization" in theirs.headers["vary"]
    again = client.get(
        url, headers={**_auth(people, role), "If-None-Match": planner.headers["etag"]}
    )
    assert again.status_code == 200 and again.content == b""


@on_postgis
@pytest.mark.parametrize(
    "path",
    [
        "/maps/coverage",
        "/maps/hotspots",
        "/tiles/basemap/14/13722/6693.mvt",
        "/tiles/grids/14/13722/6693.png",
        "/tiles/basemap.json",
        "/maps/static.png",
        "/reports/coverage",
        "/reports/coverage.pdf",
    ],
)
def test_no_token_or_a_bad_one_is_401(client, path):
    for headers, query in (
        ({}, ""),
        ({"Authorization": "Bearer not-a-token"}, ""),
        ({"Authorization": "Basic dXNlcjpwdw=="}, ""),
        ({}, "?token=not-a-token"),
    ):
        r = client.get(path + query, headers=headers)
        assert r.status_code == 401, (headers, query, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "token" in r.json()["detail"]
    assert client.get("/static/gridgeo/map.js").status_code in (200, 404)  # stays open


@on_postgis
def test_a_bookmarked_link_with_the_token(people, world):
    """``?token=`` opens a page and sets the cookie; the page's tile URLs carry a tile key."""
    token = people["tokens"]["leader"]
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        r = c.get(f"/maps/coverage?as_of={AS_OF}&token={token}")
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{auth.TOKEN_COOKIE}=") and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
        assert token not in r.text  # the page holds no token: not in URLs, links or form
        urls = re.findall(r'"(/tiles/[^"]+\.mvt\?[^"]+)"', r.text)
        assert urls and all("tile_key" in parse_qs(urlsplit(u).query) for u in urls)
        # later pages and tiles load with the cookie alone (the browser keeps it)...
        t = world["leader"]["own_tile"]
        assert c.get(f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt").status_code == 200
        assert c.get(f"/maps/coverage?as_of={AS_OF}").status_code == 200
        # ...and without cookies, with the tile key the page wrote into the tile URLs
        c.cookies.clear()
        tile = urls[0].replace("{z}", str(t.z)).replace("{x}", str(t.x)).replace("{y}", str(t.y))
        assert c.get(tile).status_code == 200
        assert c.get(tile.split("?")[0]).status_code == 401
        c.cookies.set(auth.TOKEN_COOKIE, token)
        # the TileJSON opened with ?token= writes a tile key into its tile URL, not the token
        body = c.get(f"/tiles/grid_coverage.json?token={token}").json()
        assert "tile_key=" in body["tiles"][0] and token not in body["tiles"][0]
        # another token in the URL than in the cookie is ambiguous: refused, cookie cleared
        r = c.get(f"/maps/coverage?token=bad-{token}")
        assert r.status_code == 400 and r.json()["error"] == "AmbiguousCredentials"
        cleared = r.headers["set-cookie"].lower()
        assert cleared.startswith(f"{auth.TOKEN_COOKIE}=") and "max-age=0" in cleared
        # and the area still holds: another community is refused
        r = c.get(f"/maps/coverage?community=C02&token={token}")
        assert r.status_code == 403 and "not in your area" in r.json()["detail"]
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        r = c.get(f"/reports/coverage?as_of={AS_OF}&token={token}")
        assert r.status_code == 200 and auth.TOKEN_COOKIE in r.headers["set-cookie"]
        assert token not in r.text


@on_postgis
def test_unknown_codes_are_refused_like_other_areas(client, people):
    """An area's caller cannot tell an unknown code from another area's (403 both)."""
    for query in ("community=C99", "grid=C99-G999", "community=C02"):
        r = client.get(f"/maps/coverage?{query}", headers=_auth(people, "leader"))
        assert r.status_code == 403, query
    assert (
        client.get("/maps/coverage?community=C99", headers=_auth(people, "planner")).status_code
        == 404
    )


@on_postgis
def test_a_revoked_token_stops_reading_maps(client, people, monkeypatch):
    store = open_store(people["url"])
    try:
        secret, principal = create_token(store, "leader", communities=["C01"])
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/tiles/basemap.json", headers=headers).status_code == 200
        revoke_token(store, principal.token_id)
    finally:
        store.close()
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)
    readers.forget_lookups()
    r = client.get("/tiles/basemap.json", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


@embedded
def test_embedded_store_tiles_and_demo_mode(people, world):
    """The embedded store's in-memory tiles keep to the area too; the demo needs no token."""
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        o = world["other_tile"]
        url = f"/tiles/basemap/{o.z}/{o.x}/{o.y}.mvt"
        assert c.get(url, headers=_auth(people, "planner")).content
        assert c.get(url, headers=_auth(people, "leader")).content == b""
        t = world["leader"]["own_tile"]
        own = mapbox_vector_tile.decode(
            c.get(f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt", headers=_auth(people, "leader")).content
        )
        assert {f["properties"]["code"] for f in own["grids"]["features"]} <= (
            world["leader"]["area"].grids
        )
    with TestClient(create_app(Settings(database_url=people["url"], auth="off"))) as c:
        assert c.get(f"/maps/coverage?as_of={AS_OF}").status_code == 200
        assert c.get(url).content  # the district, as an analyst reads it


def test_member_names_in_popups_only_for_roles_entitled_to_them(client, people):
    """A doubly assigned building's popup names its members for a grid worker, codes only
    for a leader of the same community."""
    store = open_store(people["url"])
    try:
        c01 = sorted(g for g, c in geography(store).grid_of_code.items() if c == "C01")
        worker = people["principals"]["grid_worker"].member
        secrets = {
            "grid_worker": create_token(store, "grid_worker", member=worker, grids=c01)[0],
            "leader": create_token(store, "leader", communities=["C01"])[0],
        }
        members = store.read_layer("members", columns=["name"])
    finally:
        store.close()
    names = dict(zip(members["code"], members["name"], strict=True))
    pages = {
        role: client.get(f"/maps/coverage?as_of={AS_OF}", headers={"Authorization": f"Bearer {s}"})
        for role, s in secrets.items()
    }
    assert all(p.status_code == 200 for p in pages.values())
    pattern = r'"members_names":"([^"]+)","members":"([^"]+)"'
    listed = [(c, n) for n, c in re.findall(pattern, pages["grid_worker"].text)]
    assert listed, "the grid worker's page has no doubly assigned building with member names"
    for codes, shown in listed:
        assert shown.split(",") == [names[c] for c in codes.split(",")]
    assert '"members_names"' not in pages["leader"].text
    assert re.search(r'"members":"M\d+', pages["leader"].text)
    assert not {n for _, shown in listed for n in shown.split(",")} & set(
        re.findall(r"[\u4e00-\u9fff]{2,3}", pages["leader"].text)
    ) - {"负责党员"}
