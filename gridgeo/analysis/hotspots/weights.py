"""Spatial weights: which cells are neighbours, as one binary sparse matrix.

Every statistic of the package takes the same weights: a scipy CSR matrix with 1.0 where
cell j is a neighbour of cell i and nothing on the diagonal (Gi* adds the cell itself).
:func:`spatial_weights` builds it from a name (queen contiguity, k nearest neighbours, a
distance band) or takes a libpysal ``Graph`` or ``W`` (as momepy's functions do) or a
sparse matrix built elsewhere.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from gridgeo.analysis.hotspots.cells import spec_number
from gridgeo.analysis.hotspots.geometry import point_locations, working_crs
from gridgeo.analysis.hotspots.hexagons import h3_neighbour_pairs, is_h3
from gridgeo.errors import Issue, ValidationError
from gridgeo.policy import Policy

__all__ = ["TOUCH_M", "binary_neighbours", "spatial_weights"]

#: distance (m) within which two cells count as touching (queen contiguity)
TOUCH_M = 0.01


def binary_neighbours(matrix: Any, n: int) -> sp.csr_matrix:
    """1.0 where an entry is non-zero off the diagonal; canonical CSR (sorted, no duplicates).

    Examples
    --------
    >>> binary_neighbours(np.array([[5, 2], [0, 0.5]]), 2).toarray().tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """
    coo = sp.coo_matrix(matrix, shape=(n, n))
    keep = (coo.row != coo.col) & (coo.data != 0)
    ones = np.ones(int(keep.sum()))
    m = sp.csr_matrix((ones, (coo.row[keep], coo.col[keep])), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def _pairs(i: np.ndarray, j: np.ndarray, n: int) -> sp.csr_matrix:
    return binary_neighbours(sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), n)


def spatial_weights(
    cells: gpd.GeoDataFrame,
    weights: str | Any = "queen",
    *,
    policy: Policy | None = None,
) -> sp.csr_matrix:
    """Binary neighbour matrix between cells (no self-weight; Gi* adds it).

    Parameters
    ----------
    cells
        Polygons (or points) with, for H3, the H3 index in ``cell_id``.
    weights
        ``"queen"``: cells sharing an edge or a corner (H3 hexagons: the six around;
        others: polygons within 1 cm of each other in the metric CRS, which also bridges
        seam slivers); ``"knn:K"``: the K nearest centroids (e.g. ``"knn:8"``);
        ``"distance:M"``: centroids within M metres (``<=``, as libpysal's
        ``DistanceBand``). A ``libpysal.graph.Graph`` or ``libpysal.weights.W`` built
        on the cells (its ids the cells' index labels, in any order, or the row
        positions 0…n−1 of weights built from arrays) or a scipy sparse matrix in the
        cells' row order: its non-zero entries off the diagonal are the neighbours
        (weights are made binary, self-weights dropped).
    policy
        ``metric_crs`` for distances.

    Returns
    -------
    scipy.sparse.csr_matrix
        n × n, 1.0 where j is a neighbour of i. ``libpysal.weights.W.from_sparse``
        or ``libpysal.graph.Graph.from_sparse`` turn it into PySAL weights.

    Raises
    ------
    ValidationError
        An unknown name, a bad number, or a libpysal graph of other ids than the cells.

    Examples
    --------
    >>> boxes = gpd.GeoDataFrame(geometry=shapely.box([0, 1, 2], 0, [1, 2, 3], 1), crs=32651)
    >>> spatial_weights(boxes).toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]

    A libpysal graph, e.g. rook contiguity (corners do not count), is used as given:

    >>> from libpysal.graph import Graph
    >>> boxes = gpd.GeoDataFrame(geometry=shapely.box([0, 1, 1], [0, 0, 1], [1, 2, 2],
    ...                                               [1, 1, 2]), crs=32651)
    >>> rook = Graph.build_contiguity(boxes, rook=True)
    >>> spatial_weights(boxes, rook).toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    n = len(cells)
    if sp.issparse(weights):
        return binary_neighbours(weights, n)
    if not isinstance(weights, str):
        return binary_neighbours(_libpysal_matrix(weights, cells), n)
    spec = weights.strip().lower()
    kind, _, arg = spec.partition(":")
    if n == 0:
        return sp.csr_matrix((0, 0))
    if kind == "queen":
        return _queen(cells, policy)
    if kind in ("knn", "distance"):
        from scipy.spatial import cKDTree

        _, xy = point_locations(cells, working_crs(cells, policy))
        tree = cKDTree(xy)
        if kind == "knn":
            return _knn(tree, xy, int(spec_number(arg or 8, spec)))
        pairs = tree.query_pairs(spec_number(arg, spec), output_type="ndarray")
        i = np.concatenate([pairs[:, 0], pairs[:, 1]])
        j = np.concatenate([pairs[:, 1], pairs[:, 0]])
        return _pairs(i, j, n)
    raise ValidationError(
        Issue(f"unknown weights {weights!r}", hint="use queen, knn:K or distance:METRES")
    )


def _queen(cells: gpd.GeoDataFrame, policy: Policy | None) -> sp.csr_matrix:
    n = len(cells)
    if "cell_id" in cells.columns and is_h3(cells["cell_id"]):
        return _pairs(*h3_neighbour_pairs(cells["cell_id"].to_numpy()), n)
    crs = working_crs(cells, policy)
    geoms = np.asarray(cells.geometry.to_crs(crs).array, dtype=object)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=TOUCH_M)
    return _pairs(i, j, n)


def _knn(tree: Any, xy: np.ndarray, k: int) -> sp.csr_matrix:
    n = len(xy)
    if not 0 < k < n:
        raise ValidationError(Issue(f"knn:{k} needs between 1 and {n - 1} neighbours"))
    _, nb = tree.query(xy, k=k + 1)
    own = nb == np.arange(n)[:, None]
    keep = ~own
    keep[~own.any(axis=1), -1] = False  # a duplicate location pushed itself out
    rows = np.repeat(np.arange(n), k)
    return _pairs(rows, nb[keep], n)


def _libpysal_matrix(weights: Any, cells: gpd.GeoDataFrame) -> Any:
    """The matrix of a libpysal ``Graph`` or ``W`` in the order of the cells' rows."""
    from libpysal.graph import Graph
    from libpysal.weights import W

    if isinstance(weights, Graph):
        ids, matrix = pd.Index(weights.unique_ids), weights.sparse
    elif isinstance(weights, W):
        ids, matrix = pd.Index(weights.id_order), weights.sparse
    else:
        raise ValidationError(
            Issue(
                f"unknown weights of type {type(weights).__name__}",
                hint="use queen, knn:K, distance:METRES, a libpysal Graph or W, "
                "or a scipy sparse matrix",
            )
        )
    if ids.equals(cells.index) or ids.equals(pd.RangeIndex(len(cells))):
        return matrix
    if ids.is_unique and len(ids) == len(cells) and ids.isin(cells.index).all():
        at = ids.get_indexer(cells.index)
        return sp.csr_matrix(matrix)[at][:, at]
    raise ValidationError(
        Issue(
            f"the weights' {len(ids):,} ids are not the {len(cells):,} cells' index",
            layer="cells",
            hint="build the libpysal graph on the same cells (e.g. Graph.build_contiguity(cells))",
        )
    )
