"""Vector tiles and TileJSON on the sample district, in both stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import pytest
import shapely
from fastapi.testclient import TestClient

from api.main import create_app
from api.tiles import BUFFER, EXTENT, MVT_MEDIA_TYPE
from gridgeo.settings import Settings
from gridgeo.store import open_store

AS_OF = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def client(sample_store_url: str) -> Iterator[TestClient]:
    # the open read-only demo; tokens and areas: tests/test_api_auth_maps.py
    app = create_app(Settings(database_url=sample_store_url, auth="off"))
    with TestClient(app) as c:
        assert c.get("/tiles/grids.json").status_code == 200  # opens the app's store
        yield c


def _centre(frame: gpd.GeoDataFrame) -> tuple[float, float]:
    minx, miny, maxx, maxy = frame.total_bounds
    return (minx + maxx) / 2, (miny + maxy) / 2


def _in_tile(frame: gpd.GeoDataFrame, tile: mercantile.Tile, *, buffer: int = 0) -> set[str]:
    """Codes of the features intersecting the tile (grown by ``buffer`` units), by geopandas."""
    b = mercantile.xy_bounds(tile)
    pad = (b.right - b.left) * buffer / EXTENT
    box = shapely.box(b.left - pad, b.bottom - pad, b.right + pad, b.top + pad)
    projected = frame.to_crs(3857)
    return set(projected.loc[projected.intersects(box), "code"].astype(str))


def _codes(content: bytes, layer: str) -> list[str]:
    return [f["properties"]["code"] for f in _decode(content)[layer]["features"]]


def _assert_tile_holds(codes: list[str], frame: gpd.GeoDataFrame, tile: mercantile.Tile) -> None:
    """Every feature intersecting the tile is in it, once; the others only from its buffer.

    Features are clipped to the tile plus a buffer of BUFFER units (as ST_AsMVTGeom
    does), so those touching only the buffer ring may be in the tile too, unless their
    part inside it is thinner than one tile unit (then it is dropped as degenerate).
    """
    inside = _in_tile(frame, tile)
    assert len(codes) == len(set(codes))
    assert inside <= set(codes), sorted(inside - set(codes))[:5]
    assert set(codes) <= _in_tile(frame, tile, buffer=BUFFER)


def _decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content) if content else {}


@pytest.mark.parametrize("z", [14, 16])
def test_building_tile_holds_the_buildings_that_intersect_it(client: TestClient, z: int) -> None:
    buildings = client.app.state.store.read_layer("buildings")
    tile = mercantile.tile(*_centre(buildings), z)
    r = client.get(f"/tiles/buildings/{z}/{tile.x}/{tile.y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == MVT_MEDIA_TYPE
    features = _decode(r.content)["buildings"]["features"]
    assert len(_in_tile(buildings, tile)) > 100
    _assert_tile_holds([f["properties"]["code"] for f in features], buildings, tile)
    some = features[0]
    assert set(some["properties"]) >= {"code", "households"}
    assert "name" not in some["properties"] and "phone" not in some["properties"]


def test_basemap_holds_communities_grids_and_buildings_from_their_zoom(client: TestClient) -> None:
    store = client.app.state.store
    grids = store.read_layer("grids")
    tile = mercantile.tile(*_centre(grids), 14)
    content = client.get(f"/tiles/basemap/14/{tile.x}/{tile.y}.mvt").content
    layers = _decode(content)
    assert set(layers) == {"communities", "grids", "buildings"}
    _assert_tile_holds(_codes(content, "grids"), grids, tile)
    parent = mercantile.parent(tile, zoom=12)
    layers = _decode(client.get(f"/tiles/basemap/12/{parent.x}/{parent.y}.mvt").content)
    assert set(layers) == {"communities", "grids"}  # buildings start at zoom 13
    assert len(layers["grids"]["features"]) == len(grids)


def test_below_a_layers_minzoom_the_tile_is_empty(client: TestClient) -> None:
    store = client.app.state.store
    tile = mercantile.tile(*_centre(store.read_layer("grids")), 10)
    r = client.get(f"/tiles/buildings/10/{tile.x}/{tile.y}.mvt")
    assert r.status_code == 200 and r.content == b""


def test_finding_tiles_come_from_the_check(client: TestClient) -> None:
    from api.analysis_cache import check_results

    results = check_results(client.app.state.store, as_of=AS_OF)
    unassigned = results["unassigned_buildings"]
    tile = mercantile.tile(*_centre(unassigned), 14)
    r = client.get(f"/tiles/unassigned_buildings/14/{tile.x}/{tile.y}.mvt?as_of={AS_OF}")
    features = _decode(r.content)["unassigned_buildings"]["features"]
    _assert_tile_holds([f["properties"]["code"] for f in features], unassigned, tile)
    assert all(f["properties"]["explanation_zh"] for f in features)
    r = client.get(f"/tiles/grid_coverage/14/{tile.x}/{tile.y}.mvt?as_of={AS_OF}")
    scores = [
        f["properties"]["coverage_score"] for f in _decode(r.content)["grid_coverage"]["features"]
    ]
    assert scores and all(0 <= s <= 100 for s in scores)
    # one community only: no grid of another community
    r = client.get(f"/tiles/grid_coverage/14/{tile.x}/{tile.y}.mvt?as_of={AS_OF}&community=C01")
    layer = _decode(r.content).get("grid_coverage", {"features": []})
    assert all(f["properties"]["community"] == "C01" for f in layer["features"])
    assert client.get("/tiles/grid_coverage/14/0/0.mvt?community=NOPE").status_code == 404


def test_etag_and_not_modified(client: TestClient) -> None:
    tile = mercantile.tile(*_centre(client.app.state.store.read_layer("grids")), 15)
    url = f"/tiles/buildings/15/{tile.x}/{tile.y}.mvt"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and "no-cache" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url).content == first.content
    # a URL made for the current data version may be kept by the browser
    tilejson = client.get("/tiles/buildings.json").json()
    versioned = tilejson["tiles"][0].format(z=15, x=tile.x, y=tile.y)
    assert "max-age=86400" in client.get(versioned).headers["cache-control"]


def test_a_write_makes_new_tiles(client: TestClient, sample_store_url: str) -> None:
    store = client.app.state.store
    buildings = store.read_layer("buildings")
    x, y = _centre(buildings)
    tile = mercantile.tile(x, y, 16)
    url = f"/tiles/buildings/16/{tile.x}/{tile.y}.mvt"
    before = client.get(url)
    repeated = client.get(url)  # answered from memory (api.fastpath) ...
    assert repeated.headers.get("x-cache") == "HIT" and repeated.content == before.content
    b = mercantile.bounds(tile)
    cx, cy = (b.west + b.east) / 2, (b.south + b.north) / 2
    new = gpd.GeoDataFrame(
        {
            "code": ["B-TILE-TEST"],
            "address": ["测试楼"],
            "units": [1],
            "households": [4],
            "floors": [3],
        },
        geometry=[shapely.MultiPolygon([shapely.box(cx, cy, cx + 0.0001, cy + 0.0001)])],
        crs=4326,
    )
    writer = open_store(sample_store_url)  # another connection: the app learns it from the store
    try:
        writer.write_layers({"buildings": new})
    finally:
        writer.close()
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and "x-cache" not in after.headers  # ... until a write
    assert after.headers["etag"] != before.headers["etag"]
    codes_before = {
        f["properties"]["code"] for f in _decode(before.content)["buildings"]["features"]
    }
    codes_after = {f["properties"]["code"] for f in _decode(after.content)["buildings"]["features"]}
    assert codes_after == codes_before | {"B-TILE-TEST"}


def test_plain_tiles_are_answered_in_front_of_the_routes_as_the_route_would(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored layer's tile with no parameters but ``v`` skips FastAPI, same answer."""
    from api import fastpath

    answered: list[tuple[str, bool]] = []
    plain = fastpath.answer_plain

    async def spy(app, store, request, version):  # type: ignore[no-untyped-def]
        done = await plain(app, store, request, version)
        answered.append(
            (f"/tiles/{request.layer}/{request.z}/{request.x}/{request.y}.mvt", bool(done))
        )
        return done

    monkeypatch.setattr(fastpath, "answer_plain", spy)
    tile = mercantile.tile(*_centre(client.app.state.store.read_layer("buildings")), 17)
    path = f"/tiles/buildings/17/{tile.x}/{tile.y}.mvt"
    version = client.get("/tiles/buildings.json").json()["tiles"][0].split("v=")[1].split("&")[0]
    lean = client.get(f"{path}?v={version}")
    assert answered == [(path, True)]
    # the route (a parameter the plain path leaves to it), for the same tile
    routed = client.get(f"{path}?v={version}&cells=h3:9")
    assert len(answered) == 1
    assert lean.status_code == routed.status_code == 200
    assert lean.content == routed.content and _codes(lean.content, "buildings")
    for name in ("content-type", "etag", "cache-control", "vary"):
        assert lean.headers[name] == routed.headers[name], name
    assert "max-age=86400" in lean.headers["cache-control"]
    # If-None-Match, a fresh tile, and the refusals the route words
    assert client.get(path, headers={"If-None-Match": lean.headers["etag"]}).status_code == 304
    assert answered[-1] == (path, True)
    other = client.get(f"/tiles/basemap/17/{tile.x}/{tile.y}.mvt")
    assert answered[-1][1] and set(_decode(other.content)) == {"communities", "grids", "buildings"}
    assert set(_codes(other.content, "buildings")) == set(_codes(lean.content, "buildings"))
    r = client.get("/tiles/buildings/2/4/0.mvt")
    assert r.status_code == 400 and "from 0 to 3" in r.json()["detail"]
    assert answered[-1] == ("/tiles/buildings/2/4/0.mvt", False)
    count = len(answered)
    for query in ("v=abc", "v=1&v=2", "community=C01"):
        assert client.get(f"{path}?{query}").status_code in (200, 422), query
    assert len(answered) == count  # none of them plain


