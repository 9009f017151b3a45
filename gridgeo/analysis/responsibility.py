"""Who is responsible for what: assignments at a date, and the rules R4–R7 and R12.

Inputs are layer frames as :meth:`gridgeo.store.Store.read_layer` returns them:
references are codes, ``assignments.valid_from``/``valid_to`` are naive dates
(``valid_to`` NaT = open-ended). Every function takes ``as_of`` (a date, default
today) and counts an assignment only when ``valid_from <= as_of <= valid_to``.

Responsibility of a household comes from a ``member_household`` assignment for it or
a ``member_building`` assignment for its building. A building is **assigned** when it
has a ``member_building`` assignment, or when it has households and *every* one of
them has a responsible member (a big building shared out by household is covered; a
building with only some households assigned is not, and its remaining households fall
back to the community's cadres). It is **multi_assigned** when two or more members
hold it through ``member_building``, or any of its households has two or more
responsible members (R7); a big building shared out among several members, each with
their own households, is not multi-assigned.
"""

from __future__ import annotations

import datetime as dt
import itertools
import weakref
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gridgeo.analysis.findings import findings
from gridgeo.policy import Policy

__all__ = [
    "active_assignments",
    "building_community",
    "building_responsibility",
    "community_leaders",
    "household_responsibility",
    "member_households",
    "member_quota",
    "multi_assigned_buildings",
    "organisation_quota",
    "shared_grids",
    "unassigned_buildings",
]

DateLike = dt.date | str | pd.Timestamp | None


def _day(value: DateLike) -> pd.Timestamp:
    """A naive midnight timestamp for a date; today (local clock) for None."""
    ts = pd.Timestamp(dt.date.today() if value is None else value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _text(values: pd.Series) -> pd.Series:
    return values.astype("str")


def join_groups(frame: pd.DataFrame, keys: list[str], value: str) -> pd.Series:
    """``value`` of each group of ``keys``, comma-joined in the frame's order.

    Done by Arrow (a list per group, then one join), not by a Python call per group.

    Examples
    --------
    >>> f = pd.DataFrame({"k": ["a", "b", "a"], "v": ["x", "y", "z"]})
    >>> join_groups(f, ["k"], "v").to_dict()
    {'a': 'x,z', 'b': 'y'}
    """
    if frame.empty:
        index = (
            pd.MultiIndex.from_tuples([], names=keys)
            if len(keys) > 1
            else pd.Index([], dtype="str", name=keys[0])
        )
        return pd.Series([], index=index, dtype="str", name=value)
    table = pa.Table.from_pandas(frame[[*keys, value]], preserve_index=False)
    grouped = table.group_by(keys, use_threads=False).aggregate([(value, "list")])
    lists = grouped.column(f"{value}_list")
    joined = pc.binary_join(lists, pa.scalar(",", type=lists.type.value_type))
    index_frame = grouped.select(keys).to_pandas()
    index = (
        pd.MultiIndex.from_frame(index_frame)
        if len(keys) > 1
        else pd.Index(index_frame[keys[0]], name=keys[0])
    )
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=index, dtype="str", name=value)


