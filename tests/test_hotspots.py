"""Problem hotspots: Gi*, Local Moran, density and emerging hot spots with known answers."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import esda
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyogrio
import pytest
import scipy.sparse as sp
import shapely
from libpysal.weights import KNN, W
from typer.testing import CliRunner

from gridgeo.analysis.hotspots import (
    aggregate,
    emerging_hotspots,
    emerging_pattern,
    gi_star,
    hotspot_layers,
    kernel_density,
    local_moran,
    mann_kendall,
    read_problems,
    spatial_weights,
)
from gridgeo.cli import app
from gridgeo.errors import ValidationError
from gridgeo.synth import generate

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
UTM = 32651
X0, Y0 = 350_000.0, 3_450_000.0  # a place in UTM 51N (Shanghai)
runner = CliRunner()


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


# ------------------------------------------------------------------ Gi* ----------------


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
    assert g["gi_p"].to_numpy() == pytest.approx(2 * (1 - np.vectorize(_phi)(np.abs(want))))
    assert g["gi_bin"].tolist() == [0, 0, 0, 0]  # four cells are too few to be sure
    assert g["gi_p_sim"].isna().all()  # no permutations asked for


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


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


def test_ties_in_both_tails_remove_the_spurious_cold_spots_of_sparse_counts(sample) -> None:
    problems, grids, _ = sample
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


# ------------------------------------------------------------------ cells --------------


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


# ------------------------------------------------------------------ the sample ---------


@pytest.fixture(scope="module")
def sample() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[dict]]:
    problems, notes = read_problems(SAMPLE, layer="problems")
    assert notes == []
    grids = gpd.read_file(SAMPLE, layer="grids")
    district = generate("sample", seed=42)  # the bundled sample: its planted hotspots
    same = shapely.get_coordinates(district.layers["problems"].geometry.array)
    assert np.allclose(same, shapely.get_coordinates(problems.geometry.array))
    return problems, grids, district.defects["hotspots"]


@pytest.mark.parametrize("weights", ["queen", "knn:8"])
def test_planted_clusters_of_the_sample_are_hot_spots(sample, weights: str) -> None:
    problems, grids, planted = sample
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


# ------------------------------------------------------------------ Local Moran --------


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


# ------------------------------------------------------------------ density ------------


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


# ------------------------------------------------------------------ emerging -----------


def test_mann_kendall_by_hand() -> None:
    # 1..5: every pair rises, S = 10, var = 5·4·15/18 = 50/3, z = (10 - 1)/√(50/3)
    # 5,4,4,4,1: S = -7; a tie of three: var = (300 - 3·2·11)/18 = 13, z = (-7 + 1)/√13
    s, z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 4, 4, 1], [2, 2, 2, 2, 2]]))
    assert s.tolist() == [10, -7, 0]
    assert z == pytest.approx([9 / math.sqrt(50 / 3), -6 / math.sqrt(13), 0.0])
    assert p == pytest.approx(
        [2 * (1 - _phi(9 / math.sqrt(50 / 3))), 2 * _phi(-6 / math.sqrt(13)), 1]
    )
    assert round(float(p[0]), 4) == 0.0275


def test_emerging_categories_on_constructed_series() -> None:
    rows = {
        "new": [0] * 11 + [1],
        "consecutive": [0] * 9 + [1, 1, 1],
        "intensifying": [1] * 12,
        "persistent": [1] * 12,
        "diminishing": [0] + [1] * 11,
        "sporadic": [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1],
        "oscillating": [-1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
        "historical": [1] * 11 + [0],
        "new cold": [0] * 11 + [-1],
        "none": [0] * 12,
        "once long ago": [1] + [0] * 11,
    }
    states = np.array(list(rows.values()))
    trend_z = np.array([0, 0, 3.0, 0.5, -3.0, 0, 0, 0, 0, 0, 0])
    trend_p = np.array([1, 1, 0.001, 0.6, 0.001, 1, 1, 1, 1, 1, 1])
    pattern, spot = emerging_pattern(states, trend_z, trend_p)
    assert pattern.tolist() == [
        "new",
        "consecutive",
        "intensifying",
        "persistent",
        "diminishing",
        "sporadic",
        "oscillating",
        "historical",
        "new",
        "",
        "",
    ]
    assert spot.tolist() == ["hot"] * 8 + ["cold", "", ""]
    # a cold spot that rises is diminishing as a cold spot
    p, s = emerging_pattern(-np.ones((1, 12)), np.array([3.0]), np.array([0.001]))
    assert (p[0], s[0]) == ("diminishing", "cold")


def test_emerging_hotspots_find_a_new_cluster() -> None:
    rng = np.random.default_rng(3)
    months = pd.date_range("2024-01-01", periods=12, freq="MS", tz="Asia/Shanghai")
    frames = []
    for k, start in enumerate(months):
        n = 300
        xy = rng.uniform(0, 2000, (n, 2))
        if k >= 9:  # a cluster in the last three months
            xy = np.vstack([xy, rng.normal(500, 150, (250, 2))])
        if k == 11:  # and one only in the last month
            xy = np.vstack([xy, rng.normal(1500, 150, (250, 2))])
        xy = np.vstack([xy, rng.normal((1500, 500), 150, (250, 2))])  # always there
        t = start + pd.to_timedelta(rng.uniform(0, 27, len(xy)), unit="D")
        frames.append(pd.DataFrame({"x": xy[:, 0] + X0, "y": xy[:, 1] + Y0, "reported_at": t}))
    table = pd.concat(frames, ignore_index=True)
    pts = gpd.GeoDataFrame(
        table[["reported_at"]], geometry=shapely.points(table[["x", "y"]].to_numpy()), crs=UTM
    )
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=UTM)
    e = emerging_hotspots(pts, area=area, cells="square:200")
    assert (e["n_slices"] == 12).all()
    by_cell = e.set_index("cell_id")
    assert by_cell.loc[f"200m_{int(X0 // 200) + 2}_{int(Y0 // 200) + 2}", "label"] == (
        "consecutive hot spot"
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 7}", "label"] == (
        "new hot spot"
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 2}", "pattern"] in (
        "persistent",
        "intensifying",
        "diminishing",
    )
    assert by_cell.loc[f"200m_{int(X0 // 200) + 7}_{int(Y0 // 200) + 7}", "label_zh"] == "新增热点"


def test_hotspot_layers_on_the_sample(sample) -> None:
    problems, grids, _ = sample
    layers = hotspot_layers(
        problems, area=grids, cells="h3:10", category="安全隐患", permutations=99, interval="week"
    )
    assert list(layers) == ["cells", "lisa", "density", "emerging"]
    assert layers["cells"]["count"].sum() == (problems["category"] == "安全隐患").sum()
    for frame in layers.values():
        assert frame.crs.to_epsg() == 4326 and len(frame)
    cols = {"cell_id", "geometry", "count", "gi_z", "gi_p", "gi_p_sim", "gi_bin", "n_neighbors"}
    assert cols <= set(layers["cells"].columns)


# ------------------------------------------------------------------ CLI ----------------


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


LAYER_COLUMNS = {
    "cells": {"cell_id", "count", "gi_z", "gi_p", "gi_p_sim", "gi_bin", "n_neighbors"},
    "lisa": {"cell_id", "count", "lisa_i", "lisa_q", "lisa_p_sim", "lisa_cluster"},
    "density": {"level", "density_from", "density_to"},
    "emerging": {"cell_id", "count", "pattern", "label", "trend_z", "trend_p"},
}


def check_output(path: Path) -> None:
    assert {name for name, _ in pyogrio.list_layers(path)} == set(LAYER_COLUMNS)
    for name, columns in LAYER_COLUMNS.items():
        info = pyogrio.read_info(path, layer=name)
        assert columns <= set(info["fields"]), name
        assert info["crs"] == "EPSG:4326"


def test_cli_from_a_csv_with_a_bad_coordinate_and_a_bad_date(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 200
    table = pd.DataFrame(
        {
            "经度": 121.44 + rng.uniform(-0.005, 0.005, n),
            "纬度": 31.22 + rng.uniform(-0.005, 0.005, n),
            "类别": rng.choice(["停车", "噪音"], n),
            "created": [f"2025-0{1 + k % 6}-{1 + k % 27:02d} 10:00" for k in range(n)],
        }
    )
    table.loc[5, "经度"] = 512.3  # out of range: dropped and reported (CSV row 7)
    table.loc[9, "纬度"] = None  # missing: dropped and reported (CSV row 11)
    good = tmp_path / "problems.csv"
    table.to_csv(good, index=False)
    out = tmp_path / "hot.gpkg"
    code, output = gridgeo(
        "hotspots", "--problems", good, "--cells", "square:150", "--out", out,
        "--category", "停车", "--permutations", "99",
    )  # fmt: skip
    assert code == 0, output
    assert "1 rows dropped, coordinates out of longitude/latitude range (rows 7)" in output
    assert "1 rows dropped, missing coordinates (rows 11)" in output
    check_output(out)
    cells = gpd.read_file(out, layer="cells")
    kept = table.drop(index=[5, 9])
    assert cells["count"].sum() == (kept["类别"] == "停车").sum()
    # a date that cannot be read stops everything and names the row
    table.loc[3, "created"] = "2025-13-45"
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    code, output = gridgeo("hotspots", "--problems", bad, "--out", tmp_path / "x.gpkg")
    assert code == 1
    assert "row 5" in output and "created" in output and "2025-13-45" in output
    assert not (tmp_path / "x.gpkg").exists()


def test_cli_from_the_sample_geopackage_and_named_columns(tmp_path: Path) -> None:
    out = tmp_path / "sample.gpkg"
    code, output = gridgeo(
        "hotspots", "--problems", SAMPLE, "--layer", "problems", "--area", SAMPLE,
        "--cells", "h3:10", "--from", "2025-03-01", "--to", "2025-05-31",
        "--interval", "week", "--permutations", "99", "--out", out,
    )  # fmt: skip
    assert code == 0, output
    assert "hot spots 99 %" in output and "2,000 problems" in output
    check_output(out)
    assert (gpd.read_file(out, layer="cells")["gi_bin"] == 3).sum() >= 3
    # the same points as a CSV with unusual column names, named with options
    p = gpd.read_file(SAMPLE, layer="problems")
    table = pd.DataFrame(
        {"E": p.geometry.x, "N": p.geometry.y, "when": p["reported_at"], "kind": p["category"]}
    )
    csv = tmp_path / "odd.csv"
    table.to_csv(csv, index=False)
    code, output = gridgeo(
        "hotspots", "--problems", csv, "--x", "E", "--y", "N", "--time-column", "when",
        "--category-column", "kind", "--category", "停车", "--cells", "h3:10",
        "--permutations", "0", "--out", tmp_path / "odd.gpkg",
    )  # fmt: skip
    assert code == 0, output
    assert f"{(p['category'] == '停车').sum():,} problems" in output


@pytest.mark.slow
def test_cli_from_a_store_with_grids_as_cells(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, output = gridgeo("load", SAMPLE, "--db", url)
    assert code == 0, output
    out = tmp_path / "grids.gpkg"
    code, output = gridgeo(
        "hotspots", "--db", url, "--cells", "grids", "--permutations", "99", "--out", out
    )
    assert code == 0, output
    check_output(out)
    cells = gpd.read_file(out, layer="cells")
    assert len(cells) == pyogrio.read_info(SAMPLE, layer="grids")["features"]
    assert cells["count"].sum() == 2000
