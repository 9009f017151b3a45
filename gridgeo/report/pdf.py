"""Printing the coverage report to PDF with headless Chromium.

Through Playwright's Python package, using the system's ``chromium``: the browser lays
out the tables, wraps Chinese text and embeds the CJK font, which a matplotlib-only PDF
does not do as well. It needs ``apt-get install chromium fonts-noto-cjk`` and
``pip install playwright`` (no browser download: the system Chromium is used).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gridgeo.errors import ConfigError
from gridgeo.render.templates import render_template
from gridgeo.settings import get_settings

__all__ = ["CHROMIUM_ARGS", "chromium_path", "report_pdf"]

#: Chromium's command-line switches for printing: no sandbox, GPU or background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The Chromium executable used for PDFs (``GRIDGEO_CHROMIUM`` or the system's).

    Raises
    ------
    ConfigError
        No Chromium is installed.
    """
    configured = get_settings().chromium
    if configured:
        if not Path(configured).is_file():
            raise ConfigError(f"GRIDGEO_CHROMIUM={configured}: no such file")
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "PDF reports need Chromium: install it with `apt-get install chromium fonts-noto-cjk` "
        "(or set GRIDGEO_CHROMIUM to a Chrome/Chromium executable)"
    )


def report_pdf(html: str) -> bytes:
    """Print an HTML report to an A4 PDF with headless Chromium.

    Every request the page makes is refused (the report is self-contained), so
    printing never reaches the network. Call it outside a running asyncio event loop
    (from a thread, a script or a synchronous FastAPI route).

    Raises
    ------
    ConfigError
        Chromium or Playwright's Python package is missing.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ConfigError(
            "PDF reports need Playwright's Python package: pip install playwright "
            "(no browser download needed; the system's chromium is used)"
        ) from exc
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith("data:") else route.abort()
                ),
            )
            page.set_content(html, wait_until="load")
            page.emulate_media(media="print")
            return page.pdf(
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template=render_template("report_pdf_header.html.j2"),
                footer_template=render_template("report_pdf_footer.html.j2"),
            )
        finally:
            browser.close()
