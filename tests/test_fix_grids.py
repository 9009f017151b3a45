"""repair_grids: hand-made coverages whose repair is known, generated districts, properties.

Hand-made grids are drawn in metres in EPSG:32651 near Shanghai and handed over in
EPSG:4326, as the store returns them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgeo.analysis import building_grid, grid_gaps, grid_overlaps
from gridgeo.errors import ValidationError
from gridgeo.fix import repair_grids
from gridgeo.synth import generate

X0, Y0 = 350_000.0, 3_450_000.0  # EPSG:32651, about 121.4 E 31.2 N
UTM = 32651


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def poly(*xy: tuple[float, float]) -> shapely.Polygon:
    return shapely.Polygon([(X0 + x, Y0 + y) for x, y in xy])


def layer(codes: list[str], geoms: list, **columns: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, **columns}, geometry=gpd.GeoSeries(geoms, crs=UTM).to_crs(4326)
    )


def metric(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.geometry.to_crs(UTM).array)


def areas(frame: gpd.GeoDataFrame) -> dict[str, float]:
    return dict(zip(frame["code"], shapely.area(metric(frame)), strict=True))


def assert_area_accounted(before: gpd.GeoDataFrame, repair, noise: float = 0.05) -> None:
    """No grid's area changes by more than the pieces ``changes`` lists for it."""
    a0, a1 = areas(before), areas(repair.grids)
    ch = repair.changes
    for code in a0:
        listed = ch.loc[ch["from_grid"].eq(code) | ch["to_grid"].eq(code), "area_m2"].sum()
        assert abs(a1[code] - a0[code]) <= listed + noise, (code, a0[code], a1[code], listed)


def test_sliver_is_closed_into_the_grid_with_the_longest_border() -> None:
    # B's left edge has a notch 0.4 m deep: a wedge hole between A and B
    grids = layer(
        ["A", "B"],
        [box(0, 0, 100, 100), poly((100, 0), (200, 0), (200, 100), (100, 100), (100.4, 50))],
    )
    repair = repair_grids(grids)
    assert bool(shapely.coverage_is_valid(metric(repair.grids)))
    assert repair.changes[["grid", "kind", "from_grid", "to_grid"]].values.tolist() == [
        ["B", "gap", None, "B"]  # the wedge's two long sides are B's
    ]
    assert repair.changes["area_m2"].iloc[0] == pytest.approx(20, abs=0.01)
    assert "缝隙" in repair.changes["reason_zh"].iloc[0]
    assert len(repair.left) == 0
    assert_area_accounted(grids, repair)


def test_wide_gap_is_left_and_reported() -> None:
    # an 8 m strip between A and B, closed above and below by C and D
    grids = layer(
        ["A", "B", "C", "D"],
        [box(0, 0, 100, 100), box(108, 0, 200, 100), box(0, 100, 200, 150), box(0, -50, 200, 0)],
    )
    repair = repair_grids(grids, max_gap_width=1.0)
    assert len(repair.changes) == 0
    assert repair.left[["kind", "area_m2", "width_m"]].values.tolist() == [["gap", 800.0, 8.0]]
    assert areas(repair.grids) == pytest.approx(areas(grids))
    # a wider tolerance closes it
    wider = repair_grids(grids, max_gap_width=10.0)
    assert len(wider.left) == 0
    assert wider.changes["kind"].tolist() == ["gap"]


def strip_overlap() -> gpd.GeoDataFrame:
    """A reaches 10 m into B along 70 m of their edge (as the generator plants it)."""
    a = shapely.union(box(0, 0, 100, 100), box(100, 15, 110, 85))
    return layer(["A", "B"], [a, box(100, 0, 200, 100)])


def test_overlap_goes_to_the_grid_sharing_the_longer_edge() -> None:
    grids = strip_overlap()
    repair = repair_grids(grids)
    # the strip borders B on three sides (90 m) and A on one (70 m): B keeps it
    rows = repair.changes[["grid", "kind", "from_grid", "to_grid", "rule"]].values.tolist()
    assert rows == [["A", "overlap", "A", "B", "shared_edge"]]
    assert repair.changes["area_m2"].iloc[0] == pytest.approx(700, abs=0.01)
    after = areas(repair.grids)
    assert after["A"] == pytest.approx(10_000, abs=0.01)
    assert after["B"] == pytest.approx(10_000, abs=0.01)
    assert len(grid_overlaps(repair.grids)) == 0
    assert_area_accounted(grids, repair)


