"""Visits: targets, local daytime, weekly compliance, leaders, GPS points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridgeo.synth import District

from .helpers import current, member_households


def test_visits_have_a_target_and_happen_in_local_daytime(tiny: District) -> None:
    v = tiny.layers["visits"]
    assert (v["household"].notna() | v["building"].notna()).all()
    hh_building = tiny.layers["households"].set_index("code")["building"]
    both = v[v["household"].notna()]
    assert (hh_building[both["household"]].to_numpy() == both["building"].to_numpy()).all()
    local = v["visited_at"].dt.tz_convert("Asia/Shanghai")
    hours = local.dt.hour + local.dt.minute / 60
    assert hours.between(9, 21).all()
    period = tiny.defects["period"]
    days = local.dt.date
    assert days.min() >= period["start"] and days.max() < period["end"]
    assert v["visited_at"].is_monotonic_increasing


def test_weekly_visit_compliance(tiny: District) -> None:
    v = tiny.layers["visits"]
    period = tiny.defects["period"]
    local = v["visited_at"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    week = ((local - pd.Timestamp(period["start"])).dt.days // 7).rename("week")
    members = tiny.layers["members"]
    partner = members.loc[members["role"] == "member", "code"]
    weeks = pd.concat([v["member"], week], axis=1).groupby("member")["week"].nunique()
    weeks = weeks.reindex(partner, fill_value=0)
    never = set(weeks[weeks == 0].index)
    assert never == set(tiny.defects["never_visiting_members"])
    counts = member_households(tiny, period["start"])
    missing = set(weeks[(weeks < period["weeks"]) & (counts[weeks.index] > 0)].index)
    assert missing == set(tiny.defects["members_missing_weeks"])
    assert (weeks == period["weeks"]).mean() > 0.6  # most members visit every week
    assert (weeks[counts > 0] == 0).any()  # a few with households never visit
    assert weeks[counts > 0].between(1, period["weeks"] - 1).any()  # some skip weeks
    # members visit their own households
    a = current(tiny.layers["assignments"], period["start"])
    own = v[v["member"].isin(partner) & v["household"].notna()]
    direct = set(zip(a["member"], a["household"], strict=True))
    by_building = set(zip(a["member"], a["building"], strict=True))
    ok = [
        (m, h) in direct or (m, b) in by_building
        for m, h, b in zip(own["member"], own["household"], own["building"], strict=True)
    ]
    assert all(ok)


def test_leaders_visit_their_communities_except_one(tiny: District) -> None:
    v = tiny.layers["visits"]
    members = tiny.layers["members"]
    leaders = set(members.loc[members["role"] == "leader", "code"])
    a = tiny.layers["assignments"]
    linked = set(a.loc[a["kind"] == "leader_community", "member"])
    visiting = set(v.loc[v["member"].isin(leaders), "member"])
    assert linked - visiting == set(tiny.defects["leaders_without_visits"])
    assert len(tiny.defects["leaders_without_visits"]) == 1


def test_visit_gps_points_are_near_the_target(tiny: District, metric) -> None:
    v = metric["visits"].dropna(subset=["geometry"])
    b = metric["buildings"].set_index("code").geometry
    dist = shapely.distance(v.geometry.to_numpy(), b[v["building"]].to_numpy())
    assert np.median(dist) < 5
    assert np.quantile(dist, 0.99) < 60
