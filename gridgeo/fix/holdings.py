"""Who holds which household on a date, as integer positions: the input of every proposal.

The definition is the check's (:mod:`gridgeo.analysis.responsibility`): a household is
held by a member through a ``member_household`` assignment for it or a
``member_building`` assignment for its building, in force on ``as_of``
(``valid_from <= as_of <= valid_to``, ``valid_to`` empty = open), and only members of
role ``member`` hold households (cadres, leaders and grid workers are not pairing
members). A household listed twice counts once.

Codes are turned into positions once, so the millions of pairs of a city are joined and
counted with numpy rather than by hashing strings again at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridgeo.analysis import active_assignments
from gridgeo.fix.arrays import unique

__all__ = ["Holdings", "holdings", "holdings_near"]

_HOLDING_KINDS = ("member_building", "member_household")


def _text(values: pd.Series) -> pd.Index:
    return pd.Index(values.astype("string"))


@dataclass(frozen=True)
class Holdings:
    """Households, buildings, partner members and every (household, member) holding.

    Attributes
    ----------
    households
        Household codes (distinct, in input order); a household's id is its position.
        A city has millions: take the few needed with :meth:`household_codes`.
    buildings
        Building codes: those of the buildings layer first (in its order, duplicates
        once), then any other code a household or an assignment names.
    members
        Codes of the members of role ``member``, in input order.
    household_building
        Building id of each household (-1: none).
    hh, member
        Household id and member id of every holding, one row per assignment that
        gives it (a household held by one member through its building *and* directly
        appears twice; :meth:`pairs` gives them once).
    via_building
        Whether the holding comes from a ``member_building`` assignment.
    assignment
        Which assignment gives the holding: a position in ``assignment_codes``.
    assignment_codes
        Codes of the assignments in force that give holdings.
    building_rows
        Building id of each row of the buildings layer.
    building_held
        Building ids with a ``member_building`` assignment (a building with no
        household on record is held only through it).
    """

    households: pd.Index
    buildings: pd.Index
    members: np.ndarray
    household_building: np.ndarray
    hh: np.ndarray
    member: np.ndarray
    via_building: np.ndarray
    assignment: np.ndarray
    assignment_codes: np.ndarray
    building_rows: np.ndarray
    building_held: np.ndarray

    def household_codes(self, ids: np.ndarray) -> np.ndarray:
        """Codes of the households ``ids``, as an object array."""
        return np.asarray(self.households.take(np.asarray(ids, np.int64)), dtype=object)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct ``(household id, member id)`` pairs, sorted by household then member."""
        nm = max(len(self.members), 1)
        key = unique(self.hh.astype(np.int64) * nm + self.member)
        return key // nm, key % nm

    def counts(self) -> np.ndarray:
        """Distinct households of each member (the check's ``member_households``)."""
        _, member = self.pairs()
        return np.bincount(member, minlength=len(self.members))

    def holders(self) -> np.ndarray:
        """Number of distinct members holding each household (0: unassigned)."""
        hh, _ = self.pairs()
        return np.bincount(hh, minlength=len(self.households))