def test_overlap_goes_to_the_grid_its_buildings_lie_in() -> None:
    grids = strip_overlap()
    # V lies half in A alone, half in the strip: the strip stays with A, V is not split
    buildings = layer(["V"], [box(95, 40, 105, 50)], households=[6])
    repair = repair_grids(grids, buildings=buildings)
    assert repair.changes[["from_grid", "to_grid", "rule"]].values.tolist() == [
        ["B", "A", "buildings"]
    ]
    assert building_grid(buildings, repair.grids)["share"].iloc[0] == pytest.approx(1.0)


def test_overlap_goes_to_the_grid_of_the_responsible_members() -> None:
    grids = strip_overlap()
    # W lies wholly in the strip; its member M1 holds two buildings in A, M2 one in B
    buildings = layer(
        ["W", "P1", "P2", "Q"],
        [box(102, 40, 108, 50), box(10, 10, 20, 20), box(30, 30, 40, 40), box(150, 50, 160, 60)],
    )
    assignments = pd.DataFrame(
        {
            "code": ["A1", "A2", "A3", "A4"],
            "kind": "member_building",
            "member": ["M1", "M1", "M1", "M2"],
            "building": ["W", "P1", "P2", "Q"],
            "household": None,
            "valid_from": pd.to_datetime(["2025-01-01"] * 4),
            "valid_to": pd.NaT,
        }
    )
    members = pd.DataFrame({"code": ["M1", "M2"], "role": "member"})
    without = repair_grids(grids, buildings=buildings)
    assert without.changes["rule"].tolist() == ["shared_edge"]  # W gives no hint by itself
    repair = repair_grids(
        grids, buildings=buildings, members=members, assignments=assignments, as_of="2025-06-01"
    )
    assert repair.changes[["from_grid", "to_grid", "rule"]].values.tolist() == [
        ["B", "A", "responsibility"]
    ]
    assert "责任党员" in repair.changes["reason_zh"].iloc[0]
    assert building_grid(buildings, repair.grids).set_index("building_id")["grid_id"].to_dict() == {
        "W": "A", "P1": "A", "P2": "A", "Q": "B"
    }  # fmt: skip
    # an assignment that has ended does not count
    ended = assignments.assign(valid_to=pd.to_datetime(["2025-03-01"] * 4))
    again = repair_grids(
        grids, buildings=buildings, members=members, assignments=ended, as_of="2025-06-01"
    )
    assert again.changes["rule"].tolist() == ["shared_edge"]


