"""Emerging hot spots: Mann-Kendall by hand, Esri's categories, a cluster that appears."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hotspot_frames import UTM, X0, Y0, phi

from gridgeo.analysis.hotspots import emerging_hotspots, emerging_pattern, mann_kendall


def test_mann_kendall_by_hand() -> None:
    # 1..5: every pair rises, S = 10, var = 5·4·15/18 = 50/3, z = (10 - 1)/√(50/3)
    # 5,4,4,4,1: S = -7; a tie of three: var = (300 - 3·2·11)/18 = 13, z = (-7 + 1)/√13
    s, z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 4, 4, 1], [2, 2, 2, 2, 2]]))
    assert s.tolist() == [10, -7, 0]
    assert z == pytest.approx([9 / math.sqrt(50 / 3), -6 / math.sqrt(13), 0.0])
    assert p == pytest.approx(
        [2 * (1 - phi(9 / math.sqrt(50 / 3))), 2 * phi(-6 / math.sqrt(13)), 1]
    )
    assert round(float(p[0]), 4) == 0.0275


def test_emerging_categories_on_constructed_series() -> None:
    rows = {
        "new": [0] * 11 + [1],
        "consecutive": [0] * 9 + [1, 1, 1],
        "intensifying": [1] * 12,
        "persistent": [1] * 12,
        "diminishing": [0] + [1] * 11,
        "sporadic": [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1],
        "oscillating": [-1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
        "historical": [1] * 11 + [0],
        "new cold": [0] * 11 + [-1],
        "none": [0] * 12,
        "once long ago": [1] + [0] * 11,
    }
    states = np.array(list(rows.values()))
    trend_z = np.array([0, 0, 3.0, 0.5, -3.0, 0, 0, 0, 0, 0, 0])
    trend_p = np.array([1, 1, 0.001, 0.6, 0.001, 1, 1, 1, 1, 1, 1])
    pattern, spot = emerging_pattern(states, trend_z, trend_p)
    assert pattern.tolist() == [
        "new",
        "consecutive",
        "intensifying",
        "persistent",
        "diminishing",
        "sporadic",
        "oscillating",
        "historical",
        "new",
        "",
        "",
    ]
    assert spot.tolist() == ["hot"] * 8 + ["cold", "", ""]
    # a cold spot that rises is diminishing as a cold spot
    p, s = emerging_pattern(-np.ones((1, 12)), np.array([3.0]), np.array([0.001]))
    assert (p[0], s[0]) == ("diminishing", "cold")


def test_emerging_hotspots_find_a_new_cluster() -> None:
    rng = np.random.default_rng(3)
    months = pd.date_range("2024-01-01", periods=12, freq="MS", tz="Asia/Shanghai")
    frames = []
    for k, start in enumerate(months):
        n = 300
        xy = rng.uniform(0, 2000, (n, 2))
        if k >= 9:  # a cluster in the last three months
            xy = np.vstack([xy, rng.normal(500, 150, (250, 2))])
        if k == 11:  # and one only in the last month
            xy = np.vstack([xy, rng.normal(1500, 150, (250, 2))])
        xy = np.vstack([xy, rng.normal((1500, 500), 150, (250, 2))])  # always there
        t = start + pd.to_timedelta(rng.uniform(0, 27, len(xy)), unit="D")
        frames.append(pd.DataFrame({"x": xy[:, 0] + X0, "y": xy[:, 1] + Y0, "reported_at": t}))
    table = pd.concat(frames, ignore_index=True)
    pts = gpd.GeoDataFrame(
        table[["reported_at"]], geometry=shapely.points(table[["x", "y"]].to_numpy()), crs=UTM
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=UTM)
    e = emerging_hotspots(pts, area=area, cells="square:200")
    assert (e["n_slices"] == 12).all()
    by_cell = e.set_index("cell_id")
    assert by_cell.loc[f"200m_{int(X0 // 200) + 2}_{int(Y0 // 200) + 2}", "label"] == (
        "consecutive hot spot"
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 7}", "label"] == (
        "new hot spot"
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 2}", "pattern"] in (
        "persistent",
        "intensifying",
        "diminishing",
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 7}", "label_zh"] == "新增热点"


def test_time_slices_are_local_days_of_the_given_time_zone() -> None:
    # 23:30 UTC on 31 March is 07:30 on 1 April in Shanghai: April there, March in UTC
    times = pd.to_datetime(["2025-03-15 12:00", "2025-03-31 23:30"], utc=True)
    pts = gpd.GeoDataFrame(
        {"reported_at": times},
        geometry=shapely.points([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50)]),
        crs=UTM,
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100)], crs=UTM)
    for timezone, slices in (("Asia/Shanghai", 2), ("UTC", 1)):
        e = emerging_hotspots(pts, area=area, cells="square:100", timezone=timezone)
        assert e["n_slices"].tolist() == [slices, slices], timezone
