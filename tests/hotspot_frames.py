"""Cells and points with known answers for the hotspot tests, and the bundled sample."""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path

import esda
import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from libpysal.weights import W

from gridgeo.hotspot_inputs import read_problems
from gridgeo.synth import generate

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
UTM = 32651
X0, Y0 = 350_000.0, 3_450_000.0  # a place in UTM 51N (Shanghai)


def squares(counts: list[list[float]], size: float = 100.0) -> gpd.GeoDataFrame:
    """A fishnet of squares (row 0 at the bottom) with the given counts, in UTM 51N."""
    rows, cols = np.indices(np.shape(counts))
    i, j = cols.ravel(), rows.ravel()
    boxes = shapely.box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)
    return gpd.GeoDataFrame(
        {"cell_id": [f"c{k}" for k in range(i.size)], "count": np.ravel(counts)},
        geometry=boxes,
        crs=UTM,
    )


def esda_g_star(y: np.ndarray, other: sp.csr_matrix, **kwargs) -> esda.G_Local:
    """esda's Gi* on the same weights (self included, binary)."""
    w = W.from_sparse((other + sp.identity(len(y), format="csr")).tocsr())
    with warnings.catch_warnings():  # esda warns that its default alternative will change
        warnings.simplefilter("ignore", DeprecationWarning)
        return esda.G_Local(y, w, transform="B", star=True, n_jobs=1, **kwargs)


def phi(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@functools.cache
def sample_district() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[dict]]:
    """The bundled sample's problems and grids, and the hotspots planted in it."""
    problems, notes = read_problems(SAMPLE, layer="problems")
    assert notes == []
    grids = gpd.read_file(SAMPLE, layer="grids")
    district = generate("sample", seed=42)  # the bundled sample: its planted hotspots
    same = shapely.get_coordinates(district.layers["problems"].geometry.array)
    assert np.allclose(same, shapely.get_coordinates(problems.geometry.array))
    return problems, grids, district.defects["hotspots"]
