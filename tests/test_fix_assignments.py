"""propose_assignments: hand-made districts whose answer is known, and generated ones.

Grids A and B share an edge, D lies apart; all three are in community C1, whose cadre
is K1. Buildings are 6 m squares drawn in metres in EPSG:32651 and handed over in
EPSG:4326. Each member's existing households sit in one building of their own.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.analysis import (
    building_grid,
    household_responsibility,
    member_households,
    member_quota,
    multi_assigned_buildings,
    unassigned_buildings,
)
from gridgeo.fix import apply_proposal, member_workload, propose_assignments
from gridgeo.synth import generate

X0, Y0 = 350_000.0, 3_450_000.0
AS_OF = "2025-06-01"


def layer(codes: list[str], geoms: list, **columns: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, **columns}, geometry=gpd.GeoSeries(geoms, crs=32651).to_crs(4326)
    )


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


GRIDS = layer(
    ["A", "B", "D"],
    [box(0, 0, 100, 100), box(100, 0, 200, 100), box(300, 0, 400, 100)],
    community=["C1"] * 3,
)


def scene(
    buildings: dict[str, tuple[float, float, int]],
    held: dict[str, str],
    members: list[str],
    doubles: dict[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Layers of a district: ``buildings`` code -> (x, y, households); ``held`` building ->
    member (``member_building``); ``doubles`` building -> a second member."""
    codes = list(buildings)
    b = layer(
        codes,
        [box(x - 3, y - 3, x + 3, y + 3) for x, y, _ in buildings.values()],
        households=[n for *_, n in buildings.values()],
    )
    hh = pd.DataFrame(
        [(f"{c}-{k:02d}", c) for c, (*_, n) in buildings.items() for k in range(n)],
        columns=["code", "building"],
    )
    pairs = list(held.items()) + list((doubles or {}).items())
    rows = [("member_building", m, bc, None) for bc, m in pairs]
    rows.append(("cadre_community", "K1", None, "C1"))
    a = pd.DataFrame(rows, columns=["kind", "member", "building", "community"])
    a.insert(0, "code", [f"A{i:03d}" for i in range(len(a))])
    a["household"] = None
    a["valid_from"] = pd.Timestamp("2025-01-01")
    a["valid_to"] = pd.NaT
    m = pd.DataFrame(
        {
            "code": [*members, "K1"],
            "role": ["member"] * len(members) + ["cadre"],
            "name": [f"党员{c}" for c in members] + ["干部K1"],
            "community": "C1",
        }
    )
    return {"households": hh, "buildings": b, "grids": GRIDS, "members": m, "assignments": a}


def propose(layers: dict[str, pd.DataFrame], **options: object):
    return propose_assignments(
        layers["households"], layers["buildings"], layers["grids"], layers["members"],
        layers["assignments"], as_of=AS_OF, **options,
    )  # fmt: skip


def added(proposal) -> dict[str, list[str]]:
    """Member -> buildings (or households) proposed to them."""
    adds = proposal.actions[proposal.actions["action"].eq("add")]
    out: dict[str, list[str]] = {}
    for m, b, h in zip(adds["member"], adds["building"], adds["household"], strict=True):
        out.setdefault(m, []).append(b if isinstance(b, str) else h)
    return out


def test_a_member_of_the_same_grid_before_a_nearer_one_next_door() -> None:
    layers = scene(
        {"U": (95, 50, 3), "PA": (10, 50, 12), "PB": (105, 50, 12)},
        {"PA": "MA", "PB": "MB"},
        ["MA", "MB"],
    )
    p = propose(layers)
    assert added(p) == {"MA": ["U"]}
    row = p.actions.iloc[0]
    assert (row["kind"], row["tier"], row["grid"], row["households"]) == (
        "member_building", "own_grid", "A", 3
    )  # fmt: skip
    assert row["distance_m"] == pytest.approx(85, abs=0.5)
    assert "本网格党员MA（党员MA）" in row["reason_zh"]
    assert row["assignment"].startswith("P20250601-")
    assert len(p.cadres) == 0


