"""Responsibility (R4–R7, R12) on a hand-made district and on the synthetic 'tiny' one."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.analysis.findings import FINDING_COLUMNS
from gridgeo.analysis.responsibility import (
    active_assignments,
    building_community,
    building_responsibility,
    community_leaders,
    household_responsibility,
    member_households,
    member_quota,
    multi_assigned_buildings,
    organisation_quota,
    shared_grids,
    unassigned_buildings,
)
from gridgeo.policy import Policy
from gridgeo.synth import generate

AS_OF = dt.date(2026, 3, 1)


def _hh(building: str, n: int) -> list[tuple[str, str]]:
    return [(f"{building}-{k}", building) for k in range(1, n + 1)]


def _assign(rows: list[tuple]) -> pd.DataFrame:
    cols = ["kind", "member", "organisation", "community", "grid", "building", "household"]
    frame = pd.DataFrame([r[:7] for r in rows], columns=cols, dtype=object)
    frame.insert(0, "code", [f"A{i}" for i in range(len(rows))])
    frame["valid_from"] = pd.to_datetime([r[7] for r in rows])
    frame["valid_to"] = pd.to_datetime([r[8] for r in rows])
    return frame


@pytest.fixture
def town() -> dict[str, pd.DataFrame]:
    """Five buildings in two grids of two communities.

    B1 (5 households) and B2's four households belong to M1: 9 households, short by 1.
    B3 (12 households) is held by M2 and M3: multi-assigned.
    B4 was M2's until 2026-01-31: unassigned on 2026-03-01, fallback K1.
    B5 (3 households, in C2) has one household assigned: unassigned, fallback K2.
    """
    households = pd.DataFrame(
        _hh("B1", 5) + _hh("B2", 4) + _hh("B3", 12) + _hh("B4", 2) + _hh("B5", 3),
        columns=["code", "building"],
    )
    buildings = gpd.GeoDataFrame(
        {"code": ["B1", "B2", "B3", "B4", "B5"]},
        geometry=[shapely.box(i, 0, i + 0.5, 0.5) for i in range(5)],
        crs=4326,
    )
    grids = pd.DataFrame({"code": ["G1", "G2"], "community": ["C1", "C2"]})
    building_grid = pd.DataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4", "B4", "B5"],
            "grid_id": ["G1", "G1", "G1", "G1", "G2", "G2"],
            "share": [1.0, 1.0, 1.0, 0.8, 0.2, 1.0],
            "n_grids": [1, 1, 1, 2, 2, 1],
        }
    )
    members = pd.DataFrame(
        {
            "code": ["M1", "M2", "M3", "K1", "K2", "L1"],
            "role": ["member", "member", "member", "cadre", "cadre", "leader"],
        }
    )
    organisations = pd.DataFrame(
        {
            "code": ["O1", "O2", "O3", "O4"],
            "kind": ["partner_unit", "partner_unit", "partner_unit", "community"],
        }
    )
    communities = gpd.GeoDataFrame(
        {"code": ["C1", "C2"]},
        geometry=[shapely.box(0, 0, 4, 1), shapely.box(4, 0, 5, 1)],
        crs=4326,
    )
    n = None
    rows = [
        ("member_building", "M1", n, n, n, "B1", n, "2025-06-01", n),
        *[("member_household", "M1", n, n, n, n, h, "2025-06-01", n) for h, _ in _hh("B2", 4)],
        ("member_building", "M2", n, n, n, "B3", n, "2025-06-01", n),
        ("member_building", "M3", n, n, n, "B3", n, "2026-02-01", n),
        ("member_building", "M2", n, n, n, "B4", n, "2025-06-01", "2026-01-31"),
        ("member_household", "M3", n, n, n, n, "B5-1", "2025-06-01", n),
        ("cadre_community", "K1", n, "C1", n, n, n, "2025-01-01", n),
        ("cadre_community", "K2", n, "C2", n, n, n, "2025-01-01", n),
        ("organisation_grid", n, "O1", n, "G1", n, n, "2025-01-01", n),
        ("organisation_grid", n, "O3", n, "G1", n, n, "2025-01-01", n),
        ("organisation_grid", n, "O2", n, "G2", n, n, "2025-01-01", "2025-12-31"),
        ("leader_community", "L1", n, "C1", n, n, n, "2025-01-01", n),
    ]
    return {
        "households": households,
        "buildings": buildings,
        "grids": grids,
        "building_grid": building_grid,
        "members": members,
        "organisations": organisations,
        "communities": communities,
        "assignments": _assign(rows),
    }


def test_active_assignments_inclusive_and_open(town):
    a = town["assignments"]
    on_end = set(active_assignments(a, as_of="2026-01-31")["building"].dropna())
    after = set(active_assignments(a, as_of=AS_OF)["building"].dropna())
    assert on_end == {"B1", "B3", "B4"}
    assert after == {"B1", "B3"}
    early = active_assignments(a, as_of="2025-05-31")
    assert set(early["member"].dropna()) == {"K1", "K2", "L1"}
    assert set(early["organisation"].dropna()) == {"O1", "O2", "O3"}


def test_building_community_largest_share(town):
    bc = building_community(town["building_grid"], town["grids"])
    assert bc.to_dict() == {"B1": "C1", "B2": "C1", "B3": "C1", "B4": "C1", "B5": "C2"}


def test_building_responsibility(town):
    r = building_responsibility(
        town["buildings"], town["households"], town["assignments"], as_of=AS_OF,
        building_grid=town["building_grid"], grids=town["grids"],
    )  # fmt: skip
    assert isinstance(r, gpd.GeoDataFrame)
    got = r.set_index("building_id")
    assert got["status"].to_dict() == {
        "B1": "assigned",
        "B2": "assigned",  # every household assigned
        "B3": "multi_assigned",
        "B4": "unassigned",  # expired before as_of
        "B5": "unassigned",  # one household of three
    }
    assert got["members"].to_dict() == {"B1": "M1", "B2": "M1", "B3": "M2,M3", "B4": "", "B5": "M3"}
    assert got["n_members"].tolist() == [1, 1, 2, 0, 1]
    assert got["fallback"].to_dict() == {"B1": "", "B2": "", "B3": "", "B4": "K1", "B5": "K2"}
    assert got.loc["B5", "households_assigned"] == 1
    # on the last day of B4's assignment it still counts
    r = building_responsibility(
        town["buildings"], town["households"], town["assignments"], as_of="2026-01-31"
    )
    assert r.set_index("building_id").loc["B4", "status"] == "assigned"
    assert r.set_index("building_id").loc["B3", "status"] == "assigned"  # M3 starts later


def test_unassigned_buildings_findings(town):
    f = unassigned_buildings(
        town["buildings"], town["households"], town["assignments"], as_of=AS_OF,
        building_grid=town["building_grid"], grids=town["grids"],
    )  # fmt: skip
    assert list(f.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    assert f[["building_id", "fallback"]].values.tolist() == [["B4", "K1"], ["B5", "K2"]]
    assert set(f["rule"]) == {"R6"}
    assert f.geometry.iloc[0].equals(shapely.box(3, 0, 3.5, 0.5))
    assert "K1" in f["explanation_en"].iloc[0]


def test_multi_assigned_buildings(town):
    f = multi_assigned_buildings(
        town["buildings"], town["households"], town["assignments"], as_of=AS_OF
    )
    assert f[["building_id", "members", "n_members"]].values.tolist() == [["B3", "M2,M3", 2]]
    assert set(f["rule"]) == {"R7"}


def test_household_responsibility(town):
    r = household_responsibility(town["households"], town["assignments"], as_of=AS_OF)
    status = r.set_index("household_id")["status"]
    assert status["B2-3"] == "assigned"
    assert status["B3-7"] == "multi_assigned"
    assert status["B4-1"] == "unassigned"
    assert status["B5-1"] == "assigned"
    assert status["B5-2"] == "unassigned"
    assert r["status"].value_counts().to_dict() == {
        "multi_assigned": 12,
        "assigned": 10,
        "unassigned": 4,
    }


def test_member_quota(town):
    counts = member_households(
        town["members"], town["households"], town["assignments"], as_of=AS_OF
    )
    assert counts.set_index("member_id")["households"].to_dict() == {"M1": 9, "M2": 12, "M3": 13}
    f = member_quota(town["members"], town["households"], town["assignments"], as_of=AS_OF)
    assert f[["member_id", "households", "required", "short_by"]].values.tolist() == [
        ["M1", 9, 10, 1]
    ]
    assert set(f["rule"]) == {"R5"}
    f = member_quota(
        town["members"], town["households"], town["assignments"], as_of=AS_OF,
        policy=Policy(min_member_households=13),
    )  # fmt: skip
    assert f["member_id"].tolist() == ["M1", "M2"]


def test_organisation_quota_and_shared_grids(town):
    f = organisation_quota(town["organisations"], town["assignments"], as_of=AS_OF)
    assert f[["organisation_id", "grids", "required"]].values.tolist() == [["O2", 0, 1]]
    f = organisation_quota(town["organisations"], town["assignments"], as_of="2025-06-01")
    assert f["organisation_id"].tolist() == []  # O2 still had G2 then
    s = shared_grids(town["assignments"], as_of=AS_OF)
    assert s[["grid_id", "organisations", "n_organisations"]].values.tolist() == [
        ["G1", "O1,O3", 2]
    ]


def test_community_leaders(town):
    f = community_leaders(town["communities"], town["assignments"], as_of=AS_OF)
    assert f["community_id"].tolist() == ["C2"]
    assert set(f["rule"]) == {"R12"}
    assert f.geometry.iloc[0].equals(shapely.box(4, 0, 5, 1))


# ---------------------------------------------------------------- synthetic 'tiny' -----


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def simple_building_grid(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Building → grid by the grid holding each building's representative point."""
    points = gpd.GeoDataFrame(
        {"building_id": buildings["code"]},
        geometry=buildings.geometry.representative_point(),
        crs=buildings.crs,
    )
    joined = gpd.sjoin(points, grids[["code", "geometry"]], predicate="within")
    joined = joined.drop_duplicates("building_id")
    return pd.DataFrame(
        {"building_id": joined["building_id"], "grid_id": joined["code"], "share": 1.0,
         "n_grids": 1}
    )  # fmt: skip


