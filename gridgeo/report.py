"""The coverage report: an HTML page (and its PDF) to hand to a leader.

:func:`coverage_report` builds a self-contained HTML document (maps inlined as PNG
data, no external resources) from the check's results: the district's coverage score
and counts, a district map coloured by coverage score, a table per community, the
findings, the grids with the lowest score, and a map of each community (the lowest
scores first). Chinese by default, English with ``lang="en"``.

:func:`report_pdf` prints that HTML to PDF with headless Chromium (through
Playwright's Python package, using the system's ``chromium``): the browser lays out
the tables, wraps Chinese text and embeds the CJK font, which a matplotlib-only PDF
does not do as well. It needs ``apt-get install chromium fonts-noto-cjk`` and
``pip install playwright`` (no browser download: the system Chromium is used).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gridgeo.errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from gridgeo.store import Store

__all__ = ["ReportFiles", "chromium_path", "coverage_report", "report_pdf", "write_report"]

_COLUMNS = ["buildings", "unassigned", "multi_assigned", "straddling", "gaps", "overlaps"]

_TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "网格化管理覆盖情况报告",
        "district": "区域",
        "as_of": "统计日期",
        "generated": "生成时间",
        "data_version": "数据版本",
        "colon": "：",
        "key_figures": "主要指标",
        "coverage_score": "覆盖率",
        "score_explained": (
            "覆盖率：位于唯一网格内、且有且仅有一名党员负责的楼栋占全部楼栋的比例"
            "（全覆盖、无缝对接、一对一结对）。"
        ),
        "district_map": "各网格覆盖率",
        "by_community": "各社区情况",
        "code": "编号",
        "name": "名称",
        "grid": "网格",
        "community": "社区",
        "findings": "检查发现",
        "finding": "检查项",
        "rules": "规则",
        "rows": "条数",
        "worst_grids": "覆盖率最低的网格",
        "more_communities": "另有 {n} 个社区未附地图，见上表。",
        "columns": {
            "buildings": "楼栋数",
            "unassigned": "无人负责楼栋",
            "multi_assigned": "多人负责楼栋",
            "straddling": "跨网格楼栋",
            "gaps": "网格缝隙",
            "overlaps": "网格重叠",
        },
        "layers": {
            "gaps": "网格缝隙与未覆盖区域",
            "overlaps": "网格重叠",
            "straddling_buildings": "跨网格楼栋",
            "buildings_outside": "网格外楼栋",
            "grid_communities": "网格与社区不一致",
            "unassigned_buildings": "无人负责楼栋（社区干部兜底）",
            "multi_assigned_buildings": "多人负责楼栋",
            "member_quota": "党员联系户数不足",
            "organisation_quota": "党组织未联系网格",
            "shared_grids": "多个党组织联系的网格",
            "community_leaders": "无联系领导的社区",
            "visit_weeks": "党员未按周走访",
            "meeting_months": "网格未按月召开议事会",
            "leader_quarters": "领导未按季度调度",
            "input_issues": "输入数据问题",
        },
    },
    "en": {
        "title": "Grid coverage report",
        "district": "District",
        "as_of": "As of",
        "generated": "Generated",
        "data_version": "Data version",
        "colon": ": ",
        "key_figures": "Key figures",
        "coverage_score": "Coverage score",
        "score_explained": (
            "Coverage score: the share of buildings that lie in one grid and have exactly "
            "one responsible member."
        ),
        "district_map": "Coverage score by grid",
        "by_community": "By community",
        "code": "Code",
        "name": "Name",
        "grid": "Grid",
        "community": "Community",
        "findings": "Findings",
        "finding": "Finding",
        "rules": "Rules",
        "rows": "Rows",
        "worst_grids": "Grids with the lowest coverage score",
        "more_communities": "{n} more communities are in the table above, without a map.",
        "columns": {
            "buildings": "Buildings",
            "unassigned": "Unassigned",
            "multi_assigned": "Multi-assigned",
            "straddling": "Straddling",
            "gaps": "Gaps",
            "overlaps": "Overlaps",
        },
        "layers": {
            "gaps": "Gaps and uncovered areas",
            "overlaps": "Overlapping grids",
            "straddling_buildings": "Buildings straddling grids",
            "buildings_outside": "Buildings outside every grid",
            "grid_communities": "Grids not in their community",
            "unassigned_buildings": "Unassigned buildings (community cadres cover them)",
            "multi_assigned_buildings": "Multi-assigned buildings",
            "member_quota": "Members below the household quota",
            "organisation_quota": "Organisations without a grid",
            "shared_grids": "Grids shared by organisations",
            "community_leaders": "Communities without a linked leader",
            "visit_weeks": "Members who missed weekly visits",
            "meeting_months": "Grids that missed monthly meetings",
            "leader_quarters": "Leaders who missed quarterly visits",
            "input_issues": "Problems in the input data",
        },
    },
}


def _results_for(
    store: Store, results: Mapping[str, pd.DataFrame] | None, as_of: dt.date | None
) -> Mapping[str, pd.DataFrame]:
    if results is not None:
        return results
    from gridgeo.check import inputs_from_store, run_check

    return run_check(inputs_from_store(store), as_of=as_of)


def coverage_report(
    store: Store,
    *,
    results: Mapping[str, pd.DataFrame] | None = None,
    as_of: dt.date | None = None,
    lang: str = "zh",
    max_community_maps: int = 12,
    map_size: tuple[int, int] = (1100, 760),
    maps: dict[str, bytes] | None = None,
) -> str:
    """Build the coverage report as one self-contained HTML document.

    Parameters
    ----------
    store
        The store the district is in (for names and the maps).
    results
        What :func:`gridgeo.check.run_check` returned; run on the store when None.
    as_of
        The day the check is (or was) run at; today by default.
    lang
        ``zh`` (default) or ``en``.
    max_community_maps
        At most this many community maps, the lowest coverage scores first.
    map_size
        Width and height of the maps in pixels.
    maps
        When a dict is given, the PNG of each map is put in it too (``district``,
        then community codes), e.g. to write them as files.

    Returns
    -------
    str
        The HTML document.
    """
    import jinja2

    from gridgeo.check import summary_counts
    from gridgeo.localtime import local_now
    from gridgeo.render import coverage_color, static_map
    from gridgeo.settings import get_settings

    if lang not in _TEXT:
        raise ValidationError(f"lang={lang!r}: use 'zh' or 'en'")
    as_of = as_of or dt.date.today()
    results = _results_for(store, results, as_of)
    t = _TEXT[lang]
    district_row = results["summary_district"].iloc[0]
    names = store.read_layer("communities", columns=["name", "district"])
    name_of = dict(zip(names["code"], names["name"].fillna(names["code"]), strict=True))
    districts = names["district"].dropna()
    district = str(districts.mode().iloc[0]) if len(districts) else ""

    width, height = map_size
    district_png = static_map(
        store,
        layers=["communities", "grid_coverage", "grids", "gaps", "overlaps"],
        results=results,
        lang=lang,
        width=width,
        height=height,
        title=f"{district} {t['district_map']}".strip(),
    )
    if maps is not None:
        maps["district"] = district_png

    communities = results["summary_communities"].copy()
    communities["code"] = communities["community"].astype(str)
    communities["name"] = communities["code"].map(name_of).fillna("")
    communities["color"] = communities["coverage_score"].map(coverage_color)
    communities = communities.sort_values("code")

    grids = pd.DataFrame(results["summary_grids"].drop(columns="geometry", errors="ignore"))
    grids = grids[grids["buildings"] > 0].sort_values(["coverage_score", "code"]).head(15)
    grids["community"] = grids["community"].map(name_of).fillna(grids["community"])
    grids["color"] = grids["coverage_score"].map(coverage_color)

    counts = summary_counts(results)
    findings = [
        {"label": t["layers"][row.layer], "rules": row.rules, "rows": row.rows}
        for row in counts.itertuples(index=False)
        if row.layer in t["layers"]
    ]

    community_maps = []
    ranked = communities[communities["buildings"] > 0].sort_values(["coverage_score", "code"])
    known = set(name_of)
    for row in ranked.head(max_community_maps).to_dict("records"):
        if row["code"] not in known:
            continue
        png = static_map(
            store,
            community=row["code"],
            layers=[
                "communities",
                "grid_coverage",
                "buildings",
                "grids",
                "gaps",
                "overlaps",
                "straddling_buildings",
                "multi_assigned_buildings",
                "unassigned_buildings",
            ],
            results=results,
            lang=lang,
            width=width,
            height=height,
        )
        if maps is not None:
            maps[row["code"]] = png
        community_maps.append({**row, "map": base64.b64encode(png).decode("ascii")})

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("coverage_report.html.j2")
    return template.render(
        lang=lang,
        t=t,
        district=district,
        as_of=as_of.isoformat(),
        generated=local_now(get_settings().timezone).strftime("%Y-%m-%d %H:%M"),
        data_version=_data_version(store),
        summary=district_row,
        columns=_COLUMNS,
        district_map=base64.b64encode(district_png).decode("ascii"),
        communities=communities.to_dict("records"),
        findings=findings,
        worst_grids=grids.to_dict("records"),
        community_maps=community_maps,
        more_communities=max(0, len(ranked) - len(community_maps)),
        fmt_int=_fmt_int,
        fmt_score=_fmt_score,
    )


def _template(name: str) -> str:
    return (files("gridgeo") / "templates" / name).read_text(encoding="utf-8")


def _data_version(store: Store) -> int | str:
    version = getattr(store, "data_version", None)
    return version() if callable(version) else "-"


def _fmt_int(value: Any) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def _fmt_score(value: Any) -> str:
    return "–" if pd.isna(value) else f"{float(value):.1f}%"


# -- PDF ---------------------------------------------------------------------------------

_CHROMIUM_ARGS = [
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
    configured = os.environ.get("GRIDGEO_CHROMIUM")
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
        browser = p.chromium.launch(executable_path=executable, args=_CHROMIUM_ARGS)
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
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center;color:#777">'
                    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                ),
            )
        finally:
            browser.close()


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
