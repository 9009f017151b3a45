"""Buildings and households: realistic rectangles, consistent households."""

from __future__ import annotations

import numpy as np
import shapely

from gridgeo.synth import District


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