on_postgis = pytest.mark.parametrize("sample_store_url", ["postgis"], indirect=True)


@on_postgis
def test_a_kept_tile_is_checked_by_the_tile_statement_not_made_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostGIS a tile's statement reads the data version too; an unchanged one
    makes no new tile but vouches for the kept one (one round trip either way)."""
    from api import auth, database

    statements: list[tuple[str, tuple | None]] = []
    fetch = database.fetch_row

    async def spy(store, sql, params=None):  # type: ignore[no-untyped-def]
        row = await fetch(store, sql, params)
        statements.append((sql, row))
        return row

    monkeypatch.setattr(database, "fetch_row", spy)
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)  # nothing answered from memory
    tile = mercantile.tile(*_centre(client.app.state.store.read_layer("buildings")), 18)
    url = f"/tiles/buildings/18/{tile.x}/{tile.y}.mvt"  # made by no other test
    first = client.get(url)
    second = client.get(url)
    rows = [row for sql, row in statements if "ST_AsMVT" in sql]
    assert len(statements) == len(rows) == 2  # no version query of its own
    (version, made), (again, kept) = rows  # type: ignore[misc]
    assert made is not None and bytes(made) == first.content and _codes(made, "buildings")
    assert again == version and kept is None  # vouched for, not made again
    assert second.status_code == 200 and second.content == first.content
    assert second.headers["etag"] == first.headers["etag"] and "x-cache" not in second.headers


@on_postgis
def test_tiles_come_back_when_the_database_drops_its_connections(
    client: TestClient, sample_store_url: str
) -> None:
    """A database restart (every connection dropped) costs at most a 503 with the
    reason, never a 500, and the next requests are served again."""
    import sqlalchemy as sa

    tile = mercantile.tile(*_centre(client.app.state.store.read_layer("buildings")), 17)
    assert client.get(f"/tiles/buildings/17/{tile.x}/{tile.y}.mvt").status_code == 200
    assert client.get("/tiles/buildings.json").status_code == 200
    admin = sa.create_engine(sample_store_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            dropped = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()
    assert dropped >= 2  # the app's connections: its pools' and the tiles'
    answers = [
        client.get(path)
        for path in (
            f"/tiles/buildings/17/{tile.x + 1}/{tile.y}.mvt",
            f"/tiles/basemap/17/{tile.x + 2}/{tile.y}.mvt",
            "/tiles/buildings.json",
            f"/tiles/last_visits/17/{tile.x}/{tile.y}.mvt?as_of={AS_OF}",
            f"/tiles/buildings/17/{tile.x + 3}/{tile.y}.mvt",
        )
    ]
    for r in answers:
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert "database" in r.json()["detail"]
    for r in answers[-2:]:
        assert r.status_code == 200


def test_tilejson(client: TestClient) -> None:
    r = client.get("/tiles/basemap.json")
    assert r.status_code == 200
    tj = r.json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["scheme"] == "xyz"
    assert [layer["id"] for layer in tj["vector_layers"]] == ["communities", "grids", "buildings"]
    assert tj["vector_layers"][2]["fields"]["code"] == "String"
    assert tj["vector_layers"][2]["minzoom"] == 13
    west, south, east, north = tj["bounds"]
    grids = client.app.state.store.read_layer("grids")
    gminx, gminy, gmaxx, gmaxy = grids.total_bounds
    assert west <= gminx and south <= gminy and east >= gmaxx and north >= gmaxy
    assert east - west < 1 and north - south < 1
    assert west <= tj["center"][0] <= east and tj["minzoom"] <= tj["center"][2] <= tj["maxzoom"]
    template = tj["tiles"][0]
    assert "{z}/{x}/{y}.mvt" in template
    tile = mercantile.tile(tj["center"][0], tj["center"][1], 14)
    path = template.split("testserver", 1)[1].format(z=14, x=tile.x, y=tile.y)
    assert _decode(client.get(path).content)["grids"]["features"]
    finding = client.get(f"/tiles/last_visits.json?as_of={AS_OF}").json()
    assert f"as_of={AS_OF}" in finding["tiles"][0]
    assert finding["vector_layers"][0]["fields"]["days_since"] == "Number"


def test_unknown_tileset_and_tiles_out_of_range(client: TestClient) -> None:
    r = client.get("/tiles/nope/1/0/0.mvt")
    assert r.status_code == 404 and "buildings" in r.json()["detail"]
    assert client.get("/tiles/nope.json").status_code == 404
    r = client.get("/tiles/buildings/2/4/0.mvt")
    assert r.status_code == 400 and "from 0 to 3" in r.json()["detail"]
    r = client.get("/tiles/buildings/2/0/-1.mvt")
    assert r.status_code == 400
    r = client.get("/tiles/buildings/23/0/0.mvt")
    assert r.status_code == 400 and "zoom" in r.json()["detail"]
    assert client.get("/tiles/buildings/a/0/0.mvt").status_code == 422


def test_concurrent_requests_share_version_reads_without_going_stale() -> None:
    import threading
    import time

    from api.analysis_cache import data_version

    class Counter:
        """A store whose version a writer bumps while 32 readers ask for it."""

        def __init__(self) -> None:
            self.committed = 0
            self.reads = 0

        def data_version(self) -> int:
            self.reads += 1
            seen = self.committed
            time.sleep(0.002)
            return seen

    store = Counter()
    stale: list[tuple[int, int]] = []

    def reader() -> None:
        for _ in range(20):
            before = store.committed
            got = data_version(store)  # type: ignore[arg-type]
            if got < before:
                stale.append((got, before))

    def writer() -> None:
        for _ in range(40):
            store.committed += 1
            time.sleep(0.001)

    threads = [threading.Thread(target=reader) for _ in range(32)] + [
        threading.Thread(target=writer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stale == []
    assert store.reads < 32 * 20 / 2  # reads were shared


def test_concurrent_coroutines_share_version_reads_without_going_stale() -> None:
    import asyncio
    import time

    from api.analysis_cache import data_version_async

    class Counter:
        def __init__(self) -> None:
            self.committed = 0
            self.reads = 0

        def data_version(self) -> int:
            self.reads += 1
            seen = self.committed
            time.sleep(0.002)
            return seen

    store = Counter()

    async def reader() -> list[tuple[int, int]]:
        stale = []
        for _ in range(20):
            before = store.committed
            got = await data_version_async(store)  # type: ignore[arg-type]
            if got < before:
                stale.append((got, before))
            store.committed += 1  # a write after each read: the next call must see it
        return stale

    async def main() -> list[tuple[int, int]]:
        results = await asyncio.gather(*(reader() for _ in range(32)))
        return [s for r in results for s in r]

    assert asyncio.run(main()) == []
    assert store.reads < 32 * 20 / 2
