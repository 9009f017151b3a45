"""Spatial weights: queen, knn and distance by hand; libpysal graphs used as given."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from hotspot_frames import UTM, X0, Y0, squares
from libpysal.graph import Graph
from libpysal.weights import W

from gridgeo.analysis.hotspots import gi_star, spatial_weights
from gridgeo.errors import ValidationError


def l_shape() -> gpd.GeoDataFrame:
    """Three unit squares (0,0), (1,0), (1,1): 0 and 2 touch only at a corner."""
    boxes = shapely.box([0, 1, 1], [0, 0, 1], [1, 2, 2], [1, 1, 2])
    frame = gpd.GeoDataFrame({"count": [1, 5, 9]}, geometry=boxes, crs=UTM)
    return frame.set_geometry(frame.translate(X0, Y0))


def test_named_weights_by_hand() -> None:
    cells = l_shape()
    assert spatial_weights(cells).toarray().astype(int).tolist() == [
        [0, 1, 1],
        [1, 0, 1],
        [1, 1, 0],
    ]  # queen: the corner counts
    # centroids (0.5,0.5), (1.5,0.5), (1.5,1.5): distances 1, 1 and √2
    assert spatial_weights(cells, "distance:1").toarray().astype(int).tolist() == [
        [0, 1, 0],
        [1, 0, 1],
        [0, 1, 0],
    ]
    assert spatial_weights(cells, "knn:1").toarray().astype(int).tolist()[1] in (
        [1, 0, 0],
        [0, 0, 1],
    )
    with pytest.raises(ValidationError, match="unknown weights"):
        spatial_weights(cells, "rook")
    with pytest.raises(ValidationError, match="knn:3 needs between 1 and 2"):
        spatial_weights(cells, "knn:3")


def test_a_libpysal_graph_is_used_as_given() -> None:
    cells = l_shape()
    rook = Graph.build_contiguity(cells, rook=True)  # no corners: 0 and 2 are not neighbours
    assert spatial_weights(cells, rook).toarray().astype(int).tolist() == [
        [0, 1, 0],
        [1, 0, 1],
        [0, 1, 0],
    ]
    # the statistic gets the graph's neighbours: Gi* of cell 0 sees itself and cell 1
    g = gi_star(cells, weights=rook, permutations=0)
    assert g["n_neighbors"].tolist() == [1, 2, 1]
    assert g["gi"].to_numpy() == pytest.approx([6 / 15, 15 / 15, 14 / 15])
    # kernel weights are made binary and self-weights dropped
    kernel = Graph.build_kernel(cells.set_geometry(cells.centroid), k=2)
    assert set(np.unique(spatial_weights(cells, kernel).data)) == {1.0}
    assert spatial_weights(cells, kernel).diagonal().sum() == 0


def test_a_libpysal_graph_in_another_order_follows_the_cells_index() -> None:
    cells = l_shape().set_index(np.array(["a", "b", "c"]))
    shuffled = Graph.build_contiguity(cells.iloc[[2, 0, 1]], rook=True)
    assert list(shuffled.unique_ids) == ["c", "a", "b"]
    assert (spatial_weights(cells, shuffled) != spatial_weights(cells, "queen")).nnz == 2
    assert spatial_weights(cells, shuffled).toarray().astype(int).tolist() == [
        [0, 1, 0],
        [1, 0, 1],
        [0, 1, 0],
    ]
    other = Graph.build_contiguity(squares([[1, 2, 3, 4]]), rook=True)
    with pytest.raises(ValidationError, match="ids are not the 3 cells' index"):
        spatial_weights(cells, other)


def test_a_libpysal_w_and_a_sparse_matrix() -> None:
    cells = l_shape()
    pairs = sp.csr_matrix(np.array([[0, 2.0, 0], [2.0, 0, 1], [0, 1, 0]]))
    w = W.from_sparse(pairs)  # ids 0, 1, 2: the rows
    assert spatial_weights(cells, w).toarray().tolist() == [
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
    ]
    assert (spatial_weights(cells, pairs) != spatial_weights(cells, w)).nnz == 0
    with pytest.raises(ValidationError, match="unknown weights of type dict"):
        spatial_weights(cells, {"queen": True})
