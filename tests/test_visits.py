"""Visits and meetings over time (R8, R9, R12) on hand-made data and the synthetic 'tiny'."""

from __future__ import annotations

import pandas as pd
import pytest
from test_responsibility import simple_building_grid

from gridgeo.analysis.responsibility import building_community, member_households
from gridgeo.analysis.visits import (
    last_visits,
    leader_quarters,
    meeting_months,
    member_visit_weeks,
    visit_share,
    weekly_visit_share,
)
from gridgeo.policy import Policy
from gridgeo.synth import generate

N = None


def utc(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True))


def assignments(rows: list[tuple]) -> pd.DataFrame:
    cols = ["kind", "member", "community", "building", "household"]
    frame = pd.DataFrame([r[:5] for r in rows], columns=cols, dtype=object)
    frame["valid_from"] = pd.to_datetime([r[5] for r in rows])
    frame["valid_to"] = pd.to_datetime([r[6] for r in rows])
    return frame


MEMBERS = pd.DataFrame(
    {"code": ["M1", "M2", "M3", "K1", "L1", "L2"],
     "role": ["member", "member", "member", "cadre", "leader", "leader"]}
)  # fmt: skip


def test_member_visit_weeks():
    """2026-01-05 (Monday of 2026-W02) to 2026-02-02: weeks W02–W05.

    M1 skips W03: its visit at 2026-01-18T16:30Z is Monday 00:30 in Shanghai (W04).
    M2 is assigned from 2026-01-19 (W04); its W02 visit lies outside the validity.
    M3's assignment ended in 2025: not checked. K1 is a cadre: not checked.
    """
    a = assignments(
        [
            ("member_building", "M1", N, "B1", N, "2025-12-01", N),
            ("member_household", "M2", N, N, "H1", "2026-01-19", N),
            ("member_building", "M3", N, "B2", N, "2025-01-01", "2025-12-31"),
            ("member_building", "K1", N, "B3", N, "2025-01-01", N),
        ]
    )
    visits = pd.DataFrame(
        {
            "member": ["M1", "M1", "M1", "M2", "M2", "M2"],
            "visited_at": utc(
                "2026-01-06T02:00Z",
                "2026-01-18T16:30Z",
                "2026-01-27T02:00Z",
                "2026-01-07T02:00Z",
                "2026-01-20T02:00Z",
                "2026-01-28T02:00Z",
            ),
        }
    )
    r = member_visit_weeks(visits, MEMBERS, a, start="2026-01-05", end="2026-02-02")
    assert r.values.tolist() == [["M1", 4, 1, "2026-W03"], ["M2", 2, 0, ""]]
    # a member who never visits misses every checked week
    r = member_visit_weeks(visits.iloc[3:], MEMBERS, a, start="2026-01-05", end="2026-02-02")
    assert r.set_index("member_id").loc["M1", "missed"] == "2026-W02,2026-W03,2026-W04,2026-W05"
    # other intervals: windows of 14 days from start
    r = member_visit_weeks(
        visits, MEMBERS, a, start="2026-01-05", end="2026-02-02",
        policy=Policy(visit_interval_days=14),
    )  # fmt: skip
    assert r.values.tolist() == [["M1", 2, 0, ""], ["M2", 1, 0, ""]]


def test_meeting_months():
    grids = pd.DataFrame({"code": ["G1", "G2"]})
    meetings = pd.DataFrame(
        {
            "grid": ["G1", "G1", "G1", "G2", "G2"],
            "held_on": pd.to_datetime(
                ["2026-01-09", "2026-02-09", "2026-03-09", "2026-01-15", "2026-03-02"]
            ),
        }
    )
    r = meeting_months(meetings, grids, start="2026-01-01", end="2026-04-01")
    assert r.values.tolist() == [["G1", 3, 0, ""], ["G2", 3, 1, "2026-02"]]
    r = meeting_months(
        meetings, grids, start="2026-01-01", end="2026-04-01", policy=Policy(meetings_per_month=2)
    )
    assert r["months_missed"].tolist() == [3, 3]