def test_the_quota_comes_before_the_walk() -> None:
    # M1 has 8 households far from U, M2 has 20 right next to it
    layers = scene(
        {"U": (90, 50, 2), "P1": (5, 5, 8), "P2": (85, 50, 20)},
        {"P1": "M1", "P2": "M2"},
        ["M1", "M2"],
    )
    p = propose(layers)
    assert added(p) == {"M1": ["U"]}
    assert "补足其10户要求" in p.actions["reason_zh"].iloc[0]
    members = p.members.set_index("member_id")
    assert members.loc["M1", ["households_before", "households_after"]].tolist() == [8, 10]
    assert not members["under_quota_after"].any()
    # without the quota (0), the nearest member takes it
    assert added(propose(layers, quota=0)) == {"M2": ["U"]}


def test_nobody_goes_over_the_cap_and_a_big_building_is_shared_out() -> None:
    # U has 15 households; M1 (near, 25) has room for 5 under a cap of 30, M2 for 18
    layers = scene(
        {"U": (50, 50, 15), "P1": (45, 50, 25), "P2": (10, 10, 12)},
        {"P1": "M1", "P2": "M2"},
        ["M1", "M2"],
    )
    p = propose(layers, cap=30)
    taken = added(p)
    assert sorted(map(len, taken.values())) == [5, 10]
    assert len(taken["M1"]) == 5  # the nearer one fills up first
    assert set(p.actions["kind"]) == {"member_household"}
    assert p.actions["households"].sum() == 15
    assert p.members.set_index("member_id")["households_after"].to_dict() == {"M1": 30, "M2": 22}


def test_the_adjacent_grid_then_the_cadres() -> None:
    # A's only member is at the cap; B (adjacent) has room for 2; D (not adjacent) for 20
    layers = scene(
        {"U": (50, 50, 5), "PA": (40, 50, 30), "PB": (150, 50, 28), "PD": (350, 50, 10)},
        {"PA": "MA", "PB": "MB", "PD": "MD"},
        ["MA", "MB", "MD"],
    )
    p = propose(layers, cap=30)
    adds = p.actions[p.actions["action"].eq("add")]
    assert set(adds["member"]) == {"MB"}
    assert adds["tier"].unique().tolist() == ["adjacent_grid"]
    assert "相邻网格B的党员" in adds["reason_zh"].iloc[0]
    assert len(adds) == 2
    cadres = p.cadres.drop(columns="geometry")
    assert cadres[["building", "households", "community", "cadres"]].values.tolist() == [
        ["U", 3, "C1", "K1"]
    ]
    assert "由社区党员干部包干：K1（干部K1）" in cadres["reason_zh"].iloc[0]
    assert p.cadres.geometry.iloc[0].geom_type == "Polygon"
    figures = p.figures.set_index("figure")
    assert figures.loc["unassigned_households", ["before", "after"]].tolist() == [5, 3]
    assert figures.loc["households_moved", "after"] == 2


def test_a_doubly_held_building_stays_with_the_nearer_member() -> None:
    # X is held by M1 (other households next to it) and by M2 (far away)
    layers = scene(
        {"X": (50, 50, 4), "P1": (55, 50, 12), "P2": (5, 95, 12)},
        {"X": "M1", "P1": "M1", "P2": "M2"},
        ["M1", "M2"],
        doubles={"X": "M2"},
    )
    p = propose(layers)
    ends = p.actions[p.actions["action"].eq("end")]
    a = layers["assignments"]
    m2_x = a.loc[a["member"].eq("M2") & a["building"].eq("X"), "code"].item()
    assert ends[["assignment", "member", "building", "households"]].values.tolist() == [
        [m2_x, "M2", "X", 4]
    ]
    assert ends["valid_to"].iloc[0] == pd.Timestamp("2025-05-31")
    assert "保留M1（党员M1）（其其他联系户距离最近）" in ends["reason_zh"].iloc[0]
    # but when M2 would fall below the quota without it, M2 keeps it
    layers = scene(
        {"X": (50, 50, 4), "P1": (55, 50, 12), "P2": (5, 95, 8)},
        {"X": "M1", "P1": "M1", "P2": "M2"},
        ["M1", "M2"],
        doubles={"X": "M2"},
    )
    ends = propose(layers).actions.query("action == 'end'")
    assert ends["member"].tolist() == ["M1"]
    assert "否则其联系户将少于要求" in ends["reason_zh"].iloc[0]


