"""Who is responsible for which household, as integer ids: the core of R5–R7.

Codes are turned into positions once (buildings, households and members each an
index), so the pairs of millions of households are joined, deduplicated and counted
with numpy instead of string hashing. :func:`household_links` computes them;
:func:`~gridgeo.analysis.responsibility.building_responsibility` and
:func:`~gridgeo.analysis.responsibility.member_households` take them ready-made
(``links=``) when one caller needs both, as the check does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridgeo.analysis.frames import as_str, rows_with
from gridgeo.analysis.responsibility.assignments import assignment_pairs
from gridgeo.localtime import DateLike

__all__ = ["Links", "household_links", "shared_ids", "unique_pairs"]


@dataclass(frozen=True)
class Links:
    """Responsible members of every household, by position. Members are in code order."""

    #: building codes; a building's id is its position
    buildings: np.ndarray
    #: member codes, sorted
    members: np.ndarray
    #: building id of each distinct household (-1: unknown)
    hh_building: np.ndarray
    #: household id of each distinct (household, member) pair
    hh: np.ndarray
    #: member id of each such pair
    member: np.ndarray
    #: building id of each distinct member_building pair
    mb_building: np.ndarray
    #: member id of each such pair
    mb_member: np.ndarray


def unique_pairs(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs of ids (``b < nb``), sorted by ``a`` then ``b``.

    Examples
    --------
    >>> a, b = unique_pairs(np.array([1, 0, 1]), np.array([2, 1, 2]), 3)
    >>> a.tolist(), b.tolist()
    ([0, 1], [1, 2])
    """
    key = np.sort(pd.unique(a.astype(np.int64) * max(nb, 1) + b))
    return key // max(nb, 1), key % max(nb, 1)


def shared_ids(*parts: pd.Series, sort: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """One id space for several columns: ids per part (-1: missing) and the codes.

    One ``factorize`` over all parts hashes each string once; looking values up in
    an index built from another column would hash the big one again for every lookup.

    Examples
    --------
    >>> (x, y), codes = shared_ids(pd.Series(["b", "a"]), pd.Series(["a", None]))
    >>> x.tolist(), y.tolist(), codes.tolist()
    ([0, 1], [1, -1], ['b', 'a'])
    """
    codes, uniques = pd.factorize(
        pd.concat([as_str(p) for p in parts], ignore_index=True), sort=sort
    )
    bounds = np.cumsum([0, *(len(p) for p in parts)])
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], np.asarray(uniques, dtype=object)


def household_links(
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    buildings: pd.Series | None = None,
    members: pd.DataFrame | None = None,
) -> Links:
    """The responsible members of every household on ``as_of``, as integer ids.

    A household's members are those of its ``member_household`` assignments and of
    its building's ``member_building`` assignments. A household listed twice counts
    once.

    Parameters
    ----------
    households
        The ``households`` layer (``code``, ``building``).
    assignments
        The ``assignments`` layer.
    as_of
        The date; default today.
    buildings
        Building codes to number first (every building of the layer gets an id, so
        that per-building counts can be read for all of them).
    members
        The members layer; when given, only members of role ``member`` count.

    Returns
    -------
    Links

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2"], "building": ["B1", "B1"]})
    >>> a = pd.DataFrame({"kind": ["member_building"], "member": ["M1"], "building": ["B1"],
    ...                   "household": [None], "valid_from": pd.to_datetime(["2026-01-01"]),
    ...                   "valid_to": pd.NaT})
    >>> links = household_links(h, a, as_of="2026-02-01")
    >>> links.members.tolist(), links.hh.tolist()
    (['M1'], [0, 1])
    """
    partner = None if members is None else set(as_str(rows_with(members, "role", "member")["code"]))
    hh = pd.DataFrame(
        {"code": as_str(households["code"]), "building": as_str(households["building"])}
    )
    mh = assignment_pairs(assignments, "member_household", "household", as_of=as_of)
    mb = assignment_pairs(assignments, "member_building", "building", as_of=as_of)
    (hh_ids, mh_hh), _ = shared_ids(hh["code"], mh["household"])
    if len(hh_ids) and (hh_ids != np.arange(len(hh_ids))).any():  # listed twice: counts once
        first = ~pd.Series(hh_ids).duplicated().to_numpy()
        hh = hh[first]
        (hh_ids, mh_hh), _ = shared_ids(hh["code"], mh["household"])
    mh_hh = np.where(mh_hh < len(hh), mh_hh, -1)  # households that exist
    known = [] if buildings is None else [buildings]
    (*_, hh_b, mb_b), bcodes = shared_ids(*known, hh["building"], mb["building"])
    (mh_m, mb_m), mcodes = shared_ids(mh["member"], mb["member"], sort=True)
    if partner is not None:
        ok = np.append(pd.Index(mcodes).isin(partner), False)
        mh_hh = np.where(ok[mh_m], mh_hh, -1)
        mb_b = np.where(ok[mb_m], mb_b, -1)
    nm = len(mcodes)
    keep = mh_hh >= 0
    direct_hh, direct_m = mh_hh[keep], mh_m[keep]
    keep = mb_b >= 0
    mb_b, mb_m = unique_pairs(mb_b[keep], mb_m[keep], nm)
    via_hh, via_m = _via_buildings(hh_b, mb_b, mb_m, len(bcodes))
    pair_hh, pair_m = unique_pairs(
        np.concatenate([direct_hh, via_hh]), np.concatenate([direct_m, via_m]), nm
    )
    return Links(bcodes, mcodes, hh_b, pair_hh, pair_m, mb_b, mb_m)


def _via_buildings(
    hh_b: np.ndarray, mb_b: np.ndarray, mb_m: np.ndarray, nb: int
) -> tuple[np.ndarray, np.ndarray]:
    """(household, member) for every household of every member_building pair's building."""
    placed = np.flatnonzero(hh_b >= 0)
    by_building = placed[np.argsort(hh_b[placed], kind="stable")]
    counts = np.bincount(hh_b[placed], minlength=nb)
    starts = np.cumsum(counts) - counts
    rep = counts[mb_b]
    offsets = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    return by_building[np.repeat(starts[mb_b], rep) + offsets], np.repeat(mb_m, rep)
