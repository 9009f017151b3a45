"""Credentials read once and keyed on the principal: every route, the tile cache, tile keys.

- every route of the app refuses duplicate and conflicting credentials with 400 and
  nothing else (no data), and every response says ``Referrer-Policy: no-referrer``;
- the tile response cache (``api/fastpath.py``) answers by the authenticated caller's
  area, never by the text of a header, ``?token=`` or cookie;
- map pages hold no token: their tile URLs carry a signed, short-lived tile key that
  opens tiles, TileJSON and static maps of the same caller and nothing else;
- ``/layers/{layer}?community=`` keeps that community, with the usual area refusal;
- refusals of another area's codes are the refusals of unknown codes, word for word.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import mercantile
import pytest
import shapely
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from api import auth, readers
from api.main import create_app
from gridgeo import fieldwork, tokens
from gridgeo.areas import geography
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import create_token, revoke_token

AS_OF = "2025-06-01"
CODE = re.compile(r"(?<![\w-])(B\d{6}(?:-\d+-\d{4})?|C\d\d-G\d+|C\d\d|M\d{5}|H\d+)(?![\w-])")
on_postgis = pytest.mark.parametrize("sample_store_url", ["postgis"], indirect=True)


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


@pytest.fixture(scope="module")
def places(people: dict) -> dict[str, Any]:
    """A tile of C02 away from C01, a tile inside C01, and a problem code."""
    store = open_store(people["url"])
    try:
        grids = store.read_layer("grids")
        c01 = grids[grids["community"] == "C01"]
        c01_union = c01.geometry.union_all()
        other = None
        for geom in grids[grids["community"] == "C02"].geometry:
            p = geom.representative_point()
            t = mercantile.tile(p.x, p.y, 16)
            if not shapely.box(*mercantile.bounds(t)).buffer(1e-4).intersects(c01_union):
                other = t
                break
        assert other is not None
        p = c01.geometry.iloc[0].representative_point()
        own = mercantile.tile(p.x, p.y, 15)
        problem = fieldwork.report_problem(
            store, {"category": "测试", "household": people["own"]["member"]}
        ).feature["id"]
    finally:
        store.close()
    return {"other": other, "own": own, "problem": problem}


def _bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


def _cookie(token: str) -> tuple[str, str]:
    return ("Cookie", f"{auth.TOKEN_COOKIE}={token}")


def _with_query(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}" if query else path


# -- every route: duplicate and conflicting credentials ------------------------------------


def _flat(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of routes, the routers included in the app opened up."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI keeps an included router as one entry
            yield from _flat(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute | Route):
            yield prefix + route.path, set(route.methods or ())


def _routes(app: Any, places: dict) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, path parameters filled in."""
    t = places["own"]
    out = []
    for path, methods in _flat(app.routes):
        layer = "basemap" if path.endswith((".mvt", ".json")) else "grids"
        values = {
            "layer": layer,
            "z": str(t.z),
            "x": str(t.x),
            "y": str(t.y),
            "code": places["problem"],
            "name": "gaps",
            "fmt": "csv",
            "path": "gridgeo/map.js",
            "proposal_id": "0123456789abcdef",
        }
        filled = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m, v=values: v[m[1]], path)
        assert "{" not in filled, path
        out.extend((method, filled) for method in sorted(methods - {"HEAD"}))
    return out


def _ambiguous_cases(people: dict) -> list[tuple[str, list[tuple[str, str]], str]]:
    planner, leader = people["tokens"]["planner"], people["tokens"]["leader"]
    bogus = "ggt_not-a-token"
    return [
        ("a valid, then a bogus header", [_bearer(planner), _bearer(bogus)], ""),
        ("a bogus, then a valid header", [_bearer(bogus), _bearer(planner)], ""),
        ("the same header twice", [_bearer(planner), _bearer(planner)], ""),
        ("a header and another ?token=", [_bearer(planner)], f"token={leader}"),
        ("a header and another cookie", [_bearer(planner), _cookie(leader)], ""),
        (
            "a Basic header and ?token=",
            [("Authorization", "Basic dXNlcjpwdw==")],
            f"token={leader}",
        ),
        ("?token= and another cookie", [_cookie(planner)], f"token={leader}"),
        ("?token= twice", [], f"token={planner}&token={planner}"),
        ("?token= twice, different", [], f"token={planner}&token={bogus}"),
        ("an encoded ?token= twice", [], f"token={planner}&%74oken={bogus}"),
        ("tile_key= twice", [_bearer(planner)], "tile_key=1.2.x&tile_key=1.2.x"),
        (
            "the cookie twice",
            [("Cookie", f"a=1; {auth.TOKEN_COOKIE}={leader}"), _cookie(leader)],
            "",
        ),
    ]


