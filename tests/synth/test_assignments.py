"""Responsibility: assignment rows, roles, and the planted responsibility defects."""

from __future__ import annotations

import pandas as pd

from gridgeo.schema import ASSIGNMENT_KINDS
from gridgeo.synth import District

from .helpers import current, member_households


def test_assignment_rows_have_the_right_shape(tiny: District) -> None:
    a = tiny.layers["assignments"]
    columns = {
        "member_id": "member",
        "organisation_id": "organisation",
        "community_id": "community",
        "grid_id": "grid",
        "building_id": "building",
        "household_id": "household",
    }
    for kind, pair in ASSIGNMENT_KINDS.items():
        rows = a[a["kind"] == kind]
        assert len(rows) > 0, kind
        filled = {columns[c] for c in pair}
        for col in columns.values():
            assert rows[col].notna().all() if col in filled else rows[col].isna().all(), (kind, col)
    ended = a["valid_to"].notna()
    assert (a.loc[ended, "valid_to"] >= a.loc[ended, "valid_from"]).all()


def test_member_roles_match_their_assignments(tiny: District) -> None:
    a = tiny.layers["assignments"]
    roles = tiny.layers["members"].set_index("code")["role"]
    expected = {
        "leader_community": "leader",
        "cadre_community": "cadre",
        "worker_grid": "grid_worker",
        "member_building": "member",
        "member_household": "member",
    }
    for kind, role in expected.items():
        assert (roles[a.loc[a["kind"] == kind, "member"]] == role).all(), kind
    orgs = tiny.layers["organisations"].set_index("code")
    assert (
        orgs.loc[a.loc[a["kind"] == "organisation_grid", "organisation"], "kind"] == "partner_unit"
    ).all()


def test_unassigned_and_double_assigned_buildings(tiny: District) -> None:
    start = tiny.defects["period"]["start"]
    a = current(tiny.layers["assignments"], start)
    hh = tiny.layers["households"]
    covered = set(a.loc[a["kind"] == "member_building", "building"]) | set(
        hh.loc[hh["code"].isin(a.loc[a["kind"] == "member_household", "household"]), "building"]
    )
    buildings = tiny.layers["buildings"]["code"]
    unassigned = set(buildings) - covered
    assert unassigned == set(tiny.defects["unassigned_buildings"])
    assert 0.01 <= len(unassigned) / len(buildings) <= 0.04
    per_building = a[a["kind"] == "member_building"].groupby("building")["member"].nunique()
    doubles = tiny.defects["double_assigned_buildings"]
    assert set(per_building[per_building > 1].index) == set(doubles)
    assert 0.005 <= len(doubles) / len(buildings) <= 0.02
    for code, members in doubles.items():
        assert set(a.loc[(a["building"] == code), "member"]) == set(members)
    # the expired assignments are not current, but would double up if validity were ignored
    every = tiny.layers["assignments"]
    expired = every[every["code"].isin(tiny.defects["expired_assignments"])]
    assert len(expired) > 0
    assert (expired["valid_to"] < pd.Timestamp(start)).all()


def test_members_with_fewer_than_ten_households(tiny: District) -> None:
    counts = member_households(tiny, tiny.defects["period"]["start"])
    under = set(counts[counts < 10].index)
    assert under == set(tiny.defects["members_under_10"])
    assert 0 < len(under) < 0.2 * len(counts)
    assert counts.median() >= 10


def test_organisation_and_leader_defects(tiny: District) -> None:
    a = tiny.layers["assignments"]
    og = a[a["kind"] == "organisation_grid"]
    orgs = tiny.layers["organisations"]
    partner = set(orgs.loc[orgs["kind"] == "partner_unit", "code"])
    assert partner - set(og["organisation"]) == {tiny.defects["organisation_without_grid"]}
    per_grid = og.groupby("grid")["organisation"].apply(set)
    two = tiny.defects["grid_with_two_organisations"]
    assert {g for g, o in per_grid.items() if len(o) > 1} == {two["grid"]}
    assert per_grid[two["grid"]] == set(two["organisations"])
    assert set(tiny.layers["grids"]["code"]) == set(per_grid.index)
    linked = set(a.loc[a["kind"] == "leader_community", "community"])
    communities = set(tiny.layers["communities"]["code"])
    assert communities - linked == {tiny.defects["community_without_leader"]}
    cadres = set(a.loc[a["kind"] == "cadre_community", "community"])
    assert cadres == communities
    assert set(a.loc[a["kind"] == "worker_grid", "grid"]) == set(tiny.layers["grids"]["code"])
