"""Quotas and links: households per member (R5), grids per organisation (R4), leaders (R12)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.analysis.findings import findings
from gridgeo.analysis.frames import as_str, join_sorted, rows_geometry, rows_with
from gridgeo.analysis.responsibility.assignments import assignment_pairs
from gridgeo.analysis.responsibility.links import Links, household_links
from gridgeo.localtime import DateLike
from gridgeo.policy import Policy

__all__ = [
    "community_leaders",
    "households_per_member",
    "member_households",
    "member_quota",
    "organisation_quota",
    "shared_grids",
]


def households_per_member(links: Links) -> pd.Series:
    """Households each member is responsible for, by member code (those with none left out).

    Households are counted once per member, so the counts of sets of households that
    share none (the partitions of an exchange folder) add up to the count of all of them.
    """
    return pd.Series(
        np.bincount(links.member, minlength=len(links.members)).astype("int64"),
        index=pd.Index(links.members, dtype=object),
    )


def member_households(
    members: pd.DataFrame,
    households: pd.DataFrame | None,
    assignments: pd.DataFrame | None,
    *,
    as_of: DateLike = None,
    links: Links | None = None,
    per_member: pd.Series | None = None,
) -> pd.DataFrame:
    """Number of households each member of role ``member`` is responsible for (R5).

    A member's households are those of their ``member_household`` assignments and
    the households of their ``member_building`` buildings, each counted once.
    ``links``, when given, is what :func:`household_links` returned for the same
    households, assignments, ``as_of`` and members; ``per_member``, when given, the
    counts (:func:`households_per_member`) themselves, and the households and
    assignments are not read.

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
    partner = rows_with(members, "role", "member")
    if per_member is None:
        if links is None:
            links = household_links(households, assignments, as_of=as_of, members=members)
        per_member = households_per_member(links)
    codes = as_str(partner["code"])
    counts = np.append(per_member.to_numpy(dtype="int64"), 0)
    pos = pd.Index(per_member.index).get_indexer(codes)  # -1: no household, the appended 0
    return pd.DataFrame(
        {"member_id": codes, "households": counts[pos].astype("int64")},
        index=partner.index,
    )


def member_quota(
    members: pd.DataFrame,
    households: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    as_of: DateLike = None,
    policy: Policy | None = None,
    links: Links | None = None,
    per_member: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Findings (R5): members responsible for fewer than ``policy.min_member_households``.

    Arguments as :func:`member_households`.

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
    counts = member_households(
        members, households, assignments, as_of=as_of, links=links, per_member=per_member
    )
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
    units = rows_with(organisations, "kind", "partner_unit")
    og = assignment_pairs(assignments, "organisation_grid", "grid", as_of=as_of)
    codes = as_str(units["code"])
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
    og = assignment_pairs(assignments, "organisation_grid", "grid", as_of=as_of)
    n = og.groupby("grid")["organisation"].nunique()
    n = n[n >= 2]
    joined = join_sorted(og[og["grid"].isin(n.index)], "grid", "organisation")
    sel = pd.DataFrame(
        {"grid_id": n.index.astype("string"), "organisations": joined.reindex(n.index).to_numpy(),
         "n_organisations": n.to_numpy()}
    )  # fmt: skip
    geometry, crs = None, 4326
    if isinstance(grids, gpd.GeoDataFrame):
        geom = pd.Series(grids.geometry.to_numpy(), index=as_str(grids["code"]))
        geom = geom[~geom.index.duplicated()]  # a code twice: its first row
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
    linked = assignment_pairs(assignments, "leader_community", "community", as_of=as_of)
    codes = as_str(communities["code"])
    mask = ~codes.isin(set(linked["community"])).to_numpy(dtype=bool)
    geometry, crs = rows_geometry(communities, mask)
    return findings(
        "R12", "error", "communities", codes[mask],
        "社区无联系的县级领导", "community has no linked county-level leader",
        geometry=geometry, crs=crs, extra=pd.DataFrame({"community_id": codes[mask]}),
    )  # fmt: skip
