"""Basemaps: the file built from the district, Tianditu and AMap through the service's proxy."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import mercantile
import numpy as np
import pytest
from basemap_upstream import LANDMARK_COLOUR, amap_tile, global_pixel, upstream
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api import basemaps
from api.main import create_app
from gridgeo.basemaps import BasemapFile, build_basemap, gcj02_tile, write_mbtiles
from gridgeo.cli import app as cli
from gridgeo.settings import Settings
from gridgeo.store import open_store

embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)
KEY = "tk-5ecret-0123456789abcdef"
AS_OF = "2025-06-01"


def landmark_of(store_url: str) -> tuple[float, float]:
    """A building of the sample district: the point of it the tests line up."""
    store = open_store(store_url)
    try:
        point = store.read_layer("buildings", columns=[]).geometry.iloc[0].representative_point()
    finally:
        store.close()
    return float(point.x), float(point.y)


def _colours(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    assert image.size == (256, 256)
    return len(image.getcolors(maxcolors=1 << 16) or [])


def _magenta_centre(png: bytes) -> tuple[float, float]:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    hit = np.all(np.abs(rgb - np.array(LANDMARK_COLOUR)) < 30, axis=2)
    assert hit.sum() > 20, "the landmark is not in the tile"
    rows, cols = np.nonzero(hit)
    return float(cols.mean()) + 0.5, float(rows.mean()) + 0.5


@embedded
@pytest.mark.parametrize("suffix", [".mbtiles", ".pmtiles"])
def test_basemap_file_built_from_the_district(sample_store_url, tmp_path, suffix):
    out = tmp_path / f"district{suffix}"
    result = CliRunner().invoke(
        cli, ["basemap", "build", "--db", sample_store_url, "--out", str(out), "--zooms", "13-16"]
    )
    assert result.exit_code == 0, result.output
    f = BasemapFile.open(out)
    try:
        assert (f.format, f.minzoom, f.maxzoom, f.vector) == ("png", 13, 16, False)
        tiles = list(mercantile.tiles(*f.bounds, zooms=range(13, 17)))
        written = int(re.search(r"wrote (\d+) tiles", result.output).group(1))
        # the tiles of the district's extent, but for corners that hold nothing of it
        assert len(tiles) - 4 <= written <= len(tiles)
        lon, lat = landmark_of(sample_store_url)
        t = mercantile.tile(lon, lat, 16)
        assert _colours(f.tile(16, t.x, t.y)) > 3  # communities, grids, buildings drawn
        assert f.tile(16, t.x + 40, t.y) is None and f.tile(12, t.x >> 4, t.y >> 4) is None
    finally:
        f.close()


@embedded
def test_basemap_build_refuses_bad_options(sample_store_url, tmp_path):
    for args, words in (
        (["--zooms", "17-12"], "zooms go from 0"),
        (["--zooms", "a"], "a range such as 12-17"),
        (["--bbox", "1,2"], "west,south,east,north"),
    ):
        out = ["--out", str(tmp_path / "b.mbtiles")]
        result = CliRunner().invoke(
            cli, ["basemap", "build", "--db", sample_store_url, *out, *args]
        )
        assert result.exit_code == 1 and words in result.output, result.output
    result = CliRunner().invoke(
        cli, ["basemap", "build", "--db", sample_store_url, "--out", str(tmp_path / "b.tif")]
    )
    assert result.exit_code == 1 and ".mbtiles or .pmtiles" in result.output
    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        with pytest.raises(Exception, match="no communities"):
            build_basemap(store, tmp_path / "e.mbtiles")
    finally:
        store.close()


def test_reprojectedamap_tile_puts_the_landmark_at_its_wgs84_place():
    """A GCJ-02 tile re-projected: the landmark lands within 5 m of its WGS-84 position."""
    lon, lat = 121.4400, 31.2200
    z = 17
    wx, wy = global_pixel(lon, lat, z)
    x, y = int(wx // 256), int(wy // 256)
    png = gcj02_tile(z, x, y, lambda sz, sx, sy: amap_tile((lon, lat), sz, sx, sy))
    cx, cy = _magenta_centre(png)
    metres_per_px = 40075016.686 * np.cos(np.radians(lat)) / (256 * 2**z)
    off_m = np.hypot(cx - (wx - x * 256), cy - (wy - y * 256)) * metres_per_px
    assert off_m < 1.0, off_m
    # the GCJ-02 tile itself is hundreds of metres off: the test can fail
    raw = amap_tile((lon, lat), z, x, y)
    assert (
        not (np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")) == LANDMARK_COLOUR)
        .all(axis=2)
        .any()
    )


@pytest.fixture(scope="module")
def stand_in(sample_store_url: str) -> Iterator:
    with upstream(sample_store_url, landmark_of(sample_store_url)) as up:
        yield up


def _settings(url: str, up, **kw) -> Settings:
    return Settings(
        database_url=url,
        auth="on",
        tianditu_key=KEY,
        tianditu_url=f"{up.base}/tianditu/{{layer}}/{{z}}/{{x}}/{{y}}?tk={{key}}",
        amap=True,
        amap_url=f"{up.base}/amap/{{z}}/{{x}}/{{y}}",
        **kw,
    )


def _tile(template: str, t: mercantile.Tile) -> str:
    return template.replace("{z}", str(t.z)).replace("{x}", str(t.x)).replace("{y}", str(t.y))


def _no_key(response) -> None:
    assert KEY not in response.text and KEY not in json.dumps(dict(response.headers))
    assert KEY not in str(response.url)


@embedded
def test_tianditu_tiles_through_the_service_keep_the_key_on_the_server(people, stand_in):
    token = people["tokens"]["analyst"]
    lon, lat = stand_in.landmark
    t = mercantile.tile(lon, lat, 16)
    with TestClient(create_app(_settings(people["url"], stand_in))) as c:
        page = c.get(f"/maps/coverage?as_of={AS_OF}&token={token}")
        assert page.status_code == 200
        for label in ("天地图矢量", "天地图影像", "高德地图"):
            assert json.dumps(label) in page.text
        urls = re.findall(r'"(/basemaps/[^"]+)"', page.text)
        layers = {u.split("/")[3] for u in urls if "/tianditu/" in u}
        assert layers == {"vec_w", "cva_w", "img_w", "cia_w"}
        assert all("tile_key=" in u for u in urls)
        _no_key(page)
        c.cookies.clear()  # the tiles load with the page's tile key alone
        vec = next(u for u in urls if "/vec_w/" in u)
        seen = len(stand_in.requests)
        r = c.get(_tile(vec, t))
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert _colours(r.content) > 3
        _no_key(r)
        sent = stand_in.requests[seen:]
        assert sent == [f"/tianditu/vec_w/{t.z}/{t.x}/{t.y}?tk={KEY}"]  # the key went upstream
        again = c.get(_tile(vec, t))  # from the cache: upstream is not asked again
        assert again.content == r.content and len(stand_in.requests) == seen + 1
        assert c.get(_tile(vec, t), headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        assert c.get(_tile(vec, t).split("?")[0]).status_code == 401  # readers only
        r = c.get(_tile(vec.replace("/vec_w/", "/xyz_w/"), t))
        assert r.status_code == 404 and "vec_w" in r.json()["detail"]
        # nothing else the browser may get holds the key
        c.cookies.set("gridgeo_token", token)
        for path in ("/maps/hotspots?lang=en", "/tiles/basemap.json", "/openapi.json",
                     f"/maps/coverage?as_of={AS_OF}&lang=en"):  # fmt: skip
            r = c.get(path)
            assert r.status_code == 200, path
            _no_key(r)


@embedded
def test_a_provider_that_fails_is_a_502_with_a_named_error(people, stand_in, tmp_path):
    token = people["tokens"]["analyst"]
    auth = {"Authorization": f"Bearer {token}"}
    closed = "http://127.0.0.1:9/{layer}/{z}/{x}/{y}?tk={key}"  # nothing listens on port 9
    for url, words in (
        (f"{stand_in.base}/broken/{{layer}}/{{z}}/{{x}}/{{y}}?tk={{key}}", "HTTP 500"),
        (closed, "did not answer"),
        (f"{stand_in.base}/nothing/{{layer}}?tk={{key}}", None),  # a 404: no tile there
    ):
        settings = _settings(people["url"], stand_in).model_copy(update={"tianditu_url": url})
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            r = c.get("/basemaps/tianditu/img_w/16/54893/26771", headers=auth)
            _no_key(r)
            if words is None:
                assert r.status_code == 204
                continue
            assert r.status_code == 502, r.text
            body = r.json()
            assert body["error"] == "UpstreamError" and words in body["detail"]
            assert "Tianditu img_w 16/54893/26771" in body["detail"]
            assert "Traceback" not in r.text and "127.0.0.1" not in r.text
    settings = _settings(people["url"], stand_in).model_copy(update={"tianditu_key": None})
    with TestClient(create_app(settings)) as c:
        r = c.get("/basemaps/tianditu/vec_w/16/54893/26771", headers=auth)
        assert r.status_code == 404 and "GRIDGEO_TIANDITU_KEY" in r.json()["detail"]
        assert "天地图" not in c.get(f"/maps/coverage?as_of={AS_OF}", headers=auth).text


@embedded
def test_the_provider_cache_is_bounded(people, stand_in):
    token = people["tokens"]["analyst"]
    limit = 60_000
    settings = _settings(people["url"], stand_in, basemap_cache_bytes=limit)
    lon, lat = stand_in.landmark
    with TestClient(create_app(settings)) as c:
        sizes = []
        for t in mercantile.tiles(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01, zooms=[16]):
            r = c.get(f"/basemaps/tianditu/vec_w/{t.z}/{t.x}/{t.y}?token={token}")
            assert r.status_code in (200, 204)
            sizes.append(len(r.content))
        cache = basemaps.provider_cache(c.app)
        assert sum(sizes) > limit and 0 < cache.size <= limit


@embedded
def testamap_tiles_are_reprojected_by_the_service(people, stand_in):
    token = people["tokens"]["analyst"]
    lon, lat = stand_in.landmark
    z = 17
    wx, wy = global_pixel(lon, lat, z)
    x, y = int(wx // 256), int(wy // 256)
    with TestClient(create_app(_settings(people["url"], stand_in))) as c:
        r = c.get(f"/basemaps/amap/{z}/{x}/{y}.png?token={token}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    cx, cy = _magenta_centre(r.content)
    metres_per_px = 40075016.686 * np.cos(np.radians(lat)) / (256 * 2**z)
    assert np.hypot(cx - (wx - x * 256), cy - (wy - y * 256)) * metres_per_px < 1.0


@embedded
def test_a_vector_basemap_file_is_drawn_with_vectorgrid(people, tmp_path: Path):
    import mapbox_vector_tile
    import shapely

    token = people["tokens"]["analyst"]
    t = mercantile.tile(121.44, 31.22, 15)
    lake = {"geometry": shapely.box(0, 0, 2048, 2048).wkt, "properties": {"kind": "lake"}}
    mvt = mapbox_vector_tile.encode([{"name": "water", "features": [lake]}])
    path = tmp_path / "vector.mbtiles"
    meta = {"format": "pbf", "minzoom": 15, "maxzoom": 15, "attribution": "© OpenMapTiles",
            "json": json.dumps({"vector_layers": [{"id": "water"}]})}  # fmt: skip
    write_mbtiles(path, [((15, t.x, t.y), gzip.compress(mvt))], meta)
    settings = Settings(database_url=people["url"], auth="on", basemap_file=str(path))
    with TestClient(create_app(settings)) as c:
        page = c.get(f"/maps/coverage?as_of={AS_OF}&token={token}").text
        assert "gridgeo.tiles('basemap_file'" in page and '"water"' in page
        assert "© OpenMapTiles" in page and json.dumps("离线底图") in page
        r = c.get(f"/basemaps/file/15/{t.x}/{t.y}")
        assert r.status_code == 200 and r.content == mvt
        assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert c.get(f"/basemaps/file/15/{t.x + 1}/{t.y}").status_code == 204
        c.cookies.clear()
        assert c.get(f"/basemaps/file/15/{t.x}/{t.y}?token=x").status_code == 401


@embedded
def test_a_missing_basemap_file_is_a_named_configuration_error(sample_store_url, tmp_path):
    bad = tmp_path / "not-tiles.mbtiles"
    bad.write_text("not a database")
    for path, words in ((tmp_path / "absent.mbtiles", "no such basemap file"), (bad, "neither")):
        settings = Settings(database_url=sample_store_url, auth="off", basemap_file=str(path))
        with TestClient(create_app(settings)) as c:
            r = c.get("/basemaps/file/16/54893/26771")
            assert r.status_code == 500 and r.json()["error"] == "ConfigError"
            assert "GRIDGEO_BASEMAP_FILE" in r.json()["detail"] and words in r.json()["detail"]
