"""What an assignment proposal leads to: the cadres' households, the members, the figures.

* ``cadres``: the households that still have no member after the proposal, per
  building, and the community cadres they fall to (R6, 其余由社区党员干部包干);
* ``members``: every member of role ``member``, before and after;
* ``figures``: the quality figures (households moved, unassigned and doubly held
  households, members under the quota and over the cap, mean spread), before and after.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.fix.arrays import isin, unique
from gridgeo.fix.context import Context

__all__ = ["FIGURES", "cadre_frame", "figures", "member_frame"]

#: figure -> (Chinese, English) label
FIGURES: dict[str, tuple[str, str]] = {
    "households_moved": ("责任党员变动的住户", "households whose responsible members change"),
    "unassigned_households": ("无责任党员的住户（由社区党员干部包干）",
                              "households with no responsible member (left to the cadres)"),
    "multi_assigned_households": ("多名党员同时负责的住户", "households with several members"),
    "members_under_quota": ("联系户数不足要求的党员", "members under the quota"),
    "members_over_cap": ("联系户数超过上限的党员", "members over the cap"),
    "mean_spread_m": ("党员联系户到其中心的平均距离（米）",
                      "mean distance of a member's households to their centre (m)"),
}  # fmt: skip


def cadre_frame(ctx: Context, got: pd.DataFrame, unplaced: np.ndarray) -> gpd.GeoDataFrame:
    """One row per building whose open households fall to the community's cadres.

    Parameters
    ----------
    ctx
        The proposal's inputs.
    got
        Each open household's member (-1: the cadres).
    unplaced
        Building ids with no household on record that no member could take.

    Returns
    -------
    geopandas.GeoDataFrame
        ``building``, ``households`` (falling to the cadres), ``household_codes``
        (comma-joined), ``grid``, ``community``, ``cadres`` (codes, comma-joined),
        ``cadre_names`` (``code（name）``), ``reason_zh``, ``reason_en``; geometry: the
        building.
    """
    held = ctx.held
    left = got[got["member"] < 0]
    b = held.household_building[left["hh"].to_numpy()]
    per = pd.DataFrame({"b": b, "h": held.household_codes(left["hh"].to_numpy())})
    per = per.groupby("b", sort=True)["h"].agg(["size", ",".join]).reset_index()
    per = pd.concat([per, pd.DataFrame({"b": unplaced, "size": 0, "join": ""})], ignore_index=True)
    ids = per["b"].to_numpy(dtype=np.int64)
    grid = np.append(ctx.where.grid, -1)[ids]
    community = np.append(ctx.building_community, None)[ids]
    found = pd.Series(community, dtype=object)
    cadres = found.map(ctx.cadres["codes"]).astype(object).fillna("").to_numpy(dtype=object)
    who = found.map(ctx.cadres["who"]).astype(object).fillna("").to_numpy(dtype=object)
    bcode = np.append(held.buildings.to_numpy(), None)[ids]
    n = per["size"].to_numpy(dtype=np.int64)
    zh, en = [], []
    for g, k, c in zip(grid, n, who, strict=True):
        if g < 0:
            z, e = (
                "楼栋不在任何网格内，请先修复网格；",
                "the building lies in no grid (repair the grids); ",
            )
        else:
            z = f"本网格及相邻网格的党员均无余额（上限{ctx.cap}户）；"
            e = f"no member of this or an adjacent grid has room under the cap of {ctx.cap}; "
        zh.append(z + (f"{k}户由社区党员干部包干：{c}" if c else f"{k}户无社区党员干部兜底"))
        en.append(e + (f"{k} household(s) fall to the community's cadres {c}" if c
                       else f"no community cadre to fall back to for {k} household(s)"))  # fmt: skip
    out = pd.DataFrame(
        {
            "building": bcode,
            "households": n,
            "household_codes": per["join"].to_numpy(dtype=object),
            "grid": ctx.grid_code(grid),
            "community": community,
            "cadres": cadres,
            "cadre_names": who,
            "reason_zh": zh,
            "reason_en": en,
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(ctx.geometry(ids), crs=4326), crs=4326)


def member_frame(
    ctx: Context,
    before: tuple[np.ndarray, ...],
    after: tuple[np.ndarray, ...],
    added: np.ndarray,
) -> pd.DataFrame:
    """Each member of role ``member``: households, quota and spread before and after.

    ``before`` and ``after`` are :func:`gridgeo.fix.workload.spread` results; ``added``
    the households the proposal gives each member. Members still under the quota get
    a reason.
    """
    n0, n1 = before[0], after[0]
    still = n1 < ctx.quota
    lost = (ctx.grid < 0) & pd.isna(ctx.community)
    zh = np.where(still, "本网格及相邻网格没有足够的未分配住户", "")
    en = np.where(still, "not enough unassigned households in their own and adjacent grids", "")
    zh = np.where(still & lost, "无所属网格或社区，无法就近分配", zh)
    en = np.where(still & lost, "no grid or community to take households in", en)
    return pd.DataFrame(
        {
            "member_id": ctx.held.members,
            "name": ctx.names,
            "grid": ctx.grid_code(ctx.grid),
            "community": ctx.community,
            "households_before": n0.astype(np.int64),
            "households_after": n1.astype(np.int64),
            "added": added.astype(np.int64),
            "removed": (n0 + added - n1).astype(np.int64),
            "under_quota_before": n0 < ctx.quota,
            "under_quota_after": still,
            "spread_before_m": np.round(before[3], 1),
            "spread_after_m": np.round(after[3], 1),
            "reason_zh": zh.astype(object),
            "reason_en": en.astype(object),
        }
    )


def figures(
    ctx: Context,
    pairs_before: tuple[np.ndarray, np.ndarray],
    pairs_after: tuple[np.ndarray, np.ndarray],
    before: tuple[np.ndarray, ...],
    after: tuple[np.ndarray, ...],
) -> pd.DataFrame:
    """The quality figures of :data:`FIGURES`, before and after the proposal.

    Households moved are those whose set of responsible members changes (a member
    added, or one of several taken away; it has no "before": None); the mean spread is
    over the members with at least one household.
    """
    nh, nm = len(ctx.held.households), max(len(ctx.held.members), 1)
    holders0 = np.bincount(pairs_before[0], minlength=nh)
    holders1 = np.bincount(pairs_after[0], minlength=nh)
    key0 = pairs_before[0] * nm + pairs_before[1]
    key1 = pairs_after[0] * nm + pairs_after[1]
    changed = unique(
        np.concatenate([pairs_before[0][~isin(key0, key1)], pairs_after[0][~isin(key1, key0)]])
    )
    rows = {
        "households_moved": (None, len(changed)),  # a change: no "before"
        "unassigned_households": (int((holders0 == 0).sum()), int((holders1 == 0).sum())),
        "multi_assigned_households": (int((holders0 > 1).sum()), int((holders1 > 1).sum())),
        "members_under_quota": (int((before[0] < ctx.quota).sum()),
                                int((after[0] < ctx.quota).sum())),
        "members_over_cap": (int((before[0] > ctx.cap).sum()), int((after[0] > ctx.cap).sum())),
        "mean_spread_m": (round(float(np.nanmean(before[3])), 1) if np.isfinite(before[3]).any()
                          else np.nan,
                          round(float(np.nanmean(after[3])), 1) if np.isfinite(after[3]).any()
                          else np.nan),
    }  # fmt: skip
    return pd.DataFrame(
        {
            "figure": list(rows),
            "label_zh": [FIGURES[k][0] for k in rows],
            "label_en": [FIGURES[k][1] for k in rows],
            "before": pd.Series([v[0] for v in rows.values()], dtype=object),
            "after": pd.Series([v[1] for v in rows.values()], dtype=object),
        }
    )
