"""Kernel density: the surface integrates to the number of points and peaks where they are."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hotspot_frames import UTM, X0, Y0

from gridgeo.analysis.hotspots import kernel_density


def test_kernel_density_integrates_to_the_number_of_points() -> None:
    rng = np.random.default_rng(2)
    xy = np.vstack([rng.normal(0, 80, (700, 2)), rng.normal(600, 150, (300, 2))])
    xy += np.array([X0, Y0])
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=UTM)
    for bandwidth in (60.0, "silverman", "scott"):
        surface, contours = kernel_density(pts, bandwidth=bandwidth)
        assert surface.total() == pytest.approx(1000, rel=0.01), bandwidth
        assert surface.crs.to_epsg() == UTM and surface.values.ndim == 2
        assert contours.crs.to_epsg() == 4326 and len(contours) == 5
    # the peak is at the denser cluster, read through the affine transform
    surface, contours = kernel_density(pts, bandwidth=60.0, cell_size=10)
    row, col = np.unravel_index(np.argmax(surface.values), surface.values.shape)
    a, _, c, _, e, f = surface.transform
    peak = (a * (col + 0.5) + c, e * (row + 0.5) + f)
    assert math.dist(peak, (X0, Y0)) < 30
    top = contours.sort_values("level").iloc[-1]
    assert top.geometry.contains(gpd.GeoSeries([shapely.Point(X0, Y0)], crs=UTM).to_crs(4326)[0])
    n = 1000
    sd = math.sqrt((xy[:, 0].var(ddof=1) + xy[:, 1].var(ddof=1)) / 2)
    assert kernel_density(pts, bandwidth="scott")[0].bandwidth_m == pytest.approx(
        sd * n ** (-1 / 6)
    )
