"""The coverage report as one self-contained HTML document.

The district's coverage score and counts, a district map coloured by coverage score, a
table per community, the findings, the grids with the lowest score, and a map of each
community (the lowest scores first); maps inlined as PNG data, no external resources.
Chinese by default, English with ``lang="en"``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from gridgeo.errors import ValidationError
from gridgeo.layers import names_by_code
from gridgeo.render import coverage_color, static_map
from gridgeo.render.templates import messages, render_template
from gridgeo.report.pages import COMMUNITY_MAP_LAYERS, GRID_COLUMNS, community_pages

if TYPE_CHECKING:
    from gridgeo.store import Store
    from gridgeo.store.versions import DataStamp

__all__ = ["COLUMNS", "COMMUNITY_MAP_LAYERS", "DISTRICT_MAP_LAYERS", "coverage_report"]

#: The count columns of the community and grid tables.
COLUMNS = ["buildings", "unassigned", "multi_assigned", "straddling", "gaps", "overlaps"]
#: The layers of the district map.
DISTRICT_MAP_LAYERS = ["communities", "grid_coverage", "grids", "gaps", "overlaps"]


def _text(lang: str) -> dict[str, Any]:
    catalogue = messages("gridgeo.report")
    if lang not in catalogue:
        raise ValidationError(f"lang={lang!r}: use 'zh' or 'en'")
    return catalogue[lang]


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
    map_size: tuple[int, int] = (1100, 700),
    maps: dict[str, bytes] | None = None,
    stamp: DataStamp | None = None,
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
        Width and height of the district map in pixels (the community maps have
        the sizes of :data:`gridgeo.report.pages.MAP_SIZES`).
    maps
        When a dict is given, the PNG of each map is put in it too (``district``,
        then community codes), e.g. to write them as files.
    stamp
        The data version ``results`` are of, with its time, for the "as of" line
        (default: the store's now).

    Returns
    -------
    str
        The HTML document.
    """
    from gridgeo.check import summary_counts
    from gridgeo.localtime import local_now
    from gridgeo.settings import get_settings

    t = _text(lang)
    as_of = as_of or dt.date.today()
    results = _results_for(store, results, as_of)
    names = store.read_layer("communities", columns=["name", "district"])
    name_of = names_by_code(names)
    grid_names = names_by_code(store.read_layer("grids", columns=["name"]))
    districts = names["district"].dropna()
    district = str(districts.mode().iloc[0]) if len(districts) else ""

    width, height = map_size
    district_png = static_map(
        store,
        layers=DISTRICT_MAP_LAYERS,
        results=results,
        lang=lang,
        width=width,
        height=height,
        title=f"{district} {t['district_map']}".strip(),
    )
    if maps is not None:
        maps["district"] = district_png
    communities = _community_table(results, name_of)
    ranked = communities[communities["buildings"] > 0].sort_values(["coverage_score", "code"])
    shown = ranked[ranked["code"].isin(list(name_of))].head(max_community_maps)
    pages = community_pages(store, shown, results, grid_names, lang, maps)

    return render_template(
        "coverage_report.html.j2",
        lang=lang,
        t=t,
        district=district,
        as_of=as_of.isoformat(),
        generated=local_now(get_settings().timezone).strftime("%Y-%m-%d %H:%M"),
        data_as_of=_as_of_line(store, stamp, t["data_as_of"], get_settings().timezone),
        summary=results["summary_district"].iloc[0],
        columns=COLUMNS,
        district_map=_data(district_png),
        communities=communities.to_dict("records"),
        findings=_findings(summary_counts(results), t),
        worst_grids=_worst_grids(results, name_of, grid_names).to_dict("records"),
        community_pages=pages,
        grid_columns=GRID_COLUMNS,
        more_communities=max(0, len(ranked) - len(shown)),
        fmt_int=functools.partial(_fmt_int, missing=t["not_computed"]),
        fmt_score=functools.partial(_fmt_score, missing=t["not_computed"]),
    )


def _community_table(results: Mapping[str, pd.DataFrame], name_of: dict[str, str]) -> pd.DataFrame:
    """The communities' summary rows with their names and score colours, by code."""
    communities = results["summary_communities"].copy()
    communities["code"] = communities["community"].astype(str)
    communities["name"] = communities["code"].map(name_of).astype(object).fillna("")
    communities["color"] = communities["coverage_score"].map(coverage_color)
    return communities.sort_values("code")


def _worst_grids(
    results: Mapping[str, pd.DataFrame], name_of: dict[str, str], grid_names: dict[str, str]
) -> pd.DataFrame:
    """The 15 grids with buildings and the lowest scores, with grid and community names."""
    grids = pd.DataFrame(results["summary_grids"].drop(columns="geometry", errors="ignore"))
    grids = grids[grids["buildings"] > 0].sort_values(["coverage_score", "code"]).head(15)
    grids["code"] = grids["code"].astype(str)
    grids["name"] = grids["code"].map(grid_names).fillna(grids["code"])
    grids["community"] = grids["community"].map(name_of).fillna(grids["community"])
    grids["color"] = grids["coverage_score"].map(coverage_color)
    return grids


def _findings(counts: pd.DataFrame, t: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The findings table: each named finding layer's rules and row count."""
    return [
        {"label": t["layers"][row.layer], "rules": row.rules, "rows": row.rows}
        for row in counts.itertuples(index=False)
        if row.layer in t["layers"]
    ]


def _data(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _as_of_line(store: Store, stamp: DataStamp | None, pattern: str, timezone: str) -> str:
    """``数据截至 2026-12-04 11:05（版本 123）``: the data version the report is of."""
    if stamp is None:
        read = getattr(store, "data_stamp", None)
        if not callable(read):
            return pattern.format(time="–", version="–")
        stamp = read()
    return stamp.describe(pattern, timezone)


def _fmt_int(value: Any, missing: str = "–") -> str:
    return missing if pd.isna(value) else f"{int(value):,}"


def _fmt_score(value: Any, missing: str = "–") -> str:
    return missing if pd.isna(value) else f"{float(value):.1f}%"