def test_tiny_defects_found(tiny):
    L, D = tiny.layers, tiny.defects
    as_of = D["period"]["start"]
    bg = simple_building_grid(L["buildings"], L["grids"])
    un = unassigned_buildings(
        L["buildings"], L["households"], L["assignments"], as_of=as_of,
        building_grid=bg, grids=L["grids"], members=L["members"],
    )  # fmt: skip
    assert set(un["building_id"]) == set(D["unassigned_buildings"])
    in_grids = un[~un["building_id"].isin(D["buildings_outside_grids"])]
    assert (in_grids["fallback"] != "").all()  # every community has cadres

    multi = multi_assigned_buildings(L["buildings"], L["households"], L["assignments"], as_of=as_of)
    got = {
        b: sorted(m.split(",")) for b, m in zip(multi["building_id"], multi["members"], strict=True)
    }
    assert got == {b: sorted(m) for b, m in D["double_assigned_buildings"].items()}

    quota = member_quota(L["members"], L["households"], L["assignments"], as_of=as_of)
    assert set(quota["member_id"]) == set(D["members_under_10"])

    orgs = organisation_quota(L["organisations"], L["assignments"], as_of=as_of)
    assert orgs["organisation_id"].tolist() == [D["organisation_without_grid"]]

    two = D["grid_with_two_organisations"]
    shared = shared_grids(L["assignments"], as_of=as_of, grids=L["grids"])
    assert shared["grid_id"].tolist() == [two["grid"]]
    assert sorted(shared["organisations"].iloc[0].split(",")) == sorted(two["organisations"])
    assert shared.geometry.notna().all()

    leaders = community_leaders(L["communities"], L["assignments"], as_of=as_of)
    assert leaders["community_id"].tolist() == [D["community_without_leader"]]


def test_tiny_expired_assignments_not_double(tiny):
    L, D = tiny.layers, tiny.defects
    a = L["assignments"]
    expired = a[a["code"].isin(D["expired_assignments"])]
    assert len(expired) > 0
    as_of = D["period"]["start"]
    assert not active_assignments(a, as_of=as_of)["code"].isin(D["expired_assignments"]).any()
    # the previous member is no longer responsible; the building keeps its current one
    r = building_responsibility(L["buildings"], L["households"], a, as_of=as_of)
    r = r.set_index("building_id")
    for building, member in zip(expired["building"], expired["member"], strict=True):
        assert r.loc[building, "status"] == "assigned"
        assert member not in r.loc[building, "members"].split(",")
    # on its last day, the expired assignment still counts
    day = expired["valid_to"].iloc[0]
    r = building_responsibility(L["buildings"], L["households"], a, as_of=day)
    assert expired["member"].iloc[0] in r.set_index("building_id").loc[
        expired["building"].iloc[0], "members"
    ].split(",")
