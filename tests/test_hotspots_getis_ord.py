"""Getis-Ord Gi*: by hand, against esda, its bins and ties, on the sample's planted clusters."""

from __future__ import annotations

import math

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from hotspot_frames import UTM, X0, Y0, esda_g_star, phi, sample_district, squares
from libpysal.weights import KNN

from gridgeo.analysis.hotspots import aggregate, gi_star, spatial_weights


def test_gi_star_by_hand_on_four_cells_in_a_row() -> None:
    # y = 0, 1, 2, 5; queen neighbours in a row; n = 4, mean 2, s² = 7.5 - 4 = 3.5.
    # Getis-Ord: z_i = (Σ_j w_ij y_j - ȳ Σ_j w_ij) / (s √((n Σ w² - (Σ w)²) / (n - 1)))
    # cell 0: {0,1}: (1 - 4) / (√3.5 · √(4/3)) = -1.38873; cell 1: {0,1,2}: (3 - 6) / √3.5
    # cell 2: {1,2,3}: (8 - 6) / √3.5;                     cell 3: {2,3}: (7 - 4) / (√3.5 · √(4/3))
    s = math.sqrt(3.5)
    want = [-3 / (s * math.sqrt(4 / 3)), -3 / s, 2 / s, 3 / (s * math.sqrt(4 / 3))]
    g = gi_star(squares([[0, 1, 2, 5]]), permutations=0)
    assert g["gi_z"].to_numpy() == pytest.approx(want, abs=1e-12)
    assert g["gi_z"].round(5).tolist() == [-1.38873, -1.60357, 1.06904, 1.38873]
    assert g["n_neighbors"].tolist() == [1, 2, 2, 1]
    assert g["gi_p"].to_numpy() == pytest.approx(2 * (1 - np.vectorize(phi)(np.abs(want))))
    assert g["gi_bin"].tolist() == [0, 0, 0, 0]  # four cells are too few to be sure
    assert g["gi_p_sim"].isna().all()  # no permutations asked for


def test_esda_published_case_through_gridgeo() -> None:
    xy = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    y = [2, 3, 3.2, 5, 8, 7]
    pts = gpd.GeoDataFrame({"y": y}, geometry=shapely.points(xy), crs=UTM)
    g = gi_star(pts, column="y", weights="distance:15", permutations=999, seed=10)
    assert g["gi_z"].iloc[0] == pytest.approx(-1.39727626, abs=1e-8)
    assert g["gi_z"].to_numpy() == pytest.approx(
        [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331], abs=1e-8
    )
    other = spatial_weights(pts, "distance:15")
    ref = esda_g_star(np.asarray(y, float), other, permutations=999, seed=10)
    assert np.abs(g["gi_z"] - ref.Zs).max() < 1e-9
    assert g["gi_p_sim"].to_numpy() == pytest.approx(ref.p_sim, abs=1e-6)  # esda: float32
    assert g.crs.to_epsg() == 4326


@pytest.mark.parametrize("weights", ["queen", "knn:8"])
def test_sparse_gi_star_equals_esda_g_local(weights: str) -> None:
    rng = np.random.default_rng(5)
    lon = 121.44 + rng.uniform(-0.02, 0.02, 3000)
    lat = 31.22 + rng.normal(0, 0.006, 3000)
    pts = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
    cells = aggregate(pts, cells="h3:9")
    assert 150 <= len(cells) <= 600
    other = spatial_weights(cells, weights)
    if weights == "knn:8":  # the same neighbours as libpysal's KNN
        xy = shapely.get_coordinates(cells.to_crs(cells.estimate_utm_crs()).centroid)
        knn = KNN.from_array(xy, k=8)
        assert (abs(knn.sparse - other) > 0).nnz == 0
    else:  # H3 neighbours: the six around, fewer at the edge
        assert np.diff(other.indptr).max() == 6 and (other != other.T).nnz == 0
    g = gi_star(cells, weights=weights, permutations=999, seed=3)
    ref = esda_g_star(cells["count"].to_numpy(float), other, permutations=999, seed=3)
    assert np.abs(g["gi_z"].to_numpy() - ref.Zs).max() < 1e-9
    assert np.abs(g["gi_p"].to_numpy() - 2 * ref.p_norm).max() < 1e-9
    assert np.abs(g["gi_p_sim"].to_numpy() - ref.p_sim).max() < 1e-6
    assert (g["gi_bin"] != 0).any()