@on_postgis
def test_every_route_refuses_duplicate_and_conflicting_credentials(client, people, places):
    routes = _routes(client.app, places)
    assert len(routes) >= 25  # every route of the app, GET and POST
    assert {m for m, _ in routes} == {"GET", "POST"}
    tokens = set(people["tokens"].values())
    for method, path in routes:
        for what, headers, query in _ambiguous_cases(people):
            r = client.request(
                method,
                _with_query(path, query),
                headers=[*headers, ("Idempotency-Key", uuid.uuid4().hex)],
                json={"household": people["own"]["member"]} if method == "POST" else None,
            )
            where = f"{method} {path} with {what}"
            assert r.status_code == 400, (where, r.status_code, r.text[:300])
            body = r.json()
            assert set(body) == {"error", "detail"}, where
            assert body["error"] == "AmbiguousCredentials", where
            assert not CODE.findall(r.text), (where, r.text)  # no data of any area
            assert not any(token in r.text for token in tokens), where  # nor a token
            assert r.headers["referrer-policy"] == "no-referrer", where
            assert "x-cache" not in r.headers


@on_postgis
def test_the_same_token_twice_in_two_ways_is_one_credential(client, people, places):
    leader = people["tokens"]["leader"]
    t = places["own"]
    for headers, query in (
        ([_bearer(leader)], f"token={leader}"),
        ([_bearer(leader), _cookie(leader)], ""),
        ([_cookie(leader)], f"token={leader}"),
        ([_bearer(leader), _cookie(leader)], f"token={leader}"),
    ):
        for path in ("/maps/coverage?as_of=2025-06-01", f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt"):
            r = client.get(_with_query(path, query), headers=headers)
            client.cookies.clear()  # the page sets the cookie: the module's client keeps none
            assert r.status_code == 200, (headers, query, path, r.text[:200])
    # the data routes read the header only, but refuse a conflicting cookie all the same
    r = client.get("/me", headers=[_bearer(leader), _cookie(leader)])
    assert r.status_code == 200 and r.json()["role"] == "leader"


@on_postgis
def test_a_conflict_with_the_cookie_clears_the_cookie(people):
    leader, planner = people["tokens"]["leader"], people["tokens"]["planner"]
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        assert c.get(f"/maps/coverage?as_of={AS_OF}&token={planner}").status_code == 200
        assert c.cookies.get(auth.TOKEN_COOKIE) == planner
        # a bookmark of another token, opened with the old cookie: refused, cookie cleared
        r = c.get(f"/maps/coverage?as_of={AS_OF}&token={leader}")
        assert r.status_code == 400 and "cookie has been cleared" in r.json()["detail"]
        assert auth.TOKEN_COOKIE not in c.cookies
        r = c.get(f"/maps/coverage?as_of={AS_OF}&token={leader}")  # opened again: works
        assert r.status_code == 200 and c.cookies.get(auth.TOKEN_COOKIE) == leader


@on_postgis
def test_every_response_says_no_referrer(client, people, places):
    planner = people["tokens"]["planner"]
    for method, path in _routes(client.app, places):
        r = client.request(
            method,
            path,
            headers=[_bearer(planner), ("Idempotency-Key", uuid.uuid4().hex)],
            json={} if method == "POST" else None,
        )
        assert r.headers.get("referrer-policy") == "no-referrer", (method, path, r.status_code)
    t = places["own"]
    url = f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt"
    client.get(url, headers=[_bearer(planner)])
    hit = client.get(url, headers=[_bearer(planner)])  # answered in front of the routes
    assert hit.headers.get("x-cache") == "HIT"
    assert hit.headers["referrer-policy"] == "no-referrer"
    assert client.get("/health").headers["referrer-policy"] == "no-referrer"


# -- the tile response cache is keyed by the authenticated caller --------------------------


def _features(content: bytes) -> set[str]:
    if not content:
        return set()
    layers = mapbox_vector_tile.decode(content)
    return {str(f["properties"].get("code")) for lay in layers.values() for f in lay["features"]}


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/basemap/{z}/{x}/{y}.mvt",  # a plain tile, answered in front of the routes
        "/tiles/grid_coverage/{z}/{x}/{y}.mvt?as_of=2025-06-01",  # a tile of the route
        "/tiles/grids/{z}/{x}/{y}.png",  # a raster tile
    ],
)
def test_the_tile_cache_is_keyed_by_the_caller_not_by_header_text(client, people, places, path):
    t = places["other"]  # a tile of C02 that touches nothing of C01
    url = path.format(z=t.z, x=t.x, y=t.y)
    planner, leader = people["tokens"]["planner"], people["tokens"]["leader"]
    bogus = f"ggt_bogus-{uuid.uuid4().hex}"
    # the route would authenticate the first header, a cache keyed on text the last one
    r = client.get(url, headers=[_bearer(planner), _bearer(bogus)])
    assert r.status_code == 400, r.text[:200]
    r = client.get(url, headers=[_bearer(bogus)])
    assert r.status_code == 401 and "x-cache" not in r.headers
    r = client.get(url, headers=[_bearer(planner), _bearer(leader)])
    assert r.status_code == 400
    # the district's tile, then from memory for the same caller, whichever way
    district = client.get(url, headers=[_bearer(planner)])
    assert district.status_code == 200 and district.content
    vector = ".mvt" in path
    if vector:
        assert _features(district.content) & geography_grids(people, "C02")
    for headers, query in (
        ([_bearer(planner)], ""),
        ([], f"token={planner}"),
        ([_cookie(planner)], ""),
    ):
        again = client.get(_with_query(url, query), headers=headers)
        assert again.headers.get("x-cache") == "HIT", (headers, query)
        assert again.content == district.content
    # another area's caller never gets it: its own (empty) tile, then its own from memory
    for headers, query in (
        ([_bearer(leader)], ""),
        ([], f"token={leader}"),
        ([_cookie(leader)], ""),
    ):
        theirs = client.get(_with_query(url, query), headers=headers)
        assert theirs.status_code == 200
        assert theirs.content != district.content
        if vector:
            assert not (_features(theirs.content) & geography_grids(people, "C02"))
    assert theirs.headers.get("x-cache") == "HIT"  # keyed by the leader, not by the text
    # a credential that does not authenticate gets nothing from memory, however it came
    for headers, query in (
        ([_bearer(bogus)], ""),
        ([], f"token={bogus}"),
        ([_cookie(bogus)], ""),
        ([], ""),
    ):
        r = client.get(_with_query(url, query), headers=headers)
        assert r.status_code == 401 and "x-cache" not in r.headers, (headers, query)


