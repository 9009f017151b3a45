"""The map pages in a real headless Chromium, offline, against a real uvicorn server.

On a loaded machine the first page of a server is slow (the check and the hotspot
analysis run for it), so the server is warmed with the pages the tests open before
the browser sees it, and every navigation and wait may take up to :data:`TIMEOUT_MS`;
the tests still wait on what the page shows (selectors, tiles drawn, network idle).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, need

from api import maps

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AS_OF = "2025-06-01"
COVERAGE = f"/maps/coverage?as_of={AS_OF}"
HOTSPOTS = "/maps/hotspots?lang=en"
#: How long a navigation or a wait for the page may take.
TIMEOUT_MS = 120_000
#: The settings of the pages' basemaps (each test server sets its own).
BASEMAP_VARIABLES = ("GRIDGEO_BASEMAP_URL", "GRIDGEO_BASEMAP_FILE", "GRIDGEO_TIANDITU_KEY",
                     "GRIDGEO_TIANDITU_URL", "GRIDGEO_AMAP", "GRIDGEO_AMAP_URL")  # fmt: skip
#: How long the server may take to start, and to answer a warming request.
START_S, WARM_S = 120, 300

embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(store_url: str, env: dict[str, str], log_dir: Path) -> Iterator[str]:
    """``uvicorn api.main:app`` on a free port with ``env`` on top of ours; its base URL.

    The basemaps are only those ``env`` sets: none is inherited from our environment.
    """
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in BASEMAP_VARIABLES}
    env = {**inherited, "GRIDGEO_DATABASE_URL": store_url, **env}
    log = (log_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"uvicorn did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def server(sample_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``uvicorn api.main:app`` on a free port, on the sample district; its base URL."""
    if not (maps.STATIC_DIR / "vendor" / "leaflet" / "dist" / "leaflet.js").is_file():
        need("api/static/vendor", "run scripts/vendor.sh (scripts/setup.sh does)")
    env = {"GRIDGEO_AUTH": "off"}  # the open read-only demo: the pages need no token
    with serve_app(sample_store_url, env, tmp_path_factory.mktemp("uvicorn")) as base:
        warm(base, [COVERAGE, HOTSPOTS])
        yield base


def warm(base: str, paths: list[str]) -> None:
    """Ask for each page once, so the server's caches hold what the browser will ask for."""
    for path in paths:
        with urllib.request.urlopen(base + path, timeout=WARM_S) as r:
            assert r.status == 200, path
            r.read()


def open_page(
    browser: object, base: str, path: str, viewport: tuple[int, int] = (1280, 900)
) -> tuple[object, list[str], list[str]]:
    """A page on ``path`` that may load only from ``base``; the outside requests and errors."""
    size = {"width": viewport[0], "height": viewport[1]}
    page = browser.new_page(viewport=size)  # type: ignore[attr-defined]
    page.set_default_navigation_timeout(TIMEOUT_MS)
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    errors: list[str] = []

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        if url.startswith(base + "/"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            r.abort()  # type: ignore[attr-defined]

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + path, wait_until="load")
    page.wait_for_function("() => window.gridgeo && (gridgeo.tilesLoaded.basemap || 0) > 0")
    page.wait_for_load_state("networkidle")
    return page, outside, errors


def _drawn(page: object, name: str) -> int:
    """Features of a layer drawn on screen: inline ones with pixels, or tile features styled."""
    return int(
        page.evaluate(  # type: ignore[attr-defined]
            """(name) => {
                const layer = gridgeo.layers[name];
                if (!layer) return -1;
                if (layer.getLayers) {
                    if (!layer._map) return 0;
                    return layer.getLayers().filter(l => l._parts && l._parts.length).length;
                }
                return layer._map ? (gridgeo.drawn[name] || 0) : 0;
            }""",
            name,
        )
    )


def _not_blank(path: Path) -> None:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None
    top = max(n for n, _ in colours)
    assert len(colours) > 50, "the screenshot has almost no colours"
    assert top / (image.width * image.height) < 0.8, "one colour fills the screenshot"