def test_leader_quarters():
    """L1 visits C1 in Q1 and only C2 in Q2; L2 visits a C2 household on 1 April (local)."""
    a = assignments(
        [
            ("leader_community", "L1", "C1", N, N, "2025-01-01", N),
            ("leader_community", "L2", "C2", N, N, "2025-01-01", N),
        ]
    )
    visits = pd.DataFrame(
        {
            "member": ["L1", "L1", "L2"],
            "building": ["B1", "B2", None],
            "household": [None, None, "H2"],
            "visited_at": utc("2026-02-01T02:00Z", "2026-05-01T02:00Z", "2026-03-31T17:00Z"),
        }
    )
    households = pd.DataFrame({"code": ["H2"], "building": ["B2"]})
    bc = pd.Series({"B1": "C1", "B2": "C2"})
    r = leader_quarters(
        visits, MEMBERS, a, start="2026-01-01", end="2026-07-01",
        building_community=bc, households=households,
    )  # fmt: skip
    assert r.values.tolist() == [
        ["L1", "C1", 2, 1, "2026-Q2", 1],
        ["L2", "C2", 2, 1, "2026-Q1", 1],
    ]


def test_last_visits_and_shares():
    households = pd.DataFrame({"code": ["H1", "H2", "H3"], "building": ["B1", "B1", "B2"]})
    buildings = pd.DataFrame({"code": ["B1", "B2"]})
    visits = pd.DataFrame(
        {
            "household": ["H1", "H1", None, "H3"],
            "building": ["B1", "B1", "B1", "B2"],
            "visited_at": utc(
                "2026-03-01T17:00Z",  # 2026-03-02 local
                "2026-03-20T02:00Z",  # after as_of
                "2026-03-09T02:00Z",  # building round
                "2026-02-20T02:00Z",
            ),
        }
    )
    r = last_visits(households, visits, as_of="2026-03-10")
    assert r["days_since"].tolist() == [8, pd.NA, 18]
    assert r["never_visited"].tolist() == [False, True, False]
    assert r["last_visit"].iloc[0] == pd.Timestamp("2026-03-02")
    b = last_visits(buildings, visits, as_of="2026-03-10")
    assert b[["building_id", "days_since"]].values.tolist() == [["B1", 1], ["B2", 18]]

    by = pd.Series({"B1": "G1", "B2": "G2"}, name="grid")
    s = visit_share(visits, households, by=by, as_of="2026-03-10")
    assert s.values.tolist() == [["G1", 2, 0, 0.0, 1, 0.5], ["G2", 1, 0, 0.0, 1, 1.0]]
    w = weekly_visit_share(visits, households, by=by, start="2026-02-16", end="2026-03-09")
    assert w[["grid", "week", "visited", "share"]].values.tolist() == [
        ["G1", "2026-W08", 0, 0.0],
        ["G1", "2026-W09", 0, 0.0],
        ["G1", "2026-W10", 1, 0.5],
        ["G2", "2026-W08", 1, 1.0],
        ["G2", "2026-W09", 0, 0.0],
        ["G2", "2026-W10", 0, 0.0],
    ]


# ---------------------------------------------------------------- synthetic 'tiny' -----


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def test_tiny_visit_defects_found(tiny):
    L, D = tiny.layers, tiny.defects
    start, end = D["period"]["start"], D["period"]["end"]
    weeks = member_visit_weeks(L["visits"], L["members"], L["assignments"], start=start, end=end)
    assert (weeks["weeks"] == D["period"]["weeks"]).all()
    assert set(weeks.loc[weeks["weeks_missed"] > 0, "member_id"]) == set(D["members_missing_weeks"])
    never = set(weeks.loc[weeks["weeks_missed"] == weeks["weeks"], "member_id"])
    # never-visiting members with no household are not checked for weekly visits
    counts = member_households(L["members"], L["households"], L["assignments"], as_of=start)
    idle = set(counts.loc[counts["households"] == 0, "member_id"])
    assert never == set(D["never_visiting_members"]) - idle
    assert never

    months = meeting_months(L["meetings"], L["grids"], start=start, end=end)
    pairs = {
        (g, m) for g, ms in zip(months["grid_id"], months["missed"], strict=True)
        for m in ms.split(",") if m
    }  # fmt: skip
    assert pairs == {tuple(p) for p in D["grids_missing_meetings"]}

    bc = building_community(simple_building_grid(L["buildings"], L["grids"]), L["grids"])
    q = leader_quarters(
        L["visits"], L["members"], L["assignments"], start=start, end=end,
        building_community=bc, households=L["households"],
    )  # fmt: skip
    silent = q.groupby("member_id")["visits"].sum()
    assert set(silent[silent == 0].index) == set(D["leaders_without_visits"])
    assert D["community_without_leader"] not in set(q["community_id"])
