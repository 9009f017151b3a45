"""The map pages' layout, name labels and popups in a real headless Chromium, offline.

At a desktop (1280×800) and a phone (390×844) size the test reads the boxes of the
title, the layer control, the zoom buttons, the legend, the filter form, the scale and
the attribution (``getBoundingClientRect``) and fails on any overlap, on a panel outside
the map, and on a phone legend covering a quarter of the map, collapsed or open; every
legend row must be reachable. Screenshots of the coverage map at both sizes are compared
with the reference images in ``tests/data/screens/`` (scaled down, a fraction of the
pixels may differ). After a deliberate change of the pages' look, refresh them with
``GRIDGEO_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser_layout.py``
and look at the new images before committing them. The pages draw their own basemap from
the sample district and load nothing from the network, so the screenshots are the same
from run to run on a machine with ``fonts-noto-cjk``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, need
from test_browser import (
    COVERAGE,
    HOTSPOTS,
    open_page,
    serve_app,
    warm,
)

from api import maps
from api.maps.layers import coverage_legend, hotspot_legend
from api.maps.text import TEXT

embedded = pytest.mark.parametrize("sample_store_url", ["sqlite"], indirect=True)
DESKTOP, PHONE = (1280, 800), (390, 844)
SCREENS = ROOT / "tests" / "data" / "screens"
#: A pixel differs when a channel differs by more than this; a screenshot matches its
#: reference when fewer than MAX_DIFFERENT of its pixels differ.
PIXEL_TOLERANCE, MAX_DIFFERENT = 48, 0.02
#: The reference images are the screenshots scaled down by this much.
SCALE = {"desktop": 4, "phone": 2}
PANELS = {
    "title": ".gridgeo-title",
    "layers": ".leaflet-control-layers",
    "zoom": ".leaflet-control-zoom",
    "legend": ".gridgeo-legend",
    "filters": ".gridgeo-filters",
    "scale": ".leaflet-control-scale",
    "attribution": ".leaflet-control-attribution",
}
BOXES_JS = """(panels) => {
    const box = (e) => { const r = e.getBoundingClientRect();
                         return [r.left, r.top, r.right, r.bottom]; };
    const out = {map: box(gridgeo.map.getContainer())};
    for (const [name, selector] of Object.entries(panels)) {
        const e = document.querySelector(selector);
        if (e && e.getClientRects().length) out[name] = box(e);
    }
    return out;
}"""


@pytest.fixture(scope="module")
def server(sample_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (maps.STATIC_DIR / "vendor" / "leaflet" / "dist" / "leaflet.js").is_file():
        need("api/static/vendor", "run scripts/vendor.sh (scripts/setup.sh does)")
    env = {"GRIDGEO_AUTH": "off"}
    with serve_app(sample_store_url, env, tmp_path_factory.mktemp("uvicorn")) as base:
        warm(base, [COVERAGE, HOTSPOTS])
        yield base


def boxes(page: object) -> dict[str, list[float]]:
    """``[left, top, right, bottom]`` of the map and of each panel shown."""
    return page.evaluate(BOXES_JS, PANELS)  # type: ignore[attr-defined,no-any-return]


def area(b: list[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def overlap(a: list[float], b: list[float]) -> float:
    return area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])


def check_layout(page: object, phone: bool, state: str) -> dict[str, list[float]]:
    """No two panels overlap, all lie inside the map; on a phone the legend < 25 %."""
    got = boxes(page)
    whole = got.pop("map")
    assert {"title", "layers", "zoom", "legend", "filters"} <= set(got), (state, got)
    names = sorted(got)
    for i, a in enumerate(names):
        inside = overlap(got[a], whole)
        assert inside >= area(got[a]) - 1, f"{state}: {a} {got[a]} runs outside the map {whole}"
        for b in names[i + 1 :]:
            assert overlap(got[a], got[b]) < 1, f"{state}: {a} {got[a]} overlaps {b} {got[b]}"
    if phone:
        share = area(got["legend"]) / area(whole)
        assert share < 0.25, f"{state}: the legend covers {share:.0%} of the map"
    return got


def is_open(page: object, selector: str) -> bool:
    return bool(page.evaluate(f"() => document.querySelector('{selector}').open"))  # type: ignore[attr-defined]


def legend_rows_reachable(page: object) -> int:
    """How many legend rows can be scrolled into the legend's visible box."""
    return int(
        page.evaluate(  # type: ignore[attr-defined]
            """() => {
                const legend = document.querySelector('.gridgeo-legend');
                let seen = 0;
                for (const row of legend.querySelectorAll('.gridgeo-legend-row')) {
                    row.scrollIntoView({block: 'nearest'});
                    const r = row.getBoundingClientRect(), l = legend.getBoundingClientRect();
                    if (r.height > 0 && r.top >= l.top - 1 && r.bottom <= l.bottom + 1) seen++;
                }
                legend.scrollTop = 0;
                return seen;
            }"""
        )
    )


