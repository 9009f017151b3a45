"""The coverage report: an HTML page (and its PDF) to hand to a leader.

- :mod:`~gridgeo.report.html`: :func:`coverage_report` builds a self-contained HTML
  document (maps inlined as PNG data) from the check's results, with the template
  ``gridgeo/templates/coverage_report.html.j2`` and the words of ``messages.toml``;
- :mod:`~gridgeo.report.pdf`: :func:`report_pdf` prints it to PDF with headless
  Chromium;
- :mod:`~gridgeo.report.files`: :func:`write_report` writes the HTML, the PDF and the
  maps into a folder (``gridgeo report``).
"""

from __future__ import annotations

from gridgeo.report.files import ReportFiles, write_report
from gridgeo.report.html import coverage_report
from gridgeo.report.pdf import chromium_path, report_pdf

__all__ = ["ReportFiles", "chromium_path", "coverage_report", "report_pdf", "write_report"]
