"""Local Moran's I: quadrants by hand, clusters, and equality with esda's Moran_Local."""

from __future__ import annotations

import warnings

import esda
import numpy as np
import pytest
from hotspot_frames import squares
from libpysal.weights import W

from gridgeo.analysis.hotspots import local_moran, spatial_weights


def test_lisa_quadrants_by_hand() -> None:
    # mean 19/6: cells 9 and 8 are high with high neighbours, 1 (cell 2) is low with
    # neighbours (8 + 0) / 2 = 4 above the mean, the rest low next to low.
    lisa = local_moran(squares([[9, 8, 1, 0, 0, 1]]), permutations=99, fdr=False)
    assert lisa["lisa_q"].tolist() == [1, 1, 2, 3, 3, 3]
    z = (np.array([9, 8, 1, 0, 0, 1]) - 19 / 6) / np.std([9, 8, 1, 0, 0, 1])
    lag = np.array([z[1], (z[0] + z[2]) / 2, (z[1] + z[3]) / 2, (z[2] + z[4]) / 2])
    assert lisa["lisa_i"].to_numpy()[:4] == pytest.approx(5 * z[:4] * lag / (z * z).sum())


def test_lisa_clusters_and_equality_with_esda() -> None:
    rng = np.random.default_rng(11)
    values = rng.lognormal(1, 0.5, (14, 14))
    values[2:6, 2:6] += 12  # high next to high
    values[9:13, 8:12] = 0.01  # low next to low
    cells = squares(values.tolist())
    lisa = local_moran(cells, permutations=999, seed=4)
    grid = lisa["lisa_cluster"].to_numpy().reshape(14, 14)
    assert (grid[3:5, 3:5] == "HH").all()
    assert (grid[10:12, 9:11] == "LL").all()
    assert set(lisa["lisa_cluster"]) <= {"HH", "LL", "LH", "HL", "not significant"}
    other = spatial_weights(cells)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = esda.Moran_Local(
            values.ravel(), W.from_sparse(other), permutations=999, seed=4, n_jobs=1
        )
    assert np.abs(lisa["lisa_i"].to_numpy() - ref.Is).max() < 1e-9
    assert lisa["lisa_q"].tolist() == ref.q.tolist()
    assert np.abs(lisa["lisa_p_sim"].to_numpy() - ref.p_sim).max() < 1e-6