def geography_grids(people: dict, community: str) -> set[str]:
    store = open_store(people["url"])
    try:
        geo = geography(store)
        return {g for g, c in geo.grid_of_code.items() if c == community}
    finally:
        store.close()


@on_postgis
def test_a_revoked_token_stops_getting_cached_tiles(client, people, places, monkeypatch):
    store = open_store(people["url"])
    try:
        secret, principal = create_token(store, "planner")
        t = places["own"]
        url = f"/tiles/basemap/{t.z}/{t.x}/{t.y}.mvt"
        for _ in range(2):  # the first request may be the one that opens the store
            assert client.get(url, headers=[_bearer(secret)]).status_code == 200
        assert client.get(url, headers=[_bearer(secret)]).headers.get("x-cache") == "HIT"
        revoke_token(store, principal.token_id)
    finally:
        store.close()
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)  # the 30 s memory, run out
    readers.forget_lookups()
    r = client.get(url, headers=[_bearer(secret)])
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


# -- map pages: no token in the page, tile keys in tile URLs ------------------------------


def _tile_urls(html: str) -> list[str]:
    return re.findall(r'"(/tiles/[^"]+\.mvt\?[^"]+)"', html)


def _fill(template: str, t: mercantile.Tile) -> str:
    return template.replace("{z}", str(t.z)).replace("{x}", str(t.x)).replace("{y}", str(t.y))


