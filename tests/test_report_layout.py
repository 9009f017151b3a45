"""The coverage report's PDF is compact: few pages, each filled, tables named like the maps.

The sample district (4 communities, 36 grids) is put in a SQLite store; the report is
printed with the system's Chromium and each PDF page rendered with PDFium to measure
how much of it is used. The HTML is laid out in Chromium at the printed width to
check that nothing on a community page is cut off.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gridgeo.check import inputs_from_store, run_check
from gridgeo.layers import names_by_code
from gridgeo.report import write_report
from gridgeo.report.pdf import CHROMIUM_ARGS, chromium_path
from gridgeo.store import open_store
from tests.conftest import need

pytestmark = [pytest.mark.slow]

AS_OF = dt.date(2026, 3, 9)
#: A4 with the report's margins (@page: 14 mm top, 16 mm bottom, 12 mm each side).
PAGE_MM, TOP_MM, BOTTOM_MM, CONTENT_WIDTH_MM = 297, 14, 16, 186
PX_PER_MM = 96 / 25.4


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, sample_frames: dict) -> Iterator[dict]:
    """The sample district's report in both languages, with the store's grid names."""
    if not shutil.which("chromium"):
        need("chromium", "install Debian's chromium and fonts-noto-cjk (scripts/setup.sh does)")
    folder = tmp_path_factory.mktemp("report")
    store = open_store(f"sqlite:///{folder / 'sample.sqlite'}")
    try:
        store.write_layers(sample_frames, source="sample_district.gpkg")
        results = run_check(inputs_from_store(store), as_of=AS_OF)
        files = {
            lang: write_report(store, folder / lang, results=results, as_of=AS_OF, lang=lang)
            for lang in ("zh", "en")
        }
        grids = names_by_code(store.read_layer("grids", columns=["name"]))
        yield {"files": files, "grids": grids}
    finally:
        store.close()


def _page_fill(pdf: Path) -> list[float]:
    """Per page, the share of the printable height's pixel rows that carry any ink."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        fills = []
        for page in doc:
            image = page.render(scale=0.5).to_numpy()[:, :, :3]
            height = image.shape[0]
            top = round(height * TOP_MM / PAGE_MM)
            bottom = round(height * (PAGE_MM - BOTTOM_MM) / PAGE_MM)
            inked = (image[top:bottom].min(axis=2) < 245).any(axis=1)
            fills.append(float(inked.mean()))
        return fills
    finally:
        doc.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_pdf_has_few_full_pages(report: dict, lang: str) -> None:
    pdf = report["files"][lang].pdf
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    # a first page of figures, map and community table; one of findings and the
    # lowest grids; two communities to a page (it was 7 pages, one with 3 table rows)
    assert pages == 4, pages
    fills = _page_fill(pdf)
    assert len(fills) == pages
    assert min(fills) >= 0.7, [f"{f:.0%}" for f in fills]  # community pages were 53 % inked


def test_report_tables_show_the_maps_names(report: dict) -> None:
    html = report["files"]["zh"].html.read_text(encoding="utf-8")
    worst = html[html.index('id="worst-grids"') :]
    first = re.search(r"<tbody>\s*<tr><td>([^<]*)<small class=\"code\">([^<]*)</small>", worst)
    assert first, worst[:500]
    name, code = first.groups()
    assert name == report["grids"][code] and re.fullmatch(r"第\d+网格", name), (name, code)
    assert '零陵花园社区<small class="code">C01</small>' in html
    for code in ("C01", "C02", "C03", "C04"):
        block = html[html.index(f'id="community-{code}"') :]
        block = block[: block.index("</section>")]
        cells = re.findall(r"<tr><td>([^<]*)<small class=\"code\">([^<]*)</small>", block)
        grid_codes = [c for c in report["grids"] if c.startswith(f"{code}-")]
        assert sorted(c for _, c in cells) == sorted(grid_codes), code
        assert all(n == report["grids"][c] for n, c in cells), code


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_community_pages_cut_nothing_off(report: dict, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    html = report["files"][lang].html.read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": round(CONTENT_WIDTH_MM * PX_PER_MM), "height": 1200}
            )
            page.emulate_media(media="print")
            page.set_content(html, wait_until="load")
            found = page.evaluate(_LAYOUT_SCRIPT)
        finally:
            browser.close()
    assert found["sheets"] == 2, found
    assert found["overflowing"] == [], found
    assert found["row_breaks"] == ["avoid"], found
    printable = (PAGE_MM - TOP_MM - BOTTOM_MM) * PX_PER_MM
    assert all(h <= printable for h in found["sheet_heights"]), found
    assert np.mean(found["block_fill"]) >= 0.9, found  # each block's content fills it


_LAYOUT_SCRIPT = """() => {
  const sheets = [...document.querySelectorAll('.sheet')];
  const overflowing = [];
  const blockFill = [];
  for (const block of document.querySelectorAll('.sheet .block')) {
    const box = block.getBoundingClientRect();
    let bottom = box.top;
    for (const el of block.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      bottom = Math.max(bottom, r.bottom);
      if (r.right > box.right + 1 || r.bottom > box.bottom + 1)
        overflowing.push(block.id + ' ' + el.tagName + ' ' + (el.textContent || '').slice(0, 20));
    }
    blockFill.push((bottom - box.top) / box.height);
  }
  const rows = new Set([...document.querySelectorAll('tbody tr')].map(
    (tr) => getComputedStyle(tr).breakInside));
  return {sheets: sheets.length, overflowing, block_fill: blockFill, row_breaks: [...rows],
          sheet_heights: sheets.map((s) => s.getBoundingClientRect().height)};
}"""
