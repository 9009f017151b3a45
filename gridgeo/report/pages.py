"""The community pages of the coverage report: each community's map beside its grids.

A community with few grids takes half a page (its map and its grid table side by
side) and shares the page with the next one; a community with more grids, or one
left over without a partner, takes a whole page (the map above its grid table).
Every page is one A4 sheet, so none is left mostly empty and no table is cut.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from gridgeo.render import coverage_color, static_map

if TYPE_CHECKING:
    from gridgeo.store import Store

__all__ = [
    "COMMUNITY_MAP_LAYERS",
    "FULL_ROWS",
    "GRID_COLUMNS",
    "HALF_ROWS",
    "MAP_SIZES",
    "community_pages",
]

#: The layers of each community's map.
COMMUNITY_MAP_LAYERS = [
    "communities",
    "grid_coverage",
    "buildings",
    "grids",
    "gaps",
    "overlaps",
    "straddling_buildings",
    "multi_assigned_buildings",
    "unassigned_buildings",
]
#: A community with at most this many grids takes half a page.
HALF_ROWS = 14
#: The most grid rows a whole page lists (the lowest scores first).
FULL_ROWS = 24
#: Pixel size of a community's map on half a page and on a whole page.
MAP_SIZES = {"half": (1000, 1130), "full": (1100, 700)}
#: The count columns of a community's grid table on half a page and on a whole page.
GRID_COLUMNS = {
    "half": ["buildings", "unassigned"],
    "full": ["buildings", "unassigned", "multi_assigned", "straddling"],
}


def community_pages(
    store: Store,
    rows: pd.DataFrame,
    results: Mapping[str, pd.DataFrame],
    grid_names: Mapping[str, str],
    lang: str,
    maps: dict[str, bytes] | None = None,
) -> list[list[dict[str, Any]]]:
    """The report's community pages: a list of pages, each one or two community blocks.

    Parameters
    ----------
    store
        The store to draw the maps from.
    rows
        The communities to show, in order (rows of the community table, with
        ``code`` and ``name``).
    results
        What :func:`gridgeo.check.run_check` returned.
    grid_names
        Grid code -> display name (:func:`gridgeo.layers.names_by_code`).
    lang
        ``zh`` or ``en``, for the maps.
    maps
        When a dict is given, each map's PNG is put in it by community code.
    """
    grids = pd.DataFrame(results["summary_grids"].drop(columns="geometry", errors="ignore"))
    blocks = [
        _block(row, grids[grids["community"].astype(str) == row["code"]], grid_names)
        for row in rows.to_dict("records")
    ]
    pages = _paired(blocks)
    for page in pages:
        for block in page:
            png = static_map(
                store,
                community=block["code"],
                layers=COMMUNITY_MAP_LAYERS,
                results=results,
                lang=lang,
                width=MAP_SIZES[block["size"]][0],
                height=MAP_SIZES[block["size"]][1],
            )
            if maps is not None:
                maps[block["code"]] = png
            block["map"] = base64.b64encode(png).decode("ascii")
    return pages


def _block(
    row: dict[str, Any], grids: pd.DataFrame, grid_names: Mapping[str, str]
) -> dict[str, Any]:
    """A community's block: its figures and its grids (lowest scores first), sized."""
    grids = grids.sort_values(["coverage_score", "code"], na_position="last")
    size = "half" if len(grids) <= HALF_ROWS else "full"
    listed = grids.head(FULL_ROWS)
    table = [
        {
            **g,
            "code": str(g["code"]),
            "name": grid_names.get(str(g["code"]), str(g["code"])),
            "color": coverage_color(g["coverage_score"]),
        }
        for g in listed.to_dict("records")
    ]
    return {**row, "size": size, "grids": table, "more_grids": len(grids) - len(listed)}


def _paired(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Half blocks two to a page in their order, whole blocks alone; a lone half grows."""
    pages: list[list[dict[str, Any]]] = []
    waiting: list[dict[str, Any]] | None = None  # the page of a half block without a partner
    for block in blocks:
        if block["size"] == "full":
            pages.append([block])
        elif waiting is not None:
            waiting.append(block)
            waiting = None
        else:
            waiting = [block]
            pages.append(waiting)
    for page in pages:
        if len(page) == 1 and page[0]["size"] == "half":
            page[0]["size"] = "full"
    return pages
