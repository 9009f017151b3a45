"""Coverage analysis (R1–R3): hand-made geometries, the synthetic district, PostGIS, real data.

Hand-made fixtures are drawn in metres in EPSG:32651 near Shanghai (so the UTM zone the
functions choose is the same one) and handed over in EPSG:4326, as the store returns them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa

from gridgeo.analysis import FINDING_COLUMNS
from gridgeo.analysis.coverage import (
    building_grid,
    buildings_outside,
    grid_communities,
    grid_gaps,
    grid_overlaps,
    metric_crs,
    straddling_buildings,
)
from gridgeo.errors import CRSError, ValidationError
from gridgeo.policy import Policy
from gridgeo.store import open_store
from gridgeo.synth import generate

X0, Y0 = 350_000.0, 3_450_000.0  # EPSG:32651, about 121.4 E 31.2 N


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(codes: list[str], geoms: list[shapely.Geometry], **columns: list) -> gpd.GeoDataFrame:
    """A layer frame in EPSG:4326 from geometries drawn in local metres."""
    frame = gpd.GeoDataFrame(
        {"code": codes, **columns}, geometry=gpd.GeoSeries(geoms, crs=32651).to_crs(4326)
    )
    return frame


def ring_around(x0: float, y0: float, x1: float, y1: float, width: float = 10) -> shapely.Polygon:
    return box(x0 - width, y0 - width, x1 + width, y1 + width).difference(box(x0, y0, x1, y1))


@pytest.fixture
def two_squares_1m_gap() -> gpd.GeoDataFrame:
    """Squares A and B (100 m) 1 m apart, closed by a ring R around both: one 1×100 m hole."""
    return layer(
        ["A", "B", "R"],
        [box(0, 0, 100, 100), box(101, 0, 201, 100), ring_around(0, 0, 201, 100)],
    )


# ----------------------------------------------------------------------------- gaps --------


def test_metric_crs_is_the_utm_zone_or_the_policys(two_squares_1m_gap):
    assert metric_crs(two_squares_1m_gap).to_epsg() == 32651
    assert metric_crs(two_squares_1m_gap, Policy(metric_crs="EPSG:3857")).to_epsg() == 3857
    with pytest.raises(CRSError):
        metric_crs(gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)]))


def test_one_metre_gap_between_two_squares(two_squares_1m_gap):
    gaps = grid_gaps(two_squares_1m_gap)
    assert list(gaps.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    assert gaps.crs.to_epsg() == 4326
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    assert gap.area_m2 == pytest.approx(100, rel=1e-3)
    assert gap.width_m == pytest.approx(1.0, abs=0.03)
    # width 1 m is not below the default sliver width (1 m): an uncovered area (R1)
    assert (gap.kind, gap.rule, gap.severity, gap.entity, gap.code) == (
        "gap",
        "R1",
        "error",
        "grids",
        "gap-1",
    )
    assert gap.grids == "A,B,R"
    found = gaps.to_crs(32651).geometry.iloc[0]
    assert shapely.symmetric_difference(found, box(100, 0, 101, 100)).area < 1e-3


def test_a_gap_narrower_than_the_sliver_width_is_a_sliver(two_squares_1m_gap):
    gaps = grid_gaps(two_squares_1m_gap, policy=Policy(sliver_width_m=1.5))
    assert gaps[["kind", "rule", "severity"]].values.tolist() == [["sliver", "R2", "warning"]]


def test_gaps_below_the_minimum_area_are_dropped(two_squares_1m_gap):
    assert len(grid_gaps(two_squares_1m_gap, policy=Policy(min_gap_area_m2=150))) == 0
    assert len(grid_gaps(two_squares_1m_gap, policy=Policy(min_gap_area_m2=50))) == 1


def test_the_mask_removes_allowed_gaps(two_squares_1m_gap):
    river = layer(["river"], [box(99, -5, 102, 105)])
    assert len(grid_gaps(two_squares_1m_gap, mask=river)) == 0
    half = layer(["park"], [box(90, 50, 110, 120)])
    gaps = grid_gaps(two_squares_1m_gap, mask=half)
    assert gaps.area_m2.tolist() == [pytest.approx(50, rel=1e-3)]


def test_district_area_outside_every_grid_is_uncovered():
    grids = layer(["A", "B"], [box(0, 0, 100, 100), box(101, 0, 201, 100)])
    district = layer(["D"], [box(0, 0, 211, 100)])
    gaps = grid_gaps(grids, district=district)
    assert gaps[["code", "kind", "rule"]].values.tolist() == [
        ["gap-1", "uncovered", "R1"],
        ["gap-2", "uncovered", "R1"],
    ]
    assert gaps.area_m2.tolist() == [pytest.approx(1000, rel=1e-3), pytest.approx(100, rel=1e-3)]
    assert gaps.grids.tolist() == ["B", "A,B"]
    # without the district, the open seam is no hole: nothing to report
    assert len(grid_gaps(grids)) == 0


def test_no_gaps_in_a_seamless_coverage():
    grids = layer(["A", "B"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    assert len(grid_gaps(grids, district=layer(["D"], [box(0, 0, 200, 100)]))) == 0


def test_empty_grids_give_empty_findings():
    empty = gpd.GeoDataFrame({"code": pd.Series([], dtype=object)}, geometry=[], crs=4326)
    gaps = grid_gaps(empty)
    assert len(gaps) == 0
    assert {"area_m2", "width_m", "kind", "grids"} <= set(gaps.columns)
    overlaps = grid_overlaps(empty)
    assert len(overlaps) == 0 and {"grid_a", "grid_b", "area_m2"} <= set(overlaps.columns)
    assignments = building_grid(empty, empty)
    assert len(assignments) == 0
    assert list(assignments.columns) == ["building_id", "grid_id", "share", "n_grids"]
    assert len(straddling_buildings(empty, empty)) == 0
    assert len(buildings_outside(empty, empty)) == 0


# ----------------------------------------------------------------------------- overlaps ----


def test_two_overlapping_squares_give_one_pair():
    grids = layer(
        ["A", "B", "C", "D"],
        [box(0, 0, 100, 100), box(90, 0, 190, 100), box(190, 0, 290, 100), box(0, 500, 9, 509)],
    )
    overlaps = grid_overlaps(grids)
    assert overlaps[["rule", "severity", "code", "grid_a", "grid_b"]].values.tolist() == [
        ["R2", "error", "A/B", "A", "B"]
    ]
    assert overlaps.area_m2.iloc[0] == pytest.approx(1000, rel=1e-3)  # 10 m × 100 m
    assert overlaps.geometry.iloc[0].geom_type == "Polygon"


def test_duplicate_codes_are_reported_not_merged():
    grids = layer(["A", "A"], [box(0, 0, 100, 100), box(50, 0, 150, 100)])
    overlaps = grid_overlaps(grids)
    assert overlaps[["grid_a", "grid_b"]].values.tolist() == [["A", "A"]]
    assert overlaps.area_m2.iloc[0] == pytest.approx(5000, rel=1e-3)


def test_multipolygon_grids_and_repaired_invalid_polygons():
    vaduz = shapely.MultiPolygon([box(0, 0, 100, 100), box(300, 0, 400, 100)])
    bowtie = shapely.Polygon(
        [(X0 + 100, Y0), (X0 + 200, Y0 + 100), (X0 + 200, Y0), (X0 + 100, Y0 + 100)]
    )
    assert not bowtie.is_valid
    grids = layer(["V", "T"], [vaduz, bowtie])
    buildings = layer(["B1", "B2"], [box(310, 10, 320, 20), box(185, 40, 195, 60)])
    assignment = building_grid(buildings, grids)
    assert assignment[["building_id", "grid_id", "n_grids"]].values.tolist() == [
        ["B1", "V", 1],
        ["B2", "T", 1],
    ]
    assert assignment.share.tolist() == [1.0, 1.0]
    assert len(grid_overlaps(grids)) == 0


def test_a_grid_that_is_not_an_area_names_its_code():
    grids = layer(["A", "P"], [box(0, 0, 100, 100), shapely.Point(X0, Y0)])
    with pytest.raises(ValidationError, match="'P'"):
        grid_overlaps(grids)


# ----------------------------------------------------------------------------- communities -


def test_grids_not_in_exactly_one_community():
    communities = layer(["C1", "C2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    grids = layer(
        ["G1", "G2", "G3", "G4", "G5"],
        [
            box(0, 0, 50, 100),  # in C1, declared C1: fine
            box(40, 0, 150, 100),  # 60 m in C1, 50 m in C2
            box(500, 0, 600, 100),  # in none
            box(100, 0, 150, 100),  # in C2, declared C1
            box(150, 0, 202, 100),  # 2 m outside C2: below the straddle share, fine
        ],
        community=["C1", "C1", "C1", "C1", "C2"],
    )
    found = grid_communities(grids, communities)
    assert found[["rule", "code", "problem", "community", "n_communities"]].values.tolist() == [
        ["R3", "G2", "several", "C1", 2],
        ["R3", "G3", "none", None, 0],
        ["R3", "G4", "mismatch", "C2", 1],
    ]
    assert found.share.tolist() == [pytest.approx(60 / 110, abs=1e-4), 0.0, 1.0]


# ----------------------------------------------------------------------------- buildings ---


@pytest.fixture
def two_grids() -> gpd.GeoDataFrame:
    return layer(["A", "B"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])


def test_a_building_split_60_40(two_grids):
    buildings = layer(["B60", "BIN"], [box(94, 10, 104, 20), box(150, 10, 160, 20)])
    assignment = building_grid(buildings, two_grids)
    assert assignment[["building_id", "grid_id", "n_grids"]].values.tolist() == [
        ["B60", "A", 2],
        ["BIN", "B", 1],
    ]
    assert assignment.share.tolist() == [pytest.approx(0.6, abs=1e-6), 1.0]
    straddling = straddling_buildings(buildings, two_grids)
    assert straddling[["rule", "severity", "entity", "code"]].values.tolist() == [
        ["R2", "warning", "buildings", "B60"]
    ]
    assert straddling[["building_id", "grid_ids", "shares"]].values.tolist() == [
        ["B60", "A,B", "0.60,0.40"]
    ]
    # the minor part must hold at least straddle_min_share
    strict = Policy(straddle_min_share=0.45)
    assert len(straddling_buildings(buildings, two_grids, policy=strict)) == 0


def test_buildings_in_no_grid(two_grids):
    buildings = layer(
        ["IN", "FAR", "EDGE", "HALF"],
        [box(10, 10, 20, 20), box(500, 0, 510, 10), box(200, 0, 210, 10), box(195, 50, 205, 60)],
    )
    outside = buildings_outside(buildings, two_grids)
    assert outside[["rule", "severity", "code", "building_id"]].values.tolist() == [
        ["R1", "warning", "FAR", "FAR"],
        ["R1", "warning", "EDGE", "EDGE"],
    ]
    assignment = building_grid(buildings, two_grids).set_index("building_id")
    assert assignment.loc["FAR"].tolist() == [None, 0.0, 0]
    assert assignment.loc["EDGE"].tolist() == [None, 0.0, 0]
    assert assignment.loc["HALF", "grid_id"] == "B"
    assert assignment.loc["HALF", "share"] == pytest.approx(0.5, abs=1e-6)
    assert assignment.loc["HALF", "n_grids"] == 1


def test_building_grid_keeps_the_buildings_index(two_grids):
    buildings = layer(["B1", "B2"], [box(10, 10, 20, 20), box(110, 10, 120, 20)])
    buildings.index = pd.Index([7, 3])
    assignment = building_grid(buildings, two_grids)
    assert assignment.index.tolist() == [7, 3]
    assert assignment.grid_id.tolist() == ["A", "B"]


# ----------------------------------------------------------------------------- synth -------


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def test_the_planted_defects_of_the_tiny_district_are_all_found(tiny):
    grids, buildings = tiny.layers["grids"], tiny.layers["buildings"]
    defects = tiny.defects
    gaps = grid_gaps(grids, district=tiny.layers["communities"])
    by_kind = {kind: frame for kind, frame in gaps.groupby("kind")}
    assert set(by_kind) == {"gap", "sliver"}
    for kind in ("gap", "sliver"):
        (row,) = by_kind[kind].itertuples()
        assert set(row.grids.split(",")) == set(defects[kind]["grids"])
        assert row.area_m2 == pytest.approx(defects[kind]["area_m2"], rel=0.005)
        assert row.width_m == pytest.approx(defects[kind]["width_m"], abs=0.05)
    overlaps = grid_overlaps(grids)
    assert len(overlaps) == 1
    assert {overlaps.grid_a.iloc[0], overlaps.grid_b.iloc[0]} == set(defects["overlap"]["grids"])
    assert overlaps.area_m2.iloc[0] == pytest.approx(defects["overlap"]["area_m2"], rel=0.005)
    straddling = straddling_buildings(buildings, grids)
    expected = defects["straddling_buildings"]
    assert straddling.building_id.tolist() == [s["building"] for s in expected]
    assert straddling.grid_ids.tolist() == [",".join(s["grids"]) for s in expected]
    for shares, s in zip(straddling.shares, expected, strict=True):
        major, minor = map(float, shares.split(","))
        assert major == pytest.approx(s["share"], abs=0.011)
        assert minor == pytest.approx(1 - s["share"], abs=0.011)
    outside = buildings_outside(buildings, grids)
    assert outside.building_id.tolist() == defects["buildings_outside_grids"]
    assert len(grid_communities(grids, tiny.layers["communities"])) == 0


def test_postgis_agrees_on_the_tiny_district(tiny, fresh_postgis):
    store = open_store(fresh_postgis)
    try:
        store.write_layers(
            {name: tiny.layers[name] for name in ("communities", "grids", "buildings")}
        )
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT DISTINCT ON (b.id) b.code, g.code, "
                    "ST_Area(ST_Intersection(b.geom, g.geom)::geography) AS area "
                    "FROM buildings b JOIN grids g ON ST_Intersects(b.geom, g.geom) "
                    "ORDER BY b.id, ST_Area(ST_Intersection(b.geom, g.geom)::geography) DESC"
                )
            ).all()
            a, b = tiny.defects["overlap"]["grids"]
            overlap_area = conn.execute(
                sa.text(
                    "SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) "
                    "FROM grids a, grids b WHERE a.code = :a AND b.code = :b"
                ),
                {"a": a, "b": b},
            ).scalar_one()
    finally:
        store.close()
    sql = {building: grid for building, grid, area in rows if area > 0}
    ours = building_grid(tiny.layers["buildings"], tiny.layers["grids"])
    ours = ours[ours.grid_id.notna()]
    assert len(sql) == len(ours) == len(tiny.layers["buildings"]) - 1
    assert dict(zip(ours.building_id, ours.grid_id, strict=True)) == sql
    overlaps = grid_overlaps(tiny.layers["grids"])
    assert overlaps.area_m2.iloc[0] == pytest.approx(overlap_area, rel=0.005)


# ----------------------------------------------------------------------------- real data ---


def _osm(path: Path, where: str) -> gpd.GeoDataFrame:
    frame = pyogrio.read_dataframe(path, layer="multipolygons", where=where)
    frame["code"] = np.where(
        frame.osm_id.notna(), "r" + frame.osm_id.astype(str), "w" + frame.osm_way_id.astype(str)
    )
    return frame


def test_realdata_liechtenstein_buildings_outside_municipalities(shared_data):
    pbf = shared_data / "liechtenstein_osm" / "liechtenstein-2013-08-03.osm.pbf"
    if not pbf.exists():
        pytest.fail(f"{pbf} is missing from ../shared/data")
    municipalities = _osm(pbf, "admin_level='8'")
    buildings = _osm(pbf, "building IS NOT NULL")
    assert len(municipalities) == 11
    vaduz = municipalities.loc[municipalities.name == "Vaduz", "geometry"].iloc[0]
    assert len(shapely.get_parts(vaduz)) == 7
    outside = buildings_outside(buildings, municipalities)
    assert len(outside) == 4
    assignment = building_grid(buildings, municipalities)
    assert (assignment.grid_id.isna()).sum() == 4
    assert set(outside.building_id) == set(assignment.building_id[assignment.grid_id.isna()])
    # the municipalities tile the country without overlaps
    assert len(grid_overlaps(municipalities)) == 0
