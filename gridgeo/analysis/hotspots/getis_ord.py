"""Getis-Ord Gi*: hot and cold spots, with Esri's ``gi_bin`` classes.

The analytic Gi* (:func:`gi_star_moments`) is esda's ``G_Local(star=True)`` computed as
one sparse product; its conditional-permutation pseudo-p comes from the shared engine
(:mod:`gridgeo.analysis.hotspots.permutation`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy import stats

from gridgeo.analysis.hotspots.cells import cell_values
from gridgeo.analysis.hotspots.geometry import in_4326
from gridgeo.analysis.hotspots.permutation import (
    check_ties,
    conditional_counts,
    confidence_bins,
    pseudo_p,
)
from gridgeo.analysis.hotspots.weights import spatial_weights
from gridgeo.policy import Policy

__all__ = ["gi_star", "gi_star_moments"]


def gi_star_moments(y: np.ndarray, other: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """Gi* with binary weights and the cell itself: esda's ``G_Local(star=True)`` moments.

    Returns
    -------
    (g, z, lag)
        The statistic, its z (0 where nothing varies or nothing was counted) and the
        neighbours' sum of each cell (the cell itself not included).

    Examples
    --------
    >>> other = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    >>> g, z, lag = gi_star_moments(np.array([1.0, 2.0, 6.0]), other)
    >>> g.round(4).tolist(), lag.tolist()
    ([0.3333, 1.0, 0.8889], [2.0, 7.0, 2.0])
    """
    n = len(y)
    total = y.sum()
    lag = other @ y
    card = np.diff(other.indptr) + 1.0  # the cell itself included
    mean = total / n
    var = (y * y).sum() / n - mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (lag + y) / total
        eg = card / n
        vg = card * (n - card) / (n - 1) / n**2 * var / mean**2
        z = (g - eg) / np.sqrt(vg)
    z = np.where(np.isfinite(z), z, 0.0) if n > 1 and var > 0 and total != 0 else np.zeros(n)
    return g, z, lag


def gi_star(
    cells: gpd.GeoDataFrame,
    *,
    column: str = "count",
    weights: str | Any = "queen",
    permutations: int = 999,
    seed: int = 0,
    inference: str = "analytic",
    fdr: bool = True,
    ties: str = "esda",
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* of ``column`` per cell, with Esri's ``gi_bin`` classes.

    Weights are binary with the cell itself included (Gi*, "star"); the numbers equal
    ``esda.G_Local(y, w, transform="B", star=True)`` for the same weights: ``gi_z`` is
    its ``Zs``, ``gi_p`` is two-sided (``2 * p_norm``, as Esri reports it) and
    ``gi_p_sim`` is its ``p_sim`` with the same ``seed`` (esda's default "directed"
    pseudo-p: the share of permutations at least as extreme in the observed tail) when
    esda runs without numba; with numba esda draws the same permutations, but its
    kernels are compiled with ``fastmath``, so a permuted sum that exactly ties the
    observed one may fall on either side, and on tied counts its ``p_sim`` can differ.
    ``gi_bin`` is +3/+2/+1 (hot spot at 99/95/90 % confidence), −3…−1 (cold), 0 (not
    significant), the significance corrected for the false discovery rate
    (Benjamini-Hochberg, ``esda.fdr``) at each level. Cells without neighbours get
    ``gi_p_sim`` NaN (esda's permutation gives them meaningless values).

    esda's pseudo-p counts ties with the upper tail: where many cells share a value (a
    cell with no problems among neighbours with none, in sparse data), a low
    neighbourhood sum gets a pseudo-p near ``1 / (permutations + 1)`` although most
    permutations equal it. That is why ``gi_bin`` uses the analytic p by default, as
    Esri does; with ``inference="permutation"`` on sparse counts pass ``ties="both"``.

    Parameters
    ----------
    cells
        From :func:`~gridgeo.analysis.hotspots.cells.aggregate` (or any polygons with
        a numeric ``column``).
    column
        The value per cell.
    weights
        See :func:`~gridgeo.analysis.hotspots.weights.spatial_weights`: ``"queen"``,
        ``"knn:K"``, ``"distance:M"``, a libpysal ``Graph``/``W`` or a sparse matrix.
    permutations
        Conditional permutations for ``gi_p_sim``; 0 skips them (``gi_p_sim`` NaN).
    seed
        Seed of the permutations.
    inference
        ``"analytic"`` (Esri's choice: ``gi_bin`` from ``gi_p``) or ``"permutation"``
        (from ``gi_p_sim``).
    fdr
        Correct for the false discovery rate.
    ties
        ``"esda"`` (esda's pseudo-p, ties in the upper tail) or ``"both"`` (ties count
        in both tails: never smaller than esda's, equal where nothing ties).
    policy
        ``metric_crs`` for distance weights.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cells`` (in EPSG:4326) with ``n_neighbors``, ``gi``, ``gi_z``, ``gi_p``,
        ``gi_p_sim``, ``gi_bin`` appended.

    Examples
    --------
    esda's published case (distance band 15, binary): z = −1.39727626 for the first point.

    >>> import shapely
    >>> xy = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    >>> pts = gpd.GeoDataFrame({"y": [2, 3, 3.2, 5, 8, 7]},
    ...                        geometry=shapely.points(xy), crs=32651)
    >>> g = gi_star(pts, column="y", weights="distance:15", permutations=99)
    >>> g["gi_z"].round(8).tolist()[:3], g["n_neighbors"].tolist()
    ([-1.39727626, -0.28917762, 0.65064964], [2, 3, 1, 3, 4, 1])
    """
    check_ties(ties)
    if inference not in ("analytic", "permutation"):
        raise ValueError(f"inference must be 'analytic' or 'permutation', not {inference!r}")
    y = cell_values(cells, column)
    other = spatial_weights(cells, weights, policy=policy)
    g, z, lag = gi_star_moments(y, other)
    p = 2 * stats.norm.sf(np.abs(z))
    card = np.diff(other.indptr)
    p_sim = np.full(len(y), np.nan)
    if permutations:
        counts = conditional_counts(y, other, lag, np.ones(len(y)), permutations, seed)
        p_sim = pseudo_p(counts, permutations, ties)
        p_sim[card == 0] = np.nan
        if y.var() == 0:  # nothing varies: nothing to find
            p_sim[:] = 1.0
    if inference == "permutation" and not permutations:
        raise ValueError("inference='permutation' needs permutations > 0")
    chosen = p if inference == "analytic" else p_sim
    out = in_4326(cells)
    out["n_neighbors"] = card.astype(np.int64)
    out["gi"] = g
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_p_sim"] = p_sim
    out["gi_bin"] = confidence_bins(z, chosen, fdr)
    return out