@on_postgis
def test_map_pages_hold_no_token_and_their_tiles_load_with_a_tile_key(people, places):
    token = people["tokens"]["leader"]
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        for page in (f"/maps/coverage?as_of={AS_OF}", "/maps/hotspots"):
            r = c.get(f"{page}&token={token}" if "?" in page else f"{page}?token={token}")
            assert r.status_code == 200
            assert token not in r.text  # not in tile URLs, links or the filter form
            assert 'name="token"' not in r.text
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "HttpOnly" in r.headers["set-cookie"]
            urls = _tile_urls(r.text)
            assert urls
            keys = {parse_qs(urlsplit(u).query)["tile_key"][0] for u in urls}
            assert len(keys) == 1 and "token" not in parse_qs(urlsplit(urls[0]).query)
        (key,) = keys
        c.cookies.clear()  # a browser that keeps no cookies: the tile key alone
        t = places["own"]
        basemap = next(u for u in urls if u.startswith("/tiles/basemap/"))
        own = c.get(_fill(basemap, t))
        assert own.status_code == 200 and own.content
        assert c.get(_fill(basemap, t).split("?")[0]).status_code == 401
        # the key is the leader's: the leader's area only
        o = places["other"]
        assert c.get(_fill(basemap, o)).content == b""
        assert c.get(f"/tiles/grids/{t.z}/{t.x}/{t.y}.png?tile_key={key}").status_code == 200
        tj = c.get(f"/tiles/grid_coverage.json?tile_key={key}")
        assert tj.status_code == 200 and "tile_key=" in tj.json()["tiles"][0]
        assert token not in tj.text
        assert c.get(f"/maps/static.png?tile_key={key}&width=300&height=200").status_code == 200
        r = c.get(f"/maps/static.png?tile_key={key}&community=C02")
        assert r.status_code == 403 and "not in your area" in r.json()["detail"]
        # ...and nothing else: pages, reports and data need the token
        for path in (
            f"/maps/coverage?tile_key={key}",
            f"/reports/coverage?tile_key={key}",
            f"/me?tile_key={key}",
        ):
            r = c.get(path)
            assert r.status_code == 401, (path, r.text[:200])
        assert c.get(f"/layers/grids?tile_key={key}").status_code in (401, 422)
        # a tile key with the token it was made for is one credential; with another, 400
        r = c.get(f"{_fill(basemap, t)}", headers=[_bearer(token)])
        assert r.status_code == 200
        r = c.get(_fill(basemap, t), headers=[_bearer(people["tokens"]["planner"])])
        assert r.status_code == 400 and r.json()["error"] == "AmbiguousCredentials"


@on_postgis
def test_tile_keys_are_signed_short_lived_and_die_with_their_token(people, places, monkeypatch):
    store = open_store(people["url"])
    try:
        secret, principal = create_token(store, "leader", communities=["C01"])
        app = create_app(Settings(database_url=people["url"], auth="on", tile_key_seconds=600))
        t = places["own"]
        with TestClient(app) as c:
            tj = c.get("/tiles/basemap.json", headers=[_bearer(secret)]).json()
            url = _fill(tj["tiles"][0].split("testserver", 1)[1], t)
            key = parse_qs(urlsplit(url).query)["tile_key"][0]
            token_id, expires = tokens.tile_key_parts(key)
            assert token_id == principal.token_id
            assert 590 <= expires - time.time() <= 600 + 100  # 600 s, rounded up
            assert c.get(url).status_code == 200
            base = url.split("?")[0]
            mac = key.rsplit(".", 1)[1]
            forged = {
                "another expiry": f"{token_id}.{expires + 600}.{mac}",
                "another token": f"{token_id + 1}.{expires}.{mac}",
                "another secret": tokens.tile_key(principal, expires, b"x" * 32),
                "not a key": "abc",
            }
            for what, bad in forged.items():
                r = c.get(f"{base}?tile_key={bad}")
                assert r.status_code == 401, what
                assert r.json()["detail"] == c.get(f"{base}?tile_key=abc").json()["detail"]
            # a tile key never makes a longer-lived one: the TileJSON writes it back as it is
            soon = tokens.tile_key(principal, int(time.time()) + 30, readers.tile_secret(app))
            written = c.get(f"/tiles/basemap.json?tile_key={soon}").json()["tiles"][0]
            assert parse_qs(urlsplit(written).query)["tile_key"] == [soon]
            expired = tokens.tile_key(principal, int(time.time()) - 1, readers.tile_secret(app))
            r = c.get(f"{base}?tile_key={expired}")
            assert r.status_code == 401 and "expired" in r.json()["detail"]
            assert c.get(url).headers.get("x-cache") == "HIT"
            revoke_token(store, principal.token_id)
            monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)  # the 30 s memory, run out
            readers.forget_lookups()
            r = c.get(url)
            assert r.status_code == 401 and "revoked" in r.json()["detail"]
    finally:
        store.close()


