"""Propose the missing assignments: a member for every unassigned household, the quota met.

One optimisation (:mod:`gridgeo.fix.flow`, a min-cost flow) places every household
that has no responsible member (R6) on a member of role ``member``, with these
priorities, each strictly before the next:

1. as few households as possible are left to the community's cadres (其余由社区党员干
   部包干); what is left is listed for them (``cadres``), with their names;
2. as many members as possible reach the quota (R5: ``quota`` households), counting
   only households they can take;
3. households go to members of their own grid, then of an adjacent grid, then to
   members of the community who have no grid (:mod:`gridgeo.fix.candidates`);
4. the walk stays short: the straight distance from the household's building to the
   centroid of the member's households (:mod:`gridgeo.fix.workload`).

No member goes over ``cap`` households (a member already over it takes none, and
keeps what they have). Existing pairs are kept: nobody loses a household, except the
members who lose a doubly held one (R7, :mod:`gridgeo.fix.duplicates`), decided
before the flow so that the quotas count what is really left.

A building whose households all go to one member gets one ``member_building``
assignment; otherwise each household gets a ``member_household`` one. The proposal
starts on ``as_of``; an ended assignment ends the day before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.fix.actions import action_frame
from gridgeo.fix.allocation import allocate, open_sources
from gridgeo.fix.arrays import isin, unique
from gridgeo.fix.candidates import candidate_arcs
from gridgeo.fix.context import Context
from gridgeo.fix.duplicates import settle_duplicates
from gridgeo.fix.flow import solve_flow
from gridgeo.fix.holdings import holdings
from gridgeo.fix.outcome import cadre_frame, figures, member_frame
from gridgeo.fix.workload import Places, home_grids, places, spread

__all__ = ["AssignmentProposal", "apply_proposal", "propose_assignments"]


@dataclass(frozen=True)
class AssignmentProposal:
    """What :func:`propose_assignments` proposes (:mod:`gridgeo.fix.actions`, :mod:`~gridgeo.fix.outcome`)."""

    #: one row per assignment to add or to end, with its reason (geometry: the building)
    actions: gpd.GeoDataFrame
    #: one row per building whose open households fall to the community's cadres (R6)
    cadres: gpd.GeoDataFrame
    #: one row per member of role ``member``: households, quota and spread before/after
    members: pd.DataFrame
    #: the quality figures, before and after
    figures: pd.DataFrame


def _distinct(hh: np.ndarray, member: np.ndarray, nm: int) -> tuple[np.ndarray, np.ndarray]:
    key = unique(hh.astype(np.int64) * max(nm, 1) + member)
    return key // max(nm, 1), key % max(nm, 1)


def propose_assignments(
    households: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: dt.date | str,
    quota: int = 10,
    cap: int = 30,
    max_candidates: int = 5,
    building_grid: pd.DataFrame | None = None,
) -> AssignmentProposal:
    """Propose a member for every unassigned household and settle double responsibility.

    Parameters
    ----------
    households
        ``code`` and ``building``.
    buildings, grids
        Polygons with ``code`` (grids with ``community``).
    members
        ``code``, ``role`` (and ``name``, ``organisation``, ``community``).
    assignments
        The assignments layer.
    as_of
        The day the proposal takes effect: assignments in force on it count.
    quota
        Households each member should hold (R5; policy ``min_member_households``).
    cap
        Households no member may go over (policy ``max_member_households``).
    max_candidates
        Candidates per building and tier in the first solve, besides those short of
        the quota (:mod:`gridgeo.fix.candidates`); a speed setting, not a rule: the
        others are added back where they could help.
    building_grid
        Building → grid as :func:`gridgeo.analysis.building_grid` returns it (the
        check's), to avoid computing it again.

    Returns
    -------
    AssignmentProposal

    Examples
    --------
    >>> from gridgeo.synth import generate
    >>> L = generate("tiny", seed=0).layers
    >>> p = propose_assignments(L["households"], L["buildings"], L["grids"], L["members"],
    ...                         L["assignments"], as_of="2025-03-03")
    >>> p.figures.set_index("figure").loc["unassigned_households", ["before", "after"]].tolist()
    [22, 1]
    >>> p.cadres["building"].tolist()  # the building in the planted gap: in no grid
    ['B000316']
    """
    day = pd.Timestamp(as_of).normalize()
    held = holdings(households, buildings, members, assignments, as_of=day)
    where = places(held, buildings, grids, grid_of=building_grid)
    nm = len(held.members)
    hh0, m0 = held.pairs()
    grid, community = home_grids(hh0, m0, held, where, members, assignments, as_of=day)
    ended = settle_duplicates(held, where, quota=quota)
    kept = ~isin(held.assignment, ended["row"].to_numpy())
    hh1, m1 = _distinct(held.hh[kept], held.member[kept], nm)
    count1, cx, cy, _ = spread(hh1, m1, held, where)
    anchor = _anchors(cx, cy, grid, community, where)
    room = np.maximum(cap - count1, 0)
    short = np.maximum(min(quota, cap) - count1, 0)
    holders = np.bincount(hh1, minlength=len(held.households))
    open_hh, source, supply = open_sources(held, holders)
    arcs = candidate_arcs(
        source,
        where,
        grid,
        community,
        anchor,
        room,
        short,
        supply,
        max_candidates=max_candidates,
    )
    flow = solve_flow(arcs, supply, short, room - short)
    got = allocate(held, open_hh, source, arcs, flow.arc_flow)
    placed = got[got["member"] >= 0]
    hh2, m2 = _distinct(
        np.concatenate([hh1, placed["hh"]]), np.concatenate([m1, placed["member"]]), nm
    )
    ctx = Context(
        held=held, where=where, members=members, assignments=assignments, buildings=buildings,
        day=day, quota=quota, cap=cap, grid=grid, community=community,
    )  # fmt: skip
    before, after = spread(hh0, m0, held, where), spread(hh2, m2, held, where)
    empty = _empty_buildings(source, supply, arcs)
    unplaced = source[(supply == 0) & ~isin(np.arange(len(source)), empty["source"].to_numpy())]
    added = np.bincount(placed["member"], minlength=nm)
    return AssignmentProposal(
        actions=action_frame(ctx, got, arcs, empty.assign(b=source[empty["source"]]), ended, short),
        cadres=cadre_frame(ctx, got, unplaced),
        members=member_frame(ctx, before, after, added),
        figures=figures(ctx, (hh0, m0), (hh2, m2), before, after),
    )


def _anchors(
    cx: np.ndarray, cy: np.ndarray, grid: np.ndarray, community: np.ndarray, where: Places
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's anchor, the point their distances are measured from.

    Their households' centroid, else their grid's point, else the mean point of their
    community's grids (NaN: nowhere).
    """
    ax, ay = cx.copy(), cy.copy()
    none = np.isnan(ax) & (grid >= 0)
    ax[none], ay[none] = where.grid_x[grid[none]], where.grid_y[grid[none]]
    centre = pd.DataFrame({"c": where.grid_community, "x": where.grid_x, "y": where.grid_y})
    centre = centre.dropna().groupby("c")[["x", "y"]].mean()
    none = np.isnan(ax) & pd.notna(community)
    ax[none] = pd.Series(community[none]).map(centre["x"]).to_numpy(dtype=float)
    ay[none] = pd.Series(community[none]).map(centre["y"]).to_numpy(dtype=float)
    return ax, ay


def _empty_buildings(source: np.ndarray, supply: np.ndarray, arcs: pd.DataFrame) -> pd.DataFrame:
    """Buildings with no household on record: the cheapest candidate, who loses no room."""
    zero = np.flatnonzero(supply == 0)
    pick = arcs[arcs["source"].isin(zero)].sort_values(["source", "cost", "member"])
    pick = pick.drop_duplicates("source")
    return pd.DataFrame(
        {
            "source": pick["source"].to_numpy(),
            "member": pick["member"].to_numpy(),
            "arc": pick.index.to_numpy(),
        }
    )


def apply_proposal(
    assignments: pd.DataFrame, actions: pd.DataFrame, *, as_of: dt.date | str
) -> pd.DataFrame:
    """The assignments as they are once the ``actions`` of a proposal are applied.

    Rows to ``end`` get ``valid_to`` the day before ``as_of`` (a row that would then
    end before it starts is dropped: it never was in force); rows to ``add`` are
    appended with ``valid_from = as_of`` and no end. The actions may have been edited
    (rows deleted); what is left is applied. Nothing is written anywhere.

    Parameters
    ----------
    assignments
        The assignments layer.
    actions
        ``AssignmentProposal.actions`` (``action``, ``assignment``, ``kind``,
        ``member``, ``building``, ``household``).
    as_of
        The day the proposal takes effect.

    Returns
    -------
    pandas.DataFrame
        A new frame with the columns of ``assignments``.

    Examples
    --------
    >>> a = pd.DataFrame({"code": ["A1"], "kind": ["member_building"], "member": ["M1"],
    ...                   "building": ["B1"], "household": [None],
    ...                   "valid_from": pd.to_datetime(["2025-01-01"]), "valid_to": pd.NaT})
    >>> actions = pd.DataFrame({"action": ["end", "add"], "assignment": ["A1", "P1"],
    ...                         "kind": "member_building", "member": ["M1", "M2"],
    ...                         "building": "B1", "household": None})
    >>> out = apply_proposal(a, actions, as_of="2025-06-01")
    >>> out[["code", "member"]].values.tolist()
    [['A1', 'M1'], ['P1', 'M2']]
    >>> out["valid_from"].tolist(), out["valid_to"].tolist()
    ([Timestamp('2025-01-01 00:00:00'), Timestamp('2025-06-01 00:00:00')], [Timestamp('2025-05-31 00:00:00'), NaT])
    """
    day = pd.Timestamp(as_of).normalize()
    out = assignments.copy()
    ends = actions.loc[actions["action"].eq("end"), "assignment"].astype("string")
    hit = out["code"].astype("string").isin(ends).to_numpy(bool)
    out["valid_to"] = pd.to_datetime(out["valid_to"])
    out.loc[hit, "valid_to"] = day - pd.Timedelta(days=1)
    never = hit & (pd.to_datetime(out["valid_from"]) >= day).to_numpy(bool)
    out = out[~never]
    adds = actions[actions["action"].eq("add")]
    rows = pd.DataFrame(
        {c: adds[c].to_numpy() if c in adds.columns else None for c in out.columns},
    )
    rows["code"] = adds["assignment"].to_numpy()
    rows["valid_from"] = day
    rows["valid_to"] = pd.NaT
    return pd.concat([out, rows.astype(out.dtypes.to_dict(), errors="ignore")], ignore_index=True)
