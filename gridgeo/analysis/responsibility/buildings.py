"""Responsibility for households and buildings: who holds each, and who holds none (R6, R7)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.analysis.findings import findings
from gridgeo.analysis.frames import as_str, join_groups, join_sorted, rows_geometry
from gridgeo.analysis.responsibility.assignments import assignment_pairs, building_community
from gridgeo.analysis.responsibility.links import Links, household_links, unique_pairs
from gridgeo.localtime import DateLike

__all__ = [
    "building_responsibility",
    "household_responsibility",
    "multi_assigned_buildings",
    "unassigned_buildings",
]


def _household_members(
    households: pd.DataFrame, assignments: pd.DataFrame, as_of: DateLike
) -> pd.DataFrame:
    """(household, building, member) for every responsible member of every household."""
    hh = pd.DataFrame(
        {"household": as_str(households["code"]), "building": as_str(households["building"])}
    )
    mh = assignment_pairs(assignments, "member_household", "household", as_of=as_of)
    mb = assignment_pairs(assignments, "member_building", "building", as_of=as_of)
    direct = mh.merge(hh, on="household")
    via_building = hh.merge(mb, on="building")
    cols = ["household", "building", "member"]
    return pd.concat([direct[cols], via_building[cols]], ignore_index=True).drop_duplicates()


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
    codes = as_str(households["code"])
    members = codes.map(join_sorted(resp, "household", "member")).astype("string").fillna("")
    n = codes.map(resp.groupby("household")["member"].nunique()).fillna(0).astype("int64")
    status = np.select([n > 1, n == 1], ["multi_assigned", "assigned"], "unassigned")
    return pd.DataFrame(
        {
            "household_id": codes,
            "building_id": as_str(households["building"]),
            "members": members.astype("string"),
            "n_members": n,
            "status": pd.Series(status, index=households.index, dtype="string"),
        },
        index=households.index,
    )


def _per_building(links: Links) -> pd.DataFrame:
    """Per building id: households, assigned and multi-assigned ones, members (R6, R7)."""
    nb, nm = len(links.buildings), len(links.members)
    per_hh = np.bincount(links.hh, minlength=len(links.hh_building))
    hb = links.hh_building
    placed = hb >= 0
    via = hb[links.hh] >= 0
    all_b, all_m = unique_pairs(
        np.concatenate([links.mb_building, hb[links.hh][via]]),
        np.concatenate([links.mb_member, links.member[via]]),
        nm,
    )
    n_members = np.bincount(all_b, minlength=nb)
    joined = np.full(nb, "", dtype=object)
    single = n_members[all_b] == 1
    joined[all_b[single]] = links.members[all_m[single]]
    shared = pd.DataFrame({"b": all_b[~single], "m": links.members[all_m[~single]]})
    lists = join_groups(shared, ["b"], "m")
    joined[lists.index.to_numpy(dtype=np.int64)] = lists.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "households": np.bincount(hb[placed], minlength=nb),
            "assigned": np.bincount(hb[placed & (per_hh > 0)], minlength=nb),
            "multi": np.bincount(hb[placed & (per_hh > 1)], minlength=nb),
            "by_building": np.bincount(links.mb_building, minlength=nb),
            "n_members": n_members,
            "members": joined,
        }
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
    links: Links | None = None,
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
    links
        What :func:`~gridgeo.analysis.responsibility.household_links` returned for the
        same households, assignments, ``as_of`` and members, with ``buildings=`` the
        buildings' codes; computed when not given.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        On the input's index (with its geometry when ``buildings`` has one):
        ``building_id``, ``community``, ``members`` (sorted codes, comma-joined, of
        building- and household-level assignments), ``n_members``, ``households``,
        ``households_assigned``, ``status`` (``assigned``, ``unassigned``,
        ``multi_assigned``; see the package docstring) and ``fallback`` (the
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
    codes = as_str(buildings["code"])
    if links is None:
        links = household_links(
            households, assignments, as_of=as_of, buildings=codes, members=members
        )
    pos = pd.Index(links.buildings).get_indexer(codes)
    if ((pos < 0) & codes.notna().to_numpy()).any():
        raise ValueError("links= lacks some of the buildings: give household_links buildings=")
    per = _per_building(links).iloc[pos].set_axis(buildings.index)
    covered = (per["by_building"] > 0) | (
        (per["households"] > 0) & (per["assigned"] == per["households"])
    )
    multi = (per["by_building"] > 1) | (per["multi"] > 0)
    status = np.select([multi, covered], ["multi_assigned", "assigned"], "unassigned")
    status = pd.Series(status, index=buildings.index, dtype="string")
    community, fallback = _fallback(codes, status, assignments, as_of, building_grid, grids)
    out = pd.DataFrame(
        {
            "building_id": codes,
            "community": community,
            "members": per["members"].astype("string"),
            "n_members": per["n_members"].fillna(0).astype("int64"),
            "households": per["households"],
            "households_assigned": per["assigned"],
            "status": status,
            "fallback": fallback.astype("string"),
        },
        index=buildings.index,
    )
    if isinstance(buildings, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=buildings.geometry, crs=buildings.crs)
    return out


def _fallback(
    codes: pd.Series,
    status: pd.Series,
    assignments: pd.DataFrame,
    as_of: DateLike,
    building_grid: pd.DataFrame | None,
    grids: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series]:
    """Each building's community and, for the unassigned ones, its cadres (comma-joined)."""
    community = pd.Series(pd.NA, index=status.index, dtype="string")
    fallback = pd.Series("", index=status.index, dtype="string")
    if building_grid is None or grids is None:
        return community, fallback
    community = codes.map(building_community(building_grid, grids)).astype("string")
    cadres = join_sorted(
        assignment_pairs(assignments, "cadre_community", "community", as_of=as_of),
        "community",
        "member",
    )
    fallback = community.map(cadres).astype("string").fillna("").where(status.eq("unassigned"), "")
    return community, fallback


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
    geometry, crs = rows_geometry(buildings, mask)
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
    geometry, crs = rows_geometry(buildings, mask)
    return findings(
        "R7", "warning", "buildings", sel["building_id"],
        list("多名党员同时负责：" + sel["members"]),
        list("several responsible members: " + sel["members"]),
        geometry=geometry, crs=crs, extra=sel[["building_id", "members", "n_members"]],
    )  # fmt: skip