def test_apply_proposal_adds_and_ends_rows() -> None:
    layers = scene(
        {"U": (50, 50, 3), "X": (60, 50, 2), "P1": (55, 50, 12), "P2": (5, 95, 12)},
        {"X": "M1", "P1": "M1", "P2": "M2"},
        ["M1", "M2"],
        doubles={"X": "M2"},
    )
    p = propose(layers)
    after = apply_proposal(layers["assignments"], p.actions, as_of=AS_OF)
    assert list(after.columns) == list(layers["assignments"].columns)
    assert len(after) == len(layers["assignments"]) + 1
    assert after["code"].is_unique
    resp = household_responsibility(layers["households"], after, as_of=AS_OF)
    assert set(resp["status"]) == {"assigned"}
    before = household_responsibility(layers["households"], layers["assignments"], as_of=AS_OF)
    assert set(before["status"]) == {"assigned", "unassigned", "multi_assigned"}
    # a planner deleting the add row leaves U unassigned, and nothing else changes
    kept = p.actions[p.actions["action"].eq("end")]
    partial = apply_proposal(layers["assignments"], kept, as_of=AS_OF)
    resp = household_responsibility(layers["households"], partial, as_of=AS_OF)
    assert resp.loc[resp["building_id"].eq("U"), "status"].unique().tolist() == ["unassigned"]


def grid_of_members(proposal) -> pd.Series:
    return proposal.members.set_index("member_id")["grid"]


@pytest.mark.parametrize("scale", ["tiny", "sample"])
def test_generated_district_after_the_proposal(scale: str) -> None:
    district = generate(scale, seed=2)
    layers, truth = district.layers, district.defects
    day = truth["period"]["start"]
    hh, b, g = layers["households"], layers["buildings"], layers["grids"]
    m, a = layers["members"], layers["assignments"]
    bg = building_grid(b, g)
    cap = 30
    p = propose_assignments(hh, b, g, m, a, as_of=day, cap=cap, building_grid=bg)
    after = apply_proposal(a, p.actions, as_of=day)
    # no unassigned building or household but those listed for the cadres (R6)
    left = unassigned_buildings(b, hh, after, as_of=day, members=m, building_grid=bg, grids=g)
    assert set(left["building_id"]) == set(p.cadres["building"])
    assert set(truth["buildings_outside_grids"]) <= set(p.cadres["building"])
    partner = m.loc[m["role"].eq("member"), "code"]
    resp = household_responsibility(hh, after[after["member"].isin(partner)], as_of=day)
    listed = set(",".join(p.cadres["household_codes"]).split(","))
    assert set(resp.loc[resp["status"].eq("unassigned"), "household_id"]) <= listed
    # no double responsibility left (R7)
    assert len(multi_assigned_buildings(b, hh, after, as_of=day, members=m)) == 0
    # nobody over the cap who was not over it before, and nobody gained beyond it
    counts = member_households(m, hh, after, as_of=day).set_index("member_id")["households"]
    before = member_households(m, hh, a, as_of=day).set_index("member_id")["households"]
    gained = counts > before
    assert (counts[gained] <= cap).all()
    # no member under the quota where their grid had enough unassigned households
    short = member_quota(m, hh, after, as_of=day)
    members = p.members.set_index("member_id")
    open_hh = household_responsibility(hh, a[a["member"].isin(partner)], as_of=day)
    open_hh = open_hh[open_hh["status"].eq("unassigned")]
    grid_of = bg.set_index("building_id")["grid_id"]
    open_per_grid = open_hh["building_id"].map(grid_of).value_counts()
    kept = members["households_before"] - members["removed"]
    need = (10 - kept).clip(lower=0).groupby(members["grid"]).sum()
    for code in short["member_id"]:
        grid = members.loc[code, "grid"]
        if isinstance(grid, str):
            assert open_per_grid.get(grid, 0) < need[grid], (code, grid)
    assert len(short) < len(truth["members_under_10"])
    # the proposal's own figures are the check's figures
    assert members["households_after"].to_dict() == counts.to_dict()
    figures = p.figures.set_index("figure")
    assert figures.loc["members_under_quota", "after"] == len(short)
    assert figures.loc["unassigned_households", "after"] == p.cadres["households"].sum()
    work = member_workload(hh, b, g, m, after, as_of=day, grid_of=bg)
    assert figures.loc["mean_spread_m", "after"] == pytest.approx(work["spread_m"].mean(), abs=0.1)
    assert set(p.actions["tier"].dropna()) <= {"own_grid", "adjacent_grid", "community"}
    assert p.actions["reason_en"].str.len().min() > 20