@embedded
def test_coverage_map_renders_offline(browser: object, server: str, tmp_path: Path) -> None:
    page, outside, errors = open_page(browser, server, COVERAGE)
    try:
        assert outside == [], f"the page tried to load from outside: {outside[:5]}"
        assert errors == []
        # the service's own basemap tiles, the grids by coverage score, the findings
        assert page.evaluate("gridgeo.drawn.basemap") > 1000  # communities, grids, buildings
        assert _drawn(page, "grid_coverage") == 36
        assert _drawn(page, "unassigned_buildings") > 10
        assert _drawn(page, "gaps") >= 1 and _drawn(page, "overlaps") >= 1
        assert _drawn(page, "last_visits") == 0  # off until switched on
        # the layer switcher turns the last-visit tiles on
        page.get_by_text("楼栋最近走访", exact=True).first.click()
        page.wait_for_function("() => (gridgeo.drawn.last_visits || 0) > 1000")
        page.wait_for_load_state("networkidle")
        assert outside == []
        # a click on a grid opens the popup of what is under the pointer: the grid's score,
        # a finding, or the building's last visit (drawn over the grids)
        point = page.evaluate(
            """() => {
                const grid = gridgeo.layers.grid_coverage.getLayers()[0];
                const p = grid._map.latLngToContainerPoint(grid.getBounds().getCenter());
                const box = grid._map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }"""
        )
        page.mouse.click(*point)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert "覆盖率" in text or "说明" in text or text.startswith("楼栋最近走访")
        shot = tmp_path / "coverage.png"
        page.screenshot(path=str(shot))
        _not_blank(shot)
        # Chinese labels are drawn with a CJK font: two different characters differ
        # (with no font they would both be the same empty box)
        assert page.evaluate(
            """() => {
                const font = getComputedStyle(document.querySelector('.gridgeo-title')).font;
                const draw = (ch) => {
                    const c = document.createElement('canvas');
                    c.width = 40; c.height = 40;
                    const g = c.getContext('2d');
                    g.font = font; g.fillText(ch, 4, 30);
                    return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
                };
                return draw('网') !== draw('格') && draw('格') !== draw('图');
            }"""
        )
    finally:
        page.close()  # type: ignore[attr-defined]


@embedded
def test_hotspot_map_renders_offline(browser: object, server: str, tmp_path: Path) -> None:
    page, outside, errors = open_page(browser, server, HOTSPOTS)
    try:
        assert outside == [] and errors == []
        assert _drawn(page, "hotspot_cells") > 10
        assert "Problem hotspots" in page.inner_text(".gridgeo-title")
        shot = tmp_path / "hotspots.png"
        page.screenshot(path=str(shot))
        _not_blank(shot)
        _hot_cell_popup_in_words(page)
        _problems_clustered(page)
        assert errors == []
    finally:
        page.close()  # type: ignore[attr-defined]


def _hot_cell_popup_in_words(page: Any) -> None:
    """A hot cell's popup: titled by its grid and community, its bin and size in words."""
    page.evaluate(
        """() => {
            let hot = null;
            gridgeo.layers.hotspot_cells.eachLayer(l => {
                if (!hot && l.feature.properties.gi_bin === 3) hot = l;
            });
            hot.openPopup();
        }"""
    )
    popup = page.wait_for_selector(".leaflet-popup-content")
    text = popup.inner_text()
    assert re.search(r"^第\d+网格 · \S+社区", text), text
    assert "hot spot (99 % confidence)" in text and "hexagons, side about 66 m" in text
    assert page.locator(".leaflet-popup-content tr.gridgeo-ref").count() == 1  # the H3 id
    assert "gi_bin" not in text and "Gi* z" not in text


def _problems_clustered(page: Any) -> None:
    """The problem layer, switched on, draws clusters at the district's zoom."""
    page.locator(".leaflet-control-layers-overlays label", has_text="Problems").click()
    page.wait_for_selector(".marker-cluster")
    clusters = page.evaluate(
        """() => {
            const g = gridgeo.layers.hotspot_problems;
            return [g.getLayers().length, document.querySelectorAll('.marker-cluster').length];
        }"""
    )
    assert clusters[0] == 2000 and 0 < clusters[1] < 200, clusters
