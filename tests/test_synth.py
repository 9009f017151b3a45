"""Tests of the synthetic district generator (scale "tiny" only, so they stay fast)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import pathlib
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.schema import ASSIGNMENT_KINDS
from gridgeo.synth import SCALES, District, generate, write_gpkg, writing

METRIC = "EPSG:32651"
SAMPLE = pathlib.Path(__file__).resolve().parents[1] / "shapes" / "sample_district.gpkg"
CODE_PATTERNS = {
    "communities": r"C\d{2,}",
    "grids": r"C\d{2,}-G\d{3,}",
    "buildings": r"B\d{6,}",
    "households": r"B\d{6,}-\d+-\d{4}",
    "organisations": r"O\d{3,}",
    "members": r"M\d{5,}",
    "assignments": r"A\d{7,}",
    "visits": r"V\d{8,}",
    "meetings": r"MT\d{6,}",
    "problems": r"P\d{7,}",
}


@pytest.fixture(scope="module")
def tiny() -> District:
    return generate("tiny", seed=7)


@pytest.fixture(scope="module")
def metric(tiny: District) -> dict[str, gpd.GeoDataFrame]:
    return {
        name: frame.to_crs(METRIC)
        for name, frame in tiny.layers.items()
        if isinstance(frame, gpd.GeoDataFrame)
    }


def current(assignments: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    day = pd.Timestamp(on)
    ok = (assignments["valid_from"] <= day) & (
        assignments["valid_to"].isna() | (assignments["valid_to"] >= day)
    )
    return assignments[ok]


def member_households(tiny: District, on: dt.date) -> pd.Series:
    """Current households per partner member, from the assignment rows."""
    a = current(tiny.layers["assignments"], on)
    hh = tiny.layers["households"]
    by_building = a[a["kind"] == "member_building"].merge(
        hh[["code", "building"]].rename(columns={"code": "hh"}), on="building"
    )[["member", "hh"]]
    direct = a[a["kind"] == "member_household"][["member", "household"]].rename(
        columns={"household": "hh"}
    )
    pairs = pd.concat([by_building, direct]).drop_duplicates()
    members = tiny.layers["members"]
    partner = members.loc[members["role"] == "member", "code"]
    return pairs.groupby("member")["hh"].nunique().reindex(partner, fill_value=0)


# ---------------------------------------------------------------- API and frames ------


def test_layers_and_columns_match_the_layer_specs(tiny: District) -> None:
    assert list(tiny.layers) == list(LAYER_ORDER)
    for name, frame in tiny.layers.items():
        spec = LAYERS[name]
        if spec.geometry:
            assert isinstance(frame, gpd.GeoDataFrame), name
            assert list(frame.columns) == [*spec.field_names, "geometry"], name
            assert frame.crs.to_epsg() == 4326
            assert frame.geometry.name == "geometry"
        else:
            assert not isinstance(frame, gpd.GeoDataFrame), name
            assert list(frame.columns) == spec.field_names, name
        assert len(frame) > 0, name


def test_dtypes_follow_the_field_kinds(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        for field in LAYERS[name].fields:
            col = frame[field.name]
            if field.kind == "text":
                assert pd.api.types.is_string_dtype(col.dtype), (name, field.name, col.dtype)
                assert all(isinstance(x, str) for x in col.dropna().head(50))
            elif field.kind == "int":
                assert str(col.dtype) in ("Int64", "int64"), (name, field.name, col.dtype)
            elif field.kind == "date":
                assert col.dtype.kind == "M" and getattr(col.dt, "tz", None) is None, field.name
                present = col.dropna()
                assert (present == present.dt.normalize()).all(), field.name
            else:
                assert isinstance(col.dtype, pd.DatetimeTZDtype), (name, field.name)
                assert str(col.dt.tz) == "UTC"


def test_required_fields_and_choices(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        spec = LAYERS[name]
        for field in spec.fields:
            if field.required:
                assert frame[field.name].notna().all(), (name, field.name)
            if field.choices:
                assert set(frame[field.name].dropna()) <= set(field.choices), (name, field.name)
        if spec.geometry_required:
            assert frame.geometry.notna().all() and not frame.geometry.is_empty.any(), name


def test_codes_are_unique_and_readable(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        codes = frame["code"]
        assert codes.is_unique, name
        assert codes.str.fullmatch(CODE_PATTERNS[name]).all(), (name, codes.head(3).tolist())
    grids = tiny.layers["grids"]
    assert (grids["code"].str[:3] == grids["community"]).all()
    hh = tiny.layers["households"]
    assert (hh["code"].str.split("-").str[0] == hh["building"]).all()
    assert (hh["code"].str[-4:] == hh["room"]).all()


def test_every_reference_exists(tiny: District) -> None:
    codes = {name: set(frame["code"]) for name, frame in tiny.layers.items()}
    for name, frame in tiny.layers.items():
        for field in LAYERS[name].refs:
            values = set(frame[field.name].dropna())
            missing = values - codes[field.ref]
            assert not missing, (name, field.name, sorted(missing)[:5])


def test_geometry_types(tiny: District) -> None:
    for name in ("communities", "grids", "buildings"):
        assert (tiny.layers[name].geom_type == "MultiPolygon").all(), name
        assert tiny.layers[name].is_valid.all(), name
    assert (tiny.layers["households"].geom_type == "Point").all()
    assert (tiny.layers["problems"].geom_type == "Point").all()
    visits = tiny.layers["visits"]
    assert set(visits.geometry.dropna().geom_type) == {"Point"}
    assert 0 < visits.geometry.isna().sum() < 0.2 * len(visits)  # some visits have no GPS


def test_district_lies_in_shanghai(tiny: District) -> None:
    minx, miny, maxx, maxy = tiny.layers["grids"].total_bounds
    assert 121.3 < minx < maxx < 121.6
    assert 31.1 < miny < maxy < 31.35


def test_chinese_names_addresses_and_phones(tiny: District) -> None:
    assert tiny.layers["communities"]["name"].str.endswith("社区").all()
    assert tiny.layers["grids"]["name"].str.fullmatch(r"第\d+网格").all()
    assert tiny.layers["buildings"]["address"].str.contains(r"路\d+(?:弄\d+)?号").all()
    partner = tiny.layers["organisations"].query("kind == 'partner_unit'")["name"]
    assert partner.str.contains(r"(?:党支部|党总支|党委)$").all()
    for frame in (tiny.layers["households"], tiny.layers["members"]):
        assert frame["phone"].dropna().str.fullmatch(r"1[3-9]\d{9}").all()
        names = frame["name"].dropna()
        assert names.str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()


# ---------------------------------------------------------------- determinism ---------


def test_same_seed_gives_identical_frames(tiny: District) -> None:
    again = generate("tiny", seed=7)
    for name in LAYER_ORDER:
        a, b = tiny.layers[name], again.layers[name]
        if isinstance(a, gpd.GeoDataFrame):
            assert_geodataframe_equal(a, b)
        else:
            pd.testing.assert_frame_equal(a, b)
    assert repr(tiny.defects) == repr(again.defects)


def test_different_seed_gives_a_different_district(tiny: District) -> None:
    other = generate("tiny", seed=8)
    a = tiny.layers["buildings"].geometry.iloc[:20].to_wkb()
    b = other.layers["buildings"].geometry.iloc[:20].to_wkb()
    assert not a.equals(b)
    assert (
        not tiny.layers["households"]["name"]
        .head(50)
        .equals(other.layers["households"]["name"].head(50))
    )


def test_progress_reports_every_stage() -> None:
    calls: list[tuple[str, int, int]] = []
    generate("tiny", seed=1, progress=lambda s, d, t: calls.append((s, d, t)))
    stages = list(dict.fromkeys(s for s, _, _ in calls))
    assert len(stages) >= 10 and all(isinstance(s, str) and s for s in stages)
    for stage in stages:  # each stage starts at 0 and ends complete, in order
        mine = [(d, t) for s, d, t in calls if s == stage]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1] > 0
    assert [s for s, d, t in calls if d == t] == stages


def test_overrides_and_bad_parameters() -> None:
    more = generate("tiny", seed=2, buildings=600, households=2400)
    assert 500 < len(more.layers["buildings"]) < 700
    assert 1800 < len(more.layers["households"]) < 3000
    d = generate({"communities": 2, "grids": 8, "buildings": 300, "households": 1500,
                  "visits": 1000, "problems": 50, "hotspots": 1}, seed=2, weeks=4)  # fmt: skip
    assert d.scale == "custom"
    assert d.defects["period"]["weeks"] == 4
    assert len(d.layers["problems"]) == 50
    with pytest.raises(TypeError, match="unknown parameter"):
        generate("tiny", bogus=1)
    with pytest.raises(ValueError, match="unknown scale"):
        generate("huge")
    assert set(SCALES) >= {"tiny", "sample", "city"}
    assert SCALES["city"]["buildings"] == 1_000_000


# ---------------------------------------------------------------- grid topology -------


def short_side(polygon: shapely.Geometry) -> float:
    coords = shapely.get_coordinates(shapely.oriented_envelope(polygon))
    return float(np.linalg.norm(np.diff(coords, axis=0), axis=1).min())


def defect_grids(tiny: District) -> set[str]:
    return {g for kind in ("gap", "sliver", "overlap") for g in tiny.defects[kind]["grids"]}


def test_grids_form_a_valid_coverage_except_at_the_defects(tiny: District) -> None:
    grids = tiny.layers["grids"]
    geoms = grids.geometry.to_numpy()
    invalid = ~shapely.is_empty(shapely.coverage_invalid_edges(geoms))
    assert set(tiny.defects["overlap"]["grids"]) <= set(grids.loc[invalid, "code"])
    assert set(grids.loc[invalid, "code"]) <= defect_grids(tiny)
    clean = ~grids["code"].isin(defect_grids(tiny)).to_numpy()
    assert shapely.coverage_is_valid(geoms[clean])
    # with a gap width, the gap and the sliver grids are flagged too
    metric = grids.to_crs(METRIC).geometry.to_numpy()
    flagged = ~shapely.is_empty(shapely.coverage_invalid_edges(metric, gap_width=12.0))
    assert {*tiny.defects["gap"]["grids"], *tiny.defects["sliver"]["grids"]} <= set(
        grids.loc[flagged, "code"]
    )
    assert set(grids.loc[flagged, "code"]) <= defect_grids(tiny)


def test_gap_is_uncovered_and_as_wide_as_recorded(tiny: District, metric) -> None:
    gap = tiny.defects["gap"]
    strip = gpd.GeoSeries([gap["geometry"]], crs=4326).to_crs(METRIC).iloc[0]
    union = shapely.union_all(metric["grids"].geometry.to_numpy())
    assert shapely.area(shapely.intersection(strip, union)) < 1e-6 * strip.area
    assert short_side(strip) == pytest.approx(gap["width_m"], rel=0.02)
    a, b = (metric["grids"].set_index("code").geometry[g] for g in gap["grids"])
    assert a.distance(b) == 0  # the strip is cut into the side they share
    assert shapely.intersection(a, b).area < 1e-6
    assert strip.area == pytest.approx(gap["area_m2"], rel=0.01)
    assert gap["width_m"] >= 3  # several metres
    # the districts' hole is exactly the gap and the sliver
    community_union = shapely.union_all(metric["communities"].geometry.to_numpy())
    holes = shapely.difference(community_union, union)
    assert holes.area == pytest.approx(gap["area_m2"] + tiny.defects["sliver"]["area_m2"], rel=0.02)


def test_sliver_is_narrower_than_a_metre(tiny: District, metric) -> None:
    sliver = tiny.defects["sliver"]
    assert 0 < sliver["width_m"] < 1
    strip = gpd.GeoSeries([sliver["geometry"]], crs=4326).to_crs(METRIC).iloc[0]
    union = shapely.union_all(metric["grids"].geometry.to_numpy())
    assert shapely.area(shapely.intersection(strip, union)) < 1e-3 * strip.area
    a, b = (metric["grids"].set_index("code").geometry[g] for g in sliver["grids"])
    assert a.distance(b) < 0.05  # they touch at the ends of the seam
    assert short_side(strip) == pytest.approx(sliver["width_m"], rel=0.02)


def test_only_the_recorded_pair_overlaps(tiny: District, metric) -> None:
    grids = metric["grids"]
    geoms = grids.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    areas = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    codes = grids["code"].to_numpy()
    overlapping = {
        frozenset((codes[i], codes[j]))
        for i, j, area in zip(left[pairs], right[pairs], areas, strict=True)
        if area > 0.01
    }
    overlap = tiny.defects["overlap"]
    assert overlapping == {frozenset(overlap["grids"])}
    assert areas.max() == pytest.approx(overlap["area_m2"], rel=0.01)
    strip = gpd.GeoSeries([overlap["geometry"]], crs=4326).to_crs(METRIC).iloc[0]
    assert strip.area == pytest.approx(overlap["area_m2"], rel=0.01)
    assert short_side(strip) == pytest.approx(overlap["depth_m"], rel=0.02)
    assert overlap["depth_m"] == pytest.approx(10)


def test_communities_are_unions_of_their_grids(tiny: District, metric) -> None:
    grids, comms = metric["grids"], metric["communities"].set_index("code")
    assert shapely.coverage_is_valid(comms.geometry.to_numpy())
    overlap = tiny.defects["overlap"]
    for _, grid in grids.iterrows():
        outside = shapely.difference(grid.geometry, comms.geometry[grid["community"]]).area
        if grid["code"] == overlap["grids"][0]:  # may reach into the next community
            assert outside < overlap["area_m2"] + 1
        else:
            assert outside < 1e-3, grid["code"]
    assert grids.union_all().area == pytest.approx(
        comms.union_all().area - tiny.defects["gap"]["area_m2"] - tiny.defects["sliver"]["area_m2"],
        rel=1e-4,
    )


# ---------------------------------------------------------------- buildings -----------


def test_buildings_lie_in_one_grid_except_the_planted_ones(tiny: District, metric) -> None:
    b, grids = metric["buildings"], metric["grids"]
    bi, gi = shapely.STRtree(grids.geometry.to_numpy()).query(
        b.geometry.to_numpy(), predicate="intersects"
    )
    area = shapely.area(
        shapely.intersection(b.geometry.to_numpy()[bi], grids.geometry.to_numpy()[gi])
    )
    keep = area > 1e-6
    n_grids = np.bincount(bi[keep], minlength=len(b))
    codes = b["code"].to_numpy()
    straddling = {s["building"] for s in tiny.defects["straddling_buildings"]}
    outside = set(tiny.defects["buildings_outside_grids"])
    assert set(codes[n_grids == 2]) == straddling
    assert set(codes[n_grids == 0]) == outside and len(outside) == 1
    assert n_grids.max() == 2
    # the rest lie entirely inside their grid
    single = (n_grids == 1)[bi[keep]]
    assert np.allclose(area[keep][single], shapely.area(b.geometry.to_numpy()[bi[keep][single]]))


def test_straddling_building_splits_about_60_40(tiny: District, metric) -> None:
    b = metric["buildings"].set_index("code").geometry
    g = metric["grids"].set_index("code").geometry
    assert tiny.defects["straddling_buildings"]
    for s in tiny.defects["straddling_buildings"]:
        poly = b[s["building"]]
        major, minor = (
            shapely.area(shapely.intersection(poly, g[c])) / poly.area for c in s["grids"]
        )
        assert major == pytest.approx(0.6, abs=0.05)
        assert minor == pytest.approx(0.4, abs=0.05)
        assert major + minor == pytest.approx(1.0, abs=1e-6)
        assert s["share"] == pytest.approx(major, abs=0.005)


def test_several_straddling_buildings_are_each_recorded_with_their_grids() -> None:
    d = generate("tiny", seed=3, straddling=3, grids=12)
    b = d.layers["buildings"].to_crs(METRIC).set_index("code").geometry
    g = d.layers["grids"].to_crs(METRIC).set_index("code").geometry
    assert len(d.defects["straddling_buildings"]) == 3
    for s in d.defects["straddling_buildings"]:
        poly = b[s["building"]]
        major, minor = (poly.intersection(g[c]).area / poly.area for c in s["grids"])
        assert major == pytest.approx(s["share"], abs=0.005)
        assert major == pytest.approx(0.6, abs=0.05) and minor == pytest.approx(0.4, abs=0.05)


def test_building_outside_grids_sits_in_the_gap(tiny: District, metric) -> None:
    b = metric["buildings"].set_index("code").geometry
    strip = gpd.GeoSeries([tiny.defects["gap"]["geometry"]], crs=4326).to_crs(METRIC).iloc[0]
    for code in tiny.defects["buildings_outside_grids"]:
        assert strip.contains(b[code])
    hh = tiny.layers["households"]
    assert set(hh.loc[hh["building"].isin(tiny.defects["buildings_outside_grids"]), "code"]) == set(
        tiny.defects["households_outside_grids"]
    )


def test_buildings_are_realistic_rectangles_that_do_not_overlap(metric) -> None:
    geoms = metric["buildings"].geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    coords = shapely.get_coordinates(geoms).reshape(-1, 5, 2)
    edges = np.diff(coords, axis=1)
    sides = np.linalg.norm(edges, axis=2)
    cosines = (edges * np.roll(edges, 1, axis=1)).sum(axis=2) / (sides * np.roll(sides, 1, axis=1))
    assert np.abs(cosines).max() < 1e-6  # right angles: rectangles
    sides = sides[:, :2]
    long_side, short_side = sides.max(axis=1), sides.min(axis=1)
    normal = metric["buildings"]["households"].to_numpy() > 1
    assert long_side[normal].min() >= 10 - 1e-6 and long_side.max() <= 60 + 1e-6
    assert short_side[normal].min() >= 8


def test_households_are_consistent_with_their_buildings(tiny: District, metric) -> None:
    hh = tiny.layers["households"]
    b = tiny.layers["buildings"].set_index("code")
    stats = hh.groupby("building").agg(
        n=("code", "size"), units=("unit", "nunique"), floors=("floor", "max")
    )
    stats = stats.reindex(b.index)
    assert (stats["n"] == b["households"]).all()
    assert (stats["units"] == b["units"]).all()
    assert (stats["floors"] == b["floors"]).all()
    assert len(hh) / len(b) > 2


def test_every_household_point_is_inside_its_building(tiny: District) -> None:
    hh = tiny.layers["households"]
    b = tiny.layers["buildings"].set_index("code").geometry
    polys = b.loc[hh["building"]].to_numpy()
    assert shapely.contains_properly(polys, hh.geometry.to_numpy()).all()


# ---------------------------------------------------------------- responsibility ------


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


# ---------------------------------------------------------------- visits --------------


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


# ---------------------------------------------------------------- meetings ------------


def test_monthly_meetings_with_recorded_gaps(tiny: District) -> None:
    m = tiny.layers["meetings"]
    period = tiny.defects["period"]
    assert m["held_on"].min() >= pd.Timestamp(period["start"])
    assert m["held_on"].max() < pd.Timestamp(period["end"])
    months = pd.period_range(period["start"], period["end"] - dt.timedelta(days=1), freq="M")
    held = set(zip(m["grid"], m["held_on"].dt.strftime("%Y-%m"), strict=True))
    grids = tiny.layers["grids"]["code"]
    missing = {(g, str(p)) for g, p in itertools.product(grids, months) if (g, str(p)) not in held}
    assert missing == {tuple(x) for x in tiny.defects["grids_missing_meetings"]}
    assert len(missing) >= 1
    assert (m["attendance"] > 0).all()


# ---------------------------------------------------------------- problems ------------


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


# ---------------------------------------------------------------- GeoPackage ----------


def test_write_gpkg_round_trip(
    tiny: District, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "ROWS_PER_BATCH", 1000)  # several batches for the big layers
    path = tmp_path / "out" / "tiny.gpkg"
    path.parent.mkdir()
    path.write_bytes(b"not a geopackage")  # overwritten
    calls = []
    out = write_gpkg(tiny, path, progress=lambda *a: calls.append(a))
    assert out == path
    finished = {s: d for s, d, t in calls if d == t}
    assert finished == {f"writing {n}": len(tiny.layers[n]) for n in LAYER_ORDER}
    assert len([c for c in calls if c[0] == "writing visits"]) > 2  # batches
    layers = dict(pyogrio.list_layers(path).tolist())
    assert set(layers) == set(LAYER_ORDER)
    for name in LAYER_ORDER:
        assert (layers[name] or None) == LAYERS[name].geometry, name
        info = pyogrio.read_info(path, layer=name)
        assert info["features"] == len(tiny.layers[name])
        assert list(info["fields"]) == LAYERS[name].field_names
    with contextlib.closing(sqlite3.connect(path)) as con:
        sql = dict(con.execute("select name, sql from sqlite_master where type = 'table'"))
    assert '"held_on" DATE' in sql["meetings"]
    assert '"valid_to" DATE' in sql["assignments"]
    assert '"visited_at" DATETIME' in sql["visits"]
    back = pyogrio.read_dataframe(path, layer="problems")
    assert back.crs.to_epsg() == 4326
    assert back["code"].tolist() == tiny.layers["problems"]["code"].tolist()
    assert (back["reported_at"] == tiny.layers["problems"]["reported_at"]).all()
    assert back["closed_at"].isna().sum() == tiny.layers["problems"]["closed_at"].isna().sum()
    visits = pyogrio.read_dataframe(path, layer="visits")
    assert visits["code"].tolist() == tiny.layers["visits"]["code"].tolist()  # all batches
    assert visits.geometry.isna().sum() == tiny.layers["visits"].geometry.isna().sum()
    hh = pyogrio.read_dataframe(path, layer="households")
    assert hh.geometry.geom_equals_exact(tiny.layers["households"].geometry, 1e-9).all()


def test_bundled_sample_district() -> None:
    assert SAMPLE.exists(), (
        "run: write_gpkg(generate('sample', seed=42), 'shapes/sample_district.gpkg')"
    )
    assert SAMPLE.stat().st_size < 10 * 1024 * 1024
    layers = dict(pyogrio.list_layers(SAMPLE).tolist())
    assert set(layers) == set(LAYER_ORDER)
    for name in LAYER_ORDER:
        info = pyogrio.read_info(SAMPLE, layer=name)
        assert list(info["fields"]) == LAYERS[name].field_names, name
        assert info["features"] > 0
    assert 2500 <= pyogrio.read_info(SAMPLE, layer="buildings")["features"] <= 3500
    assert 30 <= pyogrio.read_info(SAMPLE, layer="grids")["features"] <= 40