def legend_size(path: str) -> int:
    lang = "en" if "lang=en" in path else "zh"
    legend = hotspot_legend if path.startswith("/maps/hotspots") else coverage_legend
    return sum(len(rows) for _, rows in legend(TEXT[lang], lang))


@embedded
@pytest.mark.parametrize("path", [COVERAGE, HOTSPOTS])
def test_desktop_layout(browser: object, server: str, path: str) -> None:
    page, outside, errors = open_page(browser, server, path, DESKTOP)
    try:
        assert outside == [] and errors == []
        # legend and filters open, the layer control expanded: still no overlap
        assert is_open(page, ".gridgeo-legend") and is_open(page, ".gridgeo-filters")
        assert page.locator(".leaflet-control-layers-expanded").count() == 1  # type: ignore[attr-defined]
        got = check_layout(page, phone=False, state=f"desktop {path}")
        print(f"desktop {path}: {got}")
        assert legend_rows_reachable(page) == legend_size(path)
    finally:
        page.close()  # type: ignore[attr-defined]


@embedded
@pytest.mark.parametrize("path", [COVERAGE, HOTSPOTS])
def test_phone_layout(browser: object, server: str, path: str) -> None:
    page, outside, errors = open_page(browser, server, path, PHONE)
    try:
        assert outside == [] and errors == []
        # collapsed at first: legend, filters and layers behind their buttons
        assert not is_open(page, ".gridgeo-legend") and not is_open(page, ".gridgeo-filters")
        assert page.locator(".leaflet-control-layers-expanded").count() == 0  # type: ignore[attr-defined]
        got = check_layout(page, phone=True, state=f"phone {path} collapsed")
        print(f"phone {path} collapsed: {got}")
        # the legend opens over at most a quarter of the map, every row reachable
        page.click(".gridgeo-legend > summary")  # type: ignore[attr-defined]
        got = check_layout(page, phone=True, state=f"phone {path} legend open")
        print(f"phone {path} legend open: {got}")
        assert legend_rows_reachable(page) == legend_size(path)
        # the filter form opens and the legend closes
        page.click(".gridgeo-filters > summary")  # type: ignore[attr-defined]
        page.wait_for_function("() => !document.querySelector('.gridgeo-legend').open")  # type: ignore[attr-defined]
        assert is_open(page, ".gridgeo-filters")
        got = check_layout(page, phone=True, state=f"phone {path} filters open")
        print(f"phone {path} filters open: {got}")
        # the layer control opens below the title (a mouse opens it on hover, a finger on tap)
        toggle = page.locator(".leaflet-control-layers-toggle").bounding_box()  # type: ignore[attr-defined]
        page.mouse.move(toggle["x"] + 10, toggle["y"] + 10)  # type: ignore[attr-defined]
        page.locator(".leaflet-control-layers-expanded").wait_for()  # type: ignore[attr-defined]
        got = check_layout(page, phone=True, state=f"phone {path} layers open")
        print(f"phone {path} layers open: {got}")
    finally:
        page.close()  # type: ignore[attr-defined]


