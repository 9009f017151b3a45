"""Cells: square fishnets, H3 hexagons and grids cover the study area, empty cells included."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from hotspot_frames import UTM, X0, Y0, squares

from gridgeo.analysis.hotspots import aggregate, spatial_weights
from gridgeo.analysis.hotspots.cells import assign_cells
from gridgeo.errors import ValidationError


def test_square_fishnet_keeps_empty_cells_inside_the_area_only() -> None:
    pts = gpd.GeoDataFrame(
        geometry=[
            *shapely.points([(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 30), (X0 + 260, Y0 + 40)]),
            shapely.Point(X0 + 900, Y0 + 50),  # outside the area
        ],
        crs=UTM,
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 200)], crs=UTM)
    cells = aggregate(pts, area=area, cells="square:100")
    assert len(cells) == 10  # 5 × 2 squares, none outside
    assert cells["count"].sum() == 3 and (cells["count"] == 0).sum() == 8
    assert cells.attrs["outside"] == 1
    assert cells.crs.to_epsg() == 4326
    metric = cells.to_crs(UTM)
    assert metric.area.to_numpy() == pytest.approx(10_000, rel=1e-6)
    assert metric.union_all().difference(area.geometry.iloc[0]).area < 1e-3


def test_h3_cells_cover_the_area_with_zeros_and_nothing_outside() -> None:
    area_4326 = shapely.box(121.43, 31.21, 121.45, 31.225)
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(121.435, 121.44, 50), rng.uniform(31.215, 31.22, 50)
    pts = gpd.GeoDataFrame(
        geometry=[*shapely.points(lon, lat), shapely.Point(121.6, 31.3)], crs=4326
    )
    cells = aggregate(pts, area=area_4326, cells="h3:9")
    expected = {
        h3.int_to_str(c)
        for c in h3.api.basic_int.h3shape_to_cells_experimental(
            h3.api.basic_int.geo_to_h3shape(area_4326), 9, contain="overlap"
        )
    }
    assert set(cells["cell_id"]) <= expected
    assert set(cells["cell_id"]) >= {
        h3.latlng_to_cell(b, a, 9) for a, b in zip(lon, lat, strict=True)
    } | set(h3.h3shape_to_cells(h3.geo_to_h3shape(area_4326), 9))
    assert cells["count"].sum() == 50 and (cells["count"] == 0).sum() > 10
    assert cells.attrs["outside"] == 1
    overlap = shapely.intersection(np.asarray(cells.geometry.array), area_4326)
    assert (shapely.area(overlap) > 0).all()
    counts = pd.Series([h3.latlng_to_cell(b, a, 9) for a, b in zip(lon, lat, strict=True)])
    got = cells.set_index("cell_id")["count"]
    assert (got[counts.value_counts().index] == counts.value_counts()).all()


def test_grids_as_cells() -> None:
    grids = squares([[0, 0, 0]], size=200).rename(columns={"cell_id": "code"})
    grids = grids.drop(columns="count")
    pts = gpd.GeoDataFrame(
        geometry=shapely.points([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 20), (X0 + 450, Y0 + 5)]),
        crs=UTM,
    )
    cells = aggregate(pts, cells=grids)
    assert cells[["cell_id", "count"]].to_numpy().tolist() == [["c0", 2], ["c1", 0], ["c2", 1]]
    w = spatial_weights(cells)
    assert w.toarray().astype(int).tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    with pytest.raises(ValidationError, match="unknown cells"):
        aggregate(pts, cells="hex:9")


def test_the_assignment_names_each_problems_cell_and_what_was_not_counted() -> None:
    pts = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(X0 + 10, Y0 + 10),
            None,  # no location
            shapely.Point(X0 + 250, Y0 + 50),
            shapely.Point(X0 + 900, Y0 + 50),  # outside the area
        ],
        crs=UTM,
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 100)], crs=UTM)
    a = assign_cells(pts, area=area, cells="square:100")
    assert a.ids.tolist() == ["100m_3500_34500", "100m_3501_34500", "100m_3502_34500"]
    assert a.owner.tolist() == [0, -1, 2, -1]
    assert (a.info["outside"], a.info["without_location"]) == (1, 1)
    assert a.counts()["count"].tolist() == [1, 0, 1]
    assert a.counts().attrs == a.info
