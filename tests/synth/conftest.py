"""The district most synthetic-district tests look at: ``tiny``, seed 7 (once per module)."""

from __future__ import annotations

import geopandas as gpd
import pytest

from gridgeo.synth import District, generate

from .helpers import METRIC


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
