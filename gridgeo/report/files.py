"""Writing the coverage report into a folder: HTML, PDF and the maps as PNG files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gridgeo.report.html import coverage_report
from gridgeo.report.pdf import report_pdf

if TYPE_CHECKING:
    from gridgeo.store import Store

__all__ = ["ReportFiles", "write_report"]


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    pdf: Path | None
    maps: list[Path]


def write_report(
    store: Store,
    out: Path,
    *,
    results: Mapping[str, pd.DataFrame] | None = None,
    as_of: dt.date | None = None,
    lang: str = "zh",
    pdf: bool = True,
) -> ReportFiles:
    """Write ``coverage-report.html``, ``coverage-report.pdf`` and ``maps/*.png`` into ``out``.

    Parameters
    ----------
    store
        The store to report on.
    out
        The folder to write into (created when missing).
    results, as_of, lang
        As for :func:`coverage_report`.
    pdf
        Also print the PDF (needs Chromium).

    Returns
    -------
    ReportFiles
        The paths written.
    """
    out = Path(out)
    (out / "maps").mkdir(parents=True, exist_ok=True)
    maps: dict[str, bytes] = {}
    html = coverage_report(store, results=results, as_of=as_of, lang=lang, maps=maps)
    suffix = "" if lang == "zh" else f".{lang}"
    html_path = out / f"coverage-report{suffix}.html"
    html_path.write_text(html, encoding="utf-8")
    written = []
    for name, png in maps.items():
        path = out / "maps" / f"{name}.png"
        path.write_bytes(png)
        written.append(path)
    pdf_path = None
    if pdf:
        pdf_path = out / f"coverage-report{suffix}.pdf"
        pdf_path.write_bytes(report_pdf(html))
    return ReportFiles(html_path, pdf_path, written)
