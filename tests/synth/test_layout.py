"""Grids and communities: a valid coverage except at the planted defects."""

from __future__ import annotations

import pytest
import shapely

from gridgeo.synth import District

from .helpers import METRIC


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