def compare_with_reference(shot: Path, name: str) -> float:
    """The fraction of pixels of the scaled-down screenshot that differ from the reference."""
    from PIL import Image, ImageChops

    image = Image.open(shot).convert("RGB")
    small = image.resize(
        (image.width // SCALE[name], image.height // SCALE[name]), Image.Resampling.LANCZOS
    )
    reference = SCREENS / f"coverage_{name}.png"
    if os.environ.get("GRIDGEO_UPDATE_SCREENSHOTS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        small.save(reference, optimize=True)
    assert reference.is_file(), f"no reference {reference}: set GRIDGEO_UPDATE_SCREENSHOTS=1"
    expected = Image.open(reference).convert("RGB")
    assert expected.size == small.size, (expected.size, small.size)
    diff = np.asarray(ImageChops.difference(small, expected)).max(axis=2)
    return float((diff > PIXEL_TOLERANCE).mean())


@embedded
@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_screenshot_matches_reference(
    browser: object, server: str, name: str, tmp_path: Path
) -> None:
    page, outside, errors = open_page(
        browser, server, COVERAGE, DESKTOP if name == "desktop" else PHONE
    )
    try:
        assert outside == [] and errors == []
        page.wait_for_timeout(300)  # type: ignore[attr-defined]  # labels placed after moveend
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot))  # type: ignore[attr-defined]
        share = compare_with_reference(shot, name)
        assert share < MAX_DIFFERENT, f"{share:.1%} of the pixels differ from coverage_{name}.png"
    finally:
        page.close()  # type: ignore[attr-defined]


VISIBLE_LABELS_JS = """() => Array.from(document.querySelectorAll('.gridgeo-label'))
    .filter(e => e.style.display !== 'none')
    .map(e => { const r = e.firstChild.getBoundingClientRect();
                return [e.className.includes('community') ? 'community' : 'grid', e.textContent,
                        [r.left, r.top, r.right, r.bottom]]; })"""


def labels_at(page: object, zoom: int) -> list[list]:
    page.evaluate(f"() => {{ gridgeo.map.setZoom({zoom}, {{animate: false}}); }}")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    shown = page.evaluate(VISIBLE_LABELS_JS)  # type: ignore[attr-defined]
    for i, (_, text, box) in enumerate(shown):
        for _, other, box2 in shown[i + 1 :]:
            assert overlap(box, box2) < 1, f"zoom {zoom}: labels {text} and {other} overlap"
    return shown


@embedded
def test_name_labels_declutter_by_zoom(browser: object, server: str) -> None:
    page, outside, errors = open_page(browser, server, COVERAGE, DESKTOP)
    try:
        assert outside == [] and errors == []
        communities = {"零陵花园社区", "汾阳一村社区", "天平二村社区", "江苏里社区"}
        low = labels_at(page, 15)
        assert sorted(text for _, text, _ in low) == sorted(communities)
        # further out they would touch: some are hidden, none overlaps
        lower = labels_at(page, 13)
        assert lower and {text for _, text, _ in lower} < communities
        high = labels_at(page, 17)
        assert high and {kind for kind, _, _ in high} == {"grid"}
        assert all(re.fullmatch(r"第\d+网格", text) for _, text, _ in high)
        start = labels_at(page, 16)
        assert len(start) >= 30  # most of the 36 grids are named at the page's first zoom
    finally:
        page.close()  # type: ignore[attr-defined]


FIND_POINT_JS = """([layer, code, target]) => {
    // a point on screen whose topmost element is the feature's own path (target "self"),
    // or a path of the layer `target` lying inside the feature
    const map = gridgeo.map;
    const feature = gridgeo.layers[layer].getLayers().find(l => l.feature.properties.code === code);
    const box = map.getContainer().getBoundingClientRect();
    const b = feature.getBounds();
    const a = map.latLngToContainerPoint(b.getNorthWest()), z = map.latLngToContainerPoint(b.getSouthEast());
    for (let y = Math.max(a.y, 60); y < Math.min(z.y, box.height - 60); y += 4) {
        for (let x = Math.max(a.x, 60); x < Math.min(z.x, box.width - 300); x += 4) {
            const e = document.elementFromPoint(box.left + x, box.top + y);
            if (!e || e.tagName !== 'path') continue;
            if (target === 'self' ? e === feature._path : e.closest('.leaflet-tile') !== null)
                return [box.left + x, box.top + y];
        }
    }
    return null;
}"""


