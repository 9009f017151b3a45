"""Problems: status rules, lifecycle shares, defects, visit links, hotspots."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.synth import District

from .helpers import METRIC


def test_problem_status_rules(tiny: District) -> None:
    p = tiny.layers["problems"]
    st = p["status"]
    assert p.loc[st == "resolved_on_site", "resolved_at"].notna().all()
    assert p.loc[st == "escalated", "escalated_at"].notna().all()
    closed = p[st == "closed"]
    assert closed["closed_at"].notna().all()
    assert (closed["resolved_at"].notna() | closed["escalated_at"].notna()).all()
    assert p.loc[st == "open", ["resolved_at", "escalated_at", "closed_at"]].isna().all().all()
    for col in ("resolved_at", "escalated_at", "closed_at", "feedback_at"):
        have = p[col].notna()
        assert (p.loc[have, col] >= p.loc[have, "reported_at"]).all(), col
    end = pd.Timestamp(tiny.defects["period"]["end"]).tz_localize("Asia/Shanghai")
    for col in ("reported_at", "resolved_at", "escalated_at", "closed_at", "feedback_at"):
        assert (p[col].dropna() < end).all(), col
    for col in ("reported_at", "resolved_at", "escalated_at", "closed_at", "feedback_at"):
        hours = p[col].dropna().dt.tz_convert("Asia/Shanghai").dt.hour
        assert hours.between(9, 20).all(), col  # local working hours
    # closing happens at the joint meeting on the 9th
    closed_local = closed["closed_at"].dt.tz_convert("Asia/Shanghai")
    assert (closed_local.dt.day == 9).all()


def test_problem_lifecycle_shares(tiny: District) -> None:
    p = tiny.layers["problems"]
    on_site = (p["status"] == "resolved_on_site") | (
        (p["status"] == "closed") & p["escalated_at"].isna()
    )
    escalated = p["escalated_at"].notna()
    assert 0.45 < on_site.mean() < 0.7
    assert 0.2 < escalated.mean() < 0.4
    assert (p["status"] == "open").mean() < 0.2
    assert (p["status"] == "closed").any()


def test_problem_defects(tiny: District) -> None:
    p = tiny.layers["problems"].set_index("code")
    end = pd.Timestamp(tiny.defects["period"]["end"])
    overdue = p[
        p["status"].isin(["open", "escalated"]) & p["resolved_at"].isna() & (p["deadline"] < end)
    ]
    assert set(overdue.index) == set(tiny.defects["overdue_problems"]) and len(overdue) > 0
    no_fb = p[(p["status"] == "closed") & p["feedback_at"].isna()]
    assert set(no_fb.index) == set(tiny.defects["closed_without_feedback"]) and len(no_fb) > 0
    assert p.loc[p["feedback_at"].notna(), "feedback"].notna().all()
    assert set(p.index[p["responsible"].isna()]) == set(
        tiny.defects["problems_without_responsible"]
    )
    assert set(p.index[p["deadline"].isna()]) == set(tiny.defects["problems_without_deadline"])
    assert 0 < len(tiny.defects["problems_without_deadline"]) < 0.1 * len(p)
    assert set(p["category"]) <= {"环境卫生", "停车", "噪音", "设施维修", "安全隐患", "邻里纠纷"}


def test_problems_link_to_their_visit_building_and_household(tiny: District) -> None:
    p = tiny.layers["problems"]
    v = tiny.layers["visits"].set_index("code")
    linked = p[p["visit"].notna()]
    assert len(linked) > 0.5 * len(p)
    assert (v.loc[linked["visit"], "building"].to_numpy() == linked["building"].to_numpy()).all()
    assert (
        linked["reported_at"].to_numpy() >= v.loc[linked["visit"], "visited_at"].to_numpy()
    ).all()
    with_h = linked[linked["household"].notna()]
    assert (v.loc[with_h["visit"], "household"].to_numpy() == with_h["household"].to_numpy()).all()
    assert p["responsible"].notna().mean() > 0.9


def test_problems_cluster_around_the_hotspots(tiny: District, metric) -> None:
    p = metric["problems"]
    period = tiny.defects["period"]
    hot = tiny.defects["hotspots"]
    assert len(hot) == 2 and sum(h["emerging"] for h in hot) == 1
    area = metric["grids"].union_all().area
    for h in hot:
        centre = gpd.GeoSeries([shapely.Point(h["center"])], crs=4326).to_crs(METRIC).iloc[0]
        near = p.geometry.distance(centre) < h["sigma_m"]
        density_near = near.sum() / (np.pi * h["sigma_m"] ** 2)
        assert density_near > 1.5 * len(p) / area, h
        if h["emerging"]:
            since = pd.Timestamp(h["since"]).tz_localize("Asia/Shanghai")
            after = p["reported_at"] >= since
            days_after = (pd.Timestamp(period["end"]) - pd.Timestamp(h["since"])).days
            days_before = (pd.Timestamp(h["since"]) - pd.Timestamp(period["start"])).days
            rate_after = (near & after).sum() / days_after
            rate_before = (near & ~after).sum() / days_before
            assert rate_after > 2 * rate_before