def two_communities() -> gpd.GeoDataFrame:
    return layer(["C1", "C2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])


def test_grids_are_clipped_to_their_community() -> None:
    # A (mostly in C1) reaches 5 m into C2, where no grid is
    grids = layer(["A", "B"], [box(0, 0, 105, 100), box(110, 0, 200, 100)], community=["C1", "C2"])
    repair = repair_grids(grids, communities=two_communities())
    rows = repair.changes[["grid", "kind", "from_grid", "to_grid"]].values.tolist()
    assert rows == [["A", "outside_community", "A", None]]
    assert repair.changes["area_m2"].iloc[0] == pytest.approx(500, abs=0.01)
    assert areas(repair.grids)["A"] == pytest.approx(10_000, abs=0.01)
    # the 10 m of C2 in no grid are left for a decision
    assert repair.left[["kind", "area_m2"]].values.tolist() == [["uncovered", 1000.0]]


def test_strips_along_a_community_border_stay_in_their_community() -> None:
    # a 0.8 m strip between A (C1) and B (C2), the border running through its middle:
    # it is open at both ends, so each half goes to the grid of its own community
    grids = layer(["A", "B"], [box(0, 0, 99.6, 100), box(100.4, 0, 200, 100)])
    communities = two_communities()
    repair = repair_grids(grids, communities=communities)
    rows = repair.changes[["grid", "kind", "to_grid"]].values.tolist()
    assert rows == [["A", "gap", "A"], ["B", "gap", "B"]]
    assert repair.changes["area_m2"].tolist() == pytest.approx([40, 40], abs=0.01)
    inside = shapely.area(shapely.intersection(metric(repair.grids), metric(communities)))
    assert inside == pytest.approx([10_000, 10_000], abs=0.05)
    assert bool(shapely.coverage_is_valid(metric(repair.grids)))
    assert len(repair.left) == 0
    # without communities there is no border to close the strip against
    assert len(repair_grids(grids).changes) == 0


def test_rows_columns_and_index_are_kept() -> None:
    grids = strip_overlap().assign(name=["甲", "乙"], community="C1", extra=[1, 2])
    grids = pd.concat([grids, layer(["E"], [None], name=["空"], community="C1", extra=[3])])
    grids.index = [10, 20, 30]
    repair = repair_grids(grids)
    out = repair.grids
    assert list(out.columns) == list(grids.columns)
    assert out.index.tolist() == [10, 20, 30]
    assert out.drop(columns="geometry").equals(grids.drop(columns="geometry"))
    assert out.geometry.iloc[2] is None
    assert set(out.geometry.iloc[:2].geom_type) == {"MultiPolygon"}
    assert repair.changes["grid_name"].tolist() == ["甲"]


def test_a_grid_that_is_not_an_area_is_named() -> None:
    grids = layer(["A", "L"], [box(0, 0, 10, 10), shapely.LineString([(X0, Y0), (X0 + 5, Y0)])])
    with pytest.raises(ValidationError, match=r"code 'L'.*not an area"):
        repair_grids(grids)


@pytest.mark.parametrize("scale", ["tiny", "sample"])
def test_generated_district_is_repaired(scale: str) -> None:
    district = generate(scale, seed=4)
    layers, truth = district.layers, district.defects
    grids, buildings = layers["grids"], layers["buildings"]
    repair = repair_grids(
        grids,
        communities=layers["communities"],
        buildings=buildings,
        households=layers["households"],
        members=layers["members"],
        assignments=layers["assignments"],
        as_of=truth["period"]["start"],
    )
    fixed = repair.grids
    assert bool(shapely.coverage_is_valid(metric(fixed)))
    assert len(grid_overlaps(fixed)) == 0
    gaps = grid_gaps(fixed, district=layers["communities"])
    assert "sliver" not in set(gaps["kind"])
    # the planted overlap: grid a reaches into b, and gives it back
    overlap = repair.changes[repair.changes["kind"].eq("overlap")]
    a, b = truth["overlap"]["grids"]
    assert overlap[["from_grid", "to_grid"]].values.tolist() == [[a, b]]
    assert overlap["area_m2"].sum() == pytest.approx(truth["overlap"]["area_m2"], rel=0.01)
    # the planted sliver is closed into one of its two grids
    closed = repair.changes[repair.changes["kind"].eq("gap")]
    assert set(closed["to_grid"]) <= set(truth["sliver"]["grids"])
    assert closed["area_m2"].sum() == pytest.approx(truth["sliver"]["area_m2"], rel=0.01)
    # the planted 8 m gap is too wide: left, and reported as the check reports it
    wide = repair.left[repair.left["kind"].eq("gap")]
    assert wide["area_m2"].tolist() == pytest.approx([truth["gap"]["area_m2"]], rel=0.01)
    assert set(repair.changes["kind"]) == {"overlap", "gap"}
    assert_area_accounted(grids, repair)
    # buildings change grid only where a moved piece holds them
    before = building_grid(buildings, grids).set_index("building_id")["grid_id"]
    after = building_grid(buildings, fixed).set_index("building_id")["grid_id"]
    moved = before.index[before.fillna("").ne(after.fillna(""))]
    pieces = np.asarray(repair.changes.geometry.to_crs(UTM).array)
    for code in moved:
        polygon = metric(buildings[buildings["code"].eq(code)])[0]
        assert shapely.intersects(polygon, pieces).any(), code
    # grids stay in their communities
    comm = layers["communities"].set_index("code").geometry.to_crs(UTM)
    outside = shapely.area(
        shapely.difference(metric(fixed), np.asarray(comm.loc[fixed["community"]].array))
    )
    assert outside.max() < 0.5
    assert fixed["code"].tolist() == grids["code"].tolist()
    assert fixed.drop(columns="geometry").equals(grids.drop(columns="geometry"))


@st.composite
def jittered_lattice(draw: st.DrawFn) -> gpd.GeoDataFrame:
    """A 3×3 lattice of 100 m grids whose edges are each moved by up to ±0.8 m."""
    shift = st.floats(-0.8, 0.8, allow_nan=False)
    geoms, codes = [], []
    for i in range(3):
        for j in range(3):
            dx0, dx1, dy0, dy1 = (draw(shift) for _ in range(4))
            geoms.append(
                box(100 * i + dx0, 100 * j + dy0, 100 * (i + 1) + dx1, 100 * (j + 1) + dy1)
            )
            codes.append(f"G{i}{j}")
    return layer(codes, geoms)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids=jittered_lattice())
def test_any_jittered_lattice_is_repaired_into_a_valid_coverage(grids: gpd.GeoDataFrame) -> None:
    repair = repair_grids(grids, max_gap_width=1.0)
    assert bool(shapely.coverage_is_valid(metric(repair.grids)))
    assert len(grid_overlaps(repair.grids)) == 0
    assert_area_accounted(grids, repair)
    assert set(repair.changes["kind"]) <= {"overlap", "gap", "snap"}
    # what is left is wider than the tolerance (up to GEOS's width estimate)
    assert (repair.left["width_m"] >= 0.95).all(), repair.left[["width_m", "area_m2"]]
