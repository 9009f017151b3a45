"""The edits of a grid repair, one row per moved piece, each saying why.

The rows are read off the geometries themselves (before against after), so they
account for every square metre that changed hands: whatever the steps of the repair
did, a grid's area changes by the pieces listed for it, and by nothing else than
pieces smaller than ``min_area``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.fix.geometry import merge_by, polygonal, widths
from gridgeo.fix.overlaps import RULES

__all__ = ["CHANGE_COLUMNS", "KINDS", "grid_changes"]

#: the columns of a changes frame, in order (plus ``geometry``)
CHANGE_COLUMNS = (
    "grid", "grid_name", "kind", "from_grid", "to_grid", "area_m2", "rule",
    "reason_zh", "reason_en",
)  # fmt: skip

#: kind -> (Chinese, English) template; {a} area, {f} from, {t} to, {w} width, {r} rule
KINDS: dict[str, tuple[str, str]] = {
    "overlap": (
        "网格{f}与{t}重叠约{a:.1f}平方米，划归网格{t}（{r}），{f}让出",
        "overlap of {a:.1f} m² given to grid {t} ({r}); {f} gives it up",
    ),
    "gap": (
        "填补{w:.2f}米宽的缝隙（约{a:.1f}平方米），并入共用边界最长的网格{t}",
        "seam gap {w:.2f} m wide ({a:.1f} m²) closed into grid {t}, its longest shared edge",
    ),
    "outside_community": (
        "网格{f}超出所属社区的部分（约{a:.1f}平方米）移出",
        "{a:.1f} m² of grid {f} outside its community removed",
    ),
    "snap": (
        "边界对齐：网格{f}与{t}的边界吸附重合（约{a:.2f}平方米）",
        "edges of grids {f} and {t} snapped together ({a:.2f} m²)",
    ),
}
#: the wording of a snap that leaves the area in no grid
_SNAP_ALONE = (
    "边界对齐：网格{f}的边界吸附到相邻顶点（约{a:.2f}平方米）",
    "edge of grid {f} snapped to a nearby vertex ({a:.2f} m²)",
)


def _moved(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(from, to, piece): area grid ``from`` had before that grid ``to`` has after."""
    tree = shapely.STRtree(after)
    f, t = tree.query(before, predicate="intersects")
    keep = f != t
    f, t = f[keep], t[keep]
    keep = ~shapely.touches(before[f], after[t])
    f, t = f[keep], t[keep]
    pieces = polygonal(shapely.intersection(before[f], after[t]))
    keep = shapely.area(pieces) > 0
    return f[keep], t[keep], pieces[keep]