def holdings(
    households: pd.DataFrame,
    buildings: pd.DataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: object,
) -> Holdings:
    """Every household held by a partner member on ``as_of``, as integer positions.

    Parameters
    ----------
    households
        ``code`` and ``building`` (the building's code).
    buildings
        ``code``.
    members
        ``code`` and ``role``; only role ``member`` holds households.
    assignments
        The assignments layer (``kind``, ``member``, ``building``, ``household``,
        ``valid_from``, ``valid_to``, ``code``).
    as_of
        The date.

    Returns
    -------
    Holdings

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2", "H3"], "building": ["B1", "B1", "B2"]})
    >>> b = pd.DataFrame({"code": ["B1", "B2"]})
    >>> m = pd.DataFrame({"code": ["M1", "K1"], "role": ["member", "cadre"]})
    >>> a = pd.DataFrame({"code": ["A1", "A2"], "kind": ["member_building", "member_household"],
    ...                   "member": ["M1", "K1"], "building": ["B1", None],
    ...                   "household": [None, "H3"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"] * 2), "valid_to": pd.NaT})
    >>> held = holdings(h, b, m, a, as_of="2026-02-01")
    >>> held.holders().tolist(), held.counts().tolist()
    ([1, 1, 0], [2])
    """
    role = members["role"].astype("string").eq("member").fillna(False).to_numpy(dtype=bool)
    partner = _text(members["code"][role]).drop_duplicates()
    act = active_assignments(assignments, as_of=as_of)
    act = act[act["kind"].astype("string").isin(_HOLDING_KINDS).fillna(False).to_numpy(bool)]
    member = partner.get_indexer(_text(act["member"]))
    by_building = (act["kind"].astype("string") == "member_building").to_numpy(dtype=bool)
    direct, via = ~by_building & (member >= 0), by_building & (member >= 0)
    # one factorize per id space hashes each code once (a household listed twice: once)
    n = len(households)
    ids, hh_codes = _factorize(households["code"], act["household"][direct])
    n_hh = int(ids[:n].max(initial=-1)) + 1
    named = np.flatnonzero(ids[:n] >= 0)
    first = np.full(n_hh, -1, np.int64)
    first[ids[named][::-1]] = named[::-1]
    d_hh = ids[n:]
    ok = (d_hh >= 0) & (d_hh < n_hh)
    d_hh, d_m, d_a = d_hh[ok], member[direct][ok], np.flatnonzero(direct)[ok]
    nb = len(buildings)
    b_ids, bcodes = _factorize(
        buildings["code"], households["building"].iloc[first], act["building"][via]
    )
    hb = b_ids[nb : nb + n_hh]
    v_b = b_ids[nb + n_hh :]
    ok = v_b >= 0
    v_b, v_m, v_a = v_b[ok], member[via][ok], np.flatnonzero(via)[ok]
    # member_building: one holding per household of the building
    placed = np.flatnonzero(hb >= 0)
    by_b = placed[np.argsort(hb[placed], kind="stable")]
    count = np.bincount(hb[placed], minlength=len(bcodes))
    start = np.cumsum(count) - count
    rep = count[v_b]
    offset = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    v_hh = by_b[np.repeat(start[v_b], rep) + offset]
    return Holdings(
        households=pd.Index(hh_codes[:n_hh]),
        buildings=pd.Index(bcodes),
        members=partner.to_numpy(dtype=object),
        household_building=hb.astype(np.int64),
        hh=np.concatenate([d_hh, v_hh]).astype(np.int64),
        member=np.concatenate([d_m, np.repeat(v_m, rep)]).astype(np.int64),
        via_building=np.concatenate([np.zeros(len(d_hh), bool), np.ones(len(v_hh), bool)]),
        assignment=np.concatenate([d_a, np.repeat(v_a, rep)]).astype(np.int64),
        assignment_codes=act["code"].astype("string").to_numpy(dtype=object),
        building_rows=b_ids[:nb],
        building_held=unique(v_b).astype(np.int64),
    )


def _factorize(*parts: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Ids (-1: missing) of the values of several columns in one id space, and the codes.

    Ids are in order of first appearance, so the values of the first column come first.
    """
    values = pd.concat([p.astype("string").reset_index(drop=True) for p in parts])
    ids, uniques = pd.factorize(values, sort=False)
    return ids.astype(np.int64), pd.Index(uniques)


def holdings_near(
    households: pd.DataFrame,
    buildings: pd.DataFrame,
    members: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: object,
    around: pd.Index,
) -> Holdings:
    """:func:`holdings` of the members holding a household in the buildings ``around``.

    Every holding of those members is kept (their households elsewhere too), nothing
    of the others: a city's millions of households are filtered before they are
    paired.

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2", "H3"], "building": ["B1", "B2", "B3"]})
    >>> b = pd.DataFrame({"code": ["B1", "B2", "B3"]})
    >>> m = pd.DataFrame({"code": ["M1", "M2"], "role": "member"})
    >>> a = pd.DataFrame({"code": ["A1", "A2", "A3"], "kind": "member_building",
    ...                   "member": ["M1", "M1", "M2"], "building": ["B1", "B2", "B3"],
    ...                   "household": None, "valid_from": pd.to_datetime(["2026-01-01"] * 3),
    ...                   "valid_to": pd.NaT})
    >>> near = holdings_near(h, b, m, a, as_of="2026-02-01", around=pd.Index(["B1"]))
    >>> near.members.tolist(), sorted(near.household_codes(near.hh).tolist())
    (['M1', 'M2'], ['H1', 'H2'])
    """
    act = active_assignments(assignments, as_of=as_of)
    act = act[act["kind"].astype("string").isin(_HOLDING_KINDS).fillna(False).to_numpy(bool)]
    hh_building = households["building"].astype("string")
    hh_code = households["code"].astype("string")
    a_building = act["building"].astype("string")
    a_household = act["household"].astype("string")
    local = hh_code[hh_building.isin(around).to_numpy(bool)]
    touching = a_building.isin(around) | a_household.isin(local)
    mine = act["member"].astype("string").isin(act["member"][touching.to_numpy(bool)])
    act = act[mine.to_numpy(bool)]
    direct = hh_code.isin(act["household"].astype("string")).to_numpy(bool)
    used = pd.Index(pd.concat([act["building"], households["building"][direct]]).dropna())
    used = used.astype("string").union(around.astype("string"))
    keep = (hh_building.isin(used) | pd.Series(direct, index=households.index)).to_numpy(bool)
    near = buildings[buildings["code"].astype("string").isin(used).to_numpy(bool)]
    return holdings(households[keep], near, members, act, as_of=as_of)
