"""The actions of an assignment proposal: one row per assignment to add or to end.

This is the frame a planner reviews (in Excel or QGIS: each row has the building's
polygon) and :func:`gridgeo.fix.assignments.apply_proposal` applies. Added rows get
new codes ``P<yyyymmdd>-000001``…, unused by the assignments layer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.fix.candidates import TIERS
from gridgeo.fix.context import Context
from gridgeo.fix.duplicates import RULES

__all__ = ["ACTION_COLUMNS", "action_frame"]

#: the columns of the actions frame, in order (plus ``geometry``)
ACTION_COLUMNS = (
    "action", "assignment", "kind", "member", "member_name", "building", "household",
    "households", "grid", "community", "tier", "distance_m", "valid_from", "valid_to",
    "reason_zh", "reason_en",
)  # fmt: skip
_TIER_TEXT = {
    0: ("本网格党员", "a member of the same grid"),
    1: ("相邻网格{g}的党员", "a member of the adjacent grid {g}"),
    2: ("本社区尚未联系网格的党员", "a member of the community with no grid yet"),
}


def _new_codes(existing: pd.Series, day: pd.Timestamp, n: int) -> np.ndarray:
    """``n`` assignment codes ``P<yyyymmdd>-000001``… that ``existing`` does not use."""
    prefix = f"P{day:%Y%m%d}-"
    codes = existing.astype("string")
    taken = set(codes[codes.str.startswith(prefix).fillna(False).to_numpy(bool)])
    out: list[str] = []
    k = 0
    while len(out) < n:
        k += 1
        code = f"{prefix}{k:06d}"
        if code not in taken:
            out.append(code)
    return np.array(out, dtype=object)


def _adds(ctx: Context, got: pd.DataFrame, empty: pd.DataFrame) -> pd.DataFrame:
    """Rows to add: ``b``, ``member``, ``arc``, ``household`` (None: the building), ``households``.

    A building gets one row when one member takes every household it has on record
    (all of them open); otherwise each household gets its own.
    """
    held = ctx.held
    placed = got[got["member"] >= 0].assign(b=lambda f: held.household_building[f["hh"]])
    on_record = np.bincount(
        held.household_building[held.household_building >= 0], minlength=len(held.buildings)
    )
    n_open = placed.groupby("b")["hh"].transform("size").to_numpy()
    n_pair = placed.groupby(["b", "member"])["hh"].transform("size").to_numpy()
    whole = (n_pair == on_record[placed["b"]]) & (n_open == n_pair)
    by_b = placed[whole].drop_duplicates("b")
    by_b = by_b.assign(household=None, households=on_record[by_b["b"]])
    by_h = placed[~whole]
    by_h = by_h.assign(household=held.household_codes(by_h["hh"]), households=1)
    zero = empty.assign(household=None, households=0)
    cols = ["b", "member", "arc", "household", "households"]
    return pd.concat([by_b[cols], by_h[cols], zero[cols]], ignore_index=True)


def _add_reasons(
    ctx: Context, rows: pd.DataFrame, tier: np.ndarray, dist: np.ndarray, short: np.ndarray
) -> tuple[list[str], list[str]]:
    m = rows["member"].to_numpy()
    bcode = ctx.held.buildings.to_numpy()[rows["b"].to_numpy()]
    zh, en = [], []
    for t, b, h, w, d, g, q in zip(
        tier, bcode, rows["household"], ctx.who(m), dist, ctx.grid_code(ctx.grid[m]),
        short[m] > 0, strict=True,
    ):  # fmt: skip
        what = (
            (f"住户{h}", f"household {h}") if isinstance(h, str) else (f"楼栋{b}", f"building {b}")
        )
        tz, te = (text.format(g=g) for text in _TIER_TEXT[int(t)])
        zh.append(
            f"{what[0]}无责任党员，建议由{tz}{w}联系，距其联系户中心约{d:.0f}米"
            + (f"，补足其{ctx.quota}户要求" if q else "")
        )
        en.append(
            f"{what[1]} has no responsible member; proposed: {w}, {te}, {d:.0f} m from the "
            "centre of their households" + (f", toward their quota of {ctx.quota}" if q else "")
        )
    return zh, en


def action_frame(
    ctx: Context, got: pd.DataFrame, arcs: pd.DataFrame, empty: pd.DataFrame,
    ended: pd.DataFrame, short: np.ndarray,
) -> gpd.GeoDataFrame:  # fmt: skip
    """One row per assignment to add (R6, R5) or to end (R7): :data:`ACTION_COLUMNS`.

    Parameters
    ----------
    ctx
        The proposal's inputs.
    got
        Each open household's member (:func:`gridgeo.fix.allocation.allocate`).
    arcs
        The candidate arcs (their tier and distance are reported).
    empty
        Buildings with no household on record and the arc chosen for each (``b``,
        ``member``, ``arc``).
    ended
        The assignments to end (:func:`gridgeo.fix.duplicates.settle_duplicates`).
    short
        Households each member lacked to the quota before the proposal.
    """
    rows = _adds(ctx, got, empty)
    arc = rows["arc"].to_numpy(dtype=np.int64)
    tier = arcs["tier"].to_numpy()[arc]
    dist = arcs["distance_m"].to_numpy()[arc]
    b, m = rows["b"].to_numpy(), rows["member"].to_numpy()
    zh, en = _add_reasons(ctx, rows, tier, dist, short)
    by_building = rows["household"].isna().to_numpy()
    adds = pd.DataFrame(
        {
            "action": "add",
            "assignment": _new_codes(ctx.assignments["code"], ctx.day, len(rows)),
            "kind": np.where(by_building, "member_building", "member_household"),
            "member": ctx.held.members[m],
            "member_name": ctx.names[m],
            "building": np.where(by_building, ctx.held.buildings.to_numpy()[b], None),
            "household": rows["household"].to_numpy(dtype=object),
            "households": rows["households"].to_numpy(dtype=np.int64),
            "grid": ctx.grid_code(ctx.where.grid[b]),
            "community": ctx.building_community[b],
            "tier": np.array(TIERS, dtype=object)[tier],
            "distance_m": np.round(dist, 1),
            "valid_from": ctx.day,
            "valid_to": pd.NaT,
            "reason_zh": zh,
            "reason_en": en,
        }
    )
    ends, end_b = _ends(ctx, ended)
    out = pd.concat([adds, ends], ignore_index=True)[list(ACTION_COLUMNS)]
    geometry = ctx.geometry(np.concatenate([b, end_b]))
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs=4326), crs=4326)


def _ends(ctx: Context, ended: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows to end (R7), and the building id of each (-1: unknown)."""
    held = ctx.held
    a = ctx.assignments
    info = a[a["code"].astype("string").isin(ended["assignment"]).to_numpy(bool)]
    info = info.drop_duplicates("code")
    household = pd.Series(info["household"].to_numpy(dtype=object), index=info["code"])
    codes = pd.Index(ended["assignment"])
    m, keep = ended["member"].to_numpy(), ended["keep"].to_numpy()
    b = ended["building"].to_numpy(dtype=np.int64)
    via = ended["via_building"].to_numpy(dtype=bool)
    bcode = np.append(held.buildings.to_numpy(), None)[b]
    rule = list(ended["rule"].map(RULES))
    n = ended["households"].to_numpy(dtype=np.int64)
    kept = ctx.who(keep)
    frame = pd.DataFrame(
        {
            "action": "end",
            "assignment": codes.to_numpy(dtype=object),
            "kind": np.where(via, "member_building", "member_household"),
            "member": held.members[m],
            "member_name": ctx.names[m],
            "building": np.where(via, bcode, None),
            "household": household.reindex(codes).to_numpy(dtype=object),
            "households": n,
            "grid": ctx.grid_code(np.append(ctx.where.grid, -1)[b]),
            "community": np.append(ctx.building_community, None)[b],
            "tier": None,
            "distance_m": np.nan,
            "valid_from": pd.NaT,
            "valid_to": ctx.day - pd.Timedelta(days=1),
            "reason_zh": [
                f"楼栋{x}的{k}户由多名党员同时负责，保留{w}（{r[0]}），结束此条"
                for x, k, w, r in zip(bcode, n, kept, rule, strict=True)
            ],
            "reason_en": [
                f"{k} household(s) of building {x} have several responsible members: keep "
                f"{w} ({r[1]}); end this one"
                for x, k, w, r in zip(bcode, n, kept, rule, strict=True)
            ],
        }
    )
    return frame, b