def _join(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Sorted, distinct ``value`` per ``key``, comma-joined."""
    pairs = frame[[key, value]].dropna().drop_duplicates().sort_values([key, value])
    if pairs.empty:
        return pd.Series([], index=pd.Index([], dtype="str", name=key), dtype="string", name=value)
    # most keys have one value: only the others need a (slow, per group) string join
    shared = pairs[key].duplicated(keep=False).to_numpy()
    single = pd.Series(
        pairs[value].to_numpy()[~shared], index=pd.Index(pairs[key].to_numpy()[~shared], name=key)
    )
    joined = join_groups(pairs[shared], [key], value)
    return pd.concat([single, joined]).sort_index().astype("string").rename(value)


def active_assignments(
    assignments: pd.DataFrame, *, as_of: DateLike = None, kind: str | None = None
) -> pd.DataFrame:
    """Return the assignments valid on ``as_of`` (inclusive on both ends; NaT = open).

    Parameters
    ----------
    assignments
        The ``assignments`` layer frame.
    as_of
        The date; default today.
    kind
        Keep only this kind (e.g. ``"member_building"``).

    Returns
    -------
    pandas.DataFrame
        The rows of ``assignments`` that are in force, with their original index.

    Examples
    --------
    >>> a = pd.DataFrame({"code": ["A1", "A2"], "kind": ["member_building"] * 2,
    ...                   "valid_from": pd.to_datetime(["2026-01-01", "2025-01-01"]),
    ...                   "valid_to": pd.to_datetime([None, "2025-12-31"])})
    >>> active_assignments(a, as_of="2026-03-01").code.tolist()
    ['A1']
    >>> active_assignments(a, as_of="2025-12-31").code.tolist()
    ['A2']
    """
    day = _day(as_of)
    vf = pd.to_datetime(assignments["valid_from"])
    vt = pd.to_datetime(assignments["valid_to"])
    mask = (vf <= day) & (vt.isna() | (vt >= day))
    if kind is not None:
        mask &= assignments["kind"].astype("string").eq(kind).fillna(False)
    return assignments[mask.to_numpy(dtype=bool)]


def _pairs(assignments: pd.DataFrame, kind: str, target: str, as_of: DateLike) -> pd.DataFrame:
    """Distinct (target, member) pairs of the active assignments of ``kind``."""
    a = active_assignments(assignments, as_of=as_of, kind=kind)
    subject = "organisation" if kind == "organisation_grid" else "member"
    out = pd.DataFrame({target: _text(a[target]), subject: _text(a[subject])})
    return out.dropna().drop_duplicates().reset_index(drop=True)


def building_community(building_grid: pd.DataFrame, grids: pd.DataFrame) -> pd.Series:
    """Community of each building: the community of the grid holding most of it.

    Parameters
    ----------
    building_grid
        Frame with ``building_id``, ``grid_id`` and ``share`` (as
        ``gridgeo.analysis.coverage.building_grid`` returns it).
    grids
        The ``grids`` layer frame (``code``, ``community``).

    Returns
    -------
    pandas.Series
        Community code indexed by building code, named ``community``.

    Examples
    --------
    >>> bg = pd.DataFrame({"building_id": ["B1", "B1", "B2"], "grid_id": ["G1", "G2", "G2"],
    ...                    "share": [0.3, 0.7, 1.0]})
    >>> g = pd.DataFrame({"code": ["G1", "G2"], "community": ["C1", "C2"]})
    >>> building_community(bg, g).to_dict()
    {'B1': 'C2', 'B2': 'C2'}
    """
    best = building_grid.sort_values(["building_id", "share"], ascending=[True, False])
    best = best.drop_duplicates("building_id")
    grid_comm = pd.Series(_text(grids["community"]).to_numpy(), index=_text(grids["code"]))
    out = _text(best["grid_id"]).map(grid_comm)
    out.index = pd.Index(_text(best["building_id"]), name="building_id")
    return out.rename("community")


def _household_members(
    households: pd.DataFrame, assignments: pd.DataFrame, as_of: DateLike
) -> pd.DataFrame:
    """(household, building, member) for every responsible member of every household."""
    hh = pd.DataFrame(
        {"household": _text(households["code"]), "building": _text(households["building"])}
    )
    mh = _pairs(assignments, "member_household", "household", as_of)
    mb = _pairs(assignments, "member_building", "building", as_of)
    direct = mh.merge(hh, on="household")
    via_building = hh.merge(mb, on="building")
    cols = ["household", "building", "member"]
    return pd.concat([direct[cols], via_building[cols]], ignore_index=True).drop_duplicates()


@dataclass
class _Links:
    """Who is responsible for which household, as integer ids (the core of R5–R7).

    Codes are turned into positions once (buildings, households and members each an
    index), so the pairs of millions of households are joined, deduplicated and
    counted with numpy instead of string hashing. Members are numbered in code order.
    """

    buildings: np.ndarray  # building codes; a building's id is its position
    members: np.ndarray  # member codes, sorted
    hh_building: np.ndarray  # building id of each distinct household (-1: unknown)
    hh: np.ndarray  # household id of each distinct (household, member) pair
    member: np.ndarray  # member id of each such pair
    mb_building: np.ndarray  # building id of each distinct member_building pair
    mb_member: np.ndarray  # member id of each such pair


def _unique_pairs(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs of ids (``b < nb``), sorted by ``a`` then ``b``."""
    key = np.sort(pd.unique(a.astype(np.int64) * max(nb, 1) + b))
    return key // max(nb, 1), key % max(nb, 1)


def _ids(*parts: pd.Series, sort: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """One id space for several columns: ids per part (-1: missing) and the codes.

    One ``factorize`` over all parts hashes each string once; looking values up in
    an index built from another column would hash the big one again for every lookup.
    """
    codes, uniques = pd.factorize(
        pd.concat([_text(p) for p in parts], ignore_index=True), sort=sort
    )
    bounds = np.cumsum([0, *(len(p) for p in parts)])
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], np.asarray(uniques, dtype=object)


#: The last _links computed, with weak references to the frames it was computed from:
#: the check asks for the same households and assignments twice (R5 and R6/R7).
_last_links: list[tuple[tuple[Any, ...], _Links]] = []


def _links(
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    as_of: DateLike,
    *,
    buildings: pd.Series | None = None,
    partner: set[str] | None = None,
) -> _Links:
    day, who = _day(as_of), None if partner is None else frozenset(partner)
    if _last_links:
        (hh_ref, a_ref, b_ref, d, p), links = _last_links[0]
        same_buildings = buildings is None or (b_ref is not None and b_ref() is buildings)
        if hh_ref() is households and a_ref() is assignments and d == day and p == who:
            if same_buildings:
                return links
    links = _compute_links(households, assignments, day, buildings=buildings, partner=partner)
    key = (
        weakref.ref(households),
        weakref.ref(assignments),
        None if buildings is None else weakref.ref(buildings),
        day,
        who,
    )
    _last_links[:] = [(key, links)]
    return links


def _compute_links(
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    as_of: DateLike,
    *,
    buildings: pd.Series | None = None,
    partner: set[str] | None = None,
) -> _Links:
    hh = pd.DataFrame(
        {"code": _text(households["code"]), "building": _text(households["building"])}
    )
    mh = _pairs(assignments, "member_household", "household", as_of)
    mb = _pairs(assignments, "member_building", "building", as_of)
    (hh_ids, mh_hh), _ = _ids(hh["code"], mh["household"])
    if len(hh_ids) and (hh_ids != np.arange(len(hh_ids))).any():  # listed twice: counts once
        first = ~pd.Series(hh_ids).duplicated().to_numpy()
        hh = hh[first]
        (hh_ids, mh_hh), _ = _ids(hh["code"], mh["household"])
    mh_hh = np.where(mh_hh < len(hh), mh_hh, -1)  # households that exist
    known = [] if buildings is None else [buildings]
    (*_, hh_b, mb_b), bcodes = _ids(*known, hh["building"], mb["building"])
    (mh_m, mb_m), mcodes = _ids(mh["member"], mb["member"], sort=True)
    if partner is not None:
        ok = np.append(pd.Index(mcodes).isin(partner), False)
        mh_hh = np.where(ok[mh_m], mh_hh, -1)
        mb_b = np.where(ok[mb_m], mb_b, -1)
    nb, nm = len(bcodes), len(mcodes)
    keep = mh_hh >= 0
    direct_hh, direct_m = mh_hh[keep], mh_m[keep]
    keep = mb_b >= 0
    mb_b, mb_m = _unique_pairs(mb_b[keep], mb_m[keep], nm)
    # member_building: every household of the building
    placed = np.flatnonzero(hh_b >= 0)
    by_building = placed[np.argsort(hh_b[placed], kind="stable")]
    counts = np.bincount(hh_b[placed], minlength=nb)
    starts = np.cumsum(counts) - counts
    rep = counts[mb_b]
    offsets = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    via_hh = by_building[np.repeat(starts[mb_b], rep) + offsets]
    via_m = np.repeat(mb_m, rep)
    pair_hh, pair_m = _unique_pairs(
        np.concatenate([direct_hh, via_hh]), np.concatenate([direct_m, via_m]), nm
    )
    return _Links(bcodes, mcodes, hh_b, pair_hh, pair_m, mb_b, mb_m)


def household_responsibility(
    households: pd.DataFrame, assignments: pd.DataFrame, *, as_of: DateLike = None
) -> pd.DataFrame:
    """Responsible members of each household (R6, R7).

    A household's members are those of its ``member_household`` assignments and of
    its building's ``member_building`` assignments, in force on ``as_of``.

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``household_id``, ``building_id``, ``members``
        (sorted codes, comma-joined; ``""`` for none), ``n_members`` and ``status``
        (``assigned``, ``unassigned`` or ``multi_assigned``).

    Examples
    --------
    >>> h = pd.DataFrame({"code": ["H1", "H2", "H3"], "building": ["B1", "B1", "B2"]})
    >>> a = pd.DataFrame({"kind": ["member_building", "member_household", "member_household"],
    ...                   "member": ["M1", "M2", "M3"], "building": ["B1", None, None],
    ...                   "household": [None, "H1", "H9"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"] * 3),
    ...                   "valid_to": pd.NaT})
    >>> household_responsibility(h, a, as_of="2026-02-01")[["members", "status"]].values.tolist()
    [['M1,M2', 'multi_assigned'], ['M1', 'assigned'], ['', 'unassigned']]
    """
    resp = _household_members(households, assignments, as_of)
    codes = _text(households["code"])
    members = codes.map(_join(resp, "household", "member")).astype("string").fillna("")
    n = codes.map(resp.groupby("household")["member"].nunique()).fillna(0).astype("int64")
    status = np.select([n > 1, n == 1], ["multi_assigned", "assigned"], "unassigned")
    return pd.DataFrame(
        {
            "household_id": codes,
            "building_id": _text(households["building"]),
            "members": members.astype("string"),
            "n_members": n,
            "status": pd.Series(status, index=households.index, dtype="string"),
        },
        index=households.index,
    )


def building_responsibility(
    buildings: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    building_grid: pd.DataFrame | None = None,
    grids: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Responsible members of each building, and the fallback cadres where none (R6, R7).

    Parameters
    ----------
    buildings, households, assignments
        Layer frames.
    as_of
        The date; default today.
    building_grid, grids
        Building → grid shares and the grids layer, to find each building's community
        (the grid holding most of it) and so its ``cadre_community`` fallback.
        Without them ``community`` and ``fallback`` are empty.
    members
        The members layer; when given, only members of role ``member`` count as
        responsible (cadres and leaders are not pairing members).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        On the input's index (with its geometry when ``buildings`` has one):
        ``building_id``, ``community``, ``members`` (sorted codes, comma-joined, of
        building- and household-level assignments), ``n_members``, ``households``,
        ``households_assigned``, ``status`` (``assigned``, ``unassigned``,
        ``multi_assigned``; see the module docstring) and ``fallback`` (the
        community's cadres, comma-joined, for unassigned buildings; ``""`` otherwise).

    Examples
    --------
    >>> b = pd.DataFrame({"code": ["B1", "B2", "B3"]})
    >>> h = pd.DataFrame({"code": ["H1", "H2", "H3"], "building": ["B2", "B2", "B3"]})
    >>> a = pd.DataFrame({"kind": ["member_building", "member_building", "member_household",
    ...                            "cadre_community"],
    ...                   "member": ["M1", "M2", "M3", "K1"], "building": ["B1", "B1", None, None],
    ...                   "household": [None, None, "H1", None],
    ...                   "community": [None, None, None, "C1"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"] * 4), "valid_to": pd.NaT})
    >>> bg = pd.DataFrame({"building_id": ["B1", "B2", "B3"], "grid_id": ["G1"] * 3,
    ...                    "share": 1.0})
    >>> g = pd.DataFrame({"code": ["G1"], "community": ["C1"]})
    >>> r = building_responsibility(b, h, a, as_of="2026-02-01", building_grid=bg, grids=g)
    >>> r[["building_id", "members", "status", "fallback"]].values.tolist()
    [['B1', 'M1,M2', 'multi_assigned', ''], ['B2', 'M3', 'unassigned', 'K1'], ['B3', '', 'unassigned', 'K1']]
    """
    codes = _text(buildings["code"])
    partner = None
    if members is not None:
        partner = set(_text(members.loc[_text(members["role"]).eq("member").fillna(False), "code"]))
    links = _links(households, assignments, as_of, buildings=codes, partner=partner)
    nb, nm = len(links.buildings), len(links.members)
    per_hh = np.bincount(links.hh, minlength=len(links.hh_building))
    hb = links.hh_building
    placed = hb >= 0
    n_hh_b = np.bincount(hb[placed], minlength=nb)
    n_assigned_b = np.bincount(hb[placed & (per_hh > 0)], minlength=nb)
    n_multi_b = np.bincount(hb[placed & (per_hh > 1)], minlength=nb)
    n_bm_b = np.bincount(links.mb_building, minlength=nb)
    via = hb[links.hh] >= 0
    all_b, all_m = _unique_pairs(
        np.concatenate([links.mb_building, hb[links.hh][via]]),
        np.concatenate([links.mb_member, links.member[via]]),
        nm,
    )
    n_members_b = np.bincount(all_b, minlength=nb)
    member_codes = links.members
    joined_b = np.full(nb, "", dtype=object)
    single = n_members_b[all_b] == 1
    joined_b[all_b[single]] = member_codes[all_m[single]]
    shared = pd.DataFrame({"b": all_b[~single], "m": member_codes[all_m[~single]]})
    lists = join_groups(shared, ["b"], "m")
    joined_b[lists.index.to_numpy(dtype=np.int64)] = lists.to_numpy(dtype=object)
    pos = pd.Index(links.buildings).get_indexer(codes)
    n_hh = pd.Series(n_hh_b[pos], index=buildings.index)
    n_hh_assigned = pd.Series(n_assigned_b[pos], index=buildings.index)
    n_hh_multi = pd.Series(n_multi_b[pos], index=buildings.index)
    n_bm = pd.Series(n_bm_b[pos], index=buildings.index)
    joined = pd.Series(joined_b[pos], index=buildings.index, dtype="string")
    n_members = pd.Series(n_members_b[pos], index=buildings.index)
    covered = (n_bm > 0) | ((n_hh > 0) & (n_hh_assigned == n_hh))
    multi = (n_bm > 1) | (n_hh_multi > 0)
    status = np.select([multi, covered], ["multi_assigned", "assigned"], "unassigned")
    status = pd.Series(status, index=buildings.index, dtype="string")
    community = pd.Series(pd.NA, index=buildings.index, dtype="string")
    fallback = pd.Series("", index=buildings.index, dtype="string")
    if building_grid is not None and grids is not None:
        community = codes.map(building_community(building_grid, grids)).astype("string")
        cadres = _join(
            _pairs(assignments, "cadre_community", "community", as_of), "community", "member"
        )
        fallback = (
            community.map(cadres).astype("string").fillna("").where(status.eq("unassigned"), "")
        )
    out = pd.DataFrame(
        {
            "building_id": codes,
            "community": community,
            "members": joined,
            "n_members": n_members.fillna(0).astype("int64"),
            "households": n_hh,
            "households_assigned": n_hh_assigned,
            "status": status,
            "fallback": fallback.astype("string"),
        },
        index=buildings.index,
    )
    if isinstance(buildings, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=buildings.geometry, crs=buildings.crs)
    return out


def _geometry(frame: pd.DataFrame, mask: pd.Series) -> tuple[object, object]:
    if isinstance(frame, gpd.GeoDataFrame):
        return frame.geometry[mask].to_numpy(), frame.crs
    return None, 4326


def unassigned_buildings(
    buildings: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    building_grid: pd.DataFrame | None = None,
    grids: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    responsibility: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R6): buildings with no responsible member, with their fallback cadres.

    Arguments as :func:`building_responsibility`. The fallback (the community's
    ``cadre_community`` members) is reported, not counted as coverage. A
    ``responsibility`` frame already computed by :func:`building_responsibility` for
    the same arguments is used instead of computing it again.

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame (:func:`gridgeo.analysis.findings.findings`) with the extra
        columns ``building_id``, ``community``, ``households``,
        ``households_assigned`` and ``fallback``; geometry: the building.

    Examples
    --------
    >>> b = pd.DataFrame({"code": ["B1", "B2"]})
    >>> h = pd.DataFrame({"code": ["H1"], "building": ["B2"]})
    >>> a = pd.DataFrame({"kind": ["member_building"], "member": ["M1"], "building": ["B1"],
    ...                   "household": [None], "valid_from": pd.to_datetime(["2026-01-01"]),
    ...                   "valid_to": pd.NaT})
    >>> unassigned_buildings(b, h, a, as_of="2026-02-01")["building_id"].tolist()
    ['B2']
    """
    r = responsibility
    if r is None:
        r = building_responsibility(
            buildings, households, assignments, as_of=as_of,
            building_grid=building_grid, grids=grids, members=members,
        )  # fmt: skip
    mask = r["status"].eq("unassigned").to_numpy(dtype=bool)
    sel = r[mask]
    fb = sel["fallback"].fillna("")
    has_fb = fb.ne("")
    zh = np.where(
        has_fb, "无责任党员，由社区党员干部包干：" + fb, "无责任党员，且无社区党员干部兜底"
    )
    en = np.where(
        has_fb,
        "no responsible member; falls back to community cadres " + fb,
        "no responsible member and no community cadre to fall back to",
    )
    geometry, crs = _geometry(buildings, mask)
    extra = sel[["building_id", "community", "households", "households_assigned", "fallback"]]
    return findings(
        "R6", "warning", "buildings", sel["building_id"], list(zh), list(en),
        geometry=geometry, crs=crs, extra=extra,
    )  # fmt: skip


def multi_assigned_buildings(
    buildings: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    members: pd.DataFrame | None = None,
    responsibility: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R7): buildings held by several members at once.

    Arguments as :func:`building_responsibility`; ``responsibility`` as in
    :func:`unassigned_buildings`.

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame with the extra columns ``building_id``, ``members`` and
        ``n_members``; geometry: the building.

    Examples
    --------
    >>> b = pd.DataFrame({"code": ["B1"]})
    >>> h = pd.DataFrame({"code": ["H1"], "building": ["B1"]})
    >>> a = pd.DataFrame({"kind": ["member_building"] * 2, "member": ["M1", "M2"],
    ...                   "building": ["B1", "B1"], "household": None,
    ...                   "valid_from": pd.to_datetime(["2026-01-01"] * 2), "valid_to": pd.NaT})
    >>> multi_assigned_buildings(b, h, a, as_of="2026-02-01")[["code", "members"]].values.tolist()
    [['B1', 'M1,M2']]
    """
    r = responsibility
    if r is None:
        r = building_responsibility(
            buildings, households, assignments, as_of=as_of, members=members
        )
    mask = r["status"].eq("multi_assigned").to_numpy(dtype=bool)
    sel = r[mask]
    geometry, crs = _geometry(buildings, mask)
    return findings(
        "R7", "warning", "buildings", sel["building_id"],
        list("多名党员同时负责：" + sel["members"]),
        list("several responsible members: " + sel["members"]),
        geometry=geometry, crs=crs, extra=sel[["building_id", "members", "n_members"]],
    )  # fmt: skip


def member_households(
    members: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
) -> pd.DataFrame:
    """Number of households each member of role ``member`` is responsible for (R5).

    A member's households are those of their ``member_household`` assignments and
    the households of their ``member_building`` buildings, each counted once.

    Returns
    -------
    pandas.DataFrame
        On the index of the members of role ``member``: ``member_id``, ``households``.

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["M1", "K1"], "role": ["member", "cadre"]})
    >>> h = pd.DataFrame({"code": ["H1", "H2"], "building": ["B1", "B1"]})
    >>> a = pd.DataFrame({"kind": ["member_building", "member_household"],
    ...                   "member": ["M1", "M1"], "building": ["B1", None],
    ...                   "household": [None, "H1"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"] * 2), "valid_to": pd.NaT})
    >>> member_households(m, h, a, as_of="2026-02-01").values.tolist()
    [['M1', 2]]
    """
    partner = members[_text(members["role"]).eq("member").fillna(False).to_numpy(dtype=bool)]
    links = _links(households, assignments, as_of, partner=set(_text(partner["code"])))
    per_member = np.append(np.bincount(links.member, minlength=len(links.members)), 0)
    codes = _text(partner["code"])
    pos = pd.Index(links.members).get_indexer(codes)  # -1: no household, the appended 0
    return pd.DataFrame(
        {"member_id": codes, "households": per_member[pos].astype("int64")},
        index=partner.index,
    )


def member_quota(
    members: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R5): members responsible for fewer than ``policy.min_member_households``.

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame (no geometry) with the extra columns ``member_id``,
        ``households``, ``required`` and ``short_by``.

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["M1"], "role": ["member"]})
    >>> h = pd.DataFrame({"code": ["H1"], "building": ["B1"]})
    >>> a = pd.DataFrame({"kind": ["member_household"], "member": ["M1"], "building": None,
    ...                   "household": ["H1"], "valid_from": pd.to_datetime(["2026-01-01"]),
    ...                   "valid_to": pd.NaT})
    >>> member_quota(m, h, a, as_of="2026-02-01")[["code", "households", "short_by"]].values.tolist()
    [['M1', 1, 9]]
    """
    required = (policy or Policy()).min_member_households
    counts = member_households(members, households, assignments, as_of=as_of)
    sel = counts[counts["households"] < required].copy()
    sel["required"] = required
    sel["short_by"] = required - sel["households"]
    n = sel["households"].astype(str)
    return findings(
        "R5", "warning", "members", sel["member_id"],
        list(f"联系{required}户要求，实际" + n + "户"),
        list("responsible for " + n + f" households, fewer than {required}"),
        extra=sel[["member_id", "households", "required", "short_by"]],
    )  # fmt: skip


def organisation_quota(
    organisations: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R4): partner-unit organisations linked to too few grids.

    Only organisations of kind ``partner_unit`` are checked (a community's own
    organisation covers its community through cadres instead).

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame (no geometry) with the extra columns ``organisation_id``,
        ``grids`` and ``required``.

    Examples
    --------
    >>> o = pd.DataFrame({"code": ["O1", "O2"], "kind": ["partner_unit"] * 2})
    >>> a = pd.DataFrame({"kind": ["organisation_grid"], "organisation": ["O1"],
    ...                   "grid": ["G1"], "valid_from": pd.to_datetime(["2026-01-01"]),
    ...                   "valid_to": pd.NaT})
    >>> organisation_quota(o, a, as_of="2026-02-01")[["code", "grids"]].values.tolist()
    [['O2', 0]]
    """
    required = (policy or Policy()).min_organisation_grids
    units = organisations[
        _text(organisations["kind"]).eq("partner_unit").fillna(False).to_numpy(dtype=bool)
    ]
    og = _pairs(assignments, "organisation_grid", "grid", as_of)
    codes = _text(units["code"])
    n = codes.map(og.groupby("organisation")["grid"].nunique()).fillna(0).astype("int64")
    sel = pd.DataFrame({"organisation_id": codes, "grids": n, "required": required})
    sel = sel[sel["grids"] < required]
    ns = sel["grids"].astype(str)
    return findings(
        "R4", "warning", "organisations", sel["organisation_id"],
        list("联系网格" + ns + f"个，少于{required}个"),
        list("linked to " + ns + f" grids, fewer than {required}"),
        extra=sel,
    )  # fmt: skip


def shared_grids(
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    grids: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R4, ``info``): grids linked to two or more party organisations.

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame with the extra columns ``grid_id``, ``organisations``
        (comma-joined) and ``n_organisations``; geometry: the grid when ``grids``
        (a GeoDataFrame) is given.

    Examples
    --------
    >>> a = pd.DataFrame({"kind": ["organisation_grid"] * 2, "organisation": ["O1", "O2"],
    ...                   "grid": ["G1", "G1"], "valid_from": pd.to_datetime(["2026-01-01"] * 2),
    ...                   "valid_to": pd.NaT})
    >>> shared_grids(a, as_of="2026-02-01")[["code", "organisations"]].values.tolist()
    [['G1', 'O1,O2']]
    """
    og = _pairs(assignments, "organisation_grid", "grid", as_of)
    n = og.groupby("grid")["organisation"].nunique()
    n = n[n >= 2]
    joined = _join(og[og["grid"].isin(n.index)], "grid", "organisation")
    sel = pd.DataFrame(
        {"grid_id": n.index.astype("string"), "organisations": joined.reindex(n.index).to_numpy(),
         "n_organisations": n.to_numpy()}
    )  # fmt: skip
    geometry, crs = None, 4326
    if isinstance(grids, gpd.GeoDataFrame):
        geom = pd.Series(grids.geometry.to_numpy(), index=_text(grids["code"]))
        geometry, crs = sel["grid_id"].map(geom).to_numpy(), grids.crs
    return findings(
        "R4", "info", "grids", sel["grid_id"],
        list("网格联系多个党组织：" + sel["organisations"]),
        list("grid linked to several organisations: " + sel["organisations"]),
        geometry=geometry, crs=crs, extra=sel,
    )  # fmt: skip


def community_leaders(
    communities: pd.DataFrame, assignments: pd.DataFrame, *, as_of: DateLike = None
) -> gpd.GeoDataFrame:
    """Findings (R12): communities with no linked county-level leader on ``as_of``.

    Returns
    -------
    geopandas.GeoDataFrame
        A findings frame with the extra column ``community_id``; geometry: the
        community (when ``communities`` has one).

    Examples
    --------
    >>> c = pd.DataFrame({"code": ["C1", "C2"]})
    >>> a = pd.DataFrame({"kind": ["leader_community"], "member": ["L1"], "community": ["C1"],
    ...                   "valid_from": pd.to_datetime(["2026-01-01"]), "valid_to": pd.NaT})
    >>> community_leaders(c, a, as_of="2026-02-01")["code"].tolist()
    ['C2']
    """
    linked = set(_pairs(assignments, "leader_community", "community", as_of)["community"])
    codes = _text(communities["code"])
    mask = ~codes.isin(linked).to_numpy(dtype=bool)
    geometry, crs = _geometry(communities, mask)
    return findings(
        "R12", "error", "communities", codes[mask],
        "社区无联系的县级领导", "community has no linked county-level leader",
        geometry=geometry, crs=crs, extra=pd.DataFrame({"community_id": codes[mask]}),
    )  # fmt: skip
