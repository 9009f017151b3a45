"""The planted geometry defects: gap, sliver, overlap, straddling and outside buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridgeo.synth import District, generate

from .helpers import METRIC


def short_side(polygon: shapely.Geometry) -> float:
    coords = shapely.get_coordinates(shapely.oriented_envelope(polygon))
    return float(np.linalg.norm(np.diff(coords, axis=0), axis=1).min())


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