def _share(pieces: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Share of each piece's area inside the matching geometry."""
    if len(pieces) == 0:
        return np.empty(0)
    return shapely.area(shapely.intersection(pieces, geoms)) / shapely.area(pieces)


def grid_changes(
    before: np.ndarray,
    after: np.ndarray,
    codes: np.ndarray,
    *,
    comm_of: np.ndarray,
    comm_geoms: np.ndarray,
    decisions: pd.DataFrame,
    min_area: float,
    crs: pyproj.CRS,
    names: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """One row per connected piece of area that changed grid, with its reason.

    Parameters
    ----------
    before, after
        The grids before and after the repair (metric, same order).
    codes, names
        Grid codes (and names) in that order.
    comm_of, comm_geoms
        Community position of each grid (-1: none) and the community polygons.
    decisions
        The overlaps and their rules (:func:`gridgeo.fix.overlaps.decide_overlaps`).
    min_area
        Pieces smaller than this (m²) are not listed.
    crs
        The metric CRS of the geometries.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CHANGE_COLUMNS`: ``grid`` (the grid whose polygon the edit
        changes: the one giving area up, or the one closing a gap), ``kind``
        (``overlap``, ``gap``, ``outside_community``, ``snap``: moved by snapping
        vertices and edges together),
        ``from_grid`` / ``to_grid`` (None: no grid), ``area_m2``, ``rule`` (for
        overlaps: see :data:`gridgeo.fix.overlaps.RULES`), ``reason_zh``,
        ``reason_en``; geometry: the piece (EPSG:4326). Sorted by grid, then area
        (largest first).
    """
    f, t, moved = _moved(before, after)
    kind = np.where(_share(moved, before[t]) >= 0.5, "overlap", "snap").astype(object)
    lost = polygonal(shapely.difference(before, after))
    gone = merge_by(lost, moved, f, add=False)  # area that left the grid for no grid
    gained = polygonal(shapely.difference(after, before))
    found = merge_by(gained, moved, t, add=False)  # area that came from no grid
    g_idx = np.flatnonzero(shapely.area(gone) > 0)
    outside = np.zeros(len(g_idx), dtype=bool)
    has_comm = comm_of[g_idx] >= 0
    outside[has_comm] = _share(gone[g_idx[has_comm]], comm_geoms[comm_of[g_idx[has_comm]]]) < 0.5
    gone_kind = np.where(outside, "outside_community", "snap").astype(object)
    n_idx = np.flatnonzero(shapely.area(found) > 0)
    frame = pd.DataFrame(
        {
            "f": np.concatenate([f, g_idx, np.full(len(n_idx), -1)]),
            "t": np.concatenate([t, np.full(len(g_idx), -1), n_idx]),
            "kind": np.concatenate([kind, gone_kind, np.full(len(n_idx), "gap", dtype=object)]),
            "geometry": np.concatenate([moved, gone[g_idx], found[n_idx]]),
        }
    )
    return _rows(frame, codes, names, decisions, min_area, crs)


def _rows(
    frame: pd.DataFrame,
    codes: np.ndarray,
    names: np.ndarray | None,
    decisions: pd.DataFrame,
    min_area: float,
    crs: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Explode to connected pieces, drop the small ones, and word each row."""
    parts, owner = shapely.get_parts(frame["geometry"].to_numpy(), return_index=True)
    area = shapely.area(parts)
    keep = area >= min_area
    rows = frame.iloc[owner[keep]].reset_index(drop=True)
    parts, area = parts[keep], area[keep]
    code = np.append(codes, None).astype(object)  # position -1 = no grid
    rule = rows.merge(
        decisions[["loser", "winner", "rule"]].drop_duplicates(["loser", "winner"]),
        left_on=["f", "t"],
        right_on=["loser", "winner"],
        how="left",
    )["rule"]
    rule = rule.where(rows["kind"].eq("overlap"), None)
    rule = rule.where(rule.notna() | ~rows["kind"].eq("overlap"), "cleaner")
    fills = rows["kind"].eq("gap").to_numpy()
    width = np.full(len(parts), np.nan)
    width[fills] = widths(parts[fills], 0.01)
    grid = np.where(fills, rows["t"], rows["f"])
    zh, en = [], []
    for k, a, w, fi, ti, r in zip(
        rows["kind"], area, width, rows["f"], rows["t"], rule, strict=True
    ):
        said = RULES[r] if isinstance(r, str) else ("", "")
        args = {"a": a, "w": w, "f": code[fi], "t": code[ti]}
        text = _SNAP_ALONE if k == "snap" and ti < 0 else KINDS[k]
        zh.append(text[0].format(r=said[0], **args))
        en.append(text[1].format(r=said[1], **args))
    out = pd.DataFrame(
        {
            "grid": pd.Series(code[grid], dtype=object),
            "grid_name": None if names is None else pd.Series(names[grid], dtype=object),
            "kind": rows["kind"].astype(object),
            "from_grid": pd.Series(code[rows["f"]], dtype=object),
            "to_grid": pd.Series(code[rows["t"]], dtype=object),
            "area_m2": np.round(area, 2),
            "rule": pd.Series([r if isinstance(r, str) else None for r in rule], dtype=object),
            "reason_zh": pd.Series(zh, dtype=object),
            "reason_en": pd.Series(en, dtype=object),
        }
    )
    geometry = gpd.GeoSeries(parts, crs=crs).to_crs(4326)
    out = gpd.GeoDataFrame(out, geometry=geometry.to_numpy(), crs=4326)
    order = np.lexsort((-out["area_m2"].to_numpy(), out["grid"].astype(str).to_numpy()))
    return out.iloc[order].reset_index(drop=True)
