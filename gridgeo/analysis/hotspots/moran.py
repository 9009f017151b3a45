"""Local Moran's I: clusters of high values (HH), of low values (LL) and outliers (LH, HL).

The statistic is esda's ``Moran_Local`` with row-standardised weights; its
conditional-permutation pseudo-p comes from the shared engine
(:mod:`gridgeo.analysis.hotspots.permutation`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridgeo.analysis.hotspots.cells import cell_values
from gridgeo.analysis.hotspots.geometry import in_4326
from gridgeo.analysis.hotspots.permutation import (
    check_ties,
    conditional_counts,
    pseudo_p,
    significant,
)
from gridgeo.analysis.hotspots.weights import spatial_weights
from gridgeo.policy import Policy

__all__ = ["QUADRANTS", "local_moran"]

#: Moran scatterplot quadrant (esda's ``q``) -> cluster name
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
_NOT_SIGNIFICANT = "not significant"


def local_moran(
    cells: gpd.GeoDataFrame,
    *,
    column: str = "count",
    weights: str | Any = "queen",
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    fdr: bool = True,
    ties: str = "esda",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Local Moran's I of ``column`` per cell and its cluster: HH, LL, LH, HL.

    Row-standardised weights without the cell itself; the numbers equal
    ``esda.Moran_Local(y, w, transformation="r", permutations, seed=seed)`` for the same
    binary weights: ``lisa_i`` is ``Is``, ``lisa_q`` is ``q`` (1 HH, 2 LH, 3 LL, 4 HL:
    high or low value, high or low neighbours), ``lisa_p_sim`` is ``p_sim`` (ties in
    the neighbour sums are compared exactly here, in floating point by esda).
    ``lisa_cluster`` is the quadrant where ``lisa_p_sim`` is significant at ``alpha``
    (after the false-discovery-rate correction with ``fdr``), else
    ``"not significant"``. Cells without neighbours, or exactly at the mean, are not
    significant. ``ties="both"`` counts permutations that tie with the observation in
    both tails (see :func:`~gridgeo.analysis.hotspots.getis_ord.gi_star`).

    Parameters
    ----------
    cells
        From :func:`~gridgeo.analysis.hotspots.cells.aggregate` (or any polygons with
        a numeric ``column``).
    column
        The value per cell.
    weights
        See :func:`~gridgeo.analysis.hotspots.weights.spatial_weights`.
    permutations, seed
        Conditional permutations for ``lisa_p_sim`` (0: none, every cell not
        significant) and their seed.
    alpha
        Significance level of the clusters.
    fdr
        Correct for the false discovery rate.
    ties
        ``"esda"`` or ``"both"``.
    policy
        ``metric_crs`` for distance weights.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cells`` (in EPSG:4326) with ``n_neighbors``, ``lisa_i``, ``lisa_q``,
        ``lisa_p_sim``, ``lisa_cluster``.

    Examples
    --------
    >>> import shapely
    >>> row = gpd.GeoDataFrame({"count": [9, 8, 1, 0, 0, 1]},
    ...                        geometry=shapely.box(range(6), 0, range(1, 7), 1), crs=32651)
    >>> local_moran(row, permutations=99, fdr=False)["lisa_q"].map(QUADRANTS).tolist()
    ['HH', 'HH', 'LH', 'LL', 'LL', 'LL']
    """
    check_ties(ties)
    y = cell_values(cells, column)
    n = len(y)
    other = spatial_weights(cells, weights, policy=policy)
    card = np.diff(other.indptr)
    z = y - y.mean() if n else y
    sd = z.std() if n else 0.0
    out = in_4326(cells)
    out["n_neighbors"] = card.astype(np.int64)
    if n < 3 or sd == 0:
        out["lisa_i"] = 0.0
        out["lisa_q"] = np.where(z > 0, 1, 3) if n else np.zeros(0, int)
        out["lisa_p_sim"] = np.nan
        out["lisa_cluster"] = _NOT_SIGNIFICANT
        return out
    zs = z / sd
    with np.errstate(divide="ignore", invalid="ignore"):
        row = sp.diags(np.where(card > 0, 1.0 / np.maximum(card, 1), 0.0)) @ other
    lag_z = row @ zs
    lisa = (n - 1) * zs * lag_z / (zs * zs).sum()
    q = np.select(
        [(zs > 0) & (lag_z > 0), (zs <= 0) & (lag_z > 0), (zs <= 0) & (lag_z <= 0)],
        [1, 2, 3],
        4,
    )
    p_sim = np.full(n, np.nan)
    if permutations:
        counts = conditional_counts(y, other, other @ y, np.sign(zs), permutations, seed)
        p_sim = pseudo_p(counts, permutations, ties)
        p_sim[(card == 0) | (zs == 0)] = np.nan
    sig = significant(p_sim, alpha, fdr)
    out["lisa_i"] = lisa
    out["lisa_q"] = q.astype(np.int64)
    out["lisa_p_sim"] = p_sim
    out["lisa_cluster"] = np.where(sig, pd.Series(q).map(QUADRANTS).to_numpy(), _NOT_SIGNIFICANT)
    return out