def find_point(page: object, layer: str, code: str, target: str) -> list[float] | None:
    """Zoom to 18 on a feature, wait for the tiles, and find a point (FIND_POINT_JS)."""
    loads = page.evaluate("() => gridgeo.tilesLoaded.last_visits || 0")  # type: ignore[attr-defined]
    page.evaluate(  # type: ignore[attr-defined]
        """([layer, code]) => {
            const f = gridgeo.layers[layer].getLayers().find(l => l.feature.properties.code === code);
            gridgeo.map.setView(f.getBounds().getCenter(), 18, {animate: false});
        }""",
        [layer, code],
    )
    if target == "tiles":  # the last visits' tiles at zoom 18, all of them drawn
        page.wait_for_function("(n) => (gridgeo.tilesLoaded.last_visits || 0) > n", arg=loads)  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    return page.evaluate(FIND_POINT_JS, [layer, code, target])  # type: ignore[attr-defined,no-any-return]


def popup_after_click(page: object, point: list[float]) -> object:
    page.mouse.click(*point)  # type: ignore[attr-defined]
    popup = page.locator(".leaflet-popup-content")  # type: ignore[attr-defined]
    popup.wait_for()
    return popup


@embedded
def test_grid_popup_is_titled_by_name(browser: object, server: str) -> None:
    page, outside, errors = open_page(browser, server, COVERAGE, DESKTOP)
    try:
        point = find_point(page, "grid_coverage", "C03-G006", "self")
        assert point is not None, "no point of the grid that is not on a building"
        popup = popup_after_click(page, point)
        title = page.inner_text(".leaflet-popup-content .gridgeo-popup-title")  # type: ignore[attr-defined]
        assert title.split() == ["第6网格", "C03-G006"]
        text = popup.inner_text()  # type: ignore[attr-defined]
        assert "天平二村社区" in text and "\tC03\n" not in text + "\n"
        assert re.search(r"覆盖率\s+\d+(\.\d+)? %", text), text
        assert errors == [] and outside == []
    finally:
        page.close()  # type: ignore[attr-defined]


@embedded
def test_building_popup_fits_its_box(browser: object, server: str) -> None:
    page, outside, errors = open_page(browser, server, COVERAGE, DESKTOP)
    try:
        code = page.evaluate(  # type: ignore[attr-defined]
            """() => gridgeo.layers.multi_assigned_buildings.getLayers()
                .map(l => l.feature.properties)
                .sort((a, b) => b.explanation_zh.length - a.explanation_zh.length)[0].code"""
        )
        point = find_point(page, "multi_assigned_buildings", code, "self")
        assert point is not None
        popup_after_click(page, point)
        fit = page.evaluate(  # type: ignore[attr-defined]
            """() => {
                const content = document.querySelector('.leaflet-popup-content');
                const box = document.querySelector('.leaflet-popup-content-wrapper')
                    .getBoundingClientRect();
                const lines = Array.from(content.querySelectorAll('th')).map(th => {
                    const h = parseFloat(getComputedStyle(th).lineHeight) || 18;
                    return [th.textContent, th.getBoundingClientRect().height / h];
                });
                const out = Array.from(content.querySelectorAll('td')).filter(td => {
                    const r = td.getBoundingClientRect();
                    return r.right > box.right + 1 || td.scrollWidth > td.clientWidth + 1;
                }).map(td => td.textContent);
                return {lines, out, text: content.innerText};
            }"""
        )
        assert "多名党员同时负责" in fit["text"]
        assert all(n < 1.6 for _, n in fit["lines"]), f"headings wrap: {fit['lines']}"
        assert fit["out"] == [], f"values run out of the popup: {fit['out']}"
        assert errors == [] and outside == []
    finally:
        page.close()  # type: ignore[attr-defined]


@embedded
def test_click_reaches_a_building_drawn_from_tiles(browser: object, server: str) -> None:
    """The last visits come from tiles, under the inline grids: a click on one opens it."""
    page, outside, errors = open_page(browser, server, COVERAGE, DESKTOP)
    try:
        page.get_by_text("楼栋最近走访", exact=True).first.click()  # type: ignore[attr-defined]
        page.wait_for_function("() => (gridgeo.drawn.last_visits || 0) > 100")  # type: ignore[attr-defined]
        point = find_point(page, "grid_coverage", "C01-G004", "tiles")
        assert point is not None, "no last-visit building on top at any point of the grid"
        text = popup_after_click(page, point).inner_text()  # type: ignore[attr-defined]
        assert text.split("\n")[0] == "楼栋最近走访", text
        assert errors == [] and outside == []
    finally:
        page.close()  # type: ignore[attr-defined]