def test_gi_bins_follow_the_fdr_levels() -> None:
    rng = np.random.default_rng(0)
    counts = rng.poisson(3, (12, 12)).astype(float)
    counts[4:7, 4:7] += 25  # a block of high counts
    g = gi_star(squares(counts.tolist()), permutations=199, seed=1)
    bins = g["gi_bin"].to_numpy().reshape(12, 12)
    assert (bins[4:7, 4:7] == 3).all()
    assert (bins >= 0).all()
    no_fdr = gi_star(squares(counts.tolist()), permutations=0, fdr=False)
    # without FDR the bins are the plain thresholds of the two-sided p
    p, z = no_fdr["gi_p"].to_numpy(), no_fdr["gi_z"].to_numpy()
    want = np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0) * np.sign(z)
    assert no_fdr["gi_bin"].tolist() == want.astype(int).tolist()
    assert (np.abs(no_fdr["gi_bin"]) >= np.abs(g["gi_bin"])).all()  # FDR only removes
    perm = gi_star(squares(counts.tolist()), permutations=199, seed=1, inference="permutation")
    assert (perm["gi_bin"].to_numpy().reshape(12, 12)[4:7, 4:7] > 0).all()


def test_ties_in_both_tails_remove_the_spurious_cold_spots_of_sparse_counts() -> None:
    problems, grids, _ = sample_district()
    cells = aggregate(problems[problems["category"] == "噪音"], area=grids, cells="h3:10")
    assert (cells["count"] == 0).mean() > 0.4  # sparse: most neighbourhoods tie at 0
    esda_like = gi_star(cells, inference="permutation", seed=1)
    both = gi_star(cells, inference="permutation", seed=1, ties="both")
    # esda's pseudo-p calls a cell with nothing around it a cold spot even when most
    # permutations give the same nothing; counting ties in both tails does not
    assert (esda_like["gi_bin"] < 0).sum() > 5
    assert (both["gi_bin"] < 0).sum() == 0
    assert (both["gi_p_sim"] >= esda_like["gi_p_sim"] - 1e-12).all()
    assert (both["gi_bin"] > 0).sum() >= 5  # the hot spots stay
    # without ties (continuous values) the two agree
    rng = np.random.default_rng(8)
    cont = squares(rng.lognormal(1, 1, (10, 10)).tolist())
    a = gi_star(cont, permutations=499, seed=2)["gi_p_sim"]
    b = gi_star(cont, permutations=499, seed=2, ties="both")["gi_p_sim"]
    assert (a == b).all()


@pytest.mark.parametrize("weights", ["queen", "knn:8"])
def test_planted_clusters_of_the_sample_are_hot_spots(weights: str) -> None:
    problems, grids, planted = sample_district()
    g = gi_star(aggregate(problems, area=grids, cells="h3:10"), weights=weights, seed=1)
    bins = g.set_index("cell_id")["gi_bin"]
    for spot in planted:
        lon, lat = spot["center"]
        assert bins[h3.latlng_to_cell(lat, lon, 10)] == 3, spot
    assert (g["gi_bin"] < 0).sum() <= 2


def test_an_even_pattern_has_no_hot_or_cold_spot_after_fdr() -> None:
    # FDR at 90 % lets chance discoveries through in about one pattern in ten (4 of
    # seeds 0-29 here): this fixed seed is one of the other nine
    rng = np.random.default_rng(0)
    pts = gpd.GeoDataFrame(
        geometry=shapely.points(rng.uniform(0, 3000, (4000, 2)) + np.array([X0, Y0])), crs=UTM
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=UTM)
    cells = aggregate(pts, area=area, cells="square:200")
    assert len(cells) == 225 and cells["count"].sum() == 4000
    for inference in ("analytic", "permutation"):
        g = gi_star(cells, permutations=999, seed=2, inference=inference)
        assert (g["gi_bin"] == 0).all(), inference
    raw = gi_star(cells, permutations=0, fdr=False)
    assert (raw["gi_bin"] != 0).sum() > 0  # without FDR, chance alone makes a few
    lattice = squares(np.full((8, 8), 4.0).tolist())
    flat = gi_star(lattice, permutations=99)
    assert (flat["gi_z"] == 0).all() and (flat["gi_bin"] == 0).all()
