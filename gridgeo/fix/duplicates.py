"""Double responsibility (R7, 一对一结对): which member keeps a household held by several.

Among the members holding a household, the one kept is the first by these rules:

1. ``whole_building``: a member holding the household's whole building (a
   ``member_building`` assignment) before one holding only the household;
2. ``quota``: a member who would fall below the quota without their doubly held
   households before one who would not;
3. ``nearest``: the member whose other households' centroid is nearest to the
   household's building (a member with no other household comes last);
4. ``fewer``: the member with fewer households;
5. ``code``: the member whose code sorts first.

The other members' assignments that give them the household end: their
``member_household`` assignment for it and their ``member_building`` assignment for its
building. Rule 1 makes the latter safe: a member holding the whole building only loses
it to another who holds the whole building too, so every household of the building
keeps a member. All households of a building held by the same members are decided
alike (the rules look at the building, not the household).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.fix.arrays import isin, unique
from gridgeo.fix.holdings import Holdings
from gridgeo.fix.workload import Places, spread

__all__ = ["RULES", "settle_duplicates"]

#: rule -> (Chinese, English) reason the kept member is kept
RULES: dict[str, tuple[str, str]] = {
    "whole_building": ("其负责整栋楼", "they hold the whole building"),
    "quota": ("否则其联系户将少于要求", "they would otherwise fall below the quota"),
    "nearest": ("其其他联系户距离最近", "their other households are nearest"),
    "fewer": ("其联系户较少", "they have fewer households"),
    "code": ("编号在前", "their code sorts first"),
}
_ORDER = ("whole_building", "quota", "nearest", "fewer", "code")


def _candidates(held: Holdings, where: Places, quota: int) -> pd.DataFrame:
    """Every (household, member) of a doubly held household, with what the rules compare."""
    hh, member = held.pairs()
    nm = len(held.members)
    holders = np.bincount(hh, minlength=len(held.households))
    multi = holders[hh] >= 2
    count = np.bincount(member, minlength=nm)
    multi_count = np.bincount(member[multi], minlength=nm)
    _, cx, cy, _ = spread(hh[~multi], member[~multi], held, where)
    whole = unique(held.hh[held.via_building] * max(nm, 1) + held.member[held.via_building])
    h, m = hh[multi], member[multi]
    b = held.household_building[h]
    bx = np.where(b >= 0, where.x[np.maximum(b, 0)], np.nan)
    by = np.where(b >= 0, where.y[np.maximum(b, 0)], np.nan)
    dist = np.hypot(bx - cx[m], by - cy[m])
    rank = np.empty(nm, np.int64)
    rank[np.argsort(held.members.astype(str), kind="stable")] = np.arange(nm)
    return pd.DataFrame(
        {
            "hh": h,
            "m": m,
            "whole_building": ~isin(h * max(nm, 1) + m, whole),  # False sorts first
            "quota": count[m] - multi_count[m] >= quota,
            "nearest": np.nan_to_num(dist, nan=np.inf),
            "fewer": count[m],
            "code": rank[m],
        }
    )


def settle_duplicates(held: Holdings, where: Places, *, quota: int) -> pd.DataFrame:
    """Decide who keeps each doubly held household, and which assignments end.

    Parameters
    ----------
    held
        Who holds which household.
    where
        Where the buildings are (:func:`gridgeo.fix.workload.places`).
    quota
        Households each member should hold (rule 2).

    Returns
    -------
    pandas.DataFrame
        One row per assignment to end: ``assignment`` (code), ``row`` (its position in
        ``held.assignment_codes``), ``member`` (member id),
        ``via_building`` (a ``member_building`` assignment), ``building`` (building
        id), ``households`` (doubly held households it gives), ``keep`` (member id of
        the member kept, for the first of them) and ``rule`` (the rule that decided, a
        key of :data:`RULES`).
    """
    cand = _candidates(held, where, quota)
    cand = cand.sort_values(["hh", *_ORDER], kind="stable").reset_index(drop=True)
    first = ~cand["hh"].duplicated().to_numpy()
    keep = cand["m"].to_numpy()[first][np.cumsum(first) - 1]
    losers = cand[~first].copy()
    losers["keep"] = keep[~first]
    # the rule: the first column on which the kept member beats the best loser
    winner = cand[first].set_index("hh")
    runner = losers.drop_duplicates("hh").set_index("hh")
    rule = pd.Series("code", index=runner.index, dtype=object)
    decided = pd.Series(False, index=runner.index)
    for name in _ORDER:
        differ = ~decided & (winner.loc[runner.index, name] != runner[name])
        rule[differ] = name
        decided |= differ
    losers["rule"] = losers["hh"].map(rule)
    nm = max(len(held.members), 1)
    lost = pd.DataFrame({"key": losers["hh"] * nm + losers["m"], "keep": losers["keep"],
                         "rule": losers["rule"]})  # fmt: skip
    rows = pd.DataFrame(
        {
            "key": held.hh * nm + held.member,
            "row": held.assignment,
            "member": held.member,
            "via_building": held.via_building,
            "building": held.household_building[held.hh],
        }
    ).merge(lost, on="key")
    out = rows.groupby("row", sort=True).agg(
        member=("member", "first"),
        via_building=("via_building", "first"),
        building=("building", "first"),
        households=("key", "size"),
        keep=("keep", "first"),
        rule=("rule", "first"),
    )
    out = out.reset_index()
    out.insert(0, "assignment", held.assignment_codes[out["row"].to_numpy()])
    return out
