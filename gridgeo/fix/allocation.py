"""From the solved flow to households: which member takes which household.

A building's open households (those with no responsible member) are taken in code
order; the members its flow reaches take them in order of cost (nearest first), as
many as the flow sends each; the rest fall to the cadres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.fix.holdings import Holdings

__all__ = ["allocate", "open_sources"]


def open_sources(held: Holdings, holders: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sources of the flow: buildings with open households, or with none on record.

    Parameters
    ----------
    held
        Who holds which household.
    holders
        Members holding each household (0: open).

    Returns
    -------
    tuple
        ``(open households, source building ids, supply)``: the open households (ids,
        those of unknown buildings included), each building with open households or
        with no household and no ``member_building`` assignment (supply 0), and the
        open households of each.
    """
    open_hh = np.flatnonzero(holders == 0)
    nb = len(held.buildings)
    b = held.household_building[open_hh]
    supply = np.bincount(b[b >= 0], minlength=nb)
    on_record = np.bincount(held.household_building[held.household_building >= 0], minlength=nb)
    empty = on_record == 0
    empty[held.building_held] = False
    source = np.flatnonzero((supply > 0) | empty)
    return open_hh, source, supply[source]


def allocate(
    held: Holdings,
    open_hh: np.ndarray,
    source_building: np.ndarray,
    arcs: pd.DataFrame,
    arc_flow: np.ndarray,
) -> pd.DataFrame:
    """The member (or the cadres) of each open household.

    Parameters
    ----------
    held, open_hh, source_building
        As :func:`open_sources` returns them.
    arcs, arc_flow
        The candidate arcs and the households the flow sends along each.

    Returns
    -------
    pandas.DataFrame
        One row per open household: ``hh`` (id), ``source`` (-1: its building is not a
        source), ``member`` (id, -1: the cadres) and ``arc`` (row of ``arcs``, -1).
    """
    ns = len(source_building)
    src_of = np.full(len(held.buildings), -1, np.int64)
    src_of[source_building] = np.arange(ns)
    b = held.household_building[open_hh]
    s = np.where(b >= 0, src_of[np.maximum(b, 0)], -1)
    order = np.lexsort((held.household_codes(open_hh).astype(str), s))
    hh, s = open_hh[order], s[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.empty(0, int)
    rank = np.arange(len(s)) - np.repeat(starts, np.diff(np.r_[starts, len(s)]))
    used = np.flatnonzero(arc_flow > 0)
    used = used[
        np.lexsort(
            (arcs["member"].to_numpy()[used], arcs["cost"].to_numpy()[used],
             arcs["source"].to_numpy()[used])
        )
    ]  # fmt: skip
    a_src = arcs["source"].to_numpy()[used]
    a_flow = arc_flow[used]
    cum = np.cumsum(a_flow)
    sent = np.bincount(a_src, weights=a_flow, minlength=ns).astype(np.int64)
    base = np.cumsum(sent) - sent
    taken = (s >= 0) & (rank < sent[np.maximum(s, 0)])
    arc = np.full(len(hh), -1, np.int64)
    if len(used):
        k = np.searchsorted(cum, base[np.maximum(s, 0)] + rank, side="right")
        arc[taken] = used[k[taken]]
    member = np.full(len(hh), -1, np.int64)
    member[arc >= 0] = arcs["member"].to_numpy()[arc[arc >= 0]]
    return pd.DataFrame({"hh": hh, "source": s, "member": member, "arc": arc})