# -- /layers/{layer}?community= --------------------------------------------------------------


@on_postgis
@pytest.mark.parametrize("layer", ["grids", "buildings", "households", "members", "visits"])
def test_layers_keep_the_community_asked_for(client, people, layer):
    store = open_store(people["url"])
    try:
        geo = geography(store)
        c02 = geo.area(("C02",), ())
        c01 = geo.area(("C01",), ())
    finally:
        store.close()
    planner = [_bearer(people["tokens"]["planner"])]
    everything = client.get(f"/layers/{layer}?limit=1", headers=planner).json()
    r = client.get(f"/layers/{layer}?community=C02&limit=10000", headers=planner)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert 0 < body["numberMatched"] < everything["numberMatched"]
    for f in body["features"]:
        p = f["properties"]
        if layer in ("grids", "buildings", "households"):
            assert c02.holds(layer, p["code"]), p
        elif layer == "members":
            assert p["code"] in c02.members or p.get("community") == "C02"
        else:
            assert p["household"] in c02.households or p["building"] in c02.buildings
    if layer == "grids":
        assert {f["properties"]["community"] for f in body["features"]} == {"C02"}
        assert body["numberMatched"] == sum(1 for c in geo.grid_of_code.values() if c == "C02")
    # the leader of C01: its own community is its area; another is refused
    leader = [_bearer(people["tokens"]["leader"])]
    mine = client.get(f"/layers/{layer}?community=C01&limit=10000", headers=leader).json()
    assert (
        mine["numberMatched"]
        == client.get(f"/layers/{layer}?limit=1", headers=leader).json()["numberMatched"]
    )
    if layer in ("grids", "buildings", "households"):
        assert all(c01.holds(layer, f["properties"]["code"]) for f in mine["features"])
    r = client.get(f"/layers/{layer}?community=C02", headers=leader)
    assert r.status_code == 403 and "not in your area" in r.json()["detail"]
    r = client.get(f"/layers/{layer}?community=C99", headers=planner)
    assert r.status_code == 404 and "C99" in r.json()["detail"]


# -- refusals of another area are those of unknown codes -----------------------------------


@on_postgis
@pytest.mark.parametrize(
    "template",
    [
        "/layers/grids?community={c}",
        "/layers/visits?community={c}",
        "/findings?community={c}",
        "/findings/gaps?community={c}",
        "/findings.csv?community={c}",
        "/maps/coverage?community={c}",
        "/maps/coverage?grid={g}",
        "/tiles/grid_coverage.json?community={c}",
        "/tiles/grid_coverage/14/0/0.mvt?community={c}",
        "/tiles/gaps/14/0/0.mvt?grid={g}",
        "/maps/static.png?community={c}",
        "/maps/static.png?grid={g}",
    ],
)
def test_another_areas_codes_are_refused_as_unknown_ones(client, people, template):
    headers = {"leader": [_bearer(people["tokens"]["leader"])]}
    foreign = client.get(
        template.format(c="C02", g=people["other_grid"]), headers=headers["leader"]
    )
    unknown = client.get(template.format(c="C98", g="C98-G999"), headers=headers["leader"])
    assert foreign.status_code == unknown.status_code == 403, foreign.text[:200]
    said = foreign.json()["detail"].replace(people["other_grid"], "?").replace("C02", "?")
    assert said == unknown.json()["detail"].replace("C98-G999", "?").replace("C98", "?")
    assert foreign.json()["error"] == unknown.json()["error"] == "PermissionDenied"
    assert set(foreign.headers) - {"content-length", "date"} == set(unknown.headers) - {
        "content-length",
        "date",
    }
