"""The coverage report (HTML, PDF).

Routes
------
``GET /reports/coverage`` and ``GET /reports/coverage.pdf``
    The coverage report (:mod:`gridgeo.report`), Chinese unless ``?lang=en``.

Caching works as for the tiles (:mod:`api.tiles.caching`): every response's ETag is
made of its parameters and the store's data version, so a committed write makes new
reports, never stale ones; ``If-None-Match`` answers 304 before any drawing; reports
stay in a small LRU (``GRIDGEO_DOCUMENTS_KEPT``). A URL carrying ``?v=<data version>``
may be cached by browsers for a day; otherwise they revalidate each time.

Who may see them: the reports depend on :func:`api.auth.reader` (a Bearer header,
``?token=`` or the ``gridgeo_token`` cookie; a report opened with ``?token=`` sets
the cookie). A caller restricted to an area gets the report of its area only (read
through :class:`api.tiles.areas.AreaStore`); the district's totals become the area's.
The area is part of every cache key and ETag, so nothing made for one area is served to
another. The PNG tiles and static maps are in :mod:`api.tiles`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import analysis_cache
from api.auth import REFUSALS, ReaderDep, check_place, remember_token, scope_key
from api.dependencies import LangQ, StoreDep, VersionQ
from api.state import settings_of
from api.tiles.areas import AreaStore, area_results, area_summary, view_of
from api.tiles.caching import cached_response
from api.tiles.png_tiles import AsOfQ
from gridgeo.access import Area
from gridgeo.store import Store

__all__ = ["AreaStore", "coverage_report", "coverage_report_pdf", "router"]

router = APIRouter(tags=["maps and reports"], responses=REFUSALS)


# -- the coverage report -------------------------------------------------------------------


def _report_html(store: Store, lang: str, day: dt.date, area: Area | None = None) -> bytes:
    from gridgeo.report import coverage_report

    done = analysis_cache.checked(store, day)  # the results and the version they are of

    def make() -> bytes:
        results = area_results(store, area, day, done)
        if area is not None:
            results = area_summary(results)
        view = view_of(store, area)
        return coverage_report(
            view,  # type: ignore[arg-type]
            results=results,
            as_of=day,
            lang=lang,
            stamp=done.stamp,
        ).encode("utf-8")

    key = ("html", lang, day, done.stamp.version, area)
    kept = settings_of(store).documents_kept
    return analysis_cache.memo(store, "report-html", key, make, size=kept)


@router.get("/reports/coverage", response_class=HTMLResponse)
def coverage_report(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    lang: LangQ = "zh",
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """The coverage report as one self-contained HTML page (maps inlined).

    A caller restricted to an area gets the report of that area.
    """
    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user)
    response = cached_response(
        request,
        store,
        ("report", lang, day, scope_key(user)),
        v,
        "text/html; charset=utf-8",
        lambda: _report_html(store, lang, day, mine),
        kind="reports",
    )
    return remember_token(request, response)


@router.get(
    "/reports/coverage.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the report, A4"},
        304: {"description": "not modified (If-None-Match)"},
        500: {"description": "Chromium is not installed (ConfigError)"},
    },
)
def coverage_report_pdf(
    request: Request,
    store: StoreDep,
    user: ReaderDep,
    lang: LangQ = "zh",
    as_of: AsOfQ = None,
    v: VersionQ = None,
) -> Response:
    """The coverage report as an A4 PDF (printed by headless Chromium)."""
    from gridgeo.report import report_pdf

    day = analysis_cache.resolve_as_of(as_of)
    mine = check_place(store, user)

    def make() -> bytes:
        return report_pdf(_report_html(store, lang, day, mine).decode("utf-8"))

    response = cached_response(
        request,
        store,
        ("report.pdf", lang, day, scope_key(user)),
        v,
        "application/pdf",
        make,
        kind="reports",
    )
    name = f"coverage-report-{day.isoformat()}{'' if lang == 'zh' else '-' + lang}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
