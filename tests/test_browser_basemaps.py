"""The basemaps in a real headless Chromium with the network cut: the basemap file's tiles
are drawn, and AMap's landmark lines up with the overlays at zoom 17.

The server is a real uvicorn (tests/test_browser.py's :func:`serve_app`) serving a
basemap file built from the sample district, with Tianditu and AMap fetched from a local
stand-in provider (tests/basemap_upstream.py); the browser may load from the server only.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from basemap_upstream import LANDMARK_COLOUR, upstream
from conftest import need
from test_basemaps import KEY, landmark_of
from test_browser import COVERAGE, TIMEOUT_MS, WARM_S, serve_app

from api import maps
from gridgeo.basemaps import BasemapFile, build_basemap
from gridgeo.store import open_store

embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)
ZOOM = 17


@pytest.fixture(scope="module")
def basemap_path(sample_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("basemap") / "district.mbtiles"
    store = open_store(sample_store_url)
    try:
        build_basemap(store, path, zooms=(13, 17))
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def site(
    sample_store_url: str, basemap_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, object]]:
    """The server's base URL and the stand-in provider it fetches from."""
    if not (maps.STATIC_DIR / "vendor" / "leaflet" / "dist" / "leaflet.js").is_file():
        need("api/static/vendor", "run scripts/vendor.sh (scripts/setup.sh does)")
    with upstream(sample_store_url, landmark_of(sample_store_url)) as up:
        env = {
            "GRIDGEO_AUTH": "off",
            "GRIDGEO_BASEMAP_FILE": str(basemap_path),
            "GRIDGEO_TIANDITU_KEY": KEY,
            "GRIDGEO_TIANDITU_URL": f"{up.base}/tianditu/{{layer}}/{{z}}/{{x}}/{{y}}?tk={{key}}",
            "GRIDGEO_AMAP": "1",
            "GRIDGEO_AMAP_URL": f"{up.base}/amap/{{z}}/{{x}}/{{y}}",
        }
        with serve_app(sample_store_url, env, tmp_path_factory.mktemp("uvicorn")) as base:
            with urllib.request.urlopen(base + COVERAGE, timeout=WARM_S) as r:
                assert r.status == 200
            yield base, up


class Visit:
    """A page that may load from the server only: what it asked for and what it got."""

    def __init__(self, browser: object, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page.set_default_navigation_timeout(TIMEOUT_MS)
        self.page.set_default_timeout(TIMEOUT_MS)
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.asked: list[str] = []
        self.answers: dict[str, int] = {}
        self.page.route("**/*", self.route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.answers.__setitem__(r.url, r.status))

    def route(self, r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        self.asked.append(url)
        if url.startswith(self.base + "/"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            self.outside.append(url)
            r.abort()  # type: ignore[attr-defined]

    def open(self, path: str, loaded: str) -> None:
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_function(f"() => (gridgeo.tilesLoaded.{loaded} || 0) > 0")
        self.page.wait_for_load_state("networkidle")


#: The basemap file's tile images on the page that are loaded, and how many colours each has.
TILE_COLOURS = """(part) => Array.from(document.querySelectorAll('img.leaflet-tile'))
    .filter(img => img.src.includes(part) && img.complete && img.naturalWidth === 256)
    .map(img => {
        const c = document.createElement('canvas');
        c.width = 256; c.height = 256;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, 256, 256).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return seen.size;
    })"""


@embedded
def test_basemap_file_is_drawn_offline(browser, site, basemap_path):
    base, _ = site
    visit = Visit(browser, base)
    try:
        visit.open(COVERAGE, "basemap_file")
        assert visit.outside == [] and visit.errors == []
        answers = {u: s for u, s in visit.answers.items() if "/basemaps/file/" in u}
        assert sum(s == 200 for s in answers.values()) >= 4, answers
        f = BasemapFile.open(basemap_path)
        try:
            for url, status in answers.items():
                z, x, y = (int(v) for v in url.split("?")[0].split("/")[-3:])
                # 204: a tile outside the file (the view is wider than the district)
                assert status == (200 if f.tile(z, x, y) else 204), url
        finally:
            f.close()
        colours = visit.page.evaluate(TILE_COLOURS, "/basemaps/file/")
        assert len(colours) >= 4 and all(n > 3 for n in colours), colours
        assert not [u for u in visit.asked if "/tiles/basemap/" in u]  # the file, not ours
        assert KEY not in visit.page.content() and not [u for u in visit.asked if KEY in u]
    finally:
        visit.page.close()


@embedded
def test_amap_landmark_lines_up_with_the_overlay_at_zoom_17(browser, site, tmp_path):
    from PIL import Image

    base, up = site
    lon, lat = up.landmark
    visit = Visit(browser, base)
    try:
        visit.open(COVERAGE, "basemap_file")
        visit.page.evaluate(
            "([lat, lon, z]) => { gridgeo.layers.basemap_file._map.setView([lat, lon], z, "
            "{animate: false}); }",
            [lat, lon, ZOOM],
        )
        visit.page.get_by_text("高德地图", exact=True).first.click()
        visit.page.wait_for_function("() => (gridgeo.tilesLoaded.amap || 0) > 0")
        visit.page.wait_for_load_state("networkidle")
        visit.page.wait_for_timeout(600)  # Leaflet fades tiles in over 200 ms
        assert visit.outside == [] and visit.errors == []
        amap = [u for u in visit.answers if "/basemaps/amap/" in u]
        assert amap and all(visit.answers[u] == 200 for u in amap)
        # where the overlays draw the landmark (Leaflet's own projection of its WGS-84 point)
        x, y = visit.page.evaluate(
            """([lat, lon]) => {
                const map = gridgeo.layers.amap._map;
                const p = map.latLngToContainerPoint([lat, lon]);
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [lat, lon],
        )
        assert visit.page.evaluate("gridgeo.layers.amap._map.getZoom()") == ZOOM
        visit.page.add_style_tag(
            content=".leaflet-overlay-pane, .leaflet-marker-pane, .leaflet-control-container, "
            ".leaflet-pane[class*='leaflet-gridgeo-'] { visibility: hidden !important; }"
        )
        half = 60
        shot = tmp_path / "amap.png"
        visit.page.screenshot(
            path=str(shot),
            clip={"x": x - half, "y": y - half, "width": 2 * half, "height": 2 * half},
        )
        image = Image.open(shot).convert("RGB")
        hits = [
            (i, j)
            for j in range(image.height)
            for i in range(image.width)
            if all(
                abs(a - b) < 30
                for a, b in zip(image.getpixel((i, j)), LANDMARK_COLOUR, strict=True)
            )
        ]
        assert len(hits) > 20, "the landmark is not drawn near its WGS-84 position"
        cx = sum(i for i, _ in hits) / len(hits) + 0.5
        cy = sum(j for _, j in hits) / len(hits) + 0.5
        metres_per_px = 40075016.686 * math.cos(math.radians(lat)) / (256 * 2**ZOOM)
        off_m = math.hypot(cx - half, cy - half) * metres_per_px
        assert off_m < 5.0, f"the landmark is {off_m:.2f} m from the overlay"
        assert KEY not in visit.page.content() and not [u for u in visit.asked if KEY in u]
    finally:
        visit.page.close()
